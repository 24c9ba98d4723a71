package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestSecurityCSRF: RFC 9700 §4.7 (cross-site request forgery). Every
// form the pages post carries a csrf_token bound to the browser's
// SameSite=Strict cookie and to the form's purpose, and the authorization
// response carries state unchanged (§4.7.1) for the client's own check.
func TestSecurityCSRF(t *testing.T) {
	e := newSecEnv(t)
	ctx := context.Background()
	signedIn := e.signedIn(t, e.tid)
	// pageFor opens, in a fresh browser (signed in as alice for consent
	// and account selection), the page with form id.
	pageFor := func(t *testing.T, id string) (*browser, pageForm) {
		switch id {
		case "signin":
			b := e.h.newBrowser(t)
			p, _ := b.get(e.authorizeURL(e.tid, nil))
			return b, p.form(t, "signin")
		case "consent", "select_account":
			b := e.sessionOf(t, signedIn)
			p, next := b.get(e.authorizeURL(e.tid, url.Values{"prompt": {id}}))
			if next != nil {
				t.Fatalf("no %s page: redirected to %s", id, next)
			}
			return b, p.form(t, id)
		case "device":
			b := e.h.newBrowser(t)
			p, _ := b.get(e.h.srv.URL + "/" + e.tid + "/devicelogin")
			return b, p.form(t, "device")
		}
		t.Fatalf("no form %s", id)
		return nil, pageForm{}
	}
	_, uc, _, err := e.h.srv.Sessions.StartDevice(ctx, e.tid, e.native.AppID, []string{"openid"}, "")
	if err != nil {
		t.Fatal(err)
	}
	fill := map[string]url.Values{
		"signin":         {"username": {"alice"}, "password": {alicePassword}},
		"consent":        {"decision": {"accept"}},
		"select_account": {"account": {"continue"}},
		"device":         {"user_code": {uc}},
	}
	for _, id := range []string{"signin", "consent", "select_account", "device"} {
		for _, tc := range []struct {
			name  string
			forge func(t *testing.T, f *pageForm, b *browser)
			ok    bool
		}{
			{"§4.7 " + id + " form with its csrf_token", func(*testing.T, *pageForm, *browser) {}, true},
			{"§4.7 " + id + " form without csrf_token", func(_ *testing.T, f *pageForm, _ *browser) { f.fields.Del("csrf_token") }, false},
			{"§4.7 " + id + " form with a tampered csrf_token", func(_ *testing.T, f *pageForm, _ *browser) {
				f.fields.Set("csrf_token", strings.Repeat("A", len(f.fields.Get("csrf_token"))))
			}, false},
			{"§4.7 " + id + " form with another browser's csrf_token", func(t *testing.T, f *pageForm, _ *browser) {
				_, other := pageFor(t, id)
				f.fields.Set("csrf_token", other.fields.Get("csrf_token"))
			}, false},
			{"§4.7 " + id + " form posted without the CSRF cookie", func(_ *testing.T, _ *pageForm, b *browser) {
				u, _ := url.Parse(e.h.srv.URL)
				b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-tessera_csrf", Value: "", Path: "/", MaxAge: -1, Secure: true}})
			}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b, f := pageFor(t, id)
				tc.forge(t, &f, b)
				p, next := b.submit(f, fill[id], "")
				if tc.ok {
					if p.status == 403 {
						t.Fatalf("refused with its own token")
					}
					return
				}
				if next != nil || p.status != 403 {
					t.Fatalf("forged post accepted: page %q status %d, redirect %v", p.kind, p.status, next)
				}
			})
		}
	}
	t.Run("§4.7 a csrf_token for one form is refused by another", func(t *testing.T) {
		b, consent := pageFor(t, "consent")
		p, _ := b.get(e.h.srv.URL + "/" + e.tid + "/devicelogin")
		f := p.form(t, "device")
		f.fields.Set("csrf_token", consent.fields.Get("csrf_token"))
		if p, next := b.submit(f, fill["device"], ""); next != nil || p.status != 403 {
			t.Fatalf("page %q status %d", p.kind, p.status)
		}
	})
	t.Run("§4.7 the CSRF cookie is SameSite=Strict and HttpOnly", func(t *testing.T) {
		resp, _ := e.h.newBrowser(t).fetch("GET", e.authorizeURL(e.tid, nil), nil)
		var found bool
		for _, c := range resp.Cookies() {
			if c.Name == "__Host-tessera_csrf" {
				found = c.SameSite == http.SameSiteStrictMode && c.HttpOnly && c.Secure
			}
		}
		if !found {
			t.Fatalf("Set-Cookie %v", resp.Header.Values("Set-Cookie"))
		}
	})
	b := e.signedIn(t, e.tid)
	for _, tc := range []struct {
		name, state string
		set         url.Values
	}{
		{"§4.7.1 state returned unchanged with a code", "a b+c/d?e=f&g%20h", nil},
		{"§4.7.1 state returned unchanged with an error", "s&t=u", url.Values{"scope": {"api://nonexistent/read"}}},
		{"§4.7.1 state returned unchanged, long", strings.Repeat("s", 2000), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := url.Values{"state": {tc.state}}
			for k, v := range tc.set {
				set[k] = v
			}
			if got := e.code(t, b, e.tid, set).Get("state"); got != tc.state {
				t.Fatalf("state %q, want %q", got, tc.state)
			}
		})
	}
}

