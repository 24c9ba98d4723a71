package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/internal/directory"
)

// revocationGuard is a resource server's guard for the studies API that
// follows the revocation feed every interval.
func revocationGuard(t *testing.T, h *harness, audience string, interval time.Duration) *guard.Guard {
	t.Helper()
	g, err := guard.New(context.Background(), guard.Config{Authority: h.srv.URL + "/default/v2.0", Audiences: []string{audience},
		HTTPClient: h.http, RevocationPollInterval: interval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

// untilRejected validates tok every few milliseconds until the guard
// refuses it as revoked, and returns how long that took. The deadline is
// generous: it bounds a broken feed, it is not a performance assertion.
func untilRejected(t *testing.T, g *guard.Guard, tok string, deadline time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < deadline {
		_, err := g.Validate(context.Background(), tok)
		var ge *guard.Error
		if errors.As(err, &ge) && ge.Reason == guard.ReasonRevoked {
			return time.Since(start)
		}
		if err != nil {
			t.Fatalf("the guard refused the token for another reason: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the guard still accepts the token %v after its revocation", deadline)
	return 0
}

func productLogin(t *testing.T, h *harness) string {
	t.Helper()
	req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/users/login", strings.NewReader(`{"username":"alice","password":"`+alicePassword+`"}`))
	req.Header.Set("Content-Type", "application/json")
	status, body, hdr := h.do(req)
	if status != 200 {
		t.Fatalf("login: %d %v", status, body)
	}
	return strings.TrimPrefix(hdr.Get("Authorization"), "Bearer ")
}

// Logging out reaches resource servers: the guard, polling the feed at its
// default interval, rejects the old access token. The latency measured is
// logged (go test -v -run TestLogoutReachesTheGuard ./e2e).
func TestLogoutReachesTheGuard(t *testing.T) {
	h := start(t)
	u := setupUserApps(t, h)
	if _, err := h.srv.Directory.SetTenantPolicy(context.Background(), h.tenant(), directory.TenantPolicy{ProductLoginResource: "api://studies"}); err != nil {
		t.Fatal(err)
	}
	g := revocationGuard(t, h, u.api.AppID, 0) // the default, 10 s
	tok := productLogin(t, h)
	other := productLogin(t, h)
	if _, err := g.Validate(context.Background(), tok); err != nil {
		t.Fatalf("a fresh token: %v", err)
	}
	req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/users/logout", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if status, body, _ := h.do(req); status != 204 {
		t.Fatalf("logout: %d %v", status, body)
	}
	took := untilRejected(t, g, tok, 60*time.Second)
	t.Logf("product logout → guard rejects the old token: %v (poll interval %v)", took, guard.DefaultRevocationPollInterval)
	if _, err := g.Validate(context.Background(), other); err != nil {
		t.Errorf("another sign-in of the same user was revoked too: %v", err)
	}
}

// Session logout (the browser's end_session_endpoint), disabling the user,
// and RFC 7009 revocation each reach the guard at its next poll.
func TestEveryRevocationReachesTheGuard(t *testing.T) {
	h := start(t)
	u := setupUserApps(t, h)
	g := revocationGuard(t, h, u.api.AppID, time.Second)
	ctx := context.Background()

	// Browser sign-in, then logout in the same browser.
	b := h.newBrowser(t)
	conf := u.oauth2Config(h)
	verifier, state := oauth2.GenerateVerifier(), randomString(t)
	p, next := b.get(conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	_, back := b.walk(p, next, "alice", alicePassword)
	if back == nil || back.Query().Get("code") == "" {
		t.Fatalf("no code: %v", back)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {u.native.AppID}, "code": {back.Query().Get("code")},
		"redirect_uri": {u.redirect}, "code_verifier": {verifier}}
	status, body, _ := h.postForm("/"+h.tenant()+"/oauth2/v2.0/token", form, "", "")
	if status != 200 {
		t.Fatalf("code exchange: %d %v", status, body)
	}
	browserTok, refresh := body["access_token"].(string), body["refresh_token"].(string)
	if _, err := g.Validate(ctx, browserTok); err != nil {
		t.Fatal(err)
	}
	// Without an id_token_hint the person confirms the logout.
	p, _ = b.get(h.srv.URL + "/" + h.tenant() + "/oauth2/v2.0/logout")
	if p, _ := b.submit(p.form(t, "logout"), nil, "decision=signout"); p.kind != "signed_out" {
		t.Fatalf("logout page %q", p.kind)
	}
	t.Logf("session logout → guard: %v", untilRejected(t, g, browserTok, 30*time.Second))
	status, body, _ = h.postForm("/"+h.tenant()+"/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {u.native.AppID},
		"refresh_token": {refresh}}, "", "")
	if status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh token after logout: %d %v", status, body)
	}

	// RFC 7009: revoking an access token.
	u.adminConsent(t, h, "api://studies/read")
	ropc := func() string {
		status, body, _ := h.postForm("/"+h.tenant()+"/oauth2/v2.0/token", url.Values{"grant_type": {"password"}, "client_id": {u.native.AppID},
			"username": {"alice"}, "password": {alicePassword}, "scope": {"api://studies/read"}}, "", "")
		if status != 200 {
			t.Fatalf("password grant: %d %v", status, body)
		}
		return body["access_token"].(string)
	}
	revoked := ropc()
	if status, _, _ := h.postForm("/"+h.tenant()+"/oauth2/v2.0/revoke", url.Values{"client_id": {u.native.AppID}, "token": {revoked}}, "", ""); status != 200 {
		t.Fatalf("revoke: %d", status)
	}
	t.Logf("RFC 7009 revoke → guard: %v", untilRejected(t, g, revoked, 30*time.Second))

	// Disabling the user revokes every token the user holds.
	held := ropc()
	if _, err := h.srv.Directory.SetUserEnabled(ctx, h.tenant(), "alice", false); err != nil {
		t.Fatal(err)
	}
	t.Logf("user disabled → guard: %v", untilRejected(t, g, held, 30*time.Second))
}
