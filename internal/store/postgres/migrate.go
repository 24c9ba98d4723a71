package postgres

import (
	"github.com/tessera-id/tessera/internal/store"

	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationFiles are the schema changes, one file per version, named
// NNNN_what.sql. They are forward-only: a released file is never edited, a
// change is a new file, and nothing ever runs a schema backwards.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations reads this engine's migrations (see store.LoadMigrations).
func loadMigrations(fsys fs.FS) ([]store.Migration, error) { return store.LoadMigrations(fsys) }

// migrationLock names the advisory lock that serialises migrations: one
// key per schema, so that instances on one schema wait for each other and
// test runs in separate schemas of one database do not.
const migrationLock = `SELECT pg_advisory_xact_lock(hashtext('tessera.migrate'), hashtext(current_schema()))`

// migrate brings the schema up to the newest version this binary knows.
//
// All of it is one transaction that first takes migrationLock: N instances
// starting together on an empty database queue on the lock, the first
// applies every migration and commits, and the others then find the schema
// current and apply nothing; so each migration runs exactly once. DDL is
// transactional in PostgreSQL, so a failed migration leaves the schema as it
// was. A schema newer than this binary is refused, never downgraded: an
// older binary writing to it could break rules it does not know about.
//
// It returns the names of the migrations it applied.
func migrate(ctx context.Context, pool *pgxpool.Pool, now time.Time) ([]string, error) {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	var applied []string
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, migrationLock); err != nil {
			return fmt.Errorf("postgres: migrate: take the migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     NOT NULL PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL,
			applied_by text        NOT NULL
		)`); err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		current, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if current > len(ms) {
			return fmt.Errorf("postgres: database schema version %d is newer than this binary supports (%d): run a newer tessera (schemas are never downgraded)", current, len(ms))
		}
		by := appliedBy()
		for _, m := range ms[current:] {
			if check := migrationChecks[m.Version]; check != nil {
				if err := check(ctx, tx); err != nil {
					return fmt.Errorf("postgres: migrate: %s: %w", m.Name, err)
				}
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("postgres: migrate: apply %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at, applied_by) VALUES ($1, $2, $3, $4)`,
				m.Version, m.Name, now, by); err != nil {
				return fmt.Errorf("postgres: migrate: record %s: %w", m.Name, err)
			}
			applied = append(applied, m.Name)
		}
		return nil
	})
	return applied, err
}

// checkSchema, for Open with NoMigrate, changes nothing and fails unless
// the schema is exactly the one this binary runs on.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: read schema version: %w", err)
	}
	current := 0
	if exists {
		if current, err = schemaVersion(ctx, pool); err != nil {
			return err
		}
	}
	switch {
	case current > len(ms):
		return fmt.Errorf("postgres: database schema version %d is newer than this binary supports (%d): run a newer tessera (schemas are never downgraded)", current, len(ms))
	case current < len(ms):
		return fmt.Errorf("postgres: database schema version %d is older than this binary needs (%d) and migrations at start are off (--migrate=false): run `tessera migrate up` first", current, len(ms))
	}
	return nil
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: read schema version: %w", err)
	}
	return v, nil
}

// appliedBy names this process in schema_migrations, for the operator who
// wonders which instance migrated.
func appliedBy() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("tessera pid %d on %s", os.Getpid(), host)
}

// MigrationStatus is one known migration and whether the database has it.
type MigrationStatus struct {
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	Applied   bool      `json:"applied"`
	AppliedAt time.Time `json:"appliedAt,omitzero"`
	AppliedBy string    `json:"appliedBy,omitempty"`
}

// Status reports, without changing anything, every migration this binary
// knows and whether the database at dsn has applied it, plus the database's
// schema version (which may be newer than any migration listed).
func Status(ctx context.Context, dsn string) (version int, out []MigrationStatus, err error) {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return 0, nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return 0, nil, fmt.Errorf("postgres: cannot parse the database URL")
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, nil, fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Close(context.Background())
	done := map[int]MigrationStatus{}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, nil, fmt.Errorf("postgres: status: %w", err)
	}
	if exists {
		rows, err := conn.Query(ctx, `SELECT version, name, applied_at, applied_by FROM schema_migrations ORDER BY version`)
		if err != nil {
			return 0, nil, fmt.Errorf("postgres: status: %w", err)
		}
		for rows.Next() {
			var m MigrationStatus
			if err := rows.Scan(&m.Version, &m.Name, &m.AppliedAt, &m.AppliedBy); err != nil {
				rows.Close()
				return 0, nil, fmt.Errorf("postgres: status: %w", err)
			}
			m.Applied, m.AppliedAt = true, m.AppliedAt.UTC()
			done[m.Version] = m
			version = max(version, m.Version)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, nil, fmt.Errorf("postgres: status: %w", err)
		}
	}
	for _, m := range ms {
		st, ok := done[m.Version]
		if !ok {
			st = MigrationStatus{Version: m.Version, Name: m.Name}
		}
		out = append(out, st)
	}
	return version, out, nil
}

// Migrate applies the pending migrations to the database at dsn and
// returns their names (empty when the schema was current), as Open does,
// without opening a store: `tessera migrate up`.
func Migrate(ctx context.Context, dsn string) ([]string, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: cannot parse the database URL")
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	defer pool.Close()
	return migrate(ctx, pool, time.Now())
}

// LatestVersion is the newest schema version this binary knows.
func LatestVersion() int {
	ms, err := loadMigrations(migrationFiles)
	if err != nil {
		return 0
	}
	return len(ms)
}
