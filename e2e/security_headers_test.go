package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// secPages fetches each kind of page (and the redirect carrying a code)
// in a browser, for checks on their headers.
func (e *secEnv) secPages(t *testing.T) map[string]*http.Response {
	t.Helper()
	ctx := context.Background()
	out := map[string]*http.Response{}
	fresh := e.h.newBrowser(t)
	out["signin"], _ = fresh.fetch("GET", e.authorizeURL(e.tid, nil), nil)
	out["error"], _ = fresh.fetch("GET", e.authorizeURL(e.tid, url.Values{"redirect_uri": {"https://evil.example/"}}), nil)
	out["device"], _ = fresh.fetch("GET", e.h.srv.URL+"/"+e.tid+"/devicelogin", nil)
	out["signed_out"], _ = fresh.fetch("GET", e.h.srv.URL+"/"+e.tid+"/oauth2/v2.0/logout", nil)
	b := e.signedIn(t, e.tid)
	out["consent"], _ = b.fetch("GET", e.authorizeURL(e.tid, url.Values{"prompt": {"consent"}}), nil)
	out["select_account"], _ = b.fetch("GET", e.authorizeURL(e.tid, url.Values{"prompt": {"select_account"}}), nil)
	// A logout without id_token_hint shows the confirmation page (and ends nothing).
	var logoutBody string
	out["logout"], logoutBody = b.fetch("GET", e.h.srv.URL+"/"+e.tid+"/oauth2/v2.0/logout", nil)
	if !strings.Contains(logoutBody, `data-page="logout"`) {
		t.Fatalf("logout without a hint did not show the confirmation page:\n%s", logoutBody)
	}
	out["form_post"], _ = b.fetch("GET", e.authorizeURL(e.tid, url.Values{"response_mode": {"form_post"}}), nil)
	out["code redirect"], _ = b.fetch("GET", e.authorizeURL(e.tid, nil), nil)
	_, uc, _, err := e.h.srv.Sessions.StartDevice(ctx, e.tid, e.native.AppID, []string{"openid"}, "")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := b.get(e.h.srv.URL + "/" + e.tid + "/devicelogin")
	f := p.form(t, "device")
	f.fields.Set("user_code", uc)
	action, _ := b.last.Parse(f.action)
	out["device consent"], _ = b.fetch("POST", action.String(), f.fields)
	for name, resp := range out {
		want := http.StatusOK
		switch name {
		case "error":
			want = 400
		case "code redirect":
			want = 302
		}
		if resp.StatusCode != want {
			t.Fatalf("%s: status %d, want %d", name, resp.StatusCode, want)
		}
	}
	return out
}

// TestSecurityClickjacking: RFC 9700 §4.16. No page may be framed:
// Content-Security-Policy frame-ancestors 'none' (and X-Frame-Options
// DENY for older browsers) on every page.
func TestSecurityClickjacking(t *testing.T) {
	e := newSecEnv(t)
	pages := e.secPages(t)
	for _, name := range []string{"signin", "consent", "select_account", "device", "device consent", "form_post", "logout", "signed_out", "error"} {
		t.Run("§4.16 frame-ancestors 'none' on the "+name+" page", func(t *testing.T) {
			h := pages[name].Header
			if !hasDirective(h.Get("Content-Security-Policy"), "frame-ancestors", "'none'") || h.Get("X-Frame-Options") != "DENY" {
				t.Fatalf("Content-Security-Policy %q, X-Frame-Options %q", h.Get("Content-Security-Policy"), h.Get("X-Frame-Options"))
			}
		})
	}
}

// TestSecurityLeakage: RFC 9700 §4.2 (credential leakage via Referer) and
// §4.3 (via browser history): pages and the redirect carrying a code
// send Referrer-Policy: no-referrer and are never cached; token responses
// are not cached (RFC 6749 §5.1); secrets are never accepted in a URL;
// and the server's log never holds a code, token, secret or password.
func TestSecurityLeakage(t *testing.T) {
	e := newSecEnv(t)
	pages := e.secPages(t)
	for _, name := range []string{"signin", "consent", "select_account", "device", "device consent", "form_post", "logout", "signed_out", "error", "code redirect"} {
		t.Run("§4.2.4 Referrer-Policy no-referrer on the "+name+" page", func(t *testing.T) {
			if got := pages[name].Header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Fatalf("Referrer-Policy %q", got)
			}
		})
		t.Run("§4.3 Cache-Control no-store on the "+name+" page", func(t *testing.T) {
			if got := pages[name].Header.Get("Cache-Control"); got != "no-store" {
				t.Fatalf("Cache-Control %q", got)
			}
		})
	}
	b := e.signedIn(t, e.tid)
	code := e.code(t, b, e.tid, nil).Get("code")
	status, body, hdr := e.h.postForm(e.tokenPath(e.tid), e.redeemForm(code), "", "")
	wantTokens(t, status, body)
	t.Run("RFC 6749 §5.1 token response not cached", func(t *testing.T) {
		if hdr.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q", hdr.Get("Cache-Control"))
		}
	})
	t.Run("RFC 6749 §5.2 token error not cached", func(t *testing.T) {
		_, _, hdr := e.h.postForm(e.tokenPath(e.tid), e.redeemForm("tac_nothing"), "", "")
		if hdr.Get("Cache-Control") != "no-store" {
			t.Fatalf("Cache-Control %q", hdr.Get("Cache-Control"))
		}
	})
	for _, k := range []string{"client_secret", "client_assertion", "refresh_token", "code", "password", "code_verifier", "device_code"} {
		t.Run("RFC 6749 §2.3.1 "+k+" in the token request's URL", func(t *testing.T) {
			status, body, _ := e.h.postForm(e.tokenPath(e.tid)+"?"+k+"=x", url.Values{"grant_type": {"client_credentials"}, "client_id": {e.web.AppID}}, "", "")
			wantOAuthError(t, status, body, 400, "invalid_request")
		})
	}
	t.Run("§4.2.4 a wrong secret is not echoed in the error", func(t *testing.T) {
		wrong := "tss_wrong-" + randomString(t)
		status, body, _ := e.h.postForm(e.tokenPath(e.tid), url.Values{"grant_type": {"client_credentials"}, "scope": {"api://studies/.default"},
			"client_id": {e.web.AppID}, "client_secret": {wrong}}, "", "")
		if status != 401 || strings.Contains(body["error_description"].(string), wrong) {
			t.Fatalf("%d %v", status, body)
		}
	})
	t.Run("§4.2 no code, token, secret or password in the server log", func(t *testing.T) {
		rt := body["refresh_token"].(string)
		status, fresh := e.token(e.tid, url.Values{"grant_type": {"refresh_token"}, "client_id": {e.native.AppID}, "refresh_token": {rt}})
		wantTokens(t, status, fresh)
		logs := e.h.logs.String()
		// The log holds the flow, so the check below looks at something.
		if !strings.Contains(logs, e.native.AppID) {
			t.Fatal("the server logged nothing about the client")
		}
		for name, v := range map[string]string{"code": code, "code_verifier": secVerifier, "access token": body["access_token"].(string),
			"id token": body["id_token"].(string), "refresh token": rt, "rotated refresh token": fresh["refresh_token"].(string),
			"password": alicePassword, "client secret": e.webSecret} {
			if parts := strings.Split(v, "."); len(parts) == 3 {
				v = parts[2] // a JWT's signature alone identifies it
			}
			if strings.Contains(logs, v) {
				t.Errorf("the server logged the %s", name)
			}
		}
	})
}
