// Package store is the storage contract of tessera: everything the domain
// persists, behind one interface with an implementation per engine
// (store/sqlite, store/postgres, and the cache decorator store/cache) and
// one conformance suite (store/storetest) that every one must pass.
package store

import (
	"context"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/token"
)

// Store is a whole storage engine.
type Store interface {
	directory.Repository
	session.Repository
	token.KeyRepository
	audit.Repository
	// DirectoryVersion returns a counter that moves, in the writer's own
	// transaction, whenever a tenant, application, identifier URI, service
	// principal, credential or role assignment changes, whoever writes
	// it. The directory cache (store/cache) polls it to bound staleness.
	DirectoryVersion(ctx context.Context) (int64, error)
	// Dump writes the store's whole state (Tables) to w from one
	// consistent snapshot, while the store goes on serving.
	Dump(ctx context.Context, w DumpWriter) error
	// Load writes a dump into the store, which must be empty
	// (ErrNotEmpty), all of it or nothing.
	Load(ctx context.Context, d DumpReader) error
	// Ping reports whether the store can serve requests (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}
