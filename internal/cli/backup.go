package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/backup"
	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/server"
	"github.com/tessera-id/tessera/internal/store"
)

// masterKeyNote is what every backup report says, because it is what an
// operator most needs to know about a backup.
const masterKeyNote = "the master key is not in the backup: keep it apart (a restore needs the same key; " +
	"with the key next to the archive, whoever holds both holds every token and secret)"

// backupReport is what backup, restore and migrate copy print.
type backupReport struct {
	File      string           `json:"file,omitempty"`
	From      string           `json:"from,omitempty"`
	To        string           `json:"to,omitempty"`
	Engine    string           `json:"engine"`
	Schema    int              `json:"schemaVersion"`
	CreatedAt string           `json:"createdAt"`
	Rows      map[string]int64 `json:"rows"`
	Total     int64            `json:"totalRows"`
	Note      string           `json:"note"`
}

func report(sum backup.Summary, note string) backupReport {
	r := backupReport{Engine: sum.Header.Engine, Schema: sum.Header.Schema, Rows: sum.Rows, Note: note,
		CreatedAt: sum.Header.CreatedAt.Format("2006-01-02T15:04:05Z07:00")}
	for _, n := range sum.Rows {
		r.Total += n
	}
	return r
}

// engineOf names the engine cfg describes.
func engineOf(cfg config.Config) string {
	if cfg.Postgres() {
		return "postgres"
	}
	return "sqlite"
}

// openExisting opens the store cfg names for reading its state: it must
// exist and be at this binary's schema (no migration: a backup is of what
// the server runs on).
func openExisting(ctx context.Context, cfg config.Config) (store.Store, error) {
	if !cfg.Postgres() {
		if _, err := os.Stat(cfg.DatabasePath()); err != nil {
			return nil, withExit(ExitNotFound, fmt.Errorf("no tessera database at %s: pass --data or --db", cfg.DatabasePath()))
		}
	}
	cfg.Migrate = false
	return server.OpenStore(ctx, cfg, false, slog.New(slog.DiscardHandler))
}

func masterKeyOf(cfg config.Config) (*secrets.Keys, error) {
	master, err := secrets.LoadMasterKey(os.Getenv("TESSERA_MASTER_KEY"), cfg.DataDir)
	if err != nil {
		if errors.Is(err, secrets.ErrNoMasterKey) {
			return nil, withExit(ExitUsage, err)
		}
		return nil, err
	}
	return secrets.New(master)
}

func newBackupCmd() *cobra.Command {
	o := &migrateOptions{}
	var to string
	cmd := &cobra.Command{
		Use:   "backup --to FILE",
		Short: "Write a consistent copy of the whole state to a file, while the server runs",
		Long: `Write a consistent copy of the whole state to a file, while the server runs.

The backup holds every tenant, application, secret (hashed), certificate, user,
consent, role assignment, signing key (sealed), sign-in, refresh token family,
revocation feed entry and audit event, read from one snapshot of the database
(SQLite: one read transaction on the live file; PostgreSQL: one REPEATABLE READ
transaction). It is engine-neutral: a backup of SQLite restores on PostgreSQL
and the other way round (see tessera restore, tessera migrate copy).

The master key is NOT in the backup, and a restore needs it: keep it apart, in
a secret store, not next to the archive. The file is written with mode 0600 and
appears under its name only once complete.`,
		Example: `  tessera backup --to /backups/tessera-$(date +%F).tbk
  TESSERA_MASTER_KEY=... tessera backup --db postgres://tessera@db/tessera --to tessera.tbk
  tessera backup --to - | gpg --encrypt -r ops@example.com > tessera.tbk.gpg`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := o.database(cmd)
			rep, err := runBackup(cmd.Context(), cfg, to, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			if to == "-" {
				// The archive took stdout.
				fmt.Fprintf(cmd.ErrOrStderr(), "backup: %d rows; %s\n", rep.Total, masterKeyNote)
				return nil
			}
			fmt.Fprintln(cmd.ErrOrStderr(), "backup: "+masterKeyNote)
			return o.out.print(cmd.OutOrStdout(), rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "file to write (- for standard output)")
	o.databaseFlags(f, "whose SQLite database to back up")
	cmd.MarkFlagRequired("to") //nolint:errcheck // the flag exists
	o.out.addFlags(cmd)
	return cmd
}

func runBackup(ctx context.Context, cfg config.Config, to string, stdout io.Writer) (backupReport, error) {
	keys, err := masterKeyOf(cfg)
	if err != nil {
		return backupReport{}, err
	}
	st, err := openExisting(ctx, cfg)
	if err != nil {
		return backupReport{}, err
	}
	defer st.Close()
	info := backup.Info{Engine: engineOf(cfg), Tessera: buildVersion().Version}
	if to == "-" {
		sum, err := backup.Write(ctx, stdout, st, keys, info)
		return report(sum, masterKeyNote), err
	}
	// Written beside its final name and renamed once synced: a file under
	// that name is always a whole backup.
	tmp, err := os.CreateTemp(filepath.Dir(to), "."+filepath.Base(to)+".*.partial")
	if err != nil {
		return backupReport{}, err
	}
	defer os.Remove(tmp.Name()) // after the rename, there is nothing there
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return backupReport{}, err
	}
	sum, err := backup.Write(ctx, tmp, st, keys, info)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), to)
	}
	if err == nil {
		// The rename is durable once the folder is: a backup reported
		// written is there after a crash.
		err = syncDir(filepath.Dir(to))
	}
	if err != nil {
		return backupReport{}, fmt.Errorf("backup: %w", err)
	}
	rep := report(sum, masterKeyNote)
	rep.File = to
	return rep, nil
}

