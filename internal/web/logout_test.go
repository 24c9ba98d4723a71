package web_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
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
	rt, err := e.sessions.IssueRefreshToken(e.ctx, e.tenant.ID, g, time.Hour, session.IssuedToken{}, time.Time{})
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
	rt, err := e.sessions.IssueRefreshToken(e.ctx, e.tenant.ID, g, time.Hour, session.IssuedToken{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sso := b.ssoCookie()
	// Without an id_token_hint the person confirms (see
	// TestLogoutAsksToConfirm); "Sign out" ends the session.
	a = b.get(e.ts.URL + "/contoso/oauth2/v2.0/logout")
	if a.status != 200 || a.page != "logout" {
		t.Fatalf("logout: status %d page %q location %v, want the confirmation page", a.status, a.page, a.location)
	}
	a = b.post(a, "logout", map[string]string{"decision": "signout"})
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
// id_token_hint; anything else shows the signed-out page. A request that
// a valid hint for the signed-in user does not vouch for is confirmed
// first (TestLogoutAsksToConfirm); the confirmation carries the request's
// parameters, so the redirect is decided the same way.
func TestPostLogoutRedirect(t *testing.T) {
	e := newEnv(t)
	good := e.hint(e.tenant.ID, e.webApp.AppID, e.user.ObjectID)
	forged := good[:len(good)-4] + "AAAA"
	cases := []struct {
		rule     string
		params   url.Values
		atOnce   bool // the hint ends the session without asking
		redirect bool
	}{
		{"registered URI with client_id", url.Values{"client_id": {e.webApp.AppID}}, false, true},
		{"registered URI with id_token_hint", url.Values{"id_token_hint": {good}}, true, true},
		{"hint and client_id agree", url.Values{"id_token_hint": {good}, "client_id": {e.webApp.AppID}}, true, true},
		{"hint names another client than client_id", url.Values{"id_token_hint": {good}, "client_id": {e.native.AppID}}, false, false},
		{"hint with a bad signature", url.Values{"id_token_hint": {forged}}, false, false},
		{"no client named", url.Values{}, false, false},
		{"unknown client", url.Values{"client_id": {"8c0e8f5e-0000-4000-8000-000000000000"}}, false, false},
		{"URI registered for another client", url.Values{"client_id": {e.native.AppID}}, false, false},
		{"unregistered URI (open redirect)", url.Values{"client_id": {e.webApp.AppID}, "post_logout_redirect_uri": {"https://evil.example/"}}, false, false},
		{"prefix of a registered URI", url.Values{"client_id": {e.webApp.AppID}, "post_logout_redirect_uri": {"https://app.example/"}}, false, false},
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
				if !c.atOnce {
					if a.page != "logout" || b.ssoCookie() == "" {
						t.Fatalf("status %d page %q location %v; want the confirmation page, still signed in", a.status, a.page, a.location)
					}
					// The page's form may end in the redirect: its origin,
					// and only a validated one, is a form-action source.
					fa := "form-action 'self';"
					if c.redirect {
						fa = "form-action 'self' https://app.example;"
					}
					if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, fa) {
						t.Errorf("CSP %q lacks %q", csp, fa)
					}
					a = b.post(a, "logout", map[string]string{"decision": "signout"})
				}
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
	// POST works as GET (OIDC RP-Initiated Logout 1.0 §2): with a hint it
	// ends the session at once; without one the person confirms, and the
	// confirmation's answer is a 303 (RFC 9700 §4.12).
	post := func(b *browser, form url.Values) answer {
		req, _ := http.NewRequest("POST", e.ts.URL+"/contoso/oauth2/v2.0/logout", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return b.do(req)
	}
	b, _, _ := e.signedIn()
	e.mustRedirect(post(b, url.Values{"post_logout_redirect_uri": {webRedirect}, "id_token_hint": {good}}), webRedirect)
	if b.ssoCookie() != "" {
		t.Error("POST logout with a hint kept the session")
	}
	b, _, _ = e.signedIn()
	a := post(b, url.Values{"post_logout_redirect_uri": {webRedirect}, "client_id": {e.webApp.AppID}})
	if a.page != "logout" || b.ssoCookie() == "" {
		t.Fatalf("POST logout without a hint: page %q location %v, want the confirmation page", a.page, a.location)
	}
	a = b.post(a, "logout", map[string]string{"decision": "signout"})
	if a.status != http.StatusSeeOther {
		t.Errorf("confirmed logout answered %d, want 303", a.status)
	}
	e.mustRedirect(a, webRedirect)
	if b.ssoCookie() != "" {
		t.Error("confirmed POST logout kept the session")
	}
}

// hint signs an ID token of tenantID for client aud and user, as the
// token endpoint issues them, for use as an id_token_hint.
func (e *env) hint(tenantID, aud, userID string) string {
	e.t.Helper()
	raw, err := e.keys.Sign(token.IDTokenClaims(token.IDTokenParams{Version: 2, IssuerBase: e.ts.URL, TenantID: tenantID, ClientID: aud,
		UserID: userID, IssuedAt: e.clock.Now(), Lifetime: time.Hour}))
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

// refresh rotates a refresh token of the web app.
func (e *env) refresh(rt string) error {
	_, _, err := e.sessions.Refresh(e.ctx, e.tenant.ID, rt, e.webApp.AppID, time.Hour, 0, func(session.Grant, string) (session.Minted, error) {
		return session.Minted{Response: []byte("{}")}, nil
	})
	return err
}

// wantSession fails unless the browser session of cookie sso, its grant
// g and the refresh token rt are alive (want) or all ended (!want).
func (e *env) wantSession(t *testing.T, want bool, sso string, g session.Grant, rt string) {
	t.Helper()
	_, bsErr := e.sessions.BrowserSession(e.ctx, e.tenant.ID, sso)
	_, gErr := e.sessions.ActiveGrant(e.ctx, e.tenant.ID, g.ID)
	rtErr := e.refresh(rt)
	if want && (bsErr != nil || gErr != nil || rtErr != nil) {
		t.Errorf("signed out: session %v, grant %v, refresh token %v", bsErr, gErr, rtErr)
	}
	if !want && (bsErr == nil || !errors.Is(gErr, session.ErrRevoked) || rtErr == nil) {
		t.Errorf("still signed in: session %v, grant %v, refresh token %v", bsErr, gErr, rtErr)
	}
}

// TestLogoutAsksToConfirm: logout CSRF (OIDC RP-Initiated Logout 1.0 §2,
// §4; RFC 9700 §4.7). Ending the session revokes every grant made in it,
// so a request any site can make (a link, an <img>, a cross-site form)
// must not do it: only a valid id_token_hint for the session's user, or
// the confirmation form posted with its CSRF token, ends it. Everything
// else shows the confirmation page and keeps the session, its grant and
// its refresh tokens working.
func TestLogoutAsksToConfirm(t *testing.T) {
	e := newEnv(t)
	bob, err := e.dir.CreateUser(e.ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "bob", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.dir.CreateTenantWithAdmin(e.ctx, directory.TenantSpec{Domain: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	v2 := e.ts.URL + "/contoso/oauth2/v2.0/logout"
	rp := url.Values{"client_id": {e.webApp.AppID}, "post_logout_redirect_uri": {webRedirect}, "state": {"bye"}}
	withRP := func(base string, set url.Values) string {
		q := url.Values{}
		for k, v := range rp {
			q[k] = v
		}
		for k, v := range set {
			q[k] = v
		}
		return base + "?" + q.Encode()
	}
	// confirmPage opens the confirmation page in b.
	confirmPage := func(t *testing.T, b *browser) answer {
		t.Helper()
		a := b.get(withRP(v2, nil))
		if a.page != "logout" {
			t.Fatalf("page %q status %d location %v, want the confirmation page", a.page, a.status, a.location)
		}
		return a
	}
	accessToken := func() string {
		raw, err := e.keys.Sign(token.UserTokenClaims(token.UserTokenParams{Version: 2, IssuerBase: e.ts.URL, TenantID: e.tenant.ID,
			Audience: e.api.AppID, ClientID: e.webApp.AppID, UserID: e.user.ObjectID, Scopes: []string{"Studies.Read"},
			IssuedAt: e.clock.Now(), Lifetime: time.Hour}))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}()
	hintGET := func(base, hint string) func(*testing.T, *browser) answer {
		return func(_ *testing.T, b *browser) answer {
			return b.get(withRP(base, url.Values{"id_token_hint": {hint}, "client_id": nil}))
		}
	}
	cases := []struct {
		rule  string
		do    func(t *testing.T, b *browser) answer
		page  string // the answer's page, "" for the post-logout redirect
		ended bool
	}{
		{"RP-Initiated Logout §2 / RFC 9700 §4.7 GET without id_token_hint asks and keeps the session",
			func(_ *testing.T, b *browser) answer { return b.get(withRP(v2, nil)) }, "logout", false},
		{"RP-Initiated Logout §2 v1 endpoint GET without id_token_hint asks",
			func(_ *testing.T, b *browser) answer { return b.get(withRP(e.ts.URL+"/contoso/oauth2/logout", nil)) }, "logout", false},
		{"RP-Initiated Logout §2 /common/ GET without id_token_hint asks",
			func(_ *testing.T, b *browser) answer { return b.get(e.ts.URL + "/common/oauth2/v2.0/logout") }, "logout", false},
		{"RP-Initiated Logout §2 /adfs/ GET without id_token_hint asks",
			func(_ *testing.T, b *browser) answer { return b.get(e.ts.URL + "/adfs/oauth2/logout") }, "logout", false},
		{"RP-Initiated Logout §2 / RFC 9700 §4.7 cross-site POST without id_token_hint asks",
			func(_ *testing.T, b *browser) answer {
				req, _ := http.NewRequest("POST", v2, strings.NewReader(rp.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return b.do(req)
			}, "logout", false},
		{"RFC 9700 §4.7 confirmation posted without csrf_token is refused",
			func(t *testing.T, b *browser) answer {
				return b.post(confirmPage(t, b), "logout", map[string]string{"decision": "signout", "csrf_token": ""})
			}, "error", false},
		{"RFC 9700 §4.7 confirmation posted with a tampered csrf_token is refused",
			func(t *testing.T, b *browser) answer {
				a := confirmPage(t, b)
				return b.post(a, "logout", map[string]string{"decision": "signout", "csrf_token": strings.Repeat("A", len(a.forms["logout"].fields.Get("csrf_token")))})
			}, "error", false},
		{"RFC 9700 §4.7 confirmation posted with another browser's csrf_token is refused",
			func(t *testing.T, b *browser) answer {
				b2, _, _ := e.signedIn()
				tok := confirmPage(t, b2).forms["logout"].fields.Get("csrf_token")
				return b.post(confirmPage(t, b), "logout", map[string]string{"decision": "signout", "csrf_token": tok})
			}, "error", false},
		{"RFC 9700 §4.7 confirmation posted with the consent form's csrf_token is refused",
			func(t *testing.T, b *browser) answer {
				c := b.get(e.authorizeURL(map[string]string{"prompt": "consent"}))
				if c.page != "consent" {
					t.Fatalf("no consent page: %q", c.page)
				}
				return b.post(confirmPage(t, b), "logout", map[string]string{"decision": "signout", "csrf_token": c.forms["consent"].fields.Get("csrf_token")})
			}, "error", false},
		{"RFC 9700 §4.7 the confirmation's csrf_token in a GET confirms nothing",
			func(t *testing.T, b *browser) answer {
				tok := confirmPage(t, b).forms["logout"].fields.Get("csrf_token")
				return b.get(withRP(v2, url.Values{"decision": {"signout"}, "csrf_token": {tok}}))
			}, "logout", false},
		{"RP-Initiated Logout §2 id_token_hint for another user asks",
			hintGET(v2, e.hint(e.tenant.ID, e.webApp.AppID, bob.ObjectID)), "logout", false},
		{"RP-Initiated Logout §2 id_token_hint of another tenant at this tenant's endpoint asks",
			hintGET(v2, e.hint(other.ID, e.webApp.AppID, e.user.ObjectID)), "logout", false},
		{"RP-Initiated Logout §2 id_token_hint of another tenant (same oid) at /common/ asks",
			hintGET(e.ts.URL+"/common/oauth2/v2.0/logout", e.hint(other.ID, e.webApp.AppID, e.user.ObjectID)), "logout", false},
		{"RP-Initiated Logout §2 an access token as id_token_hint asks",
			hintGET(v2, accessToken), "logout", false},
		{"RP-Initiated Logout §2 id_token_hint with another client's client_id asks",
			func(_ *testing.T, b *browser) answer {
				return b.get(withRP(v2, url.Values{"id_token_hint": {e.hint(e.tenant.ID, e.webApp.AppID, e.user.ObjectID)}, "client_id": {e.native.AppID}}))
			}, "logout", false},
		{"RP-Initiated Logout §2 Stay signed in keeps the session",
			func(t *testing.T, b *browser) answer {
				return b.post(confirmPage(t, b), "logout", map[string]string{"decision": "cancel"})
			}, "still_signed_in", false},
		{"RP-Initiated Logout §2 Sign out with the form's csrf_token ends the session",
			func(t *testing.T, b *browser) answer {
				return b.post(confirmPage(t, b), "logout", map[string]string{"decision": "signout"})
			}, "", true},
		{"RP-Initiated Logout §2 id_token_hint for the session's user ends it at once",
			hintGET(v2, e.hint(e.tenant.ID, e.webApp.AppID, e.user.ObjectID)), "", true},
		{"RP-Initiated Logout §2 id_token_hint for the session's user at /common/ ends it at once",
			hintGET(e.ts.URL+"/common/oauth2/v2.0/logout", e.hint(e.tenant.ID, e.webApp.AppID, e.user.ObjectID)), "", true},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			b, g, rt := e.signedIn()
			sso := b.ssoCookie()
			a := c.do(t, b)
			switch {
			case c.page == "" && a.location == nil:
				t.Errorf("page %q status %d, want the post-logout redirect", a.page, a.status)
			case c.page == "":
				if q := e.mustRedirect(a, webRedirect); q.Get("state") != "bye" {
					t.Errorf("redirect %v", a.location)
				}
			case a.page != c.page || a.location != nil:
				t.Errorf("page %q status %d location %v, want page %q", a.page, a.status, a.location, c.page)
			case c.page == "error" && a.status != http.StatusForbidden:
				t.Errorf("status %d, want 403", a.status)
			}
			if c.ended != (b.ssoCookie() == "") {
				t.Errorf("SSO cookie %q after logout, want it cleared: %v", b.ssoCookie(), c.ended)
			}
			e.wantSession(t, !c.ended, sso, g, rt)
		})
	}
}

// TestLogoutConfirmationPage: the page names the account and tenant, and
// posts back, with its CSRF token, the request's parameters.
func TestLogoutConfirmationPage(t *testing.T) {
	e := newEnv(t)
	b, _, _ := e.signedIn()
	hint := e.hint(e.tenant.ID, e.webApp.AppID, "00000000-0000-4000-8000-000000000001")
	a := b.get(e.ts.URL + "/contoso/oauth2/v2.0/logout?" + url.Values{"client_id": {e.webApp.AppID},
		"post_logout_redirect_uri": {webRedirect}, "state": {"a&b"}, "id_token_hint": {hint}}.Encode())
	if a.page != "logout" || !strings.Contains(a.body, "Sign out of contoso as alice@contoso?") {
		t.Fatalf("page %q:\n%s", a.page, a.body)
	}
	checkHeaders(t, a, "'self'")
	f := a.forms["logout"]
	if f.action != "/contoso/oauth2/v2.0/logout" || f.fields.Get("csrf_token") == "" || f.fields.Get("client_id") != e.webApp.AppID ||
		f.fields.Get("post_logout_redirect_uri") != webRedirect || f.fields.Get("state") != "a&b" || f.fields.Get("id_token_hint") != hint {
		t.Errorf("form %+v", f)
	}
	// At /adfs/ the form posts to /adfs/.
	if f := b.get(e.ts.URL + "/adfs/oauth2/logout").forms["logout"]; f.action != "/adfs/oauth2/logout" {
		t.Errorf("/adfs/ form action %q", f.action)
	}
}

// TestLogoutWithoutSession: with no session to end there is nothing to
// forge, so nothing is asked: the signed-out page, or the validated
// redirect; a stale cookie is cleared.
func TestLogoutWithoutSession(t *testing.T) {
	e := newEnv(t)
	rp := url.Values{"client_id": {e.webApp.AppID}, "post_logout_redirect_uri": {webRedirect}, "state": {"bye"}}
	if q := e.mustRedirect(e.browser().get(e.ts.URL+"/contoso/oauth2/v2.0/logout?"+rp.Encode()), webRedirect); q.Get("state") != "bye" {
		t.Errorf("state %q", q.Get("state"))
	}
	if a := e.browser().get(e.ts.URL + "/contoso/oauth2/v2.0/logout"); a.page != "signed_out" {
		t.Errorf("page %q, want signed_out", a.page)
	}
	b, _, _ := e.signedIn()
	sso := b.ssoCookie()
	if _, err := e.sessions.EndBrowserSession(e.ctx, e.tenant.ID, sso); err != nil {
		t.Fatal(err)
	}
	if a := b.get(e.ts.URL + "/contoso/oauth2/v2.0/logout"); a.page != "signed_out" || b.ssoCookie() != "" {
		t.Errorf("stale cookie: page %q, cookie %q", a.page, b.ssoCookie())
	}
}

// TestLogoutHintEndsOnlyItsSession: at /common/ a browser signed in to
// two tenants; a hint for one tenant's user ends that session only (OIDC
// RP-Initiated Logout 1.0 §2: the hint says which session the RP means),
// while a confirmed logout ends both.
func TestLogoutHintEndsOnlyItsSession(t *testing.T) {
	e := newEnv(t)
	fab, err := e.dir.CreateTenantWithAdmin(e.ctx, directory.TenantSpec{Domain: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := e.dir.CreateApplication(e.ctx, fab.ID, directory.ApplicationSpec{DisplayName: "Fabrikam Web", RedirectURIs: []string{webRedirect}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.CreateServicePrincipal(e.ctx, fab.ID, directory.ServicePrincipalSpec{AppID: app.AppID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.CreateUser(e.ctx, fab.ID, directory.UserSpec{UserPrincipalName: "carol", Password: password}); err != nil {
		t.Fatal(err)
	}
	fabCookie := func(b *browser) string {
		u, _ := url.Parse(e.ts.URL)
		for _, c := range b.jar.Cookies(u) {
			if c.Name == "__Host-tessera_sso_"+strings.ReplaceAll(fab.ID, "-", "") {
				return c.Value
			}
		}
		return ""
	}
	signedInTwice := func() *browser {
		b, _, _ := e.signedIn()
		a := b.signIn(b.get(e.ts.URL+"/fabrikam/oauth2/v2.0/authorize?"+url.Values{"client_id": {app.AppID}, "redirect_uri": {webRedirect},
			"response_type": {"code"}, "scope": {"openid"}, "state": {"s"}}.Encode()), "carol", password)
		if a.page == "consent" {
			a = b.post(a, "consent", map[string]string{"decision": "accept"})
		}
		e.mustRedirect(a, webRedirect)
		if b.ssoCookie() == "" || fabCookie(b) == "" {
			t.Fatal("not signed in to both tenants")
		}
		return b
	}
	common := e.ts.URL + "/common/oauth2/v2.0/logout"

	b := signedInTwice()
	fabSSO := fabCookie(b)
	if a := b.get(common + "?" + url.Values{"id_token_hint": {e.hint(e.tenant.ID, e.webApp.AppID, e.user.ObjectID)}}.Encode()); a.page != "signed_out" {
		t.Fatalf("hint logout: page %q", a.page)
	}
	if b.ssoCookie() != "" {
		t.Error("the hint's session survived")
	}
	if _, err := e.sessions.BrowserSession(e.ctx, fab.ID, fabSSO); err != nil || fabCookie(b) == "" {
		t.Errorf("the other tenant's session ended too: %v", err)
	}

	b = signedInTwice()
	a := b.get(common)
	if a.page != "logout" || !strings.Contains(a.body, "alice@contoso") || !strings.Contains(a.body, "carol@fabrikam") {
		t.Fatalf("page %q:\n%s", a.page, a.body)
	}
	if a := b.post(a, "logout", map[string]string{"decision": "signout"}); a.page != "signed_out" {
		t.Fatalf("confirmed: page %q", a.page)
	}
	if b.ssoCookie() != "" || fabCookie(b) != "" {
		t.Error("a confirmed /common/ logout kept a session")
	}
}
