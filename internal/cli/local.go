package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/server"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/sqlite"
	"github.com/tessera-id/tessera/internal/token"
)

// localAdmin is what the in-process admin API works with.
type localAdmin struct {
	dir  *directory.Service
	keys token.KeyAdmin
	// audit records the changes made here, in the database, as the
	// server does; close writes what is queued before the store closes.
	audit *audit.Recorder
	close func() error
	// readOnly: the database could only be opened for reading.
	readOnly bool
}

// openLocal opens the store of a data folder (or DSN) directly, for
// `tessera admin` on the server host: the directory, the key ring, the
// audit recorder, and a closer. It refuses to create a data folder that
// does not exist, so a typo in --data does not silently start an empty
// directory.
func openLocal(ctx context.Context, dataDir, dsn string) (*localAdmin, error) {
	cfg := config.Default()
	cfg.DataDir, cfg.DB = dataDir, dsn
	if !cfg.Postgres() {
		if _, err := os.Stat(cfg.DatabasePath()); err != nil {
			return nil, withExit(ExitUsage, fmt.Errorf("no tessera database at %s: start `tessera serve --data %s` once, or pass --data/--db or --server", cfg.DatabasePath(), dataDir))
		}
	}
	master, _, err := secrets.LoadOrCreateMasterKey(os.Getenv("TESSERA_MASTER_KEY"), dataDir)
	if err != nil {
		return nil, err
	}
	keys, err := secrets.New(master)
	if err != nil {
		return nil, err
	}
	st, err := server.OpenStore(ctx, cfg, false, slog.New(slog.DiscardHandler))
	readOnly := false
	if err != nil && !cfg.Postgres() {
		// A data folder this process may not write (a read-only mount, a
		// backup copy owned by another user): reads still work, as the
		// operator inspecting it expects; a change says why it cannot.
		ro, rerr := sqlite.Open(ctx, cfg.DatabasePath(), sqlite.ReadOnly())
		if rerr != nil {
			return nil, fmt.Errorf("cannot open %s: %w (read-only: %v)", cfg.DatabasePath(), err, rerr)
		}
		st, err, readOnly = ro, nil, true
	}
	if err != nil {
		return nil, err
	}
	ring, err := token.NewRing(ctx, st, keys, token.RingOptions{Alg: os.Getenv("TESSERA_SIGNING_ALG"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		st.Close()
		return nil, err
	}
	// The audit events go to the database only: the operator's terminal
	// is no structured log.
	rec := audit.NewRecorder(st, audit.Options{Logger: slog.New(slog.DiscardHandler)})
	// As in the server: disabling or deleting a user here revokes what it
	// holds.
	dir := directory.NewService(st, keys, directory.Options{Audit: rec,
		Revoker: session.NewService(st, keys, keys, session.Options{Audit: rec})})
	closeAll := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return errors.Join(rec.Close(ctx), st.Close())
	}
	return &localAdmin{dir: dir, keys: ring, audit: rec, close: closeAll, readOnly: readOnly}, nil
}
