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
	if err := w.Start(LatestVersion(), c); err != nil {
		return err
	}
	for _, t := range store.Tables {
		if err := dumpTable(ctx, tx, t, w); err != nil {
			return err
		}
	}
	return nil
}

// selectList names t's columns for a dump: a jsonb column as its text.
func selectList(t store.Table) string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
		if c.Kind == store.KindJSON {
			names[i] += "::text"
		}
	}
	return strings.Join(names, ", ")
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

func dumpTable(ctx context.Context, tx pgx.Tx, t store.Table, w store.DumpWriter) error {
	if err := w.Table(t); err != nil {
		return err
	}
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
	if v := d.SchemaVersion(); v != LatestVersion() {
		return fmt.Errorf("postgres: restore: the backup is of schema version %d, this tessera runs on %d: restore it with the tessera version that made it, then upgrade", v, LatestVersion())
	}
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
	if err := checkEmpty(ctx, tx); err != nil {
		return err
	}
	for {
		t, ok, err := d.NextTable()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := loadTable(ctx, tx, t, d); err != nil {
			return err
		}
	}
	c, err := d.Counters()
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

// checkEmpty refuses a database that holds any row: a restore adds to
// nothing, so that what comes back is exactly what was backed up.
func checkEmpty(ctx context.Context, tx pgx.Tx) error {
	for _, t := range store.Tables {
		var any bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+t.Name+`)`).Scan(&any); err != nil {
			return fmt.Errorf("postgres: restore: %w", err)
		}
		if any {
			return fmt.Errorf("postgres: restore: %w (table %s has rows)", store.ErrNotEmpty, t.Name)
		}
	}
	return nil
}

// dumpRows is the current table of a dump as a pgx.CopyFromSource.
type dumpRows struct {
	t    store.Table
	d    store.DumpReader
	vals []any
	err  error
}

func (r *dumpRows) Next() bool {
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
		if err := checkKind(c, v); err != nil {
			r.err = fmt.Errorf("postgres: restore %s.%s: %w", r.t.Name, c.Name, err)
			return false
		}
		r.vals[i] = v
	}
	return true
}

func (r *dumpRows) Values() ([]any, error) { return r.vals, nil }
func (r *dumpRows) Err() error             { return r.err }

// checkKind refuses a value of another Go type than its column's kind
// names, so that COPY never guesses.
func checkKind(c store.Column, v any) error {
	ok := false
	switch v.(type) {
	case nil:
		ok = c.Null
	case string:
		ok = c.Kind == store.KindText || c.Kind == store.KindJSON
	case int64:
		ok = c.Kind == store.KindInt
	case time.Time:
		ok = c.Kind == store.KindTime
	case bool:
		ok = c.Kind == store.KindBool
	case []byte:
		ok = c.Kind == store.KindBytes
	case []string:
		ok = c.Kind == store.KindList
	}
	if !ok {
		return fmt.Errorf("unexpected %T for a column of kind %d", v, c.Kind)
	}
	return nil
}

func loadTable(ctx context.Context, tx pgx.Tx, t store.Table, d store.DumpReader) error {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	src := &dumpRows{t: t, d: d, vals: make([]any, len(t.Columns))}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{t.Name}, names, src)
	if src.err != nil {
		return src.err // the dump's error, not COPY's report of it
	}
	if err != nil {
		return fmt.Errorf("postgres: restore %s: %w", t.Name, err)
	}
	return nil
}
