package postgres

import "github.com/tessera-id/tessera/internal/store"

var _ store.Store = (*Store)(nil)
