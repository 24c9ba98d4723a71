// Package cache keeps the directory's hot reads in memory: a store.Store
// wrapper that serves tenants, applications, service principals,
// credentials, role assignments and whether a user is enabled without
// touching the database, and invalidates them on every write.
//
// # Design
//
// Entries are immutable snapshots held per key in sync.Maps (no lock on
// the read path; callers get a deep copy, so a caller that modifies what it
// read cannot change what the next caller reads). They sit in one map per
// tenant under a root; tenants themselves sit in the root.
//
// Invalidation has two sources:
//
//   - Writes through this wrapper (the directory service, the admin API):
//     each write method drops the whole cache of the tenant it touches
//     after the store returns (writes are rare; per tenant keeps the other
//     tenants warm). A tenant write drops the root. So a secret removed,
//     a service principal deleted or a role unassigned through this process
//     stops working for the next request.
//
//   - Writes by anyone else on the same database (tessera admin --data
//     while the server runs; other instances): the store's
//     DirectoryVersion counter moves in the writer's own transaction. Poll
//     reads it and drops the root when it moved. Watch polls every
//     MaxStale/2, and entries are only served while the last successful
//     poll started less than MaxStale ago; past that (the database is
//     unreachable, the poller stalled) every read goes to the store. So a
//     credential removed by another process is never honoured longer than
//     MaxStale after its removal committed.
//
// A reader takes the tenant's map before it reads the store and stores
// what it read into that map. If a write invalidates in between, the
// reader's result lands in a map nobody reads any more: a stale value can
// never be put back after the invalidation that should have removed it.
//
// Of a user only the enabled flag is kept (GetUserEnabled, read by the
// admin API's authority check on every request): users are written at
// every failed sign-in, which must neither flush the cache nor be served
// stale. UpdateUser and DeleteUser through this wrapper drop the tenant's
// map; another process enabling, disabling or deleting a user moves the
// directory version (migration 0009), nothing else of a user does.
//
// Not-found results are cached only for identifier-URI lookups (made
// after client authentication, when a resource is resolved); an unknown
// client id or tenant sent by anyone is never remembered, and each
// tenant's map holds at most MaxEntries values.
package cache

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tessera-id/tessera/internal/store"
)

// Options tune the cache; zero values take the defaults.
type Options struct {
	// MaxStale bounds how long a change made by another process can go
	// unseen (default one second).
	MaxStale time.Duration
	// MaxEntries bounds the values cached per tenant (default 100,000).
	MaxEntries int
	Now        func() time.Time
	Logger     *slog.Logger
}

// Store is a store.Store whose directory reads are cached.
type Store struct {
	store.Store
	maxStale   time.Duration
	maxEntries int64
	now        func() time.Time
	log        *slog.Logger

	root atomic.Pointer[root]
	// freshUntil (Unix nanoseconds): entries may be served until then.
	freshUntil atomic.Int64

	pollMu  sync.Mutex // serializes polls, never taken by a read
	version int64      // the counter as of the last poll
}

// root holds everything cached; replacing it flushes the cache.
type root struct {
	tenantsByID     sync.Map // id → directory.Tenant
	tenantsByDomain sync.Map // lower-cased domain → directory.Tenant
	tenants         sync.Map // tenant id → *tenantCache
	n               atomic.Int64
}

// tenantCache holds one tenant's objects; dropping it invalidates them.
type tenantCache struct {
	apps      sync.Map // appId → directory.Application
	appsByURI sync.Map // identifier URI → uriLookup
	sps       sync.Map // appId → directory.ServicePrincipal
	creds     sync.Map // appId → []directory.Credential
	roles     sync.Map // principal id → []directory.RoleAssignment
	users     sync.Map // user object id → bool (enabled)
	n         atomic.Int64
}

// New wraps st. It reads the directory version once, so that a failure to
// reach the counter shows now, not as a silently uncached server.
func New(ctx context.Context, st store.Store, opts Options) (*Store, error) {
	c := &Store{Store: st, maxStale: opts.MaxStale, maxEntries: int64(opts.MaxEntries), now: opts.Now, log: opts.Logger}
	if c.maxStale <= 0 {
		c.maxStale = time.Second
	}
	if c.maxEntries <= 0 {
		c.maxEntries = 100_000
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.root.Store(&root{})
	if err := c.Poll(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Poll reads the store's directory version and flushes the cache if it
// moved since the last poll. On success the cache may serve entries for
// MaxStale from the moment Poll started; on failure it keeps the previous
// deadline, after which reads go to the store.
func (c *Store) Poll(ctx context.Context) error {
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	// The deadline counts from before the read: a change committed after
	// the counter was read is at most MaxStale old when the deadline hits.
	start := c.now()
	v, err := c.Store.DirectoryVersion(ctx)
	if err != nil {
		return err
	}
	if v != c.version {
		c.root.Store(&root{})
		c.version = v
	}
	c.freshUntil.Store(start.Add(c.maxStale).UnixNano())
	return nil
}

// Watch polls every MaxStale/2 until ctx ends.
func (c *Store) Watch(ctx context.Context) {
	t := time.NewTicker(c.maxStale / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Poll(ctx); err != nil && !errors.Is(ctx.Err(), context.Canceled) {
				c.log.Error("directory cache: polling the directory version; reads go to the store until it answers", "err", err)
			}
		}
	}
}

// Flush drops everything cached.
func (c *Store) Flush() { c.root.Store(&root{}) }

// current returns the root to read and fill, or nil when the cache is past
// its deadline and every read must go to the store.
func (c *Store) current() *root {
	if c.now().UnixNano() >= c.freshUntil.Load() {
		return nil
	}
	return c.root.Load()
}

// scope returns the map of a tenant to read and fill, or nil (see current).
func (c *Store) scope(tenantID string) *tenantCache {
	r := c.current()
	if r == nil {
		return nil
	}
	if tc, ok := r.tenants.Load(tenantID); ok {
		return tc.(*tenantCache)
	}
	tc, _ := r.tenants.LoadOrStore(tenantID, &tenantCache{})
	return tc.(*tenantCache)
}

// invalidate drops a tenant's objects. It runs after the store's write
// returned, whatever the outcome: a failed write may still have committed
// (a cancelled context after COMMIT), and a needless drop is cheap.
func (c *Store) invalidate(tenantID string) {
	c.root.Load().tenants.Delete(tenantID)
}

// put stores v under key in m unless the tenant's map is full.
func put(m *sync.Map, n *atomic.Int64, limit int64, key string, v any) {
	if n.Load() >= limit {
		return
	}
	if _, loaded := m.LoadOrStore(key, v); !loaded {
		n.Add(1)
	}
}

func (tc *tenantCache) put(c *Store, m *sync.Map, key string, v any) {
	put(m, &tc.n, c.maxEntries, key, v)
}
