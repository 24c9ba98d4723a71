package e2e

import (
	"net/url"
	"testing"
)

// TestSecurityCode: RFC 9700 §4.5 (authorization code injection) and
// §4.2.4/RFC 6749 §4.1.2 (codes are single use). A code works only for
// the client and redirect URI it was issued to, a refused attempt does not
// spend it, and a second redemption revokes what the first issued.
func TestSecurityCode(t *testing.T) {
	e := newSecEnv(t)
	b := e.signedIn(t, e.tid)
	for _, tc := range []struct {
		name   string
		edit   func(f url.Values)
		status int
		code   string
	}{
		{"§4.5.3 code redeemed by another client", func(f url.Values) {
			f.Set("client_id", e.web.AppID)
			f.Set("client_secret", e.webSecret)
		}, 400, "invalid_grant"},
		{"§4.5.3 code redeemed by another public client id", func(f url.Values) {
			f.Set("client_id", "00000000-0000-4000-8000-000000000000")
		}, 401, "invalid_client"},
		{"§4.1.3 code redeemed with another redirect_uri", func(f url.Values) {
			f.Set("redirect_uri", "http://localhost:8400/other")
		}, 400, "invalid_grant"},
		{"§4.1.3 code redeemed without redirect_uri", func(f url.Values) { f.Del("redirect_uri") }, 400, "invalid_grant"},
		{"§4.5.3 code redeemed with the attacker's verifier (injection)", func(f url.Values) {
			f.Set("code_verifier", "attacker-verifier-attacker-verifier-attacker")
		}, 400, "invalid_grant"},
		{"§4.5 tampered code", func(f url.Values) { f.Set("code", f.Get("code")+"x") }, 400, "invalid_grant"},
		{"RFC 6749 §2.3.1 code in the URL query", nil, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := e.code(t, b, e.tid, nil).Get("code")
			f := e.redeemForm(code)
			path := e.tokenPath(e.tid)
			if tc.edit != nil {
				tc.edit(f)
			} else {
				path += "?code=" + url.QueryEscape(code)
			}
			status, body, _ := e.h.postForm(path, f, "", "")
			wantOAuthError(t, status, body, tc.status, tc.code)
			// The rightful client still redeems it.
			status, body = e.token(e.tid, e.redeemForm(code))
			wantTokens(t, status, body)
		})
	}

	t.Run("RFC 6749 §4.1.2 code replay revokes the tokens issued from it", func(t *testing.T) {
		code := e.code(t, b, e.tid, nil).Get("code")
		status, first := e.token(e.tid, e.redeemForm(code))
		wantTokens(t, status, first)
		status, body := e.token(e.tid, e.redeemForm(code))
		wantOAuthError(t, status, body, 400, "invalid_grant")
		rt, _ := first["refresh_token"].(string)
		status, body = e.token(e.tid, url.Values{"grant_type": {"refresh_token"}, "client_id": {e.native.AppID}, "refresh_token": {rt}})
		wantOAuthError(t, status, body, 400, "invalid_grant")
		if e.introspect(t, first["access_token"].(string)) {
			t.Error("the access token of a replayed code is still active")
		}
	})
}

// introspect asks the introspection endpoint (RFC 7662) as the web client
// whether a token is active.
func (e *secEnv) introspect(t *testing.T, tok string) bool {
	t.Helper()
	return e.introspectAt(t, e.tid, e.web.AppID, e.webSecret, tok)
}

func (e *secEnv) introspectAt(t *testing.T, tenant, client, secret, tok string) bool {
	t.Helper()
	status, body, _ := e.h.postForm("/"+tenant+"/oauth2/v2.0/introspect", url.Values{"token": {tok}}, client, secret)
	if status != 200 {
		t.Fatalf("introspect: %d %v", status, body)
	}
	return body["active"] == true
}
