package guard

import (
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// The verified-token cache (after Envoy's jwt_authn) remembers, by the
// SHA-256 of the whole compact token, the principal of each token whose
// signature, issuer, audience and tenant the guard has checked, so that a
// client presenting the same access token on every call (the usual case)
// costs a hash and a map lookup instead of a signature verification.
// Those checks depend only on the token and on the guard's configuration,
// which is fixed, so a cache per guard may skip them. Everything that
// changes with time is checked on every request, cached or not: exp and
// nbf against the clock, the revocation feed or introspection, and, in
// the middleware, the tenant header and the route's requirements. A token
// is served from the cache only while its key is still published: an
// entry remembers the key that verified it, and a key set without that
// key (rotation retired it, a refetch dropped it) sends the token back
// through full validation, which refuses it.

// DefaultVerifiedTokenCacheSize is the number of verified tokens a guard
// remembers when Config.VerifiedTokenCacheSize is zero.
const DefaultVerifiedTokenCacheSize = 10000

// maxVerifiedShards bounds the shards of the cache. Each shard has its own
// lock, so concurrent requests seldom meet on one.
const maxVerifiedShards = 64

type verifiedCache struct {
	shards []verifiedShard
	mask   uint64
}

type verifiedShard struct {
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]*verifiedEntry
	max int
	_   [32]byte // keeps shards' locks on separate cache lines
}

// verifiedEntry is a token that passed full validation once.
type verifiedEntry struct {
	p   *Principal // never handed out: callers get clones
	kid string
	key crypto.PublicKey // the key that verified the signature
	// set is the latest key set seen to publish kid with key; while it is
	// the current one, the key needs no looking up.
	set atomic.Pointer[keySet]
}

// newVerifiedCache returns a cache of at most size entries, or nil for a
// size of zero or less.
func newVerifiedCache(size int) *verifiedCache {
	if size <= 0 {
		return nil
	}
	n := 1
	for n*2 <= min(size, maxVerifiedShards) {
		n *= 2
	}
	c := &verifiedCache{shards: make([]verifiedShard, n), mask: uint64(n - 1)}
	for i := range c.shards {
		c.shards[i].max = size / n
		if i < size%n {
			c.shards[i].max++
		}
		c.shards[i].m = make(map[[sha256.Size]byte]*verifiedEntry)
	}
	return c
}

func (c *verifiedCache) shard(sum *[sha256.Size]byte) *verifiedShard {
	return &c.shards[binary.LittleEndian.Uint64(sum[:8])&c.mask]
}

func (c *verifiedCache) get(sum *[sha256.Size]byte) *verifiedEntry {
	sh := c.shard(sum)
	sh.mu.RLock()
	e := sh.m[*sum]
	sh.mu.RUnlock()
	return e
}

// put adds e, evicting another entry of the shard when it is full. The
// victim is the first of Go's randomly started map iteration: random
// eviction, which needs no bookkeeping on hits.
func (c *verifiedCache) put(sum *[sha256.Size]byte, e *verifiedEntry) {
	sh := c.shard(sum)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[*sum]; !ok && len(sh.m) >= sh.max {
		for k := range sh.m {
			delete(sh.m, k)
			break
		}
	}
	sh.m[*sum] = e
}

// remove drops the entry for sum if it is still e.
func (c *verifiedCache) remove(sum *[sha256.Size]byte, e *verifiedEntry) {
	sh := c.shard(sum)
	sh.mu.Lock()
	if sh.m[*sum] == e {
		delete(sh.m, *sum)
	}
	sh.mu.Unlock()
}

// stillPublished reports whether the key that verified e is still in the
// current key set under its kid.
func (k *keyCache) stillPublished(e *verifiedEntry) bool {
	cur := k.current()
	if cur == nil {
		return false
	}
	if e.set.Load() == cur {
		return true
	}
	pub, ok := cur.byKID[e.kid]
	if !ok {
		return false
	}
	// A refetch parses the keys anew, so the same key is a new value.
	if eq, ok := pub.Key.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(e.key) {
		return false
	}
	e.set.Store(cur)
	return true
}
