package guard_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

// manual is a poll interval no test outlives: the tests below drive polls
// with PollNow.
const manual = time.Hour

// authority starts an authority on the tests' clock.
func authority(tb testing.TB) (*guardtest.Authority, *clock) {
	tb.Helper()
	idp := guardtest.NewAuthority(tb)
	clk := newClock()
	idp.Now = clk.Now
	return idp, clk
}

// guardFor builds a guard of idp polling the feed every interval (manual by
// default); it is closed when tb ends.
func guardFor(tb testing.TB, idp *guardtest.Authority, clk *clock, mutate func(*guard.Config)) *guard.Guard {
	tb.Helper()
	cfg := guard.Config{
		Authority:              idp.URL(),
		Audiences:              []string{"api://" + resourceID},
		HTTPClient:             idp.Client(),
		Logger:                 quiet,
		Now:                    clk.Now,
		RevocationPollInterval: manual,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	g, err := guard.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("guard.New: %v", err)
	}
	tb.Cleanup(g.Close)
	return g
}

func pollNow(tb testing.TB, g *guard.Guard) {
	tb.Helper()
	if err := g.PollNow(context.Background()); err != nil {
		tb.Fatalf("PollNow: %v", err)
	}
}

// refused reports whether g refuses tok as revoked; any other refusal
// fails the test, so that a probe token cannot pass for revoked by being
// broken.
func refused(tb testing.TB, g *guard.Guard, tok string) bool {
	tb.Helper()
	_, err := g.Validate(context.Background(), tok)
	switch reasonOf(err) {
	case "":
		return false
	case guard.ReasonRevoked:
		var e *guard.Error
		errors.As(err, &e)
		if e.Status() != http.StatusUnauthorized || e.Code() != "invalid_token" || e.Description() != "the access token has been revoked" {
			tb.Fatalf("revoked: %d %s %q", e.Status(), e.Code(), e.Description())
		}
		return true
	default:
		tb.Fatalf("probe token refused for another reason: %v", err)
		return false
	}
}

