// Package ratelimit holds the abuse limits: token buckets keyed per client
// id or per remote address in bounded memory, and the remote address as
// seen through trusted proxies.
package ratelimit

import (
	"hash/maphash"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// shards spreads the keys over independent locks, so that the token
// endpoint's hot path does not serialise on one mutex.
const shards = 16

// DefaultMaxKeys bounds the keys a Limiter remembers. A key costs about
// 200 bytes, so 64 Ki keys are about 13 MB at worst.
const DefaultMaxKeys = 64 << 10

// maxFullAfter bounds how long an idle bucket is remembered.
const maxFullAfter = 24 * time.Hour

// Limiter is a token bucket per key: each key may spend Burst requests at
// once and earns Rate more per second. A nil *Limiter allows everything,
// so a limit that is switched off costs nothing.
type Limiter struct {
	limit      rate.Limit
	burst      int
	now        func() time.Time
	perShard   int
	seed       maphash.Seed
	fullAfter  time.Duration
	sweepEvery time.Duration
	shard      [shards]shard
}

type shard struct {
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// Options are a Limiter's injectable clock and memory bound; zero values
// mean time.Now and DefaultMaxKeys.
type Options struct {
	Now     func() time.Time
	MaxKeys int
}

// New returns a Limiter allowing perSecond requests a second per key with
// bursts of burst (at least 1), or nil, allowing everything, when
// perSecond is not positive.
func New(perSecond float64, burst int, opts Options) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	burst = max(burst, 1)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxKeys <= 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	l := &Limiter{limit: rate.Limit(perSecond), burst: burst, now: opts.Now, perShard: max(opts.MaxKeys/shards, 1), seed: maphash.MakeSeed()}
	// A bucket left alone this long is full again: the same as no bucket,
	// so forgetting it changes no answer. At most a day, which also keeps
	// the conversion clear of overflow for a tiny rate: forgetting a
	// bucket idle that long errs on the client's side.
	l.fullAfter = time.Duration(min(float64(burst)/perSecond, maxFullAfter.Seconds()) * float64(time.Second))
	l.sweepEvery = max(l.fullAfter, time.Minute)
	for i := range l.shard {
		l.shard[i].buckets = map[string]*bucket{}
	}
	return l
}

// Allow spends one request of key's bucket. When the bucket is empty it
// answers false and how long until a request would be allowed.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	s := &l.shard[maphash.String(l.seed, key)%shards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastSweep) >= l.sweepEvery {
		l.sweep(s, now)
	}
	b := s.buckets[key]
	if b == nil {
		if len(s.buckets) >= l.perShard {
			l.sweep(s, now)
		}
		if len(s.buckets) >= l.perShard {
			// Every remembered key is active: more keys than the memory
			// bound allows are in use at once. Answer as a fresh bucket
			// would (allow) rather than refuse keys never seen: a flood
			// of new keys (addresses, client ids) each gets a full
			// bucket anyway, and refusing them would let such a flood
			// lock out everyone else. The lockout and the bounded
			// password hashing still hold.
			return true, 0
		}
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		s.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets the buckets that have refilled.
func (l *Limiter) sweep(s *shard, now time.Time) {
	for k, b := range s.buckets {
		if now.Sub(b.seen) >= l.fullAfter {
			delete(s.buckets, k)
		}
	}
	s.lastSweep = now
}

// SetRetryAfter sets Retry-After to d in whole seconds, rounded up and at
// least 1 (RFC 9110 §10.2.3; RFC 6585 §4 for 429), so that a client that
// honours it does not come back a moment too early.
func SetRetryAfter(w http.ResponseWriter, d time.Duration) {
	secs := max(int64((d+time.Second-1)/time.Second), 1)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
}
