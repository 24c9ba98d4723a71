package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestNoStore (RFC 6749 §5.1): every response that carries or answers for
// a token, success or error, has Cache-Control: no-store and Pragma:
// no-cache, so no cache along the way keeps it.
func TestNoStore(t *testing.T) {
	f := newFixture(t)
	tid := f.tenant.ID
	f.setPolicy(directory.TenantPolicy{ProductLoginResource: "api://studies"})
	login := func(body string) response {
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/users/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return f.do(req)
	}
	logout := func(tok string) response {
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/users/logout", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return f.do(req)
	}
	okLogin := login(`{"username":"alice","password":"` + password + `","tenant":"contoso","resource":"api://studies"}`)
	for _, tc := range []struct {
		rule   string
		r      response
		status int
	}{
		{"token endpoint, success", f.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {f.conf.AppID}, "client_secret": {f.confSecret}, "scope": {"api://studies/.default"}}), 200},
		{"token endpoint, error", f.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {f.conf.AppID}, "client_secret": {"wrong"}, "scope": {"api://studies/.default"}}), 401},
		{"v1 token endpoint, error", f.post("/"+tid+"/oauth2/token", url.Values{"grant_type": {"nonsense"}}), 400},
		{"device authorization (RFC 8628 §3.2)", f.post("/"+tid+"/oauth2/v2.0/devicecode", url.Values{"client_id": {f.public.AppID}, "scope": {"openid"}}), 200},
		{"introspection (RFC 7662 §2.2)", f.post("/"+tid+"/oauth2/v2.0/introspect", url.Values{"client_id": {f.conf.AppID}, "client_secret": {f.confSecret}, "token": {"nonsense"}}), 200},
		{"product login, success", okLogin, 200},
		{"product login, error", login(`{"username":"mallory","password":"nope nope nope","tenant":"contoso","resource":"api://studies"}`), 401},
		{"product logout", logout(okLogin.str("access_token")), 204},
	} {
		if tc.r.status != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.rule, tc.r.status, tc.status, tc.r.raw)
		}
		if tc.r.header.Get("Cache-Control") != "no-store" || tc.r.header.Get("Pragma") != "no-cache" {
			t.Errorf("%s: Cache-Control %q, Pragma %q; RFC 6749 §5.1 wants no-store and no-cache", tc.rule, tc.r.header.Get("Cache-Control"), tc.r.header.Get("Pragma"))
		}
	}
}
