package instancediscovery_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/instancediscovery"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files of the wire shapes")

// env is the handler over a real SQLite directory with the tenant
// "contoso", served on loopback; its public URL is the server's own.
type env struct {
	srv    *httptest.Server
	host   string // 127.0.0.1:port
	tenant directory.Tenant
}

func newEnv(t testing.TB) *env {
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
	dir := directory.NewService(st, keys, directory.Options{})
	ten, err := dir.CreateTenant(ctx, directory.TenantSpec{Domain: "contoso"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	instancediscovery.New(instancediscovery.Config{Directory: dir, PublicURL: srv.URL, Logger: slog.New(slog.DiscardHandler)}).Register(mux)
	return &env{srv: srv, host: strings.TrimPrefix(srv.URL, "http://"), tenant: ten}
}

type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (e *env) get(t *testing.T, path string) answer {
	t.Helper()
	resp, err := e.srv.Client().Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	json.Unmarshal(raw, &a.body)
	return a
}

func discoveryPath(prefix, authorize string) string {
	return "/" + prefix + "/discovery/instance?" + url.Values{"api-version": {"1.1"}, "authorization_endpoint": {authorize}}.Encode()
}

// TestInstanceDiscovery: what MSAL and ADAL ask before they trust an
// authority (MSAL's AadInstanceDiscovery; api-version 1.1, MSAL for
// Python sends 1.0). Each row names the rule.
func TestInstanceDiscovery(t *testing.T) {
	e := newEnv(t)
	name, _, _ := strings.Cut(e.host, ":")
	for _, tc := range []struct {
		rule, prefix, authorize string
		tenant                  string // in tenant_discovery_endpoint; "" means refused
		code                    string
	}{
		{"a tenant's domain, v2 authorize endpoint", "common", "https://" + e.host + "/contoso/oauth2/v2.0/authorize", "contoso", ""},
		{"a tenant's id", "common", "https://" + e.host + "/" + e.tenant.ID + "/oauth2/v2.0/authorize", e.tenant.ID, ""},
		{"organizations is a multi-tenant authority", "common", "https://" + e.host + "/organizations/oauth2/v2.0/authorize", "organizations", ""},
		{"common is a multi-tenant authority", "common", "https://" + e.host + "/common/oauth2/v2.0/authorize", "common", ""},
		{"consumers is Entra's third alias", "common", "https://" + e.host + "/consumers/oauth2/v2.0/authorize", "consumers", ""},
		{"the host without its port (MSAL for Python sends the name only)", "common", "https://" + name + "/contoso/oauth2/v2.0/authorize", "contoso", ""},
		{"ADAL's v1 authorize endpoint", "common", "https://" + e.host + "/contoso/oauth2/authorize", "contoso", ""},
		{"asked at /organizations/", "organizations", "https://" + e.host + "/contoso/oauth2/v2.0/authorize", "contoso", ""},
		{"the public URL's own scheme", "common", e.srv.URL + "/contoso/oauth2/v2.0/authorize", "contoso", ""},
		{"a tenant that does not exist is invalid_instance", "common", "https://" + e.host + "/fabrikam/oauth2/v2.0/authorize", "", "invalid_instance"},
		{"another host is invalid_instance", "common", "https://login.microsoftonline.com/contoso/oauth2/v2.0/authorize", "", "invalid_instance"},
		{"another port is invalid_instance", "common", "https://" + name + ":1/contoso/oauth2/v2.0/authorize", "", "invalid_instance"},
		{"a path that is no authorize endpoint is invalid_instance", "common", "https://" + e.host + "/contoso/oauth2/v2.0/token", "", "invalid_instance"},
		{"no tenant segment is invalid_instance", "common", "https://" + e.host + "/oauth2/v2.0/authorize", "", "invalid_instance"},
		{"another scheme is invalid_instance", "common", "ftp://" + e.host + "/contoso/oauth2/v2.0/authorize", "", "invalid_instance"},
		{"credentials in the URL are invalid_instance", "common", "https://u:p@" + e.host + "/contoso/oauth2/v2.0/authorize", "", "invalid_instance"},
		{"no authorization_endpoint is invalid_request", "common", "", "", "invalid_request"},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			a := e.get(t, discoveryPath(tc.prefix, tc.authorize))
			if tc.tenant == "" {
				if a.status != 400 || a.body["error"] != tc.code || a.header.Get("Cache-Control") != "no-store" {
					t.Fatalf("%d %s %q, want 400 %s, no-store", a.status, a.raw, a.header.Get("Cache-Control"), tc.code)
				}
				if d, _ := a.body["error_description"].(string); !strings.HasPrefix(d, "AADSTS") || a.body["trace_id"] == "" {
					t.Errorf("not Entra's error shape: %s", a.raw)
				}
				return
			}
			if a.status != 200 {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			want := e.srv.URL + "/" + tc.tenant + "/v2.0/.well-known/openid-configuration"
			if a.body["tenant_discovery_endpoint"] != want || a.body["api-version"] != "1.1" {
				t.Errorf("got %s, want tenant_discovery_endpoint %s", a.raw, want)
			}
			md, _ := a.body["metadata"].([]any)
			if len(md) != 1 {
				t.Fatalf("metadata %v", a.body["metadata"])
			}
			m := md[0].(map[string]any)
			aliases, _ := json.Marshal(m["aliases"])
			if m["preferred_network"] != e.host || m["preferred_cache"] != e.host || string(aliases) != `["`+e.host+`","`+name+`"]` {
				t.Errorf("metadata %v", m)
			}
			if cc := a.header.Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") {
				t.Errorf("Cache-Control %q: the answer is the same for everyone and may be cached", cc)
			}
		})
	}
}

// TestInstanceDiscoveryGolden keeps the wire shape of the answer, with the
// server's address written as tessera.example:8443.
func TestInstanceDiscoveryGolden(t *testing.T) {
	e := newEnv(t)
	a := e.get(t, discoveryPath("common", "https://"+e.host+"/contoso/oauth2/v2.0/authorize"))
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	name, _, _ := strings.Cut(e.host, ":")
	got := strings.NewReplacer("http://"+e.host, "https://tessera.example:8443", e.host, "tessera.example:8443", `"`+name+`"`, `"tessera.example"`).Replace(string(a.raw))
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(got), "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteString("\n")
	path := filepath.Join("testdata", "instance_discovery.json")
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("instance discovery shape changed (go test -update to accept):\n%s", pretty.String())
	}
}
