package session_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

type env struct {
	svc    *session.Service
	store  *sqlite.Store
	keys   *secrets.Keys
	now    time.Time
	tenant string
	user   string
	client string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	master := make([]byte, 32)
	rand.Read(master)
	keys, _ := secrets.New(master)
	e := &env{now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC), store: st, keys: keys}
	dir := directory.NewService(st, keys, directory.Options{Now: func() time.Time { return e.now }})
	tn, err := dir.CreateTenant(ctx, directory.TenantSpec{Domain: "contoso"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := dir.CreateUser(ctx, tn.ID, directory.UserSpec{UserPrincipalName: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	e.tenant, e.user, e.client = tn.ID, u.ObjectID, "11111111-2222-4333-8444-555555555555"
	e.svc = session.NewService(st, keys, keys, session.Options{Now: func() time.Time { return e.now }, FeedRetention: 25 * time.Hour})
	return e
}

func (e *env) grant(t *testing.T, browser string) session.Grant {
	t.Helper()
	g, err := e.svc.NewGrant(context.Background(), e.tenant, session.GrantSpec{UserID: e.user, ClientID: e.client, BrowserSessionID: browser,
		Scopes: []string{"openid", "offline_access"}, AuthTime: e.now, Lifetime: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// feedHas reports whether the feed holds an entry of kind for value.
func (e *env) feedHas(t *testing.T, kind, value string) bool {
	t.Helper()
	entries, err := e.svc.Feed(context.Background(), e.tenant, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range entries {
		if r.Kind == kind && r.Value == value {
			return true
		}
	}
	return false
}

func TestCodeIsSingleUseAndReplayRevokesTheGrant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	g := e.grant(t, "")
	code, err := e.svc.IssueCode(ctx, e.tenant, session.Code{GrantID: g.ID, ClientID: e.client, RedirectURI: "http://localhost/cb", Nonce: "n-1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if tid, ok := session.TenantOf(code); !ok || tid != e.tenant || !strings.HasPrefix(code, session.CodePrefix) {
		t.Errorf("code %q does not name its tenant", code[:10])
	}
	c, got, err := e.svc.RedeemCode(ctx, e.tenant, code)
	if err != nil || got.ID != g.ID || c.Nonce != "n-1" || c.ExpiresAt.Sub(c.CreatedAt) != session.MaxCodeLifetime {
		t.Fatalf("first redemption: %+v %v (lifetime must be capped at 10 minutes)", c, err)
	}
	if _, _, err := e.svc.RedeemCode(ctx, e.tenant, code); !errors.Is(err, session.ErrUsed) {
		t.Fatalf("second redemption: %v, want ErrUsed", err)
	}
	if _, err := e.svc.ActiveGrant(ctx, e.tenant, g.ID); !errors.Is(err, session.ErrRevoked) {
		t.Errorf("grant after a replayed code: %v, want revoked (RFC 6749 §4.1.2)", err)
	}
	if !e.feedHas(t, session.RevokeGrant, g.ID) {
		t.Error("the revoked grant is not on the feed")
	}

	expired, _ := e.svc.IssueCode(ctx, e.tenant, session.Code{GrantID: e.grant(t, "").ID, ClientID: e.client}, time.Minute)
	e.now = e.now.Add(2 * time.Minute)
	if _, _, err := e.svc.RedeemCode(ctx, e.tenant, expired); !errors.Is(err, session.ErrExpired) {
		t.Errorf("expired code: %v", err)
	}
}

// minterAudience is the aud of every access token minter mints.
const minterAudience = "api://studies"

// minter returns a Minter that numbers its responses.
func minter(n *int) session.Minter {
	var mu sync.Mutex
	return func(g session.Grant, rt string) (session.Minted, error) {
		mu.Lock()
		defer mu.Unlock()
		*n++
		return session.Minted{Response: []byte(fmt.Sprintf(`{"n":%d,"refresh_token":%q}`, *n, rt)), AccessTokenID: fmt.Sprintf("jti-%d", *n),
			AccessTokenExpiresAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), AccessTokenAudience: minterAudience,
			AccessTokenIssuedAt: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}, nil
	}
}

func refreshOf(resp []byte) string {
	s := string(resp)
	i := strings.Index(s, `"refresh_token":"`) + len(`"refresh_token":"`)
	return s[i : i+strings.Index(s[i:], `"`)]
}

func TestRefreshRotationReuseAndBinding(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	g := e.grant(t, "")
	rt0, err := e.svc.IssueRefreshToken(ctx, e.tenant, g, 90*24*time.Hour, session.IssuedToken{Audience: minterAudience, ID: "jti-0"}, e.now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	// Another client presenting the token changes nothing (RFC 6749 §6).
	if _, _, err := e.svc.Refresh(ctx, e.tenant, rt0, "99999999-2222-4333-8444-555555555555", 90*24*time.Hour, 0, minter(&n)); !errors.Is(err, session.ErrWrongClient) {
		t.Fatalf("wrong client: %v", err)
	}
	resp1, _, err := e.svc.Refresh(ctx, e.tenant, rt0, e.client, 90*24*time.Hour, 0, minter(&n))
	if err != nil {
		t.Fatalf("refresh after a wrong-client attempt: %v", err)
	}
	// The access token issued with the rotated refresh token goes with
	// it; the new one and the grant's tokens for other audiences stay.
	token := func(jti, aud string) session.AccessToken {
		return session.AccessToken{SessionID: g.ID, JTI: jti, UTI: jti, ObjectID: e.user, ClientID: e.client, Audience: aud, IssuedAt: e.now}
	}
	for _, tc := range []struct {
		token session.AccessToken
		want  bool
	}{
		{token("jti-0", minterAudience), true},
		{token("jti-1", minterAudience), false},
		{token("jti-other", "api://other"), false},
	} {
		revoked, err := e.svc.AccessTokenRevoked(ctx, e.tenant, tc.token)
		if err != nil {
			t.Fatal(err)
		}
		if revoked != tc.want {
			t.Errorf("after the rotation, %s for %s revoked: %v, want %v", tc.token.JTI, tc.token.Audience, revoked, tc.want)
		}
	}
	rt1 := refreshOf(resp1)
	resp2, _, err := e.svc.Refresh(ctx, e.tenant, rt1, e.client, 90*24*time.Hour, 0, minter(&n))
	if err != nil {
		t.Fatal(err)
	}
	// Reuse of rt0 outside any grace window revokes the family, so the
	// newest token (rt2) stops working too (RFC 9700 §4.14.2).
	if _, _, err := e.svc.Refresh(ctx, e.tenant, rt0, e.client, 90*24*time.Hour, 0, minter(&n)); !errors.Is(err, session.ErrReuse) {
		t.Fatalf("reuse: %v, want ErrReuse", err)
	}
	if _, _, err := e.svc.Refresh(ctx, e.tenant, refreshOf(resp2), e.client, 90*24*time.Hour, 0, minter(&n)); !errors.Is(err, session.ErrRevoked) {
		t.Errorf("newest token after reuse: %v, want ErrRevoked", err)
	}
}

func TestConcurrentRefreshWithAndWithoutGrace(t *testing.T) {
	for _, grace := range []time.Duration{0, 5 * time.Second} {
		t.Run(fmt.Sprint("grace ", grace), func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			rt, _ := e.svc.IssueRefreshToken(ctx, e.tenant, e.grant(t, ""), 90*24*time.Hour, session.IssuedToken{}, time.Time{})
			var n int
			mint := minter(&n)
			type result struct {
				resp []byte
				err  error
			}
			results := make(chan result, 20)
			var wg sync.WaitGroup
			for range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, _, err := e.svc.Refresh(ctx, e.tenant, rt, e.client, 90*24*time.Hour, grace, mint)
					results <- result{resp, err}
				}()
			}
			wg.Wait()
			close(results)
			var ok [][]byte
			var failed int
			for r := range results {
				if r.err == nil {
					ok = append(ok, r.resp)
				} else if errors.Is(r.err, session.ErrReuse) || errors.Is(r.err, session.ErrRevoked) {
					failed++
				} else {
					t.Errorf("unexpected error: %v", r.err)
				}
			}
			if grace == 0 {
				if len(ok) != 1 || failed != 19 {
					t.Fatalf("grace off: %d successes, %d refused; want 1 and 19", len(ok), failed)
				}
				return
			}
			if len(ok) != 20 {
				t.Fatalf("grace on: %d successes, want 20", len(ok))
			}
			for _, r := range ok[1:] {
				if !bytes.Equal(r, ok[0]) {
					t.Fatal("grace on: not every caller got the same successor")
				}
			}
			// The one successor works; the family is intact.
			if _, _, err := e.svc.Refresh(ctx, e.tenant, refreshOf(ok[0]), e.client, 90*24*time.Hour, grace, mint); err != nil {
				t.Errorf("the successor: %v", err)
			}
		})
	}
}

func TestBrowserSessionEndRevokesItsGrants(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cookie, bs, err := e.svc.StartBrowserSession(ctx, e.tenant, e.user, e.now, 8*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.svc.BrowserSession(ctx, e.tenant, cookie); err != nil || got.ID != bs.ID {
		t.Fatalf("session lookup: %v", err)
	}
	inSession, other := e.grant(t, bs.ID), e.grant(t, "")
	ids, err := e.svc.EndBrowserSession(ctx, e.tenant, cookie)
	if err != nil || len(ids) != 1 || ids[0] != inSession.ID {
		t.Fatalf("ended: %v %v", ids, err)
	}
	if _, err := e.svc.BrowserSession(ctx, e.tenant, cookie); !errors.Is(err, session.ErrRevoked) {
		t.Errorf("session after logout: %v", err)
	}
	if _, err := e.svc.ActiveGrant(ctx, e.tenant, inSession.ID); !errors.Is(err, session.ErrRevoked) {
		t.Errorf("grant of the session: %v", err)
	}
	if _, err := e.svc.ActiveGrant(ctx, e.tenant, other.ID); err != nil {
		t.Errorf("a grant outside the session was revoked: %v", err)
	}
	if !e.feedHas(t, session.RevokeGrant, inSession.ID) {
		t.Error("feed lacks the session's grant")
	}
}

func TestDeviceFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dc, user, d, err := e.svc.StartDevice(ctx, e.tenant, e.client, []string{"openid"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(user) != 9 || user[4] != '-' || d.Interval != session.DeviceInterval {
		t.Errorf("user code %q interval %v", user, d.Interval)
	}
	if _, _, err := e.svc.PollDevice(ctx, e.tenant, dc, e.client); !errors.Is(err, session.ErrAuthorizationPending) {
		t.Fatalf("first poll: %v", err)
	}
	e.now = e.now.Add(time.Second)
	if _, _, err := e.svc.PollDevice(ctx, e.tenant, dc, e.client); !errors.Is(err, session.ErrSlowDown) {
		t.Errorf("poll after 1s: %v, want slow_down (RFC 8628 §3.5)", err)
	}
	if _, err := e.svc.LookupUserCode(ctx, e.tenant, strings.ToLower(strings.ReplaceAll(user, "-", " "))); err != nil {
		t.Errorf("user code typed in lower case with a space: %v", err)
	}
	g := e.grant(t, "")
	if _, err := e.svc.ApproveDevice(ctx, e.tenant, user, e.user, g.ID); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(10 * time.Second)
	if _, got, err := e.svc.PollDevice(ctx, e.tenant, dc, e.client); err != nil || got.ID != g.ID {
		t.Fatalf("poll after approval: %v", err)
	}
	e.now = e.now.Add(10 * time.Second)
	if _, _, err := e.svc.PollDevice(ctx, e.tenant, dc, e.client); !errors.Is(err, session.ErrExpiredToken) {
		t.Errorf("second redemption: %v", err)
	}

	dc2, user2, _, _ := e.svc.StartDevice(ctx, e.tenant, e.client, nil, "")
	e.svc.DenyDevice(ctx, e.tenant, user2)
	if _, _, err := e.svc.PollDevice(ctx, e.tenant, dc2, e.client); !errors.Is(err, session.ErrAccessDenied) {
		t.Errorf("denied: %v", err)
	}
	dc3, _, _, _ := e.svc.StartDevice(ctx, e.tenant, e.client, nil, "")
	e.now = e.now.Add(session.DeviceCodeLifetime + time.Second)
	if _, _, err := e.svc.PollDevice(ctx, e.tenant, dc3, e.client); !errors.Is(err, session.ErrExpiredToken) {
		t.Errorf("expired: %v", err)
	}
}

func TestRevokeUserAndClientGoOnTheFeed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	g := e.grant(t, "")
	if err := e.svc.RevokeUser(ctx, e.tenant, e.user); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ActiveGrant(ctx, e.tenant, g.ID); !errors.Is(err, session.ErrRevoked) {
		t.Errorf("grant of a revoked user: %v", err)
	}
	if err := e.svc.RevokeClient(ctx, e.tenant, e.client); err != nil {
		t.Fatal(err)
	}
	if !e.feedHas(t, session.RevokeSubject, e.user) || !e.feedHas(t, session.RevokeClient, e.client) {
		t.Error("feed lacks the user or client entry")
	}
}

// The response kept for the grace window is sealed for its place: this
// tenant, the presented token's row. Read from the database and moved to
// another tenant or row, it does not decrypt.
func TestSealedResponseIsBoundToTenantAndRow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rt, err := e.svc.IssueRefreshToken(ctx, e.tenant, e.grant(t, ""), 90*24*time.Hour, session.IssuedToken{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if _, _, err := e.svc.Refresh(ctx, e.tenant, rt, e.client, 90*24*time.Hour, time.Minute, minter(&n)); err != nil {
		t.Fatal(err)
	}
	h := e.keys.HashToken(rt)
	stored, _, err := e.store.GetRefreshToken(ctx, e.tenant, h)
	if err != nil || len(stored.SuccessorSealed) == 0 {
		t.Fatalf("no sealed response kept: %v", err)
	}
	if _, err := e.keys.Open(stored.SuccessorSealed, session.SealedResponseAAD(e.tenant, h)); err != nil {
		t.Fatalf("at its place: %v", err)
	}
	other := e.keys.HashToken(rt + "x")
	for name, aad := range map[string][]byte{
		"another tenant": session.SealedResponseAAD("another-tenant", h),
		"another row":    session.SealedResponseAAD(e.tenant, other),
		"the row alone":  h,
	} {
		if _, err := e.keys.Open(stored.SuccessorSealed, aad); !errors.Is(err, secrets.ErrUnseal) {
			t.Errorf("%s: opened (%v)", name, err)
		}
	}
}

// A rotation's feed entry supersedes the grant's earlier tokens for the
// new token's audience: it is one entry per grant and audience, ordered by
// the chain's generation, and it lasts until the latest expiry of any
// token the chain issued (plus the skew), even when a later token of a
// shortened lifetime expires first: the earlier token it refuses lives
// on. A retry within the grace window appends nothing.
func TestRotationSupersedesPerAudience(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	g := e.grant(t, "")
	longExpiry := e.now.Add(3 * time.Hour)
	rt, err := e.svc.IssueRefreshToken(ctx, e.tenant, g, 90*24*time.Hour, session.IssuedToken{Audience: "api://one", ID: "jti-0"}, longExpiry)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	mint := func(aud string, exp time.Time) session.Minter {
		return func(g session.Grant, next string) (session.Minted, error) {
			n++
			return session.Minted{Response: []byte(fmt.Sprintf(`{"refresh_token":%q}`, next)), AccessTokenID: fmt.Sprint("jti-", n),
				AccessTokenExpiresAt: exp, AccessTokenAudience: aud, AccessTokenIssuedAt: e.now.Truncate(time.Second)}, nil
		}
	}
	superseded := func() map[string]session.Revocation {
		entries, err := e.svc.Feed(ctx, e.tenant, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]session.Revocation{}
		for _, r := range entries {
			if r.Kind != session.RevokeSuperseded || r.Value != g.ID {
				t.Fatalf("unexpected entry %+v", r)
			}
			if _, dup := out[r.Audience]; dup {
				t.Fatalf("two entries for %s", r.Audience)
			}
			out[r.Audience] = r
		}
		return out
	}
	shortExpiry := e.now.Add(time.Hour)
	// Each rotation's entry names the chain's latest token of its
	// audience before it: jti-0 (issued with the first refresh token),
	// none yet for api://two, then jti-1 although the refresh token
	// presented came with jti-2 (api://two), then jti-3.
	wantPrior := []string{"jti-0", "", "jti-1", "jti-3"}
	for i, aud := range []string{"api://one", "api://two", "api://one", "api://one"} {
		e.now = e.now.Add(time.Second)
		resp, _, err := e.svc.Refresh(ctx, e.tenant, rt, e.client, 90*24*time.Hour, time.Minute, mint(aud, shortExpiry))
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		// The retry within the grace window gets the same answer and
		// writes no entry.
		before := superseded()
		if again, _, err := e.svc.Refresh(ctx, e.tenant, rt, e.client, 90*24*time.Hour, time.Minute, mint(aud, shortExpiry)); err != nil || !bytes.Equal(again, resp) {
			t.Fatalf("retry %d: %v", i, err)
		}
		if after := superseded(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("a retry within the grace window changed the feed: %v, then %v", before, after)
		}
		if got := superseded()[aud].Prior; got != wantPrior[i] {
			t.Errorf("refresh %d for %s: its entry names %q as the token it replaced, want %q", i+1, aud, got, wantPrior[i])
		}
		rt = refreshOf(resp)
	}
	got := superseded()
	if len(got) != 2 || got["api://one"].Prior != "jti-3" || got["api://two"].Prior != "" || got["api://one"].Generation != 4 {
		t.Fatalf("entries %+v, want one per audience, the latest refresh's", got)
	}
	// The new tokens carry the entries' second and are not refused by
	// them; the token each retired is.
	for aud, r := range got {
		newest := session.AccessToken{SessionID: g.ID, JTI: map[string]string{"api://one": "jti-4", "api://two": "jti-2"}[aud], Audience: aud, IssuedAt: r.RevokedAt}
		if session.Refuses(r, newest) {
			t.Errorf("the entry for %s refuses the token its own refresh issued", aud)
		}
	}
	if prior := (session.AccessToken{SessionID: g.ID, JTI: "jti-3", Audience: "api://one", IssuedAt: got["api://one"].RevokedAt}); !session.Refuses(got["api://one"], prior) {
		t.Error("the entry for api://one does not refuse the token its refresh replaced")
	}
	// jti-0 (3 h) was issued before the entries; the lifetime was then
	// shortened to 1 h: the entries outlive it all the same.
	for aud, r := range got {
		if !r.ExpiresAt.After(longExpiry) {
			t.Errorf("the entry for %s expires at %v, before the chain's first token (%v)", aud, r.ExpiresAt, longExpiry)
		}
	}
}