// TestSecurityLogoutCSRF: logout CSRF (OpenID Connect RP-Initiated Logout
// 1.0 §2, §4; RFC 9700 §4.7). Logout ends the browser's session and
// revokes every grant made in it, so a request any site can make — a
// link, an <img>, a cross-site form — must not do it. It ends at once only
// with an id_token_hint this server issued to the session's user, or when
// the person confirms on the logout page (a form with a CSRF token bound
// to the SameSite=Strict cookie and to its purpose). Each row signs alice
// in, redeems a refresh token, makes the request, and checks that the
// session and the refresh token still work, or that both ended.
func TestSecurityLogoutCSRF(t *testing.T) {
	e := newSecEnv(t)
	ctx := context.Background()
	d := e.h.srv.Directory
	if _, err := d.CreateUser(ctx, e.tid, directory.UserSpec{UserPrincipalName: "bob", Password: alicePassword}); err != nil {
		t.Fatal(err)
	}
	tb, err := d.CreateTenantWithAdmin(ctx, directory.TenantSpec{Domain: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	e.populate(t, tb.ID)
	e.twin(t, tb.ID, nil)
	// tokensOf signs user in to tenant in a fresh browser and redeems a
	// code of the native client: the browser and the token response.
	tokensOf := func(t *testing.T, tenant, user string) (*browser, map[string]any) {
		t.Helper()
		b := e.h.newBrowser(t)
		p, next := b.get(e.authorizeURL(tenant, nil))
		if _, next = b.walk(p, next, user, alicePassword); next == nil || next.Query().Get("code") == "" {
			t.Fatalf("sign-in of %s at %s: %v", user, tenant, next)
		}
		status, body := e.token(tenant, e.redeemForm(next.Query().Get("code")))
		wantTokens(t, status, body)
		return b, body
	}
	_, bob := tokensOf(t, e.tid, "bob")
	// B's alice signs in to the client id both tenants hold (the CLI's),
	// so that her ID token differs from A's alice's only by its tenant.
	bB := e.h.newBrowser(t)
	p, next := bB.get(e.authorizeURL(tb.ID, twinAuthorize(nil)))
	if _, next = bB.walk(p, next, "alice", alicePassword); next == nil || next.Query().Get("code") == "" {
		t.Fatalf("sign-in of alice at B: %v", next)
	}
	status, aliceB := e.token(tb.ID, e.twinRedeem(next.Query().Get("code")))
	wantTokens(t, status, aliceB)
	logoutA := e.h.srv.URL + "/" + e.tid + "/oauth2/v2.0/logout"
	logoutCommon := e.h.srv.URL + "/common/oauth2/v2.0/logout"
	rp := url.Values{"client_id": {e.native.AppID}, "post_logout_redirect_uri": {secNativeRedirect}, "state": {"bye"}}
	params := func(set url.Values) url.Values {
		q := url.Values{}
		for k, v := range rp {
			q[k] = v
		}
		for k, v := range set {
			q[k] = v
		}
		return q
	}
	// crossSite sends what another site's page makes the browser send: a
	// top-level GET or a form POST, with the victim's cookies (the Go
	// client sends them all; SameSite=Lax would keep them from a POST) and
	// the headers a browser adds.
	crossSite := func(b *browser, method, rawURL string, form url.Values) (page, *url.URL) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, rawURL, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		return b.do(req)
	}
	confirmPage := func(t *testing.T, b *browser) pageForm {
		t.Helper()
		p, next := b.get(logoutA + "?" + rp.Encode())
		if next != nil {
			t.Fatalf("logout without a hint redirected to %s", next)
		}
		return p.form(t, "logout")
	}
	hintGET := func(endpoint string, hint func(alice map[string]any) string) func(*testing.T, *browser, map[string]any) (page, *url.URL) {
		return func(_ *testing.T, b *browser, alice map[string]any) (page, *url.URL) {
			q := params(nil)
			q.Del("client_id")
			q.Set("id_token_hint", hint(alice))
			return crossSite(b, "GET", endpoint+"?"+q.Encode(), nil)
		}
	}
	const (
		kept  = "kept"
		ended = "ended"
	)
	var hints []string // every hint sent, none of which may be logged
	for _, tc := range []struct {
		name string
		do   func(t *testing.T, b *browser, alice map[string]any) (page, *url.URL)
		page string // the page shown, "" for the post-logout redirect
		want string
	}{
		{"OIDC RP-Initiated Logout §2 / RFC 9700 §4.7 cross-site GET logout without hint keeps the session",
			func(_ *testing.T, b *browser, _ map[string]any) (page, *url.URL) {
				return crossSite(b, "GET", logoutA+"?"+rp.Encode(), nil)
			}, "logout", kept},
		{"OIDC RP-Initiated Logout §2 / RFC 9700 §4.7 cross-site GET logout at /common/ without hint keeps the session",
			func(_ *testing.T, b *browser, _ map[string]any) (page, *url.URL) {
				return crossSite(b, "GET", logoutCommon, nil)
			}, "logout", kept},
		{"OIDC RP-Initiated Logout §2 / RFC 9700 §4.7 cross-site POST logout without hint keeps the session",
			func(_ *testing.T, b *browser, _ map[string]any) (page, *url.URL) {
				return crossSite(b, "POST", logoutA, rp)
			}, "logout", kept},
		{"RFC 9700 §4.7 cross-site POST of the confirmation without csrf_token keeps the session",
			func(_ *testing.T, b *browser, _ map[string]any) (page, *url.URL) {
				return crossSite(b, "POST", logoutA, params(url.Values{"decision": {"signout"}}))
			}, "error", kept},
		{"RFC 9700 §4.7 logout confirmation with a tampered csrf_token keeps the session",
			func(t *testing.T, b *browser, _ map[string]any) (page, *url.URL) {
				f := confirmPage(t, b)
				f.fields.Set("csrf_token", strings.Repeat("A", len(f.fields.Get("csrf_token"))))
				return b.submit(f, nil, "decision=signout")
			}, "error", kept},
		{"RFC 9700 §4.7 logout confirmation with another browser's csrf_token keeps the session",
			func(t *testing.T, b *browser, _ map[string]any) (page, *url.URL) {
				other, _ := tokensOf(t, e.tid, "bob")
				f := confirmPage(t, b)
				f.fields.Set("csrf_token", confirmPage(t, other).fields.Get("csrf_token"))
				return b.submit(f, nil, "decision=signout")
			}, "error", kept},
		{"RFC 9700 §4.7 logout confirmation with the consent form's csrf_token keeps the session",
			func(t *testing.T, b *browser, _ map[string]any) (page, *url.URL) {
				p, _ := b.get(e.authorizeURL(e.tid, url.Values{"prompt": {"consent"}}))
				consent := p.form(t, "consent")
				f := confirmPage(t, b)
				f.fields.Set("csrf_token", consent.fields.Get("csrf_token"))
				return b.submit(f, nil, "decision=signout")
			}, "error", kept},
		{"OIDC RP-Initiated Logout §2 id_token_hint for another user keeps the session",
			hintGET(logoutA, func(map[string]any) string { return bob["id_token"].(string) }), "logout", kept},
		{"OIDC RP-Initiated Logout §2 id_token_hint of another tenant keeps the session",
			hintGET(logoutA, func(map[string]any) string { return aliceB["id_token"].(string) }), "logout", kept},
		{"OIDC RP-Initiated Logout §2 id_token_hint of another tenant at /common/ keeps the session",
			hintGET(logoutCommon, func(map[string]any) string { return aliceB["id_token"].(string) }), "logout", kept},
		{"OIDC RP-Initiated Logout §2 the user's access token as id_token_hint keeps the session",
			hintGET(logoutA, func(alice map[string]any) string { return alice["access_token"].(string) }), "logout", kept},
		{"OIDC RP-Initiated Logout §2 Stay signed in keeps the session",
			func(t *testing.T, b *browser, _ map[string]any) (page, *url.URL) {
				return b.submit(confirmPage(t, b), nil, "decision=cancel")
			}, "still_signed_in", kept},
		{"OIDC RP-Initiated Logout §2 / RFC 9700 §4.7 confirmed logout with its csrf_token ends the session and revokes",
			func(t *testing.T, b *browser, _ map[string]any) (page, *url.URL) {
				return b.submit(confirmPage(t, b), nil, "decision=signout")
			}, "", ended},
		{"OIDC RP-Initiated Logout §2 valid id_token_hint for the session's user ends it at once",
			hintGET(logoutA, func(alice map[string]any) string { return alice["id_token"].(string) }), "", ended},
		{"OIDC RP-Initiated Logout §2 valid id_token_hint for the session's user at /common/ ends it at once",
			hintGET(logoutCommon, func(alice map[string]any) string { return alice["id_token"].(string) }), "", ended},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, alice := tokensOf(t, e.tid, "alice")
			hints = append(hints, alice["id_token"].(string))
			p, next := tc.do(t, b, alice)
			switch {
			case tc.page == "" && (next == nil || next.Query().Get("state") != "bye"):
				t.Errorf("page %q status %d, redirect %v; want the post-logout redirect with state", p.kind, p.status, next)
			case tc.page != "" && (next != nil || p.kind != tc.page):
				t.Errorf("page %q status %d, redirect %v; want the %s page", p.kind, p.status, next, tc.page)
			case tc.page == "error" && p.status != http.StatusForbidden:
				t.Errorf("status %d, want 403", p.status)
			}
			status, body := e.token(e.tid, url.Values{"grant_type": {"refresh_token"}, "client_id": {e.native.AppID},
				"refresh_token": {alice["refresh_token"].(string)}})
			p, next = b.get(e.authorizeURL(e.tid, nil))
			if tc.want == kept {
				wantTokens(t, status, body)
				if next == nil || next.Query().Get("code") == "" {
					t.Errorf("single sign-on after the request: page %q, redirect %v; want a code", p.kind, next)
				}
				return
			}
			wantOAuthError(t, status, body, 400, "invalid_grant")
			if next != nil || p.kind != "signin" {
				t.Errorf("authorize after logout: page %q, redirect %v; want the sign-in page", p.kind, next)
			}
		})
	}
	t.Run("RFC 9700 §4.2 no id_token_hint in the server log", func(t *testing.T) {
		logs := e.h.logs.String()
		for _, h := range append(hints, bob["id_token"].(string), aliceB["id_token"].(string)) {
			if parts := strings.Split(h, "."); len(parts) == 3 && strings.Contains(logs, parts[2]) {
				t.Fatal("the server logged an id_token_hint")
			}
		}
	})
}
