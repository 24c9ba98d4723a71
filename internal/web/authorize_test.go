package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestAuthorizeRefusesOnAPageWhenTheRedirectIsNotTrusted: until client and
// redirect URI are known good, errors are pages, never redirects.
func TestAuthorizeRefusesOnAPageWhenTheRedirectIsNotTrusted(t *testing.T) {
	e := newEnv(t)
	conf := e.mustApp(directory.ApplicationSpec{DisplayName: "Confidential loopback", RedirectURIs: []string{"http://127.0.0.1/callback"}})
	_, ch := pkce()
	native := func(redirect string) map[string]string {
		return map[string]string{"client_id": e.native.AppID, "redirect_uri": redirect, "code_challenge": ch, "code_challenge_method": "S256"}
	}
	cases := []struct {
		rule string
		edit map[string]string
		raw  string // appended to the query as is
	}{
		{rule: "RFC 6749 §4.1.2.1: unknown client_id", edit: map[string]string{"client_id": "8c0e8f5e-0000-4000-8000-000000000000"}},
		{rule: "RFC 6749 §4.1.2.1: client_id not a GUID", edit: map[string]string{"client_id": "studies-web"}},
		{rule: "RFC 6749 §4.1.2.1: client_id missing", edit: map[string]string{"client_id": ""}},
		{rule: "RFC 6749 §3.1.2.3: redirect_uri missing with several registered", edit: native("")},
		{rule: "RFC 9700 §4.1.3: unregistered redirect_uri", edit: map[string]string{"redirect_uri": "https://evil.example/callback"}},
		{rule: "RFC 9700 §4.1.3: exact match, no trailing slash", edit: map[string]string{"redirect_uri": webRedirect + "/"}},
		{rule: "RFC 9700 §4.1.3: exact match, no extra query", edit: map[string]string{"redirect_uri": webRedirect + "?x=1"}},
		{rule: "RFC 8252 §7.3: any loopback port only for public clients", edit: map[string]string{"client_id": conf.AppID, "redirect_uri": "http://127.0.0.1:5555/callback"}},
		{rule: "RFC 8252 §7.3: loopback path must match", edit: native("http://127.0.0.1:5555/other")},
		{rule: "RFC 8252 §7.3: loopback host must match", edit: native("http://[::1]:5555/callback")},
		{rule: "RFC 8252 §7.3: loopback scheme must match", edit: native("https://127.0.0.1:5555/callback")},
		{rule: "RFC 6749 §3.1: redirect_uri repeated", raw: "&redirect_uri=" + url.QueryEscape("https://evil.example/")},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			a := e.browser().get(e.authorizeURL(c.edit) + c.raw)
			if a.status != http.StatusBadRequest || a.page != "error" || a.location != nil || a.header.Get("Location") != "" {
				t.Fatalf("status %d page %q location %v; want a 400 error page without Location", a.status, a.page, a.location)
			}
			if strings.Contains(a.body, "evil.example") {
				t.Error("the error page shows the unregistered redirect URI")
			}
		})
	}
	t.Run("unknown tenant", func(t *testing.T) {
		a := e.browser().get(strings.Replace(e.authorizeURL(nil), "/contoso/", "/nowhere/", 1))
		if a.status != 400 || a.page != "error" || a.location != nil {
			t.Fatalf("status %d page %q location %v", a.status, a.page, a.location)
		}
	})
}