func newRestoreCmd() *cobra.Command {
	o := &migrateOptions{}
	var from string
	cmd := &cobra.Command{
		Use:   "restore --from FILE",
		Short: "Bring a backup back into an empty database",
		Long: `Bring a backup back into an empty database.

The target is a data folder without a database (SQLite: the file is created) or
an empty PostgreSQL database; a database any server has started on is not empty
and is refused. The restore is one transaction: all of the backup or, on any
error, nothing.

It needs the master key the backup was made under, from TESSERA_MASTER_KEY or
master.key in the data folder (put it back there first: the restore never makes
one). With another key it stops before writing anything.`,
		Example: `  tessera restore --from tessera-2026-12-07.tbk --data ./tessera-data
  TESSERA_MASTER_KEY=... tessera restore --from tessera.tbk --db postgres://tessera@db/tessera_new`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := runRestore(cmd.Context(), o.database(cmd), from, cmd.InOrStdin())
			if err != nil {
				return err
			}
			return o.out.print(cmd.OutOrStdout(), rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "backup file to read (- for standard input)")
	o.databaseFlags(f, "to restore into")
	cmd.MarkFlagRequired("from") //nolint:errcheck // the flag exists
	o.out.addFlags(cmd)
	return cmd
}

func openArchive(from string, stdin io.Reader) (*backup.Reader, io.Closer, error) {
	var r io.ReadCloser = io.NopCloser(stdin)
	if from != "-" {
		f, err := os.Open(from)
		if err != nil {
			return nil, nil, withExit(ExitNotFound, err)
		}
		r = f
	}
	ar, err := backup.NewReader(r)
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return ar, r, nil
}

// openTarget opens the store cfg names to load a backup into, creating a
// SQLite file if there is none, and holding the data folder's serving lock
// so that no server starts on it (and finds it empty) meanwhile. done
// closes it with the load's outcome: on an error it removes the file it
// created, so that a refused or failed load leaves nothing behind, and
// makes a non-empty target a usage error.
func openTarget(ctx context.Context, cfg config.Config) (_ store.Store, done func(error) error, _ error) {
	created := false
	if !cfg.Postgres() {
		if _, err := os.Stat(cfg.DatabasePath()); errors.Is(err, os.ErrNotExist) {
			created = true
			if err := os.MkdirAll(filepath.Dir(cfg.DatabasePath()), 0o700); err != nil {
				return nil, nil, err
			}
		}
	}
	st, err := server.OpenStore(ctx, cfg, true, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	return st, func(err error) error {
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			return nil
		}
		if created {
			for _, suffix := range []string{"", "-wal", "-shm", ".serve.lock"} {
				os.Remove(cfg.DatabasePath() + suffix)
			}
		}
		if errors.Is(err, store.ErrNotEmpty) {
			return withExit(ExitUsage, err)
		}
		return err
	}, nil
}

func runRestore(ctx context.Context, cfg config.Config, from string, stdin io.Reader) (backupReport, error) {
	keys, err := masterKeyOf(cfg)
	if err != nil {
		return backupReport{}, err
	}
	ar, closer, err := openArchive(from, stdin)
	if err != nil {
		return backupReport{}, err
	}
	defer closer.Close()
	// Before anything exists that a refusal would leave behind.
	if err := ar.CheckKey(keys); err != nil {
		return backupReport{}, err
	}
	st, done, err := openTarget(ctx, cfg)
	if err != nil {
		return backupReport{}, err
	}
	sum, err := backup.Restore(ctx, ar, st, keys)
	if err = done(err); err != nil {
		return backupReport{}, err
	}
	rep := report(sum, "restored; start tessera serve on it with the same master key")
	rep.From = from
	return rep, nil
}

// databaseAt is the configuration that names one database: a postgres://
// URL, a data folder, or a SQLite file.
func databaseAt(where string) config.Config {
	cfg := config.Default()
	switch fi, err := os.Stat(where); {
	case strings.HasPrefix(where, "postgres://") || strings.HasPrefix(where, "postgresql://"):
		cfg.DB = where
	case err == nil && fi.IsDir():
		cfg.DataDir = where
	default:
		cfg.DB, cfg.DataDir = where, filepath.Dir(where)
	}
	return cfg
}

func newMigrateCopyCmd() *cobra.Command {
	var from, to string
	var out output
	cmd := &cobra.Command{
		Use:   "copy --from SOURCE --to TARGET",
		Short: "Copy a deployment's whole state to another database (SQLite to PostgreSQL)",
		Long: `Copy a deployment's whole state to another database, typically from the
SQLite file of a single server to PostgreSQL when one machine is no longer
enough. SOURCE and TARGET are each a data folder, a SQLite file or a
postgres:// URL.

Everything moves: signing keys, the directory, sign-ins, refresh token
families, the revocation feed and its counter, audit. Tokens issued before the
move verify after it, and refresh tokens go on rotating.

The target must be empty (a new database no server has started on); the copy
is one transaction on it: all of it, or on any error nothing, so a failed copy
is simply run again. The source is read from one snapshot: stop the server (or
accept that what it writes after the copy starts stays behind), copy, then start
the servers on the target with the source's master key (TESSERA_MASTER_KEY, the
contents of master.key in the source's data folder).`,
		Example: `  tessera migrate copy --from ./tessera-data --to postgres://tessera@db.internal/tessera
  TESSERA_MASTER_KEY=$(cat ./tessera-data/master.key) tessera serve --db postgres://tessera@db.internal/tessera`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := runCopy(cmd.Context(), databaseAt(from), databaseAt(to))
			if err != nil {
				return err
			}
			rep.From, rep.To = from, to
			return out.print(cmd.OutOrStdout(), rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "source: data folder, SQLite file or postgres:// URL")
	f.StringVar(&to, "to", "", "target: data folder, SQLite file or postgres:// URL (empty)")
	cmd.MarkFlagRequired("from") //nolint:errcheck // the flag exists
	cmd.MarkFlagRequired("to")   //nolint:errcheck // the flag exists
	out.addFlags(cmd)
	return cmd
}

// runCopy streams a backup of src into a restore on dst: the same archive,
// checks and all-or-nothing load, through a pipe instead of a file.
func runCopy(ctx context.Context, src, dst config.Config) (backupReport, error) {
	keys, err := masterKeyOf(src)
	if err != nil {
		return backupReport{}, err
	}
	from, err := openExisting(ctx, src)
	if err != nil {
		return backupReport{}, err
	}
	defer from.Close()
	to, done, err := openTarget(ctx, dst)
	if err != nil {
		return backupReport{}, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	wrote := make(chan error, 1)
	go func() {
		_, err := backup.Write(ctx, pw, from, keys, backup.Info{Engine: engineOf(src), Tessera: buildVersion().Version})
		pw.CloseWithError(err)
		wrote <- err
	}()
	var sum backup.Summary
	ar, err := backup.NewReader(pr)
	if err == nil {
		sum, err = backup.Restore(ctx, ar, to, keys)
	}
	// Unblock the writer if the restore stopped reading.
	pr.CloseWithError(errors.New("the restore stopped"))
	werr := <-wrote
	if err == nil {
		err = werr
	}
	if err = done(err); err != nil {
		return backupReport{}, err
	}
	note := "copied; serve on the target with the source's master key"
	if !src.Postgres() && os.Getenv("TESSERA_MASTER_KEY") == "" {
		note += " (TESSERA_MASTER_KEY=$(cat " + filepath.Join(src.DataDir, secrets.MasterKeyFile) + "))"
	}
	return report(sum, note), nil
}

// syncDir flushes a folder's entries (a rename into it) to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
