package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRequestBodiesBounded: every client endpoint stops reading a body at
// 64 KiB and answers invalid_request saying so (RFC 6749 §5.2), so a huge
// body costs the server neither memory nor a worker for long. Go's own
// form parser would read up to 10 MB and the JSON decoder without end: the
// 8 MiB bodies here are valid requests but for their size, so without the
// bound they would be answered on their content, not as too large.
func TestRequestBodiesBounded(t *testing.T) {
	f := newFixture(t)
	tid := f.tenant.ID
	const bound = 64 << 10
	huge := strings.Repeat("a", 8<<20)
	form := func(extra url.Values) string {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.conf.AppID}, "client_secret": {f.confSecret}, "scope": {"api://studies/.default"}}
		for k, x := range extra {
			v[k] = x
		}
		return v.Encode()
	}
	for _, tc := range []struct {
		name, path, contentType, body string
	}{
		{"v2 token endpoint", "/" + tid + "/oauth2/v2.0/token", "application/x-www-form-urlencoded", form(url.Values{"padding": {huge}})},
		{"v1 token endpoint", "/" + tid + "/oauth2/token", "application/x-www-form-urlencoded", form(url.Values{"padding": {huge}})},
		{"device authorization", "/" + tid + "/oauth2/v2.0/devicecode", "application/x-www-form-urlencoded", url.Values{"client_id": {f.public.AppID}, "scope": {"openid"}, "padding": {huge}}.Encode()},
		{"introspection", "/" + tid + "/oauth2/v2.0/introspect", "application/x-www-form-urlencoded", form(url.Values{"token": {huge}})},
		{"product login", "/api/v1/users/login", "application/json", `{"username":"alice","password":"` + password + `","tenant":"contoso","resource":"api://studies","padding":"` + huge + `"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", f.srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			r := f.do(req)
			if r.status != http.StatusBadRequest || r.str("error") != "invalid_request" || !strings.Contains(r.str("error_description"), "too large") {
				t.Errorf("an 8 MiB request: status %d: %.300s", r.status, r.raw)
			}
		})
	}
	t.Run("a body just under the bound is judged on its content", func(t *testing.T) {
		pad := strings.Repeat("x", bound-1024)
		r := f.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {f.conf.AppID}, "client_secret": {f.confSecret},
			"scope": {"api://studies/.default"}, "padding": {pad}})
		if r.status != http.StatusOK {
			t.Errorf("a 63 KiB request: status %d: %.300s", r.status, r.raw)
		}
	})
}
