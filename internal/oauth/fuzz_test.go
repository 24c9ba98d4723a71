package oauth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzTokenEndpoint sends hostile forms to the token endpoint and the
// revocation and introspection endpoints: whatever the body, the answer is
// a well-formed JSON success or client error, never a server error.
func FuzzTokenEndpoint(f *testing.F) {
	fx := newFixture(f)
	verifier, challenge := pkce()
	code, _ := fx.signIn(fx.public.AppID, publicRedirect, fullScope, challenge, "")
	seeds := []url.Values{
		fx.redeem(fx.public.AppID, code, publicRedirect, verifier),
		fx.redeem(fx.public.AppID, "tac_"+strings.Repeat("f", 32)+".x", publicRedirect, verifier[:43]),
		{"grant_type": {"refresh_token"}, "client_id": {fx.public.AppID}, "refresh_token": {"trt_" + strings.Repeat("0", 32) + "."}},
		{"grant_type": {"password"}, "client_id": {fx.public.AppID}, "username": {"alice@contoso"}, "password": {"x"}, "scope": {"api://studies/.default openid"}},
		{"grant_type": {"device_code"}, "client_id": {fx.public.AppID}, "code": {"tdc_"}},
		{"grant_type": {"authorization_code"}, "client_id": {"not-a-guid"}, "code": {"%00"}},
		{"grant_type": {"client_credentials"}, "client_id": {fx.conf.AppID}, "client_secret": {fx.confSecret}, "scope": {"api://studies/.default"}},
		{"token": {"eyJhbGciOiJub25lIn0.e30."}, "client_id": {fx.public.AppID}},
	}
	paths := []string{"/contoso/oauth2/v2.0/token", "/common/oauth2/v2.0/token", "/contoso/oauth2/token",
		"/contoso/oauth2/v2.0/revoke", "/contoso/oauth2/v2.0/introspect", "/contoso/oauth2/v2.0/devicecode"}
	for i, s := range seeds {
		f.Add(uint8(i), s.Encode())
	}
	handler := fx.srv.Config.Handler
	f.Fuzz(func(t *testing.T, which uint8, body string) {
		path := paths[int(which)%len(paths)]
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", path, body, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusOK && rec.Body.Len() == 0 && strings.HasSuffix(path, "/revoke") {
			return
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %q: not JSON: %s", path, body, rec.Body)
		}
	})
}
