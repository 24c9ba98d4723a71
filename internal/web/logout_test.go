package web_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/token"
)

// signedIn returns a browser signed in to the web app, the grant of its
// code, and a refresh token of that grant.
func (e *env) signedIn() (*browser, session.Grant, string) {
	e.t.Helper()
	b := e.browser()
	a := b.signIn(b.get(e.authorizeURL(nil)), "alice", password)
	if a.page == "consent" {
		a = b.post(a, "consent", map[string]string{"decision": "accept"})
	}
	q := e.mustRedirect(a, webRedirect)
	_, g, err := e.sessions.RedeemCode(e.ctx, e.tenant.ID, q.Get("code"))
	if err != nil {
		e.t.Fatal(err)
	}
	rt, err := e.sessions.IssueRefreshToken(e.ctx, e.tenant.ID, g, time.Hour, "", time.Time{})
	if err != nil {
		e.t.Fatal(err)
	}
	return b, g, rt
}

// TestLogoutEndsTheSessionAndItsGrants: logout revokes every grant made
// in the browser session (its refresh tokens stop working, its sid goes
// on the feed), clears the cookie, and the next authorize asks again.
func TestLogoutEndsTheSessionAndItsGrants(t *testing.T) {
	e := newEnv(t)
	b, g0, _ := e.signedIn()
	// Signing in again (prompt=login) replaces the session: the replaced
	// one ends with its grant, or logout would not reach it.
	a := b.signIn(b.get(e.authorizeURL(map[string]string{"prompt": "login"})), "alice", password)
	q := e.mustRedirect(a, webRedirect)
	_, g, err := e.sessions.RedeemCode(e.ctx, e.tenant.ID, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sessions.ActiveGrant(e.ctx, e.tenant.ID, g0.ID); !errors.Is(err, session.ErrRevoked) {
		t.Errorf("grant of the replaced session: %v, want revoked", err)
	}
	rt, err := e.sessions.IssueRefreshToken(e.ctx, e.tenant.ID, g, time.Hour, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sso := b.ssoCookie()
	a = b.get(e.ts.URL + "/contoso/oauth2/v2.0/logout")
	if a.status != 200 || a.page != "signed_out" || a.location != nil {
		t.Fatalf("logout: status %d page %q location %v", a.status, a.page, a.location)
	}
	if b.ssoCookie() != "" {
		t.Error("the SSO cookie survived logout")
	}
	if _, err := e.sessions.BrowserSession(e.ctx, e.tenant.ID, sso); err == nil {
		t.Error("the browser session is still active")
	}
	if _, err := e.sessions.ActiveGrant(e.ctx, e.tenant.ID, g.ID); !errors.Is(err, session.ErrRevoked) {
		t.Errorf("grant after logout: %v, want revoked", err)
	}
	_, _, err = e.sessions.Refresh(e.ctx, e.tenant.ID, rt, e.webApp.AppID, time.Hour, 0, func(session.Grant, string) (session.Minted, error) {
		return session.Minted{Response: []byte("{}")}, nil
	})
	if err == nil {
		t.Error("the refresh token of the ended session still works")
	}
	feed, err := e.sessions.Feed(e.ctx, e.tenant.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range feed {
		found = found || (r.Kind == session.RevokeGrant && r.Value == g.ID)
	}
	if !found {
		t.Errorf("the grant's sid is not on the revocation feed: %+v", feed)
	}
	if a := b.get(e.authorizeURL(nil)); a.page != "signin" {
		t.Fatalf("authorize after logout: page %q location %v", a.page, a.location)
	}
	// The old cookie, replayed, signs no one in.
	u, _ := url.Parse(e.ts.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: "__Host-tessera_sso_" + strings.ReplaceAll(e.tenant.ID, "-", ""), Value: sso, Path: "/", Secure: true}})
	if a := b.get(e.authorizeURL(nil)); a.page != "signin" {
		t.Fatalf("replayed cookie: page %q location %v", a.page, a.location)
	}
}

// TestPostLogoutRedirect (OIDC RP-Initiated Logout 1.0 §3): only to a
// registered redirect URI of the client named by client_id or the
// id_token_hint; anything else shows the signed-out page.
func TestPostLogoutRedirect(t *testing.T) {
	e := newEnv(t)
	hint := func(aud string) string {
		raw, err := e.keys.Sign(token.IDTokenClaims(token.IDTokenParams{Version: 2, IssuerBase: e.ts.URL, TenantID: e.tenant.ID, ClientID: aud,
			UserID: e.user.ObjectID, IssuedAt: e.clock.Now(), Lifetime: time.Hour}))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	good := hint(e.webApp.AppID)
	forged := good[:len(good)-4] + "AAAA"
	cases := []struct {
		rule     string
		params   url.Values
		redirect bool
	}{
		{"registered URI with client_id", url.Values{"client_id": {e.webApp.AppID}}, true},
		{"registered URI with id_token_hint", url.Values{"id_token_hint": {good}}, true},
		{"hint and client_id agree", url.Values{"id_token_hint": {good}, "client_id": {e.webApp.AppID}}, true},
		{"hint names another client than client_id", url.Values{"id_token_hint": {good}, "client_id": {e.native.AppID}}, false},
		{"hint with a bad signature", url.Values{"id_token_hint": {forged}}, false},
		{"no client named", url.Values{}, false},
		{"unknown client", url.Values{"client_id": {"8c0e8f5e-0000-4000-8000-000000000000"}}, false},
		{"URI registered for another client", url.Values{"client_id": {e.native.AppID}}, false},
		{"unregistered URI (open redirect)", url.Values{"client_id": {e.webApp.AppID}, "post_logout_redirect_uri": {"https://evil.example/"}}, false},
		{"prefix of a registered URI", url.Values{"client_id": {e.webApp.AppID}, "post_logout_redirect_uri": {"https://app.example/"}}, false},
	}
	for _, c := range cases {
		for _, path := range []string{"/contoso/oauth2/v2.0/logout", "/contoso/oauth2/logout"} {
			t.Run(c.rule+path, func(t *testing.T) {
				b, _, _ := e.signedIn()
				p := url.Values{"post_logout_redirect_uri": {webRedirect}, "state": {"bye"}}
				for k, v := range c.params {
					p[k] = v
				}
				a := b.get(e.ts.URL + path + "?" + p.Encode())
				if b.ssoCookie() != "" {
					t.Error("not signed out")
				}
				if !c.redirect {
					if a.location != nil || a.page != "signed_out" {
						t.Fatalf("status %d location %v page %q; want the signed-out page", a.status, a.location, a.page)
					}
					return
				}
				q := e.mustRedirect(a, webRedirect)
				if q.Get("state") != "bye" {
					t.Errorf("state = %q", q.Get("state"))
				}
			})
		}
	}
	// POST works as GET (OIDC RP-Initiated Logout 1.0 §2).
	b, _, _ := e.signedIn()
	req, _ := http.NewRequest("POST", e.ts.URL+"/contoso/oauth2/v2.0/logout", strings.NewReader(url.Values{
		"post_logout_redirect_uri": {webRedirect}, "client_id": {e.webApp.AppID}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	e.mustRedirect(b.do(req), webRedirect)
	if b.ssoCookie() != "" {
		t.Error("POST logout kept the session")
	}
}
