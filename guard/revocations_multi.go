package guard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// A multi-tenant authority (/common, /organizations) has one revocation
// feed per tenant, named in discovery by a {tenantid} template, and a
// guard on it accepts tokens of any tenant. It follows the feed of each
// tenant whose tokens it actually accepts: the first token of a tenant
// that passes every other check starts that tenant's feed, and is
// admitted only after the feed's first full read, so a token revoked
// before the guard ever saw its tenant is refused like any other. From
// then on the feed is polled in the background like a single authority's.
// The feeds followed are bounded (Config.RevocationTenants); a feed no
// token has needed for a while stops, and is read afresh, whole, the next
// time one does.

// DefaultRevocationTenants is how many tenants' revocation feeds a guard
// on a multi-tenant authority follows at once when
// Config.RevocationTenants is zero.
const DefaultRevocationTenants = 1000

const (
	// tenantFeedSweep is how often the guard looks for feeds no token has
	// needed since the last look.
	tenantFeedSweep = 5 * time.Minute
	// tenantFeedIdleSweeps stops a feed unused for that many sweeps in a
	// row (15 to 20 minutes): its tenant's next token reads it afresh.
	tenantFeedIdleSweeps = 3
	// failedFeedTTL is how long a first read that failed answers for its
	// tenant, so that an authority that is down is not asked once per
	// request.
	failedFeedTTL = 5 * time.Second
)

// errTooManyTenants refuses a token of one tenant more than the guard may
// follow, until a followed feed falls idle.
var errTooManyTenants = errors.New("the revocation feeds of as many tenants as RevocationTenants allows are followed, none idle")

// tenantFeed is one tenant's feed, started and read once.
type tenantFeed struct {
	r *revocations
	// used is set by every token the feed checks and cleared by each
	// sweep; idle counts the sweeps in a row that found it clear.
	used atomic.Bool
	idle int // under tenantFeeds.mu
}

// failedFeed is a first read that failed, answered until retry.
type failedFeed struct {
	err   error
	retry time.Time
}

// tenantFeeds follows the revocation feeds of a multi-tenant authority.
type tenantFeeds struct {
	template string // feed URL with {tenantid}
	s        *settings
	ctx      context.Context // the guard's: every feed polls until it ends
	max      int
	started  time.Time

	// feeds is an immutable tid -> feed map, replaced whole under mu when
	// a feed starts or stops, so that a request reads it without a lock.
	feeds    atomic.Pointer[map[string]*tenantFeed]
	mu       sync.Mutex
	failed   map[string]failedFeed // under mu
	starting int                   // first reads under way; under mu
	closed   bool                  // under mu
	full     atomic.Bool           // warned that the bound was reached
	flight   singleflight.Group

	stop context.CancelFunc
	done chan struct{}
}

// newTenantFeeds starts following the feeds named by template; none is
// read until a token of its tenant comes.
func newTenantFeeds(ctx context.Context, template string, s *settings) *tenantFeeds {
	t := &tenantFeeds{
		template: template, s: s, max: s.revTenants, started: s.now(),
		failed: map[string]failedFeed{}, done: make(chan struct{}),
	}
	t.feeds.Store(&map[string]*tenantFeed{})
	t.ctx, t.stop = context.WithCancel(ctx)
	go t.sweepLoop()
	return t
}

// revoked returns the kind of entry of p's tenant's feed that refuses p,
// or "", first reading that feed whole if the guard does not follow it
// yet. A feed that cannot be read refuses: the token cannot be checked.
func (t *tenantFeeds) revoked(ctx context.Context, p *Principal) (string, *Error) {
	f := (*t.feeds.Load())[p.TenantID]
	if f == nil {
		var err *Error
		if f, err = t.follow(ctx, p.TenantID); err != nil {
			return "", err
		}
	}
	if !f.used.Load() {
		f.used.Store(true)
	}
	return f.r.revoked(p), nil
}

// follow starts the feed of tid and reads it whole, once however many
// requests of the tenant wait for it.
func (t *tenantFeeds) follow(ctx context.Context, tid string) (*tenantFeed, *Error) {
	if !isGUID(tid) {
		// Only a GUID may go into the feed's URL; tessera's and Entra's
		// tids are GUIDs, and a template issuer accepts no other.
		return nil, newError(ReasonNoTenant, fmt.Errorf("tid %q cannot name a revocation feed", tid))
	}
	ch := t.flight.DoChan(tid, func() (any, error) { return t.start(tid) })
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, newError(ReasonUnavailable, fmt.Errorf("revocation feed of tenant %s: %w", tid, res.Err))
		}
		return res.Val.(*tenantFeed), nil
	case <-ctx.Done():
		return nil, newError(ReasonUnavailable, ctx.Err())
	}
}

