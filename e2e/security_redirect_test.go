package e2e

import (
	"net/url"
	"testing"
)

// TestSecurityRedirectURI: RFC 9700 §4.1 (insufficient redirect URI
// validation) and §4.11 (open redirection). A redirect URI matches a
// registered one exactly (§4.1.3), except the port of a public client's
// loopback URI (RFC 8252 §7.3); anything else gets an error page and the
// browser is sent nowhere.
func TestSecurityRedirectURI(t *testing.T) {
	e := newSecEnv(t)
	web := func(redirect string) url.Values {
		return url.Values{"client_id": {e.web.AppID}, "redirect_uri": {redirect}}
	}
	native := func(redirect string) url.Values { return url.Values{"redirect_uri": {redirect}} }
	for _, tc := range []struct {
		name string
		set  url.Values
		ok   bool // the request goes on to sign-in
	}{
		{"§4.1.3 registered URI, exact", web(secWebRedirect), true},
		{"§4.1.3 redirect with extra path segment", web(secWebRedirect + "/evil"), false},
		{"§4.1.3 redirect with path prefix extended", web(secWebRedirect + "x"), false},
		{"§4.1.3 redirect with trailing slash", web(secWebRedirect + "/"), false},
		{"§4.1.3 redirect with dot segment", web("https://app.example/cb/../cb"), false},
		{"§4.1.3 redirect with percent-encoded path", web("https://app.example/%63b"), false},
		{"§4.1.3 redirect with added query", web(secWebRedirect + "?next=https://evil.example"), false},
		{"§4.1.3 redirect with fragment", web(secWebRedirect + "#x"), false},
		{"§4.1.3 redirect to another host", web("https://evil.example/cb"), false},
		{"§4.1.3 redirect to a subdomain of the host", web("https://evil.app.example/cb"), false},
		{"§4.1.3 redirect to host as prefix of another domain", web("https://app.example.evil.example/cb"), false},
		{"§4.1.3 redirect with userinfo naming the host", web("https://app.example@evil.example/cb"), false},
		{"§4.1.3 redirect with explicit port", web("https://app.example:443/cb"), false},
		{"§4.1.3 redirect with upper-case host", web("https://APP.example/cb"), false},
		{"§4.1.3 redirect downgraded to http", web("http://app.example/cb"), false},
		{"§4.1.3 confidential client, no redirect_uri, one registered", url.Values{"client_id": {e.web.AppID}, "redirect_uri": {""}}, true},
		{"§4.1.3 redirect_uri sent twice", url.Values{"client_id": {e.web.AppID}, "redirect_uri": {secWebRedirect, "https://evil.example/cb"}}, false},
		{"RFC 8252 §7.3 loopback on another port", native("http://localhost:53111/callback"), true},
		{"RFC 8252 §7.3 loopback without a port", native("http://localhost/callback"), true},
		{"RFC 8252 §7.3 loopback, other path", native("http://localhost:53111/callback/evil"), false},
		{"RFC 8252 §7.3 loopback, other loopback host", native("http://127.0.0.1:8400/callback"), false},
		{"RFC 8252 §7.3 loopback, https instead of http", native("https://localhost:8400/callback"), false},
		{"RFC 8252 §7.3 loopback, userinfo", native("http://evil.example@localhost:8400/callback"), false},
		{"RFC 8252 §7.3 loopback, added query", native("http://localhost:8400/callback?x=1"), false},
		{"RFC 8252 §7.3 loopback, no redirect_uri", native(""), false},
		{"§4.1.3 loopback port freedom is for public clients only", url.Values{"client_id": {e.web.AppID}, "redirect_uri": {"http://localhost:1/cb"}}, false},
		{"§4.1.3 unknown client", url.Values{"client_id": {"00000000-0000-4000-8000-000000000000"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, next := e.h.newBrowser(t).get(e.authorizeURL(e.tid, tc.set))
			switch {
			case tc.ok && (next != nil || p.kind != "signin"):
				t.Fatalf("refused: page %q, redirect %v: %s", p.kind, next, p.message())
			case !tc.ok && next != nil:
				t.Fatalf("redirected to %s", next)
			case !tc.ok && (p.kind != "error" || p.status != 400):
				t.Fatalf("page %q status %d, want the error page with 400", p.kind, p.status)
			}
		})
	}

	// §4.11.2: the authorization server must not redirect to a URI it has
	// not checked, not even an error: a valid client with a bad request
	// and an unregistered redirect URI gets the error page.
	t.Run("§4.11.2 invalid request with an unregistered redirect URI", func(t *testing.T) {
		p, next := e.h.newBrowser(t).get(e.authorizeURL(e.tid, url.Values{"redirect_uri": {"https://evil.example/cb"}, "response_type": {"token"}}))
		if next != nil || p.kind != "error" {
			t.Fatalf("page %q, redirect %v", p.kind, next)
		}
	})
	// §4.12: after the sign-in form's POST, the browser goes to the client
	// with 303, never 307, which would repost the password to the client.
	t.Run("§4.12 redirect after the sign-in POST is 303", func(t *testing.T) {
		b := e.h.newBrowser(t)
		p, _ := b.get(e.authorizeURL(e.tid, nil))
		p, next := b.submit(p.form(t, "signin"), url.Values{"username": {"alice"}, "password": {alicePassword}}, "")
		if next == nil || p.status != 303 || next.Query().Get("code") == "" {
			t.Fatalf("status %d, redirect %v", p.status, next)
		}
	})
	// §4.11.2 at logout: post_logout_redirect_uri must be a registered
	// redirect URI of the named client, else the signed-out page.
	for _, tc := range []struct {
		name, to string
		ok       bool
	}{
		{"§4.11.2 logout to a registered redirect URI", secWebRedirect, true},
		{"§4.11.2 logout to an unregistered URI", "https://evil.example/", false},
		{"§4.11.2 logout to a registered URI's prefix extension", secWebRedirect + "/evil", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, next := e.h.newBrowser(t).get(e.h.srv.URL + "/" + e.tid + "/oauth2/v2.0/logout?" +
				url.Values{"client_id": {e.web.AppID}, "post_logout_redirect_uri": {tc.to}}.Encode())
			switch {
			case tc.ok && (next == nil || next.String() != tc.to):
				t.Fatalf("page %q, redirect %v; want a redirect to %s", p.kind, next, tc.to)
			case !tc.ok && next != nil:
				t.Fatalf("redirected to %s", next)
			case !tc.ok && p.kind != "signed_out":
				t.Fatalf("page %q, want signed_out", p.kind)
			}
		})
	}
}