// Every kind of feed entry refuses exactly the tokens it names and nothing
// else; an oid or client entry refuses only tokens issued at or before it.
func TestRevocationKinds(t *testing.T) {
	const (
		otherClient = "f2a1c0e3-7b6d-4e5f-8a9b-0c1d2e3f4a5b"
		otherApp    = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
		otherUser   = "d4c3b2a1-0f9e-4d8c-b7a6-5f4e3d2c1b0a"
		v1User      = "11111111-2222-4333-8444-555555555555"
		s1, s2      = "5e55101d-0000-4000-8000-000000000001", "5e55101d-0000-4000-8000-000000000002"
		jti1, uti1  = "a7d3c4b5-e6f7-4a8b-9c0d-1e2f3a4b5c6d", "uti-of-the-one-token"
	)
	revokedAt := t0.Add(-10 * time.Minute)
	before, after := t0.Add(-20*time.Minute), t0.Add(-5*time.Minute)
	stamp := func(c guardtest.Claims, iat time.Time) guardtest.Claims {
		c["iat"], c["nbf"], c["exp"] = iat.Unix(), iat.Unix(), iat.Add(time.Hour).Unix()
		return c
	}
	// probes are built per authority; the names say what they share.
	probes := func(idp *guardtest.Authority) map[string]guardtest.Claims {
		user := func(sid string, iat time.Time) guardtest.Claims {
			c := idp.V2Claims(resourceID)
			c["sid"] = sid
			return stamp(c, iat)
		}
		p := map[string]guardtest.Claims{
			"user, sign-in 1, before":   user(s1, before),
			"user, sign-in 1, after":    user(s1, after),
			"user, sign-in 2, at":       user(s2, revokedAt),
			"user, sign-in 2, after":    user(s2, after),
			"other user, before":        user("sid-other-user", before),
			"other client, before":      user("sid-other-client", before),
			"v1, client, before":        stamp(idp.V1Claims(resourceID), before),
			"v1, client, after":         stamp(idp.V1Claims(resourceID), after),
			"app of the client, before": stamp(idp.AppClaims(resourceID), before),
			"other app, before":         stamp(idp.AppClaims(resourceID), before),
		}
		p["user, sign-in 1, before"]["jti"], p["user, sign-in 1, before"]["uti"] = jti1, uti1
		p["other user, before"]["oid"] = otherUser
		p["other client, before"]["oid"], p["other client, before"]["azp"] = otherUser, otherClient
		p["v1, client, before"]["oid"], p["v1, client, before"]["sid"] = v1User, "sid-v1"
		p["v1, client, after"]["oid"], p["v1, client, after"]["sid"] = v1User, "sid-v1"
		p["other app, before"]["azp"], p["other app, before"]["oid"] = otherClient, otherApp
		return p
	}

	tests := []struct {
		rule        string
		kind, value string
		want        []string // the probes refused; every other passes
	}{
		{"sid: every token of the sign-in, whenever issued", guardtest.KindSession, s1,
			[]string{"user, sign-in 1, before", "user, sign-in 1, after"}},
		{"jti: the one token, by jti", guardtest.KindToken, jti1,
			[]string{"user, sign-in 1, before"}},
		{"jti: the one token, by uti", guardtest.KindToken, uti1,
			[]string{"user, sign-in 1, before"}},
		{"oid: the user's tokens issued at or before revokedAt", guardtest.KindSubject, guardtest.UserOID,
			[]string{"user, sign-in 1, before", "user, sign-in 2, at"}},
		{"oid: a service principal's tokens", guardtest.KindSubject, guardtest.AppOID,
			[]string{"app of the client, before"}},
		{"client: every token of azp or appid issued at or before revokedAt", guardtest.KindClient, guardtest.ClientID,
			[]string{"user, sign-in 1, before", "user, sign-in 2, at", "other user, before", "v1, client, before", "app of the client, before"}},
		{"unknown kinds are skipped", "device", guardtest.UserOID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			idp, clk := authority(t)
			g := guardFor(t, idp, clk, nil)
			idp.Revoke(tt.kind, tt.value, revokedAt, t0.Add(2*time.Hour))
			pollNow(t, g)
			for name, claims := range probes(idp) {
				if got, want := refused(t, g, idp.Mint(t, claims)), slices.Contains(tt.want, name); got != want {
					t.Errorf("%s: refused %v, want %v", name, got, want)
				}
			}
		})
	}
}

// A refresh's entry (superseded) refuses the sign-in's earlier tokens for
// its audience and the token it replaced, of the same second too, and
// nothing else: not the token the refresh issued, not the sign-in's tokens
// for another API (which clients keep serving from their caches), not
// another sign-in's. Each refresh takes the place of the previous one's
// entry, so a guard polling between refreshes holds one entry per sign-in
// and API; and a guard that has not yet polled a refresh's entry accepts
// the token it issued, even one of the second its last entry names.
func TestRevocationSuperseded(t *testing.T) {
	idp, clk := authority(t)
	g := guardFor(t, idp, clk, func(c *guard.Config) { c.Audiences = []string{"api://one", "api://two"} })
	token := func(sid, aud, jti string, iat time.Time) string {
		c := idp.V2Claims(aud)
		c["sid"], c["jti"], c["uti"] = sid, jti, jti
		c["iat"], c["nbf"], c["exp"] = iat.Unix(), iat.Unix(), iat.Add(time.Hour).Unix()
		return idp.Mint(t, c)
	}
	const sid, other = "5e55101d-0000-4000-8000-000000000001", "5e55101d-0000-4000-8000-000000000002"
	earlier := token(sid, "api://one", "jti-earlier", t0.Add(-2*time.Minute))
	sameSecond := token(sid, "api://one", "jti-replaced", t0)
	replacement := token(sid, "api://one", "jti-replacement", t0)
	otherAPI := token(sid, "api://two", "jti-two", t0.Add(-2*time.Minute))
	otherSignIn := token(other, "api://one", "jti-other", t0.Add(-2*time.Minute))

	idp.Supersede(sid, "api://one", "jti-replaced", t0, t0.Add(time.Hour))
	pollNow(t, g)
	for name, tc := range map[string]struct {
		tok  string
		want bool
	}{
		"an earlier token of the sign-in for the API": {earlier, true},
		"the replaced token, of the same second":      {sameSecond, true},
		"the token that replaced them":                {replacement, false},
		"the sign-in's token for another API":         {otherAPI, false},
		"another sign-in's token for the API":         {otherSignIn, false},
	} {
		if got := refused(t, g, tc.tok); got != tc.want {
			t.Errorf("%s: refused %v, want %v", name, got, tc.want)
		}
	}

	// 200 more refreshes of the sign-in, polled as they come: one entry.
	prior, next := "jti-replacement", ""
	for i := range 200 {
		clk.Advance(time.Second)
		next = fmt.Sprint("jti-", i)
		idp.Supersede(sid, "api://one", prior, clk.Now(), clk.Now().Add(time.Hour))
		pollNow(t, g)
		prior = next
	}
	if n := g.RevocationsHeld(); n != 1 {
		t.Errorf("the guard holds %d entries after 200 refreshes of one sign-in, want 1", n)
	}
	newest := token(sid, "api://one", next, clk.Now())
	if !refused(t, g, replacement) || refused(t, g, newest) {
		t.Error("after the refreshes, the first replacement is accepted or the newest token refused")
	}
	// One more refresh in the same second, not yet polled: its token is
	// accepted, whatever the guard holds; once polled, the one it
	// replaced is refused and it still is not.
	fresh := token(sid, "api://one", "jti-fresh", clk.Now())
	idp.Supersede(sid, "api://one", next, clk.Now(), clk.Now().Add(time.Hour))
	if refused(t, g, fresh) {
		t.Error("a refresh's token of the second the guard's entry names is refused before the guard heard of that refresh")
	}
	pollNow(t, g)
	if !refused(t, g, newest) || refused(t, g, fresh) {
		t.Error("after the poll: the token replaced in the same second is accepted, or the new one refused")
	}
}

