package server

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/store/postgres/pgtest"
)

// With --migrate=false a server never changes the schema: it refuses an
// empty database, one a migration behind, and one newer than it knows, each
// with a message that says what to do, and starts only on its exact own
// schema, which `tessera migrate up` (here: a server with migrations on)
// made. Both engines.
func TestOpenStoreWithoutMigrating(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	for _, engine := range []struct {
		name string
		// cfg is a configuration on a fresh, empty database.
		cfg func(t *testing.T) config.Config
		// exec runs SQL on the database cfg names.
		exec func(t *testing.T, cfg config.Config, stmt string)
		// untouched reports that the refused open made nothing.
		untouched func(t *testing.T, cfg config.Config) bool
	}{
		{
			name: "sqlite",
			cfg: func(t *testing.T) config.Config {
				c := config.Default()
				c.DataDir = t.TempDir()
				return c
			},
			exec: func(t *testing.T, cfg config.Config, stmt string) {
				db, err := sql.Open("sqlite", cfg.DatabasePath())
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if _, err := db.Exec(stmt); err != nil {
					t.Fatal(err)
				}
			},
			untouched: func(t *testing.T, cfg config.Config) bool {
				_, err := os.Stat(cfg.DatabasePath())
				return errors.Is(err, fs.ErrNotExist)
			},
		},
		{
			name: "postgres",
			cfg: func(t *testing.T) config.Config {
				c := config.Default()
				c.DataDir, c.DB = t.TempDir(), pgtest.Schema(t)
				return c
			},
			exec: func(t *testing.T, cfg config.Config, stmt string) {
				conn, err := pgx.Connect(ctx, cfg.DB)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(ctx)
				if _, err := conn.Exec(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			},
			untouched: func(t *testing.T, cfg config.Config) bool {
				conn, err := pgx.Connect(ctx, cfg.DB)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(ctx)
				var tables int
				if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables); err != nil {
					t.Fatal(err)
				}
				return tables == 0
			},
		},
	} {
		t.Run(engine.name, func(t *testing.T) {
			cfg := engine.cfg(t)
			refused := func(want string) {
				t.Helper()
				off := cfg
				off.Migrate = false
				st, err := OpenStore(ctx, off, true, log)
				if err == nil {
					st.Close()
					t.Fatalf("--migrate=false opened a database it should refuse (%s)", want)
				}
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("refused with %q, want it to say %q", err, want)
				}
			}

			refused("tessera migrate up")
			if !engine.untouched(t, cfg) {
				t.Fatal("a refused open changed the database")
			}

			// Migrations on: the schema is made; then off: it opens.
			st, err := OpenStore(ctx, cfg, true, log)
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			off := cfg
			off.Migrate = false
			st, err = OpenStore(ctx, off, true, log)
			if err != nil {
				t.Fatalf("--migrate=false on a current schema: %v", err)
			}
			st.Close()

			// One migration behind, as before an upgrade's `migrate up`.
			engine.exec(t, cfg, `DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`)
			refused("older than this binary needs")
			// Newer than this binary: refused with migrations on or off.
			engine.exec(t, cfg, migrationRowSQL(engine.name, 1000))
			refused("newer than this binary supports")
			if st, err := OpenStore(ctx, cfg, true, log); err == nil {
				st.Close()
				t.Fatal("migrations on: a newer schema was opened")
			}
		})
	}
}

// migrationRowSQL records a migration numbered version, as a later binary
// would have.
func migrationRowSQL(engine string, version int) string {
	if engine == "sqlite" {
		return "INSERT INTO schema_migrations (version, applied_at) VALUES (" + strconv.Itoa(version) + ", 0)"
	}
	return "INSERT INTO schema_migrations (version, name, applied_at, applied_by) VALUES (" + strconv.Itoa(version) + ", 'later', now(), 'test')"
}
