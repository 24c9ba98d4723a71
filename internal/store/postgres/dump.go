package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/stored"
)

// Dump writes the store's whole state to w (see store.Tables) from one
// REPEATABLE READ, read-only transaction: one snapshot of the database,
// taken while the servers go on writing, so the dump is consistent
// without stopping anything. (pg_dump of the database is the other
// backup, and the one that keeps what tessera does not know about.)
func (s *Store) Dump(ctx context.Context, w store.DumpWriter) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("postgres: dump: %w", err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // read-only: nothing to undo
	var c store.Counters
	if err := tx.QueryRow(ctx, `SELECT (SELECT version FROM directory_version WHERE id = 1),
		(SELECT last_seq FROM revocation_seq WHERE id = 1)`).Scan(&c.DirectoryVersion, &c.FeedSeq); err != nil {
		return fmt.Errorf("postgres: dump: read the counters: %w", err)
	}
	return stored.DumpTables(w, LatestVersion(), c, func(t store.Table) error { return dumpRows(ctx, tx, t, w) })
}

// selectList names t's columns for a dump: a jsonb column as its text.
func selectList(t store.Table) string {
	return stored.ColumnNames(t, func(c store.Column) string {
		if c.Kind == store.KindJSON {
			return c.Name + "::text"
		}
		return c.Name
	})
}

// scanTargets returns where a row of t is scanned to, and how to read the
// neutral values (see store.Kind) from there.
func scanTargets(t store.Table) (dest []any, values func(row []any)) {
	dest = make([]any, len(t.Columns))
	for i, c := range t.Columns {
		switch c.Kind {
		case store.KindText, store.KindJSON:
			if c.Null {
				dest[i] = new(*string)
			} else {
				dest[i] = new(string)
			}
		case store.KindInt:
			dest[i] = new(int64)
		case store.KindTime:
			dest[i] = new(time.Time)
		case store.KindBool:
			dest[i] = new(bool)
		case store.KindBytes:
			dest[i] = new([]byte)
		case store.KindList:
			dest[i] = new([]string)
		}
	}
	return dest, func(row []any) {
		for i, d := range dest {
			switch d := d.(type) {
			case **string:
				if *d == nil {
					row[i] = nil
				} else {
					row[i] = **d
				}
			case *string:
				row[i] = *d
			case *int64:
				row[i] = *d
			case *time.Time:
				row[i] = d.UTC()
			case *bool:
				row[i] = *d
			case *[]byte:
				row[i] = stored.NonNil(*d)
			case *[]string:
				row[i] = stored.NonNil(*d)
			}
		}
	}
}

func dumpRows(ctx context.Context, tx pgx.Tx, t store.Table, w store.DumpWriter) error {
	rows, err := tx.Query(ctx, `SELECT `+selectList(t)+` FROM `+t.Name+` ORDER BY `+strings.Join(t.Key, ", "))
	if err != nil {
		return fmt.Errorf("postgres: dump %s: %w", t.Name, err)
	}
	defer rows.Close()
	dest, values := scanTargets(t)
	row := make([]any, len(t.Columns))
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("postgres: dump %s: %w", t.Name, err)
		}
		values(row)
		if err := w.Row(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: dump %s: %w", t.Name, err)
	}
	return nil
}

// Load writes a dump into this store, which must be empty (a database no
// server has started on), in one transaction: all of it or, on any error,
// nothing. Each table goes in with COPY. The dump must be of this binary's
// schema version.
func (s *Store) Load(ctx context.Context, d store.DumpReader) error {
	// No retry on a serialization failure, unlike inTx: the dump is a
	// stream, read once. An empty database has nobody to conflict with.
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: restore: %w", err)
	}
	defer tx.Rollback(context.Background()) //nolint:errcheck // after Commit, a no-op
	// Every other writer of these tables waits until the restore has
	// committed, and then finds it not empty.
	if _, err := tx.Exec(ctx, `LOCK TABLE `+tableList()+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("postgres: restore: %w", err)
	}
	c, err := stored.LoadTables("postgres", LatestVersion(), d, func(table string) (some bool, err error) {
		err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+`)`).Scan(&some)
		return some, err
	}, func(t store.Table) error { return loadTable(ctx, tx, t, d) })
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE revocation_seq SET last_seq = GREATEST(last_seq, $1, (SELECT COALESCE(MAX(seq), 0) FROM revocations)) WHERE id = 1`, c.FeedSeq); err != nil {
		return fmt.Errorf("postgres: restore the feed counter: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE directory_version SET version = GREATEST(version, $1) WHERE id = 1`, c.DirectoryVersion); err != nil {
		return fmt.Errorf("postgres: restore the directory version: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: restore: commit: %w", err)
	}
	return nil
}

func tableList() string {
	names := make([]string, len(store.Tables))
	for i, t := range store.Tables {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// copySource is the current table of a dump as a pgx.CopyFromSource.
type copySource struct {
	t    store.Table
	d    store.DumpReader
	vals []any
	err  error
}

func (r *copySource) Next() bool {
	row, ok, err := r.d.NextRow()
	if err != nil {
		r.err = err
		return false
	}
	if !ok {
		return false
	}
	for i, c := range r.t.Columns {
		v := row[i]
		if err := stored.CheckKind(c, v); err != nil {
			r.err = fmt.Errorf("postgres: restore %s.%s: %w", r.t.Name, c.Name, err)
			return false
		}
		r.vals[i] = v
	}
	return true
}

func (r *copySource) Values() ([]any, error) { return r.vals, nil }
func (r *copySource) Err() error             { return r.err }

func loadTable(ctx context.Context, tx pgx.Tx, t store.Table, d store.DumpReader) error {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	src := &copySource{t: t, d: d, vals: make([]any, len(t.Columns))}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{t.Name}, names, src)
	if src.err != nil {
		return src.err // the dump's error, not COPY's report of it
	}
	if err != nil {
		return fmt.Errorf("postgres: restore %s: %w", t.Name, err)
	}
	return nil
}
