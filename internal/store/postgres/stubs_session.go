// Stubs of the session and key half of store.Store, removed one by one as
// the methods are written. This file is deleted when empty.

package postgres

import (
	"context"
	"github.com/tessera-id/tessera/internal/token"
	"time"
)

func (s *Store) Purge(ctx context.Context, before time.Time, limit int) (int64, error) {
	return 0, errNotImplemented
}

func (s *Store) ListSigningKeys(ctx context.Context) ([]token.KeyRecord, error) {
	return nil, errNotImplemented
}

func (s *Store) InitSigningKeys(ctx context.Context, keys []token.KeyRecord) (bool, error) {
	return false, errNotImplemented
}

func (s *Store) RotateSigningKeys(ctx context.Context, activeID string, publishUntil time.Time, newNext token.KeyRecord, now time.Time) error {
	return errNotImplemented
}
