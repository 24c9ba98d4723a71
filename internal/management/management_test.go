package management_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/management"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/store/sqlite"
	"github.com/tessera-id/tessera/internal/token"
)

// env is the endpoint over a real SQLite directory and key ring, on
// loopback, with two tenants made as the server makes them (management
// application included) and an injected clock.
type env struct {
	t        *testing.T
	now      time.Time
	dir      *directory.Service
	keys     *token.Ring
	srv      *httptest.Server
	contoso  directory.Tenant
	fabrikam directory.Tenant
	api      directory.Application // api://orders in contoso
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	master := make([]byte, 32)
	rand.Read(master)
	keys, err := secrets.New(master)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, now: time.Now().UTC().Truncate(time.Second)}
	clock := func() time.Time { return e.now }
	e.dir = directory.NewService(st, keys, directory.Options{Now: clock})
	if e.keys, err = token.NewRing(ctx, st, keys, token.RingOptions{Now: clock, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	if e.contoso, err = e.dir.CreateTenantWithAdmin(ctx, directory.TenantSpec{Domain: "contoso", DisplayName: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	if e.fabrikam, err = e.dir.CreateTenantWithAdmin(ctx, directory.TenantSpec{Domain: "fabrikam"}); err != nil {
		t.Fatal(err)
	}
	if e.api, err = e.dir.CreateApplication(ctx, e.contoso.ID, directory.ApplicationSpec{DisplayName: "Orders", IdentifierURIs: []string{"api://orders"}}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	mux.Handle(management.Prefix, management.New(management.Config{Directory: e.dir, Keys: e.keys, PublicURL: e.srv.URL,
		HomeTenant: e.contoso.ID, Logger: slog.New(slog.DiscardHandler), Now: clock}))
	return e
}

// tokenFor signs an access token as the token endpoint would: a v1 user
// token for the CLI client, of tenant tid, for aud, issued now.
func (e *env) tokenFor(tid, aud string, version int, issuer string) string {
	e.t.Helper()
	c := token.UserTokenClaims(token.UserTokenParams{Version: version, IssuerBase: e.srv.URL, TenantID: tid, Audience: aud,
		ClientID: directory.CLIClientID, ClientAuth: token.AuthPublic, UserID: "8d2c9a47-3b0e-4c5f-9a1d-2e6f7b8c9d0e",
		UPN: "alice@contoso", Scopes: []string{"user_impersonation"}, IssuedAt: e.now, Lifetime: time.Hour})
	if issuer != "" {
		c.Issuer = issuer
	}
	raw, err := e.keys.Sign(c)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (e *env) call(method, path, bearer string) answer {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	if bearer != "" {
		req.Header.Set("Authorization", bearer)
	}
	req.Header.Set("x-ms-correlation-request-id", "6f1d0c3e-2b4a-4e8f-9c7d-1a2b3c4d5e6f")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) armCode() string {
	e, _ := a.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// TestTenantsAndSubscriptions: what the Azure CLI reads after login, the
// caller's tenant and (tessera manages no resources) no subscription.
func TestTenantsAndSubscriptions(t *testing.T) {
	e := newEnv(t)
	for _, aud := range []string{directory.ManagementIdentifierURI, strings.TrimSuffix(directory.ManagementIdentifierURI, "/"), directory.ManagementAppID} {
		tok := "Bearer " + e.tokenFor(e.contoso.ID, aud, 1, "")
		a := e.call("GET", "/management/tenants?api-version=2022-12-01", tok)
		if a.status != 200 {
			t.Fatalf("aud %s: %d %s", aud, a.status, a.raw)
		}
		want := `{"value":[{"id":"/tenants/` + e.contoso.ID + `","tenantId":"` + e.contoso.ID +
			`","tenantCategory":"Home","countryCode":"","displayName":"Contoso","domains":["contoso"],"defaultDomain":"contoso","tenantType":"AAD"}]}`
		if string(a.raw) != want {
			t.Errorf("tenants\n got %s\nwant %s", a.raw, want)
		}
		if a.header.Get("x-ms-correlation-request-id") != "6f1d0c3e-2b4a-4e8f-9c7d-1a2b3c4d5e6f" || a.header.Get("x-ms-request-id") == "" {
			t.Errorf("ARM's request id headers: %v", a.header)
		}
	}
	tok := "bearer " + e.tokenFor(e.fabrikam.ID, directory.ManagementIdentifierURI, 2, "")
	if a := e.call("GET", "/management/tenants?api-version=2022-12-01", tok); a.status != 200 || !strings.Contains(string(a.raw), `"tenantId":"`+e.fabrikam.ID+`"`) {
		t.Errorf("a v2 token of the other tenant, scheme in lower case: %d %s", a.status, a.raw)
	}
	if a := e.call("GET", "/management/subscriptions?api-version=2022-12-01", tok); a.status != 200 || string(a.raw) != `{"value":[]}` {
		t.Errorf("subscriptions: %d %s", a.status, a.raw)
	}
}

// TestRefusals: each row names the rule; a refused token gets 401 with
// ARM's challenge, other mistakes ARM's error shape.
func TestRefusals(t *testing.T) {
	e := newEnv(t)
	good := "Bearer " + e.tokenFor(e.contoso.ID, directory.ManagementIdentifierURI, 1, "")
	expired := func() string {
		e.now = e.now.Add(-3 * time.Hour)
		defer func() { e.now = e.now.Add(3 * time.Hour) }()
		return "Bearer " + e.tokenFor(e.contoso.ID, directory.ManagementIdentifierURI, 1, "")
	}()
	tenantsPath := "/management/tenants?api-version=2022-12-01"
	for _, tc := range []struct {
		rule, method, path, bearer string
		status                     int
		code, challengeTenant      string
	}{
		{"no Authorization header (RFC 6750 §3.1)", "GET", tenantsPath, "", 401, "AuthenticationFailed", e.contoso.ID},
		{"another scheme", "GET", tenantsPath, "Basic dTpw", 401, "AuthenticationFailed", e.contoso.ID},
		{"not a JWT", "GET", tenantsPath, "Bearer not-a-token", 401, "InvalidAuthenticationToken", e.contoso.ID},
		{"expired, beyond the skew", "GET", tenantsPath, expired, 401, "ExpiredAuthenticationToken", e.contoso.ID},
		{"a token for another audience", "GET", tenantsPath, "Bearer " + e.tokenFor(e.contoso.ID, e.api.AppID, 2, ""), 401, "InvalidAuthenticationTokenAudience", e.contoso.ID},
		{"another audience, in the other tenant: its own authority", "GET", tenantsPath, "Bearer " + e.tokenFor(e.fabrikam.ID, "api://orders", 1, ""), 401, "InvalidAuthenticationTokenAudience", e.fabrikam.ID},
		{"an issuer that is not the tenant's", "GET", tenantsPath, "Bearer " + e.tokenFor(e.contoso.ID, directory.ManagementIdentifierURI, 1, e.srv.URL+"/"+e.fabrikam.ID+"/"), 401, "InvalidAuthenticationToken", e.contoso.ID},
		{"the /adfs issuer is the ID tokens', not access tokens'", "GET", tenantsPath, "Bearer " + e.tokenFor(e.contoso.ID, directory.ManagementIdentifierURI, 1, e.srv.URL+"/adfs"), 401, "InvalidAuthenticationToken", e.contoso.ID},
		{"a tenant that does not exist", "GET", tenantsPath, "Bearer " + e.tokenFor("00000000-0000-0000-0000-000000000001", directory.ManagementIdentifierURI, 1, ""), 401, "InvalidAuthenticationToken", e.contoso.ID},
		{"an unknown path, authenticated first", "GET", "/management/resourceGroups?api-version=2021-04-01", "", 401, "AuthenticationFailed", e.contoso.ID},
		{"an unknown path", "GET", "/management/subscriptions/x/resourceGroups?api-version=2021-04-01", good, 404, "NotFound", ""},
		{"a method ARM's list does not take", "POST", tenantsPath, good, 405, "MethodNotAllowed", ""},
		{"no api-version", "GET", "/management/tenants", good, 400, "MissingApiVersionParameter", ""},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			a := e.call(tc.method, tc.path, tc.bearer)
			if a.status != tc.status || a.armCode() != tc.code {
				t.Fatalf("got %d %s, want %d %s", a.status, a.raw, tc.status, tc.code)
			}
			ch := a.header.Get("WWW-Authenticate")
			if tc.status != 401 {
				if ch != "" {
					t.Errorf("WWW-Authenticate %q on a %d", ch, tc.status)
				}
				return
			}
			want := `Bearer authorization_uri="` + e.srv.URL + "/" + tc.challengeTenant + `/oauth2/authorize", error="invalid_token", error_description="`
			if !strings.HasPrefix(ch, want) {
				t.Errorf("WWW-Authenticate %q, want prefix %q", ch, want)
			}
		})
	}
}