// TestAuthorizeErrorsGoToTheClient: once the redirect URI is registered,
// every other error is an error response there, with state and iss.
func TestAuthorizeErrorsGoToTheClient(t *testing.T) {
	e := newEnv(t)
	_, ch := pkce()
	cases := []struct {
		rule, code string
		edit       map[string]string
		raw        string
		v1         bool
	}{
		{rule: "RFC 6749 §4.1.2.1: response_type other than code", code: "unsupported_response_type", edit: map[string]string{"response_type": "token"}},
		{rule: "RFC 6749 §4.1.2.1: response_type missing", code: "invalid_request", edit: map[string]string{"response_type": ""}},
		{rule: "RFC 9700 §2.1.1: public client without PKCE", code: "invalid_request", edit: map[string]string{"client_id": e.native.AppID, "redirect_uri": "http://127.0.0.1:5555/callback"}},
		{rule: "RFC 7636 §4.3: plain refused", code: "invalid_request", edit: map[string]string{"code_challenge": ch, "code_challenge_method": "plain"}},
		{rule: "RFC 7636 §4.3: method absent means plain, refused", code: "invalid_request", edit: map[string]string{"code_challenge": ch}},
		{rule: "RFC 7636 §4.2: malformed challenge", code: "invalid_request", edit: map[string]string{"code_challenge": "short", "code_challenge_method": "S256"}},
		{rule: "RFC 6749 §4.1.2.1: scope not exposed", code: "invalid_scope", edit: map[string]string{"scope": "openid api://studies/Studies.Write"}},
		{rule: "RFC 6749 §4.1.2.1: unknown resource", code: "invalid_scope", edit: map[string]string{"scope": "api://nothing/.default"}},
		{rule: "RFC 6749 §4.1.2.1: scope missing at v2", code: "invalid_request", edit: map[string]string{"scope": ""}},
		{rule: "OIDC Core §3.1.2.6: prompt=none without a session", code: "login_required", edit: map[string]string{"prompt": "none"}},
		{rule: "OIDC Core §3.1.2.1: unknown prompt", code: "invalid_request", edit: map[string]string{"prompt": "sometimes"}},
		{rule: "OIDC Core §3.1.2.1: prompt=none with another value", code: "invalid_request", edit: map[string]string{"prompt": "none login"}},
		{rule: "OAuth 2.0 Multiple Response Types §2: unknown response_mode", code: "invalid_request", edit: map[string]string{"response_mode": "fragment"}},
		{rule: "RFC 6749 §3.1: parameter repeated", code: "invalid_request", raw: "&scope=openid"},
		{rule: "RFC 6749 §4.1.2.1: v1 unknown resource", code: "invalid_scope", edit: map[string]string{"scope": "", "resource": "api://nothing"}, v1: true},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			u := e.authorizeURL(c.edit) + c.raw
			wantIss := e.ts.URL + "/" + e.tenant.ID + "/v2.0"
			if c.v1 {
				u = strings.Replace(u, "/oauth2/v2.0/authorize", "/oauth2/authorize", 1)
				wantIss = e.ts.URL + "/" + e.tenant.ID + "/"
			}
			a := e.browser().get(u)
			to := webRedirect
			if c.edit["redirect_uri"] != "" {
				to = c.edit["redirect_uri"]
			}
			q := e.mustRedirect(a, to)
			if q.Get("error") != c.code || q.Get("error_description") == "" {
				t.Errorf("error=%q (%s), want %s", q.Get("error"), q.Get("error_description"), c.code)
			}
			if q.Get("state") != "st-123" {
				t.Errorf("state = %q, want it unchanged (RFC 6749 §4.1.2.1)", q.Get("state"))
			}
			if q.Get("iss") != wantIss {
				t.Errorf("iss = %q, want %q (RFC 9207 §2)", q.Get("iss"), wantIss)
			}
			if q.Has("code") {
				t.Error("an error response carries a code")
			}
			if a.header.Get("Cache-Control") != "no-store" {
				t.Error("redirect without Cache-Control: no-store")
			}
		})
	}
}

// TestLoopbackRedirectOnAnyPortForPublicClients (RFC 8252 §7.3): the
// native app gets its code on the port it listens on, and the code keeps
// the redirect URI as sent for the token request (RFC 6749 §4.1.3).
func TestLoopbackRedirectOnAnyPortForPublicClients(t *testing.T) {
	e := newEnv(t)
	for _, redirect := range []string{"http://127.0.0.1:50123/callback", "http://localhost:4711", "http://localhost:4712/"} {
		t.Run(redirect, func(t *testing.T) {
			_, ch := pkce()
			b := e.browser()
			a := b.get(e.authorizeURL(map[string]string{"client_id": e.native.AppID, "redirect_uri": redirect, "scope": "openid",
				"code_challenge": ch, "code_challenge_method": "S256"}))
			a = b.signIn(a, "alice", password)
			if a.page == "consent" {
				a = b.post(a, "consent", map[string]string{"decision": "accept"})
			}
			q := e.mustRedirect(a, redirect)
			c, _, err := e.sessions.RedeemCode(e.ctx, e.tenant.ID, q.Get("code"))
			if err != nil {
				t.Fatal(err)
			}
			if c.RedirectURI != redirect || c.CodeChallenge != ch || c.CodeChallengeMethod != "S256" {
				t.Errorf("code: redirect %q challenge %q method %q", c.RedirectURI, c.CodeChallenge, c.CodeChallengeMethod)
			}
		})
	}
}

var reStyleNonce = regexp.MustCompile(`<style nonce="([^"]+)">`)