// start reads tid's feed whole and starts polling it, if there is room
// for one more tenant. It runs in the single flight of tid. The room is
// taken before the read, so that a token refused for want of it costs the
// authority nothing.
func (t *tenantFeeds) start(tid string) (*tenantFeed, error) {
	if f := (*t.feeds.Load())[tid]; f != nil {
		return f, nil // started by the flight before this one
	}
	if err := t.reserve(tid); err != nil {
		return nil, err
	}
	r := newRevocations(strings.ReplaceAll(t.template, "{tenantid}", tid), tid, t.s)
	err := r.poll(t.ctx)

	t.mu.Lock()
	defer t.mu.Unlock()
	t.starting--
	switch {
	case err != nil:
		t.failed[tid] = failedFeed{err: err, retry: t.s.now().Add(failedFeedTTL)}
		return nil, err
	case t.closed:
		return nil, errors.New("the guard is closed")
	}
	f := &tenantFeed{r: r}
	f.used.Store(true)
	r.start(t.ctx)
	t.put(tid, f)
	t.s.log.Info("guard: following the revocation feed of a tenant", "tenant", tid, "feed", r.feed)
	return f, nil
}

// reserve takes room for one more feed, making it by stopping an idle
// one when the bound is reached, unless tid's first read failed a moment
// ago.
func (t *tenantFeeds) reserve(tid string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errors.New("the guard is closed")
	}
	if ff, ok := t.failed[tid]; ok {
		if t.s.now().Before(ff.retry) {
			return ff.err
		}
		delete(t.failed, tid)
	}
	if n := len(*t.feeds.Load()) + t.starting; n >= t.max && !t.evictLocked() {
		if !t.full.Swap(true) {
			t.s.log.Warn("guard: following as many tenants' revocation feeds as RevocationTenants allows; tokens of further tenants are refused until one falls idle",
				"tenants", n)
		}
		return errTooManyTenants
	}
	t.starting++
	return nil
}

// put installs the map with f added (f nil: tid removed). Under mu.
func (t *tenantFeeds) put(tid string, f *tenantFeed) {
	old := *t.feeds.Load()
	n := make(map[string]*tenantFeed, len(old)+1)
	for k, v := range old {
		n[k] = v
	}
	if f == nil {
		delete(n, tid)
	} else {
		n[tid] = f
	}
	t.feeds.Store(&n)
}

// evictLocked stops the feed that has gone unused for the most sweeps, if
// one has gone unused for at least one, and reports whether it did. Under
// mu.
func (t *tenantFeeds) evictLocked() bool {
	victim, most := "", 0
	for tid, f := range *t.feeds.Load() {
		if f.idle > most && !f.used.Load() {
			victim, most = tid, f.idle
		}
	}
	if victim == "" {
		return false
	}
	t.dropLocked(victim)
	return true
}

// dropLocked stops following tid's feed. Under mu. The map no longer
// holds it, so the next token of tid reads the feed afresh; a request
// that loaded it just before still reads its last set, which is no older
// than a poll interval.
func (t *tenantFeeds) dropLocked(tid string) {
	f := (*t.feeds.Load())[tid]
	if f == nil {
		return
	}
	t.put(tid, nil)
	t.full.Store(false)
	// close waits for the loop, which takes no lock of ours.
	f.r.close()
	t.s.log.Debug("guard: stopped following an idle tenant's revocation feed", "tenant", tid)
}

func (t *tenantFeeds) sweepLoop() {
	defer close(t.done)
	tick := time.NewTicker(tenantFeedSweep)
	defer tick.Stop()
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-tick.C:
			t.sweep()
		}
	}
}

// sweep counts, for every feed, the sweeps in a row no token needed it,
// stops those idle long enough, and forgets failures that have expired.
func (t *tenantFeeds) sweep() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for tid, f := range *t.feeds.Load() {
		if f.used.Swap(false) {
			f.idle = 0
			continue
		}
		if f.idle++; f.idle >= tenantFeedIdleSweeps {
			t.dropLocked(tid)
		}
	}
	now := t.s.now()
	for tid, ff := range t.failed {
		if !now.Before(ff.retry) {
			delete(t.failed, tid)
		}
	}
}

// pollNow reads every followed feed from where it stopped.
func (t *tenantFeeds) pollNow(ctx context.Context) error {
	var errs []error
	for tid, f := range *t.feeds.Load() {
		if err := f.r.poll(ctx); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", tid, err))
		}
	}
	return errors.Join(errs...)
}

// synced is the oldest last full read of the feeds followed: every one of
// them was read whole at or after it. With none followed yet, nothing can
// be out of date: it is when the guard started.
func (t *tenantFeeds) synced() time.Time {
	oldest := t.started
	first := true
	for _, f := range *t.feeds.Load() {
		ns := f.r.synced.Load()
		at := time.Unix(0, ns)
		if first || at.Before(oldest) {
			oldest, first = at, false
		}
	}
	return oldest.UTC()
}

// held is the number of entries held over every feed followed.
func (t *tenantFeeds) held() int {
	n := 0
	for _, f := range *t.feeds.Load() {
		n += int(f.r.index.count.Load())
	}
	return n
}

// tenants lists the tenants whose feeds are followed (for tests).
func (t *tenantFeeds) tenants() []string {
	var out []string
	for tid := range *t.feeds.Load() {
		out = append(out, tid)
	}
	return out
}

// close stops every feed's polling and the sweeps, and waits for them.
// The revocations read so far still refuse tokens; a tenant not followed
// by then can no longer be, and its tokens are refused as unchecked.
func (t *tenantFeeds) close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	t.mu.Unlock()
	t.stop()
	<-t.done
	for _, f := range *t.feeds.Load() {
		f.r.close()
	}
}