// New reads the whole feed before it returns, page by page when the
// server caps pages; later polls go on from the cursor.
func TestRevocationFeedPagingAndCursor(t *testing.T) {
	idp, clk := authority(t)
	idp.SetFeedPageMax(3)
	sids := make([]string, 12)
	for i := range sids {
		sids[i] = guardtest.NewGUID()
	}
	for _, sid := range sids[:10] {
		idp.Revoke(guardtest.KindSession, sid, t0, t0.Add(time.Hour))
	}
	g := guardFor(t, idp, clk, nil)
	token := func(sid string) string {
		c := idp.V2Claims(resourceID)
		c["sid"] = sid
		return idp.Mint(t, c)
	}
	for i, sid := range sids[:10] {
		if !refused(t, g, token(sid)) {
			t.Fatalf("revocation %d of 10 unknown after New", i+1)
		}
	}
	afters := func() (out []int64) {
		for _, r := range idp.FeedRequests() {
			out = append(out, r.After)
			if r.Limit < 3 {
				t.Errorf("guard asked for pages of %d", r.Limit)
			}
		}
		return out
	}
	if got, want := afters(), []int64{0, 3, 6, 9, 10}; !slices.Equal(got, want) {
		t.Fatalf("New read the feed with after=%v, want %v", got, want)
	}

	for _, sid := range sids[10:] {
		idp.Revoke(guardtest.KindSession, sid, t0, t0.Add(time.Hour))
	}
	if refused(t, g, token(sids[10])) {
		t.Fatal("a revocation was known before it was polled")
	}
	pollNow(t, g)
	if got, want := afters()[5:], []int64{10, 12}; !slices.Equal(got, want) {
		t.Fatalf("PollNow read the feed with after=%v, want %v", got, want)
	}
	for _, sid := range sids {
		if !refused(t, g, token(sid)) {
			t.Fatalf("sid %s not refused after the second poll", sid)
		}
	}
	if refused(t, g, token(guardtest.SessionID)) {
		t.Fatal("a sign-in that was never revoked is refused")
	}
}

