package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/store/postgres"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

// migrateOptions name the database as serve does: --db (a postgres:// URL
// or a SQLite file) or the data folder's SQLite file.
type migrateOptions struct {
	dataDir string
	dsn     string
	out     output
}

// databaseFlags adds --data (a data folder purpose describes) and --db,
// which database names.
func (o *migrateOptions) databaseFlags(f *pflag.FlagSet, purpose string) {
	f.StringVar(&o.dataDir, "data", "", "data folder "+purpose+" (default $TESSERA_DATA or ./tessera-data)")
	f.StringVar(&o.dsn, "db", "", "database: a postgres:// URL or a SQLite file (default $TESSERA_DB)")
}

// database is the configuration --db/--data (or TESSERA_DB/TESSERA_DATA)
// describe.
func (o *migrateOptions) database(cmd *cobra.Command) config.Config {
	cfg := config.Default()
	cfg.DataDir, cfg.DB = o.dataDir, o.dsn
	if !cmd.Flags().Changed("data") && os.Getenv("TESSERA_DATA") != "" {
		cfg.DataDir = os.Getenv("TESSERA_DATA")
	}
	if !cmd.Flags().Changed("db") && os.Getenv("TESSERA_DB") != "" {
		cfg.DB = os.Getenv("TESSERA_DB")
	}
	if cfg.DataDir == "" {
		cfg.DataDir = config.Default().DataDir
	}
	return cfg
}

// migrationReport is what both subcommands print.
type migrationReport struct {
	Engine        string `json:"engine"`
	SchemaVersion int    `json:"schemaVersion"`
	LatestVersion int    `json:"latestVersion"`
	// Applied lists what `migrate up` applied just now (empty: current).
	Applied []string `json:"applied,omitempty"`
	// Migrations is every migration this binary knows (status only).
	Migrations any `json:"migrations,omitempty"`
}

func newMigrateCmd() *cobra.Command {
	o := &migrateOptions{}
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Show or apply the database schema migrations",
		Long: `Show or apply the database schema migrations.

tessera serve applies pending migrations itself at start (on PostgreSQL under an
advisory lock, so that instances starting together migrate once). Run them as
their own step when the server's database role may not change the schema, or to
migrate before rolling out a new version. Migrations only go forward: a binary
refuses a schema newer than it knows and never downgrades one.`,
		Example: `  tessera migrate status --db postgres://tessera@db.internal/tessera
  TESSERA_DB=postgres://tessera@db.internal/tessera tessera migrate up
  tessera migrate status --data ./tessera-data`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	f := cmd.PersistentFlags()
	o.databaseFlags(f, "whose SQLite database to migrate")

	up := &cobra.Command{
		Use:   "up",
		Short: "Apply every pending migration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := migrateUp(cmd.Context(), o.database(cmd))
			if err != nil {
				return err
			}
			return o.out.print(cmd.OutOrStdout(), rep)
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "List the migrations this binary knows and whether the database has them; changes nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := migrateStatus(cmd.Context(), o.database(cmd))
			if err != nil {
				return err
			}
			return o.out.print(cmd.OutOrStdout(), rep)
		},
	}
	o.out.addFlags(up)
	o.out.addFlags(status)
	cmd.AddCommand(up, status, newMigrateCopyCmd())
	return cmd
}

func migrateUp(ctx context.Context, cfg config.Config) (migrationReport, error) {
	if cfg.Postgres() {
		applied, err := postgres.Migrate(ctx, cfg.DB)
		if err != nil {
			return migrationReport{}, err
		}
		v := postgres.LatestVersion()
		return migrationReport{Engine: "postgres", SchemaVersion: v, LatestVersion: v, Applied: applied}, nil
	}
	before := 0
	if _, err := os.Stat(cfg.DatabasePath()); err == nil {
		if before, _, err = sqlite.Status(ctx, cfg.DatabasePath()); err != nil {
			return migrationReport{}, err
		}
	} else if cfg.DB == "" {
		// Opening the store migrates it, creating the file if need be, as
		// serve would.
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return migrationReport{}, err
		}
	}
	st, err := sqlite.Open(ctx, cfg.DatabasePath())
	if err != nil {
		return migrationReport{}, err
	}
	st.Close()
	after, ms, err := sqlite.Status(ctx, cfg.DatabasePath())
	if err != nil {
		return migrationReport{}, err
	}
	var applied []string
	for _, m := range ms {
		if m.Version > before && m.Version <= after {
			applied = append(applied, m.Name)
		}
	}
	return migrationReport{Engine: "sqlite", SchemaVersion: after, LatestVersion: sqlite.LatestVersion(), Applied: applied}, nil
}

func migrateStatus(ctx context.Context, cfg config.Config) (migrationReport, error) {
	if cfg.Postgres() {
		v, ms, err := postgres.Status(ctx, cfg.DB)
		if err != nil {
			return migrationReport{}, err
		}
		return migrationReport{Engine: "postgres", SchemaVersion: v, LatestVersion: postgres.LatestVersion(), Migrations: ms}, nil
	}
	v, ms, err := sqlite.Status(ctx, cfg.DatabasePath())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return migrationReport{}, withExit(ExitNotFound, fmt.Errorf("no tessera database at %s: pass --data or --db", cfg.DatabasePath()))
		}
		return migrationReport{}, err
	}
	return migrationReport{Engine: "sqlite", SchemaVersion: v, LatestVersion: sqlite.LatestVersion(), Migrations: ms}, nil
}
