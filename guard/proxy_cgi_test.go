package guard_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

// cgiEchoEnv switches the test binary into a CGI script (RFC 3875) that
// answers with the HTTP_* meta-variables it was given: what a CGI, WSGI
// or Rack application reads the request headers from.
const cgiEchoEnv = "TESSERA_GUARD_TEST_CGI_ECHO"

func init() {
	if os.Getenv(cgiEchoEnv) == "1" {
		echoCGIEnv()
		os.Exit(0)
	}
}

func echoCGIEnv() {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "HTTP_") {
			env[k] = v
		}
	}
	body, _ := json.Marshal(env)
	fmt.Printf("Content-Type: application/json\r\n\r\n%s", body)
}

// cgiUpstream is a real CGI host (net/http/cgi) running this test binary
// as its script. It turns header names into meta-variables as RFC 3875
// §4.1.18 says: upper case, '-' as '_', so X-Tessera-Roles and
// X-Tessera_Roles both become HTTP_X_TESSERA_ROLES.
func cgiUpstream(t *testing.T) *url.URL {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&cgi.Handler{Path: exe, Env: []string{cgiEchoEnv + "=1"}})
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}

// forgedIdentity is what a caller sends to pass for someone else: every
// identity header in the spellings a CGI-style upstream reads as the real
// one ('_' for '-', any case), twice where a list could merge, and the
// tenant and forwarding headers the same way.
func forgedIdentity() http.Header {
	return http.Header{ // set as is: Go's client sends the names unchanged
		"X-Tessera_Subject":      {"admin"},
		"X_Tessera_Object_Id":    {"00000000-0000-0000-0000-000000000000"},
		"x-tessera_tenant_id":    {"00000000-0000-0000-0000-000000000001"},
		"X-TESSERA-CLIENT-ID":    {"forged-client", "second-forged-client"},
		"X-Tessera_Roles":        {"Admin"},
		"X_Tessera_Scopes":       {"Admin.All"},
		"X_TESSERA_TOKEN_TYPE":   {"app"},
		"X-tessera-token_type":   {"app"},
		"X_Tenant_Id":            {"00000000-0000-0000-0000-000000000001"},
		"X_Forwarded_For":        {"203.0.113.9"},
		"X-Tessera-Unknown_Name": {"yes"},
	}
}

// TestProxyIdentityHeadersAtACGIUpstream: the identity the upstream reads
// is the token's, whatever identity headers the caller sent and however
// the upstream folds their names. Every identity header is always set,
// empty when the token has no value, so a forged one never stands alone;
// X-Tessera-Token-Type tells an application's token from a user's.
func TestProxyIdentityHeadersAtACGIUpstream(t *testing.T) {
	idp, g, _ := setup(t, func(c *guard.Config) { c.TenantHeader = "X-Tenant-Id" })
	proxy := httptest.NewServer(guard.NewProxy(g, cgiUpstream(t)))
	defer proxy.Close()

	app := idp.AppClaims(resourceID, "Reader")
	user := idp.V2Claims(resourceID) // scp user_impersonation, no roles
	// A product-login token as tessera issued it before idtyp: no scp,
	// roles, the user's oid as sub, and the sign-in's sid.
	login := idp.V2Claims(resourceID)
	delete(login, "scp")
	login["sub"], login["roles"] = login["oid"], []string{"Reader"}

	for _, tc := range []struct {
		name   string
		claims guardtest.Claims
		want   map[string]string
	}{
		{"application token: no scp", app, map[string]string{
			"HTTP_X_TESSERA_SUBJECT": guardtest.AppOID, "HTTP_X_TESSERA_OBJECT_ID": guardtest.AppOID,
			"HTTP_X_TESSERA_TENANT_ID": idp.TenantID, "HTTP_X_TESSERA_CLIENT_ID": guardtest.ClientID,
			"HTTP_X_TESSERA_ROLES": "Reader", "HTTP_X_TESSERA_SCOPES": "", "HTTP_X_TESSERA_TOKEN_TYPE": "app"}},
		{"user token: no roles", user, map[string]string{
			"HTTP_X_TESSERA_SUBJECT": guardtest.UserSub, "HTTP_X_TESSERA_OBJECT_ID": guardtest.UserOID,
			"HTTP_X_TESSERA_TENANT_ID": idp.TenantID, "HTTP_X_TESSERA_CLIENT_ID": guardtest.ClientID,
			"HTTP_X_TESSERA_ROLES": "", "HTTP_X_TESSERA_SCOPES": "user_impersonation", "HTTP_X_TESSERA_TOKEN_TYPE": "user"}},
		{"product-login token: roles, no scp", login, map[string]string{
			"HTTP_X_TESSERA_SUBJECT": guardtest.UserOID, "HTTP_X_TESSERA_OBJECT_ID": guardtest.UserOID,
			"HTTP_X_TESSERA_TENANT_ID": idp.TenantID, "HTTP_X_TESSERA_CLIENT_ID": guardtest.ClientID,
			"HTTP_X_TESSERA_ROLES": "Reader", "HTTP_X_TESSERA_SCOPES": "", "HTTP_X_TESSERA_TOKEN_TYPE": "user"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, proxy.URL+"/things", nil)
			req.Header = forgedIdentity()
			req.Header.Set("Authorization", "Bearer "+idp.Mint(t, tc.claims))
			req.Header.Set("X-Tenant-Id", idp.TenantID)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var env map[string]string
			if err := json.NewDecoder(res.Body).Decode(&env); err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, body: %v", res.StatusCode, err)
			}
			for k, want := range tc.want {
				if got, ok := env[k]; !ok || got != want {
					t.Errorf("upstream %s = %q (set: %v), want %q", k, got, ok, want)
				}
			}
			var extra []string
			for k, v := range env {
				if _, ok := tc.want[k]; !ok && strings.HasPrefix(k, "HTTP_X_TESSERA") {
					extra = append(extra, k+"="+v)
				}
			}
			sort.Strings(extra)
			if len(extra) > 0 {
				t.Errorf("upstream saw identity variables the proxy does not own: %v", extra)
			}
			// The tenant header the guard checked is the one the upstream
			// reads, and the forwarding chain is the proxy's alone.
			if got := env["HTTP_X_TENANT_ID"]; got != idp.TenantID {
				t.Errorf("upstream HTTP_X_TENANT_ID = %q, want %q", got, idp.TenantID)
			}
			if got := env["HTTP_X_FORWARDED_FOR"]; got != "127.0.0.1" {
				t.Errorf("upstream HTTP_X_FORWARDED_FOR = %q, want 127.0.0.1", got)
			}
		})
	}
}