// An entry is dropped once its expiresAt (plus the clock skew the guard
// allows on exp) has passed: every token it concerns has expired by then.
func TestRevocationEntriesExpire(t *testing.T) {
	idp, clk := authority(t)
	g := guardFor(t, idp, clk, nil)
	entryExpires := t0.Add(30 * time.Minute)
	idp.Revoke(guardtest.KindSession, guardtest.SessionID, t0, entryExpires)
	pollNow(t, g)

	// A token that outlives the entry shows when the entry is gone; the
	// feed promises no such token exists.
	c := idp.V2Claims(resourceID)
	c["exp"] = t0.Add(2 * time.Hour).Unix()
	tok := idp.Mint(t, c)
	if !refused(t, g, tok) {
		t.Fatal("not refused while the entry is live")
	}
	clk.Advance(30*time.Minute + guard.DefaultClockSkew - time.Second)
	pollNow(t, g)
	if !refused(t, g, tok) {
		t.Fatal("entry dropped within the clock skew after expiresAt")
	}
	clk.Advance(time.Second)
	pollNow(t, g)
	if refused(t, g, tok) {
		t.Fatal("entry kept after expiresAt plus skew")
	}
}

// A failed poll keeps what the guard knew and changes nothing; the next
// successful poll catches up from the same cursor.
func TestRevocationFeedOutage(t *testing.T) {
	idp, clk := authority(t)
	idp.Revoke(guardtest.KindSubject, guardtest.UserOID, t0, t0.Add(time.Hour))
	g := guardFor(t, idp, clk, nil)
	synced := g.RevocationsSynced()
	if !synced.Equal(t0) {
		t.Fatalf("RevocationsSynced after New = %v, want the clock's %v", synced, t0)
	}
	user := idp.Mint(t, idp.V2Claims(resourceID))
	app := idp.Mint(t, idp.AppClaims(resourceID))

	idp.FeedOutage(true)
	idp.Revoke(guardtest.KindSubject, guardtest.AppOID, t0, t0.Add(time.Hour))
	clk.Advance(time.Minute)
	if err := g.PollNow(context.Background()); err == nil {
		t.Fatal("PollNow succeeded during the outage")
	}
	if !refused(t, g, user) {
		t.Fatal("revocation known before the outage forgotten")
	}
	if refused(t, g, app) {
		t.Fatal("revocation made during the outage known")
	}
	if got := g.RevocationsSynced(); !got.Equal(synced) {
		t.Fatalf("RevocationsSynced moved to %v on a failed poll", got)
	}

	idp.FeedOutage(false)
	clk.Advance(time.Minute)
	pollNow(t, g)
	if !refused(t, g, user) || !refused(t, g, app) {
		t.Fatal("not caught up after the outage")
	}
	if got := g.RevocationsSynced(); !got.Equal(clk.Now()) {
		t.Fatalf("RevocationsSynced = %v, want %v", got, clk.Now())
	}
}

// A guard that cannot read an advertised feed does not start, as one that
// cannot read the key set does not: it would admit tokens revoked long
// ago.
func TestNewFailsWhenFeedUnreadable(t *testing.T) {
	idp, clk := authority(t)
	idp.FeedOutage(true)
	_, err := guard.New(context.Background(), guard.Config{
		Authority: idp.URL(), Audiences: []string{resourceID}, HTTPClient: idp.Client(), Logger: quiet, Now: clk.Now,
	})
	if err == nil || !strings.Contains(err.Error(), "revocation feed") {
		t.Fatalf("New: %v, want a revocation feed error", err)
	}
}

