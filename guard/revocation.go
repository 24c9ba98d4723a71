package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Revocation kinds of the feed: which tokens an entry refuses.
const (
	revokeSession = "sid"    // every token whose sid is the value
	revokeToken   = "jti"    // the token whose jti (or uti) is the value
	revokeSubject = "oid"    // every token of the object id issued at or before revokedAt
	revokeClient  = "client" // every token of the client (azp/appid) issued at or before revokedAt
	// revokeSuperseded: the tokens of the sign-in (sid) value for the
	// audience aud issued before revokedAt (the second the refresh's new
	// token was issued in), and the token whose jti (or uti) is prior,
	// the one the refresh replaced, whenever issued: what a refresh of the
	// sign-in for that audience retired. The new token is never refused,
	// whichever entry of the sign-in a guard holds. A later one of the
	// same sign-in and audience takes its place, in the feed and here.
	revokeSuperseded = "superseded"
)

const (
	// revocationPageSize is the limit asked of the feed per request; a
	// page of entries is a few tens of kilobytes.
	revocationPageSize = 500
	// maxRevocationPages bounds one poll, so a feed that never stops
	// returning entries cannot hold a poll forever; the next poll goes on
	// from the cursor reached.
	maxRevocationPages = 1000
)

// ErrNoRevocationFeed is returned by PollNow when the guard follows no
// revocation feed: none was configured or discovered, or
// RevocationPollInterval is negative.
var ErrNoRevocationFeed = errors.New("guard: no revocation feed is followed")

