package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/stored"
)

// Dump writes the store's whole state to w (see store.Tables) from one
// read transaction: in WAL mode that is one snapshot of the file, taken
// while the server goes on writing, so the dump is consistent without
// stopping anything.
func (s *Store) Dump(ctx context.Context, w store.DumpWriter) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: dump: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to undo
	var c store.Counters
	// The first read fixes the snapshot every later read sees.
	if err := tx.QueryRowContext(ctx, `SELECT version FROM directory_version WHERE id = 1`).Scan(&c.DirectoryVersion); err != nil {
		return fmt.Errorf("sqlite: dump: read the directory version: %w", err)
	}
	err = tx.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'revocations'`).Scan(&c.FeedSeq)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: dump: read the feed counter: %w", err)
	}
	return stored.DumpTables(w, latestVersion(), c, func(t store.Table) error { return dumpRows(ctx, tx, t, w) })
}

func dumpRows(ctx context.Context, tx *sql.Tx, t store.Table, w store.DumpWriter) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+stored.ColumnNames(t, nil)+` FROM `+t.Name+` ORDER BY `+strings.Join(t.Key, ", "))
	if err != nil {
		return fmt.Errorf("sqlite: dump %s: %w", t.Name, err)
	}
	defer rows.Close()
	raw := make([]any, len(t.Columns))
	dest := make([]any, len(t.Columns))
	for i := range raw {
		dest[i] = &raw[i]
	}
	row := make([]any, len(t.Columns))
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("sqlite: dump %s: %w", t.Name, err)
		}
		for i, c := range t.Columns {
			if row[i], err = fromSQLite(c, raw[i]); err != nil {
				return fmt.Errorf("sqlite: dump %s.%s: %w", t.Name, c.Name, err)
			}
		}
		if err := w.Row(row); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: dump %s: %w", t.Name, err)
	}
	return nil
}

// fromSQLite turns a column's stored value into its neutral one (see
// store.Kind): SQLite returns INTEGER as int64, TEXT as string and BLOB as
// []byte.
func fromSQLite(c store.Column, v any) (any, error) {
	if v == nil {
		if c.Null {
			return nil, nil
		}
		if c.Kind == store.KindBytes {
			return []byte{}, nil // an empty BLOB may read back as NULL
		}
		return nil, errors.New("NULL in a NOT NULL column")
	}
	switch c.Kind {
	case store.KindText, store.KindJSON:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case store.KindInt:
		if n, ok := v.(int64); ok {
			return n, nil
		}
	case store.KindTime:
		if n, ok := v.(int64); ok {
			return decTime(n), nil
		}
	case store.KindBool:
		if n, ok := v.(int64); ok {
			return n != 0, nil
		}
	case store.KindBytes:
		if b, ok := v.([]byte); ok {
			return stored.NonNil(b), nil
		}
	case store.KindList:
		if s, ok := v.(string); ok {
			var l []string
			if err := stored.DecJSON(s, &l); err != nil {
				return nil, err
			}
			return stored.NonNil(l), nil
		}
	}
	return nil, fmt.Errorf("unexpected %T for a column of kind %d", v, c.Kind)
}

// toSQLite is fromSQLite's inverse.
func toSQLite(c store.Column, v any) (any, error) {
	if err := stored.CheckKind(c, v); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case bool:
		return encBool(x), nil
	case []byte:
		return stored.NonNil(x), nil
	case []string:
		return stored.EncJSON(stored.NonNil(x))
	case time.Time:
		return encTime(x), nil
	}
	return v, nil // nil, string, int64
}

// Load writes a dump into this store, which must be empty (a database no
// server has started on), in one transaction with the foreign keys
// enforced: all of it or, on any error, nothing. The dump must be of this
// binary's schema version.
func (s *Store) Load(ctx context.Context, d store.DumpReader) error {
	return inTx(ctx, s.w, func(tx *sql.Tx) error {
		c, err := stored.LoadTables("sqlite", latestVersion(), d, func(table string) (some bool, err error) {
			err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+`)`).Scan(&some)
			return some, err
		}, func(t store.Table) error { return loadTable(ctx, tx, t, d) })
		if err != nil {
			return err
		}
		return setCounters(ctx, tx, c)
	})
}

func loadTable(ctx context.Context, tx *sql.Tx, t store.Table, d store.DumpReader) error {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(t.Columns)), ", ")
	st, err := tx.PrepareContext(ctx, `INSERT INTO `+t.Name+` (`+stored.ColumnNames(t, nil)+`) VALUES (`+marks+`)`)
	if err != nil {
		return fmt.Errorf("sqlite: restore %s: %w", t.Name, err)
	}
	defer st.Close()
	args := make([]any, len(t.Columns))
	for {
		row, ok, err := d.NextRow()
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		for i, c := range t.Columns {
			if args[i], err = toSQLite(c, row[i]); err != nil {
				return fmt.Errorf("sqlite: restore %s.%s: %w", t.Name, c.Name, err)
			}
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("sqlite: restore %s: %w", t.Name, err)
		}
	}
}

// setCounters carries the counters over. Inserting the feed's rows with
// their numbers already moved sqlite_sequence to the highest of them; the
// dump's counter may be higher still (the entries that had the last
// numbers were purged), and a follower's cursor may be there.
func setCounters(ctx context.Context, tx *sql.Tx, c store.Counters) error {
	if _, err := tx.ExecContext(ctx, `UPDATE directory_version SET version = max(version, ?) WHERE id = 1`, c.DirectoryVersion); err != nil {
		return fmt.Errorf("sqlite: restore the directory version: %w", err)
	}
	res, err := tx.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'revocations'`, c.FeedSeq)
	if err != nil {
		return fmt.Errorf("sqlite: restore the feed counter: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 && c.FeedSeq > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES ('revocations', ?)`, c.FeedSeq); err != nil {
			return fmt.Errorf("sqlite: restore the feed counter: %w", err)
		}
	}
	return nil
}