// checkHeaders asserts the headers every page carries.
func checkHeaders(t *testing.T, a answer, formAction string) {
	t.Helper()
	csp := a.header.Get("Content-Security-Policy")
	m := reStyleNonce.FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("page %q has no nonce'd style", a.page)
	}
	for _, want := range []string{"default-src 'none'", "style-src 'nonce-" + m[1] + "'", "form-action " + formAction, "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("page %q: CSP %q lacks %q", a.page, csp, want)
		}
	}
	if a.page != "form_post" && strings.Contains(csp, "script-src") {
		t.Errorf("page %q allows scripts: %q", a.page, csp)
	}
	for h, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
		"Content-Type": "text/html; charset=utf-8"} {
		if got := a.header.Get(h); got != want {
			t.Errorf("page %q: %s = %q, want %q", a.page, h, got, want)
		}
	}
	if strings.Contains(a.body, "http://") && strings.Contains(a.body, "<link") || strings.Contains(a.body, "<img") {
		t.Errorf("page %q loads an external asset", a.page)
	}
}

func TestEveryPageCarriesTheSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	a := b.get(e.authorizeURL(nil))
	checkHeaders(t, a, "'self' https://app.example")
	a = b.signIn(a, "alice", password)
	checkHeaders(t, a, "'self' https://app.example")
	if a.page != "consent" {
		t.Fatalf("page %q", a.page)
	}
	checkHeaders(t, b.get(e.authorizeURL(map[string]string{"client_id": "nope"})), "'self'")
	checkHeaders(t, b.get(e.ts.URL+"/contoso/devicelogin"), "'self'")
	checkHeaders(t, b.get(e.ts.URL+"/contoso/oauth2/v2.0/logout"), "'self'")
	// The nonce is new on every response.
	n1 := reStyleNonce.FindStringSubmatch(b.get(e.authorizeURL(nil)).body)[1]
	n2 := reStyleNonce.FindStringSubmatch(b.get(e.authorizeURL(nil)).body)[1]
	if n1 == n2 {
		t.Error("the CSP nonce repeats")
	}
}

// TestFormPostResponseMode (OAuth 2.0 Form Post Response Mode §2): the
// answer is a page that posts code, state and iss to the redirect URI,
// with a nonce'd script and a visible button, and a CSP allowing exactly
// that.
func TestFormPostResponseMode(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	a := b.get(e.authorizeURL(map[string]string{"response_mode": "form_post"}))
	a = b.signIn(a, "alice", password)
	a = b.post(a, "consent", map[string]string{"decision": "accept"})
	if a.status != 200 || a.page != "form_post" || a.location != nil {
		t.Fatalf("status %d page %q location %v", a.status, a.page, a.location)
	}
	f := a.forms["form_post"]
	if f.action != webRedirect || f.fields.Get("code") == "" || f.fields.Get("state") != "st-123" || f.fields.Get("iss") != e.ts.URL+"/"+e.tenant.ID+"/v2.0" {
		t.Fatalf("form_post form: action %q fields %v", f.action, f.fields)
	}
	checkHeaders(t, a, "'self' https://app.example")
	csp := a.header.Get("Content-Security-Policy")
	nonce := reStyleNonce.FindStringSubmatch(a.body)[1]
	if !strings.Contains(csp, "script-src 'nonce-"+nonce+"'") || !strings.Contains(a.body, `<script nonce="`+nonce+`">`) {
		t.Errorf("the auto-submit script is not allowed by exactly its nonce: %q", csp)
	}
	if !strings.Contains(a.body, `<button type="submit"`) {
		t.Error("no visible submit button for browsers without scripts")
	}
	// Errors use the same mode.
	a = e.browser().get(e.authorizeURL(map[string]string{"response_mode": "form_post", "prompt": "none"}))
	if a.page != "form_post" || a.forms["form_post"].fields.Get("error") != "login_required" {
		t.Fatalf("form_post error: page %q fields %v", a.page, a.forms["form_post"].fields)
	}
}

// TestV1AuthorizeKeepsTheResource: the v1 endpoint takes resource, keeps
// it in the code, and answers with the v1 issuer.
func TestV1AuthorizeKeepsTheResource(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	u := strings.Replace(e.authorizeURL(map[string]string{"scope": "openid", "resource": "api://studies"}), "/oauth2/v2.0/authorize", "/oauth2/authorize", 1)
	a := b.signIn(b.get(u), "alice", password)
	a = b.post(a, "consent", map[string]string{"decision": "accept"})
	q := e.mustRedirect(a, webRedirect)
	if q.Get("iss") != e.ts.URL+"/"+e.tenant.ID+"/" {
		t.Errorf("iss = %q", q.Get("iss"))
	}
	c, g, err := e.sessions.RedeemCode(e.ctx, e.tenant.ID, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Resource != "api://studies" || c.Nonce != "n-456" || c.RedirectURI != webRedirect {
		t.Errorf("code: %+v", c)
	}
	if !strings.Contains(strings.Join(g.Scopes, " "), "api://studies/Studies.Read") {
		t.Errorf("grant scopes %v lack the resource's scope", g.Scopes)
	}
}
