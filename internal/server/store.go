package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/postgres"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

// OpenStore opens the store cfg names: PostgreSQL when --db is a
// postgres:// URL, else the SQLite file (by default in the data folder).
// Either brings its schema up to date first (PostgreSQL under an advisory
// lock, so that instances starting together migrate once), unless
// cfg.Migrate is off: then it refuses a schema that is not exactly its own.
//
// serving is true for `tessera serve`: on SQLite it then also takes the
// data folder's serving lock, so that a second server on the same file is
// refused with a clear message instead of sharing it (see
// sqlite.LockServing); the lock goes with the store's Close. Tools that
// write briefly (`tessera admin --data`) pass false.
func OpenStore(ctx context.Context, cfg config.Config, serving bool, log *slog.Logger) (store.Store, error) {
	if cfg.Postgres() {
		var opts []postgres.Option
		if !cfg.Migrate {
			opts = append(opts, postgres.NoMigrate())
		}
		pg, err := postgres.Open(ctx, cfg.DB, opts...)
		if err != nil {
			return nil, err
		}
		for _, m := range pg.Applied() {
			log.Info("applied a schema migration", "engine", "postgres", "migration", m)
		}
		return pg, nil
	}
	path := cfg.DatabasePath()
	release := func() {}
	if serving {
		var err error
		if release, err = sqlite.LockServing(path); err != nil {
			return nil, err
		}
	}
	var opts []sqlite.Option
	if !cfg.Migrate {
		opts = append(opts, sqlite.NoMigrate())
	}
	db, err := sqlite.Open(ctx, path, opts...)
	if err != nil {
		release()
		return nil, err
	}
	return &lockedStore{Store: db, release: release}, nil
}

// lockedStore releases the serving lock after the store is closed.
type lockedStore struct {
	store.Store
	release func()
}

func (s *lockedStore) Close() error {
	defer s.release()
	if err := s.Store.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}
