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
	RevokedAt time.Time `json:"revokedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// revokedBefore refuses the tokens of one oid or client issued at or before
// revokedAt, until expiresAt.
type revokedBefore struct {
	revokedAt time.Time
	expiresAt time.Time
}

// revocationSet is an immutable snapshot of the live revocations, replaced
// whole by each poll that changes it, so Validate reads it through an
// atomic pointer without a lock.
type revocationSet struct {
	cursor   int64                // the feed's next: every entry up to it is applied
	sessions map[string]time.Time // sid -> expiresAt
	tokens   map[string]time.Time // jti/uti -> expiresAt
	subjects map[string][]revokedBefore
	clients  map[string][]revokedBefore
	size     int
	// nextExpiry is the earliest expiresAt held: until then a poll that
	// brings nothing new has nothing to drop either.
	nextExpiry time.Time
}

// revokes returns the kind of the entry that refuses p, or "".
func (s *revocationSet) revokes(p *Principal) string {
	if s.size == 0 {
		return ""
	}
	if p.SessionID != "" {
		if _, ok := s.sessions[p.SessionID]; ok {
			return revokeSession
		}
	}
	// Entra tokens carry uti, tessera's both; an entry may name either.
	if s.hasToken(p.jti) || s.hasToken(p.uti) {
		return revokeToken
	}
	if p.ObjectID != "" && issuedBefore(s.subjects[p.ObjectID], p.IssuedAt) {
		return revokeSubject
	}
	// v2 tokens name the client in azp, v1 tokens in appid.
	if p.azp != "" && issuedBefore(s.clients[p.azp], p.IssuedAt) {
		return revokeClient
	}
	if p.appid != "" && issuedBefore(s.clients[p.appid], p.IssuedAt) {
		return revokeClient
	}
	return ""
}

func (s *revocationSet) hasToken(id string) bool {
	_, ok := s.tokens[id]
	return ok && id != ""
}

// issuedBefore reports whether a token issued at iat falls under one of
// the entries (iat <= revokedAt). A token without iat cannot show that it
// was issued after the revocation, so it falls under any entry.
func issuedBefore(entries []revokedBefore, iat time.Time) bool {
	for _, e := range entries {
		if iat.IsZero() || !iat.After(e.revokedAt) {
			return true
		}
	}
	return false
}

// with returns the set with added applied, the cursor moved to cursor and
// the entries that expired by now dropped; s itself when nothing changes.
// An entry is kept for skew past its expiresAt, as long as the guard still
// accepts the tokens it concerns (RFC 7519 §4.1.4).
func (s *revocationSet) with(added []revocationEntry, cursor int64, now time.Time, skew time.Duration) *revocationSet {
	live := func(expiresAt time.Time) bool { return expiresAt.IsZero() || now.Before(expiresAt.Add(skew)) }
	if len(added) == 0 && cursor == s.cursor && (s.nextExpiry.IsZero() || live(s.nextExpiry)) {
		return s
	}
	n := &revocationSet{
		cursor:   cursor,
		sessions: make(map[string]time.Time, len(s.sessions)),
		tokens:   make(map[string]time.Time, len(s.tokens)),
		subjects: make(map[string][]revokedBefore, len(s.subjects)),
		clients:  make(map[string][]revokedBefore, len(s.clients)),
	}
	keep := func(expiresAt time.Time) bool {
		if !live(expiresAt) {
			return false
		}
		n.size++
		if !expiresAt.IsZero() && (n.nextExpiry.IsZero() || expiresAt.Before(n.nextExpiry)) {
			n.nextExpiry = expiresAt
		}
		return true
	}
	putExpiry := func(m map[string]time.Time, v string, exp time.Time) {
		old, seen := m[v]
		if seen && (old.IsZero() || exp.Before(old) && !exp.IsZero()) {
			return // the later expiry covers both entries
		}
		if seen {
			n.size-- // replaced, not added
		}
		if keep(exp) {
			m[v] = exp
		}
	}
	putBefore := func(m map[string][]revokedBefore, v string, e revokedBefore) {
		if keep(e.expiresAt) {
			m[v] = append(m[v], e)
		}
	}
	for v, exp := range s.sessions {
		putExpiry(n.sessions, v, exp)
	}
	for v, exp := range s.tokens {
		putExpiry(n.tokens, v, exp)
	}
	for v, es := range s.subjects {
		for _, e := range es {
			putBefore(n.subjects, v, e)
		}
	}
	for v, es := range s.clients {
		for _, e := range es {
			putBefore(n.clients, v, e)
		}
	}
	for _, e := range added {
		switch e.Kind {
		case revokeSession:
			putExpiry(n.sessions, e.Value, e.ExpiresAt)
		case revokeToken:
			putExpiry(n.tokens, e.Value, e.ExpiresAt)
		case revokeSubject:
			putBefore(n.subjects, e.Value, revokedBefore{e.RevokedAt, e.ExpiresAt})
		case revokeClient:
			putBefore(n.clients, e.Value, revokedBefore{e.RevokedAt, e.ExpiresAt})
		}
	}
	return n
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

	set    atomic.Pointer[revocationSet]
	synced atomic.Int64 // UnixNano of the last successful poll; 0 never

	pollMu sync.Mutex // one poll at a time: the loop's and PollNow's

	stop      context.CancelFunc
	done      chan struct{} // closed when the loop has returned
	closeOnce sync.Once
}

func newRevocations(feed, tenant string, s *settings) *revocations {
	r := &revocations{
		feed: feed, tenant: tenant, interval: s.revPoll, skew: s.skew,
		client: s.client, now: s.now, log: s.log,
	}
	r.set.Store(&revocationSet{})
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

// poll reads the feed from the cursor until a page comes back empty and
// installs the new set. A failed poll changes nothing: the set and cursor
// stay as they were and the next poll starts from the same cursor.
func (r *revocations) poll(ctx context.Context) error {
	r.pollMu.Lock()
	defer r.pollMu.Unlock()
	cur := r.set.Load()
	after := cur.cursor
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
			case revokeSession, revokeToken, revokeSubject, revokeClient:
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
	r.set.Store(cur.with(added, after, now, r.skew))
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
	return r.set.Load().revokes(p)
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