// Without a feed the guard works as before and says once that it cannot
// follow revocations; RevocationFeed names a feed discovery does not.
func TestRevocationFeedSources(t *testing.T) {
	t.Run("no feed: logged once, tokens accepted", func(t *testing.T) {
		idp, clk := authority(t)
		idp.PublishFeed(false)
		idp.Revoke(guardtest.KindSession, guardtest.SessionID, t0, t0.Add(time.Hour))
		var logs syncBuffer
		g := guardFor(t, idp, clk, func(c *guard.Config) { c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
		if refused(t, g, idp.Mint(t, idp.V2Claims(resourceID))) {
			t.Fatal("refused without a feed")
		}
		if err := g.PollNow(context.Background()); !errors.Is(err, guard.ErrNoRevocationFeed) {
			t.Fatalf("PollNow: %v, want ErrNoRevocationFeed", err)
		}
		if n := strings.Count(logs.String(), "publishes no revocation feed"); n != 1 {
			t.Fatalf("logged %d times:\n%s", n, logs.String())
		}
		if !g.RevocationsSynced().IsZero() || len(idp.FeedRequests()) != 0 {
			t.Fatal("a feed was read")
		}
	})
	t.Run("RevocationFeed configured", func(t *testing.T) {
		idp, clk := authority(t)
		idp.PublishFeed(false)
		idp.Revoke(guardtest.KindSession, guardtest.SessionID, t0, t0.Add(time.Hour))
		g := guardFor(t, idp, clk, func(c *guard.Config) { c.RevocationFeed = idp.FeedURL() })
		if !refused(t, g, idp.Mint(t, idp.V2Claims(resourceID))) {
			t.Fatal("the configured feed was not followed")
		}
	})
	t.Run("negative interval: revocations not followed", func(t *testing.T) {
		idp, clk := authority(t)
		idp.Revoke(guardtest.KindSession, guardtest.SessionID, t0, t0.Add(time.Hour))
		g := guardFor(t, idp, clk, func(c *guard.Config) { c.RevocationPollInterval = -1 })
		if refused(t, g, idp.Mint(t, idp.V2Claims(resourceID))) {
			t.Fatal("refused with revocations turned off")
		}
		if err := g.PollNow(context.Background()); !errors.Is(err, guard.ErrNoRevocationFeed) {
			t.Fatalf("PollNow: %v", err)
		}
		if n := len(idp.FeedRequests()); n != 0 {
			t.Fatalf("%d feed requests", n)
		}
	})
	t.Run("multi-tenant authority: one feed per tenant, each followed once its tokens come", func(t *testing.T) {
		idp, clk := authority(t)
		var logs syncBuffer
		g := guardFor(t, idp, clk, func(c *guard.Config) {
			c.Authority = idp.Base() + "/common/v2.0"
			c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		})
		if err := g.PollNow(context.Background()); err != nil {
			t.Fatalf("PollNow with no tenant followed yet: %v", err)
		}
		if len(idp.FeedRequests()) != 0 {
			t.Fatalf("feed requests before any token: %v", idp.FeedRequests())
		}
		idp.Revoke(guardtest.KindSession, guardtest.SessionID, t0, t0.Add(time.Hour))
		if !refused(t, g, idp.Mint(t, idp.V2Claims(resourceID))) {
			t.Fatalf("the tenant's feed was not read before its first token; logs:\n%s", logs.String())
		}
		for _, r := range idp.FeedRequests() {
			if r.Tenant != idp.TenantID {
				t.Fatalf("feed request for %q, want only the token's tenant %s", r.Tenant, idp.TenantID)
			}
		}
	})
	t.Run("RevocationFeed must be https", func(t *testing.T) {
		_, err := guard.New(context.Background(), guard.Config{
			Authority: "https://127.0.0.1/t/v2.0", Audiences: []string{"a"}, RevocationFeed: "http://idp.example/t/oauth2/v2.0/revocations",
		})
		if err == nil || !strings.Contains(err.Error(), "revocation feed") {
			t.Fatalf("New: %v", err)
		}
	})
}

// A feed speaks for its tenant: a guard that trusts two tenants' issuers
// applies one tenant's revocations to that tenant's tokens only.
func TestRevocationsApplyToTheFeedsTenant(t *testing.T) {
	idp, clk := authority(t)
	other := guardtest.NewGUID()
	idp.AddTenant(other)
	g := guardFor(t, idp, clk, func(c *guard.Config) {
		c.Issuers = []string{idp.IssuerV2(), idp.Base() + "/" + other + "/v2.0"}
	})
	idp.Revoke(guardtest.KindSubject, guardtest.UserOID, t0, t0.Add(time.Hour))
	pollNow(t, g)
	home := idp.V2Claims(resourceID)
	foreign := idp.V2Claims(resourceID)
	foreign["tid"], foreign["iss"] = other, idp.Base()+"/"+other+"/v2.0"
	if !refused(t, g, idp.Mint(t, home)) {
		t.Fatal("home tenant's token not refused")
	}
	if refused(t, g, idp.Mint(t, foreign)) {
		t.Fatal("another tenant's token refused by the home tenant's feed")
	}
}

// The middleware and the proxy answer a revoked token with RFC 6750 §3.1
// invalid_token, before the upstream sees the request.
func TestProxyRefusesRevokedToken(t *testing.T) {
	idp, clk := authority(t)
	g := guardFor(t, idp, clk, nil)
	var hits atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)
	proxy := guard.NewProxy(g, u)

	tok := idp.Mint(t, idp.V2Claims(resourceID))
	if res := do(t, proxy, bearer(tok)); res.status != http.StatusOK {
		t.Fatalf("before revocation: %d %s", res.status, res.body)
	}
	idp.Revoke(guardtest.KindSession, guardtest.SessionID, t0, t0.Add(time.Hour))
	pollNow(t, g)
	res := do(t, proxy, bearer(tok))
	if res.status != http.StatusUnauthorized || res.errCode != "invalid_token" ||
		!strings.Contains(res.challenge, `error_description="the access token has been revoked"`) {
		t.Fatalf("revoked: %d %q %q", res.status, res.errCode, res.challenge)
	}
	if n := hits.Load(); n != 1 {
		t.Fatalf("upstream saw %d requests, want 1", n)
	}
}

// With a real interval the guard learns of a revocation without PollNow.
// Only the outcome is awaited, under a deadline; no time is asserted.
func TestRevocationPollingInBackground(t *testing.T) {
	idp, clk := authority(t)
	g := guardFor(t, idp, clk, func(c *guard.Config) { c.RevocationPollInterval = 20 * time.Millisecond })
	tok := idp.Mint(t, idp.V2Claims(resourceID))
	idp.Revoke(guardtest.KindSession, guardtest.SessionID, t0, t0.Add(time.Hour))
	deadline := time.Now().Add(5 * time.Second)
	for !refused(t, g, tok) {
		if time.Now().After(deadline) {
			t.Fatal("the background poll did not pick up the revocation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.Close()
	waitNoPoller(t)
}

// The poller ends with Close or with New's context, whichever comes
// first, and leaves no goroutine behind; Close may be repeated.
func TestRevocationPollerLifecycle(t *testing.T) {
	idp, clk := authority(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var gs []*guard.Guard
	for range 3 {
		g, err := guard.New(ctx, guard.Config{
			Authority: idp.URL(), Audiences: []string{resourceID}, HTTPClient: idp.Client(), Logger: quiet,
			Now: clk.Now, RevocationPollInterval: time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		gs = append(gs, g)
	}
	if pollers() != 3 {
		t.Fatalf("%d pollers running, want 3", pollers())
	}
	gs[0].Close()
	gs[0].Close()
	cancel()
	waitNoPoller(t)
	for _, g := range gs {
		g.Close()
	}
	// A closed guard still validates with what it knows.
	if _, err := gs[0].Validate(context.Background(), idp.Mint(t, idp.V2Claims(resourceID))); err != nil {
		t.Fatalf("closed guard: %v", err)
	}
}

// pollers counts the goroutines a guard started to poll, running or not
// yet scheduled (whose frame is then a wrapper, not the loop).
func pollers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "created by github.com/tessera-id/tessera/guard.(*revocations).start")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// waitNoPoller waits, under a deadline, for every polling loop to return:
// Close has waited for it, but a goroutine's frames go a moment after.
func waitNoPoller(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for pollers() > 0 {
		if time.Now().After(deadline) {
			tb.Fatalf("%d polling goroutines left", pollers())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer a logger may write from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Validation with many live revocations of every kind: the lookups are
// map reads on an immutable set, with no lock.
func BenchmarkValidateWithRevocations(b *testing.B) {
	idp, clk := authority(b)
	for i := range 10000 {
		kind := []string{guardtest.KindSession, guardtest.KindToken, guardtest.KindSubject, guardtest.KindClient}[i%4]
		idp.Revoke(kind, guardtest.NewGUID(), t0, t0.Add(time.Hour))
	}
	g := guardFor(b, idp, clk, nil)
	tok := idp.Mint(b, idp.V2Claims(resourceID))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := g.Validate(context.Background(), tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
