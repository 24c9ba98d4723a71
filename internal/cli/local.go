package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/server"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/token"
)

// openLocalAdmin opens the store of a data folder directly, for `tessera
// admin` on the server host: the directory, the key ring, and a closer.
// It refuses to create a data folder that does not exist, so a typo in
// --data does not silently start an empty directory.
func openLocalAdmin(ctx context.Context, dataDir, dsn string) (*directory.Service, token.KeyAdmin, func() error, error) {
	cfg := config.Default()
	cfg.DataDir, cfg.DB = dataDir, dsn
	if !cfg.Postgres() {
		if _, err := os.Stat(cfg.DatabasePath()); err != nil {
			return nil, nil, nil, withExit(ExitUsage, fmt.Errorf("no tessera database at %s: start `tessera serve --data %s` once, or pass --data/--db or --server", cfg.DatabasePath(), dataDir))
		}
	}
	master, _, err := secrets.LoadOrCreateMasterKey(os.Getenv("TESSERA_MASTER_KEY"), dataDir)
	if err != nil {
		return nil, nil, nil, err
	}
	keys, err := secrets.New(master)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := server.OpenStore(ctx, cfg, false, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, nil, err
	}
	ring, err := token.NewRing(ctx, st, keys, token.RingOptions{Alg: os.Getenv("TESSERA_SIGNING_ALG"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	dir := directory.NewService(st, keys, directory.Options{})
	// As in the server: disabling or deleting a user here revokes what it
	// holds.
	dir.SetRevoker(session.NewService(st, keys, keys, session.Options{}))
	return dir, ring, st.Close, nil
}
