package guardtest

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Revocation kinds of the feed, as tessera publishes them.
const (
	KindSession = "sid"    // every token whose sid is the value
	KindToken   = "jti"    // the token whose jti (or uti) is the value
	KindSubject = "oid"    // every token of the object id issued at or before revokedAt
	KindClient  = "client" // every token of the client (azp/appid) issued at or before revokedAt
	// KindSuperseded: the tokens of the sign-in (sid) Value for the
	// audience Aud issued before RevokedAt (the second of the refresh's
	// new token), and the one whose jti (or uti) is Prior, whenever
	// issued: what a refresh replaced. See Supersede.
	KindSuperseded = "superseded"
)

// Revocation is an entry of a tenant's revocation feed, as served at
// /{tenant}/oauth2/v2.0/revocations.
type Revocation struct {
	Seq       int64     `json:"seq"`
	Kind      string    `json:"kind"`
	Value     string    `json:"value"`
	RevokedAt time.Time `json:"revokedAt"`
	ExpiresAt time.Time `json:"expiresAt"`
	// Aud and Prior belong to KindSuperseded entries.
	Aud   string `json:"aud,omitempty"`
	Prior string `json:"prior,omitempty"`
}

// FeedRequest is one request of the revocation feed, as the authority saw
// it.
type FeedRequest struct {
	Tenant string
	After  int64
	Limit  int
}

// feed holds every tenant's revocation feed.
type feed struct {
	mu       sync.Mutex
	seq      int64
	entries  map[string][]Revocation // tid -> entries in seq order
	requests []FeedRequest
	pageMax  int

	down   atomic.Bool
	hidden atomic.Bool
}

// Revoke appends an entry to the home tenant's revocation feed and returns
// its seq. The feed stops serving it once the authority's clock passes
// expiresAt, as tessera's does.
func (a *Authority) Revoke(kind, value string, revokedAt, expiresAt time.Time) int64 {
	return a.RevokeIn(a.TenantID, kind, value, revokedAt, expiresAt)
}

// RevokeIn is Revoke on the feed of tenant tid. Seqs increase across all
// tenants, as in one database.
func (a *Authority) RevokeIn(tid, kind, value string, revokedAt, expiresAt time.Time) int64 {
	f := &a.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.entries == nil {
		f.entries = map[string][]Revocation{}
	}
	f.seq++
	f.entries[tid] = append(f.entries[tid], Revocation{
		Seq: f.seq, Kind: kind, Value: value, RevokedAt: revokedAt.UTC(), ExpiresAt: expiresAt.UTC(),
	})
	return f.seq
}

// Supersede records a refresh of the sign-in sid for the audience aud on
// the home tenant's feed, as tessera does: the sign-in's tokens for aud
// issued before issuedAt (the new token's iat, whole seconds) are revoked,
// and so is the one whose jti is prior (the token the refresh replaced),
// until expiresAt. The entry takes the
// place of the sign-in's previous one for aud, with the next seq, so a
// follower reading by cursor sees it and the feed holds one entry per
// sign-in and audience. It returns the entry's seq.
func (a *Authority) Supersede(sid, aud, prior string, issuedAt, expiresAt time.Time) int64 {
	f := &a.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.entries == nil {
		f.entries = map[string][]Revocation{}
	}
	kept := f.entries[a.TenantID][:0:0]
	for _, e := range f.entries[a.TenantID] {
		if e.Kind != KindSuperseded || e.Value != sid || e.Aud != aud {
			kept = append(kept, e)
		}
	}
	f.seq++
	f.entries[a.TenantID] = append(kept, Revocation{Seq: f.seq, Kind: KindSuperseded, Value: sid, Aud: aud, Prior: prior,
		RevokedAt: issuedAt.UTC(), ExpiresAt: expiresAt.UTC()})
	return f.seq
}

// FeedURL is the home tenant's revocation feed, as discovery names it.
func (a *Authority) FeedURL() string { return a.feedURL(a.TenantID) }

func (a *Authority) feedURL(tid string) string {
	return a.Base() + "/" + tid + "/oauth2/v2.0/revocations"
}

// FeedOutage makes the feed answer 503 while down is true.
func (a *Authority) FeedOutage(down bool) { a.feed.down.Store(down) }

// PublishFeed says whether discovery documents name the revocation feed
// (revocation_feed_endpoint); they do by default. The feed is served
// either way.
func (a *Authority) PublishFeed(on bool) { a.feed.hidden.Store(!on) }

// SetFeedPageMax makes the feed return at most n entries per request,
// whatever limit is asked, as a server may cap pages; 0 honours limit.
func (a *Authority) SetFeedPageMax(n int) {
	a.feed.mu.Lock()
	defer a.feed.mu.Unlock()
	a.feed.pageMax = n
}

// FeedRequests returns the feed requests so far, oldest first.
func (a *Authority) FeedRequests() []FeedRequest {
	a.feed.mu.Lock()
	defer a.feed.mu.Unlock()
	return append([]FeedRequest(nil), a.feed.requests...)
}

// serveFeed answers GET ?after=N&limit=M with the entries of tid whose
// seq is greater than N, at most M of them, and next: the seq of the last
// one returned, or N when none.
func (a *Authority) serveFeed(w http.ResponseWriter, r *http.Request, tid string) {
	q := r.URL.Query()
	after, err1 := strconv.ParseInt(q.Get("after"), 10, 64)
	limit, err2 := strconv.Atoi(q.Get("limit"))
	if q.Get("after") == "" {
		after, err1 = 0, nil
	}
	if q.Get("limit") == "" {
		limit, err2 = 100, nil
	}
	if err1 != nil || err2 != nil || after < 0 || limit < 1 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "after and limit must be non-negative integers"})
		return
	}
	f := &a.feed
	f.mu.Lock()
	f.requests = append(f.requests, FeedRequest{Tenant: tid, After: after, Limit: limit})
	if f.pageMax > 0 && limit > f.pageMax {
		limit = f.pageMax
	}
	now := a.Now()
	page := []Revocation{}
	next := after
	for _, e := range f.entries[tid] {
		if len(page) == limit {
			break
		}
		if e.Seq <= after || !now.Before(e.ExpiresAt) {
			continue
		}
		page = append(page, e)
		next = e.Seq
	}
	f.mu.Unlock()
	if f.down.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"revocations": page, "next": next})
}
