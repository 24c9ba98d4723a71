package sqlite

import (
	"github.com/tessera-id/tessera/internal/store"

	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// migrationFiles are the schema changes, one file per version, named
// NNNN_what.sql. They are forward-only: a released file is never edited,
// a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations reads this engine's migrations (see store.LoadMigrations).
func loadMigrations(fsys fs.FS) ([]store.Migration, error) { return store.LoadMigrations(fsys) }

// latestVersion is the newest schema version this binary knows.
func latestVersion() int {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate brings the schema up to the newest version in one transaction, so
// that a failure leaves the database as it was. It refuses a database whose
// schema is newer than this binary: an older binary writing to it could
// violate rules it does not know about.
func migrate(ctx context.Context, db *sql.DB, now time.Time) error {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return inTx(ctx, db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			applied_at INTEGER NOT NULL
		)`); err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("sqlite: migrate: read schema version: %w", err)
		}
		if current > len(ms) {
			return fmt.Errorf("sqlite: database schema version %d is newer than this binary supports (%d): run a newer tessera", current, len(ms))
		}
		for _, m := range ms[current:] {
			if check := migrationChecks[m.Version]; check != nil {
				if err := check(ctx, tx); err != nil {
					return fmt.Errorf("sqlite: migrate: %s: %w", m.Name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("sqlite: migrate: apply %s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.Version, encTime(now)); err != nil {
				return fmt.Errorf("sqlite: migrate: record %s: %w", m.Name, err)
			}
		}
		return nil
	})
}

// checkSchema, for Open with NoMigrate, changes nothing and fails unless
// the schema is exactly the one this binary runs on.
func checkSchema(ctx context.Context, db *sql.DB) error {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	current := 0
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: read schema version: %w", err)
	}
	if n > 0 {
		if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("sqlite: read schema version: %w", err)
		}
	}
	switch {
	case current > len(ms):
		return fmt.Errorf("sqlite: database schema version %d is newer than this binary supports (%d): run a newer tessera", current, len(ms))
	case current < len(ms):
		return fmt.Errorf("sqlite: database schema version %d is older than this binary needs (%d) and migrations at start are off (--migrate=false): run `tessera migrate up` first", current, len(ms))
	}
	return nil
}

// MigrationStatus is one known migration and whether the database has it.
type MigrationStatus struct {
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	Applied   bool      `json:"applied"`
	AppliedAt time.Time `json:"appliedAt,omitzero"`
}

// Status reports, without changing anything (the file is opened read-only
// and must exist), every migration this binary knows and whether the
// database at path has applied it, plus the database's schema version,
// which may be newer than any migration listed.
func Status(ctx context.Context, path string) (version int, out []MigrationStatus, err error) {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return 0, nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return 0, nil, fmt.Errorf("sqlite: status: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, nil, err
	}
	db, err := sql.Open("sqlite", dsn(abs, connRead))
	if err != nil {
		return 0, nil, fmt.Errorf("sqlite: status: %w", err)
	}
	defer db.Close()
	done := map[int]time.Time{}
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&exists); err != nil {
		return 0, nil, fmt.Errorf("sqlite: status: %w", err)
	}
	if exists {
		rows, err := db.QueryContext(ctx, `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
		if err != nil {
			return 0, nil, fmt.Errorf("sqlite: status: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var v int
			var at int64
			if err := rows.Scan(&v, &at); err != nil {
				return 0, nil, fmt.Errorf("sqlite: status: %w", err)
			}
			done[v] = decTime(at)
			version = max(version, v)
		}
		if err := rows.Err(); err != nil {
			return 0, nil, fmt.Errorf("sqlite: status: %w", err)
		}
	}
	for _, m := range ms {
		at, ok := done[m.Version]
		out = append(out, MigrationStatus{Version: m.Version, Name: m.Name, Applied: ok, AppliedAt: at})
	}
	return version, out, nil
}

// LatestVersion is the newest schema version this binary knows.
func LatestVersion() int { return latestVersion() }