// revocationEntry is one feed entry in the form the wire carries it.
type revocationEntry struct {
	Seq       int64     `json:"seq"`
	Kind      string    `json:"kind"`
	Value     string    `json:"value"`
	Aud       string    `json:"aud"`   // superseded only
	Prior     string    `json:"prior"` // superseded only
	RevokedAt time.Time `json:"revokedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// revocations follows one authority's revocation feed: a first full poll in
// New, then a background loop that polls by cursor every interval until
// Close or New's context ends.
type revocations struct {
	feed     string
	tenant   string // the tenant the feed speaks for; "" when unknown (any)
	interval time.Duration
	skew     time.Duration
	client   *http.Client
	now      func() time.Time
	log      *slog.Logger

	// index holds the live revocations: changed in place by each poll,
	// read by Validate without a lock.
	index  *revocationIndex
	synced atomic.Int64 // UnixNano of the last successful poll; 0 never

	pollMu sync.Mutex // one poll at a time: the loop's and PollNow's
	cursor int64      // the feed's next: every entry up to it is applied (under pollMu)

	stop      context.CancelFunc
	done      chan struct{} // closed when the loop has returned
	closeOnce sync.Once
}

func newRevocations(feed, tenant string, s *settings) *revocations {
	r := &revocations{
		feed: feed, tenant: tenant, interval: s.revPoll, skew: s.skew,
		client: s.client, now: s.now, log: s.log,
	}
	r.index = newRevocationIndex()
	return r
}

// start runs the polling loop until ctx ends or close is called.
func (r *revocations) start(ctx context.Context) {
	ctx, r.stop = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go r.loop(ctx)
}

// close stops the loop and waits until it has returned.
func (r *revocations) close() {
	r.closeOnce.Do(func() {
		if r.stop != nil {
			r.stop()
			<-r.done
		}
	})
}

func (r *revocations) loop(ctx context.Context) {
	defer close(r.done)
	failing := false
	timer := time.NewTimer(r.jittered())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		err := r.poll(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			failing = true
			r.log.Warn("guard: revocation feed poll failed; keeping the revocations known so far and retrying",
				"feed", r.feed, "last_success", time.Unix(0, r.synced.Load()).UTC(), "err", err)
		case err != nil:
			r.log.Debug("guard: revocation feed poll failed again", "feed", r.feed, "err", err)
		case failing:
			failing = false
			r.log.Info("guard: revocation feed reachable again", "feed", r.feed)
		}
		timer.Reset(r.jittered())
	}
}

// jittered is the interval shortened by up to 10 %, so that guards started
// together do not poll in step, and none polls later than configured.
func (r *revocations) jittered() time.Duration {
	return r.interval - rand.N(r.interval/10+1)
}

// poll reads the feed from the cursor until a page comes back empty, then
// applies what it read to the index and drops what expired: work in
// proportion to the entries read and expired, not to those held. A failed
// poll changes nothing: the revocations and the cursor stay as they were
// and the next poll starts from the same cursor.
func (r *revocations) poll(ctx context.Context) error {
	r.pollMu.Lock()
	defer r.pollMu.Unlock()
	after := r.cursor
	var added []revocationEntry
	for range maxRevocationPages {
		entries, next, err := r.page(ctx, after)
		if err != nil {
			return err
		}
		if next < after || next == after && len(entries) > 0 {
			return fmt.Errorf("revocation feed %s: cursor went from %d to %d", r.feed, after, next)
		}
		for _, e := range entries {
			if e.Value == "" {
				continue
			}
			switch e.Kind {
			case revokeSession, revokeToken, revokeSubject, revokeClient, revokeSuperseded:
				added = append(added, e)
			default:
				// A kind added to the feed later: older guards skip it.
				r.log.Debug("guard: skipping revocation of unknown kind", "feed", r.feed, "kind", e.Kind, "seq", e.Seq)
			}
		}
		after = next
		if len(entries) == 0 {
			break
		}
	}
	now := r.now()
	r.index.apply(added, now, r.skew)
	r.cursor = after
	r.synced.Store(now.UnixNano())
	return nil
}

// page fetches the entries after the cursor.
func (r *revocations) page(ctx context.Context, after int64) ([]revocationEntry, int64, error) {
	u, err := url.Parse(r.feed)
	if err != nil {
		return nil, 0, err
	}
	q := u.Query()
	q.Set("after", strconv.FormatInt(after, 10))
	q.Set("limit", strconv.Itoa(revocationPageSize))
	u.RawQuery = q.Encode()
	var body struct {
		Revocations []revocationEntry `json:"revocations"`
		Next        *int64            `json:"next"`
	}
	fctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	if err := getJSON(fctx, r.client, u.String(), &body); err != nil {
		return nil, 0, err
	}
	if body.Next == nil {
		return nil, 0, fmt.Errorf("revocation feed %s: answer has no next cursor", r.feed)
	}
	return body.Revocations, *body.Next, nil
}

// revoked reports which kind of entry refuses p, or "". Tokens of another
// tenant than the feed's are not on this feed.
func (r *revocations) revoked(p *Principal) string {
	if r.tenant != "" && p.TenantID != r.tenant {
		return ""
	}
	return r.index.refuses(p, r.now, r.skew)
}

// RevocationsSynced returns when the revocation feed was last read in full,
// by the guard's clock; zero when the guard follows no feed or has never
// read it. A readiness check can refuse traffic when it is too old: until
// the feed is reachable again, tokens revoked since are still accepted.
func (g *Guard) RevocationsSynced() time.Time {
	if g.tenantRevs != nil {
		return g.tenantRevs.synced()
	}
	if g.revs == nil {
		return time.Time{}
	}
	ns := g.revs.synced.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// RevocationsHeld returns how many revocation entries the guard holds in
// memory: about one per sign-in, token, user or client revoked within an
// access token's lifetime, and one per sign-in and API refreshed within
// it (a refresh replaces the entry of its sign-in's previous one), over
// every tenant's feed on a multi-tenant authority, 0 when it follows no
// feed. A monitoring gauge: it grows with the sign-ins, not
// with how often they refresh.
func (g *Guard) RevocationsHeld() int {
	if g.tenantRevs != nil {
		return g.tenantRevs.held()
	}
	if g.revs == nil {
		return 0
	}
	return int(g.revs.index.count.Load())
}

// PollNow reads the revocation feed now, from where the last poll ended,
// without waiting for the next interval. It returns ErrNoRevocationFeed if
// the guard follows no feed; on any other error the known revocations stay
// as they were.
func (g *Guard) PollNow(ctx context.Context) error {
	if g.tenantRevs != nil {
		return g.tenantRevs.pollNow(ctx)
	}
	if g.revs == nil {
		return ErrNoRevocationFeed
	}
	if err := g.revs.poll(ctx); err != nil {
		return fmt.Errorf("guard: poll revocation feed: %w", err)
	}
	return nil
}

// Close stops the background polling of the revocation feed and waits for
// it to end. The guard goes on validating tokens against the revocations
// it knows. Close may be called more than once.
func (g *Guard) Close() {
	if g.tenantRevs != nil {
		g.tenantRevs.close()
	}
	if g.revs != nil {
		g.revs.close()
	}
}

// tenantOfIssuer returns the tenant id in an Entra-shaped issuer
// (https://host/{tid}/v2.0 or https://host/{tid}/), or "" when it has none,
// as in the multi-tenant template https://host/{tenantid}/v2.0.
func tenantOfIssuer(iss string) string {
	u, err := url.Parse(iss)
	if err != nil {
		return ""
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	if !isGUID(first) {
		return ""
	}
	return strings.ToLower(first)
}
