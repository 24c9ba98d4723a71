package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

const (
	adminTestToken  = "test-system-admin-token"
	tenantOnlyToken = "test-tenant-admin-token"
)

// tokenTable stands for the server's token validation.
type tokenTable map[string]adminapi.Caller

func (tt tokenTable) Authenticate(r *http.Request) (adminapi.Caller, error) {
	c, ok := tt[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		return adminapi.Caller{}, errors.New("unknown token")
	}
	return c, nil
}

// adminFixture is one data folder, reached both ways: locally (--data) and
// through an admin API server on loopback over the same store.
type adminFixture struct {
	t      *testing.T
	data   string
	server *httptest.Server
	deps   Deps // the commands' dependencies: the system's unless a test sets one
}

func (f *adminFixture) local() []string { return []string{"--data", f.data} }
func (f *adminFixture) remote() []string {
	return []string{"--server", f.server.URL, "--token", adminTestToken}
}

func newAdminFixture(t *testing.T) *adminFixture {
	t.Helper()
	for _, k := range []string{"TESSERA_SERVER", "TESSERA_DATA", "TESSERA_DB", "TESSERA_ADMIN_TOKEN", "TESSERA_CA_FILE", "TESSERA_MASTER_KEY"} {
		t.Setenv(k, "")
	}
	f := &adminFixture{t: t, data: t.TempDir()}
	st, err := sqlite.Open(context.Background(), filepath.Join(f.data, "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Bootstrap as on a server host: the home tenant, created locally.
	f.run(0, append(f.local(), "tenant", "create", "--domain", "default")...)

	l, err := openLocal(context.Background(), f.data, "")
	if err != nil {
		t.Fatal(err)
	}
	dir, keys, closeStore := l.dir, l.keys, l.close
	home, err := dir.ResolveTenant(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	auth := tokenTable{
		adminTestToken:  {TenantID: home.ID, Subject: "ops", Roles: []string{directory.AdminRole}, SystemAdmin: true},
		tenantOnlyToken: {TenantID: "7b0c7c1e-0000-4000-8000-000000000000", Subject: "x", Roles: []string{directory.AdminRole}},
	}
	f.server = httptest.NewServer(adminapi.New(adminapi.Config{Directory: dir, Keys: keys, Auth: auth, Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(func() {
		f.server.Close()
		closeStore()
	})
	return f
}

// runAdmin runs `tessera admin args…` in-process.
func runAdmin(args ...string) (stdout, stderr string, err error) {
	return runAdminWith(Deps{}, "", args...)
}

// runAdminWith runs `tessera admin args…` on d with stdin as standard
// input.
func runAdminWith(d Deps, stdin string, args ...string) (stdout, stderr string, err error) {
	root := NewRoot(d)
	var out, errb bytes.Buffer
	root.SetArgs(append([]string{"admin"}, args...))
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// run expects exit code want and returns stdout.
func (f *adminFixture) run(want int, args ...string) string {
	f.t.Helper()
	out, errOut, err := runAdminWith(f.deps, "", args...)
	got := 0
	if err != nil {
		got = ExitCode(err)
	}
	if got != want {
		f.t.Fatalf("tessera admin %s: exit %d (%v), want %d\nstderr: %s", strings.Join(args, " "), got, err, want, errOut)
	}
	return out
}

// both runs the same command through both backends and requires the same
// output, which it returns.
func (f *adminFixture) both(args ...string) string {
	f.t.Helper()
	l := f.run(0, append(f.local(), args...)...)
	r := f.run(0, append(f.remote(), args...)...)
	if l != r {
		f.t.Fatalf("tessera admin %s: local and remote differ\nlocal:  %s\nremote: %s", strings.Join(args, " "), l, r)
	}
	return l
}

func decodeAdminJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

func TestAdminBackendsAgree(t *testing.T) {
	f := newAdminFixture(t)

	created := f.run(0, append(f.local(), "app", "create", "--display-name", "orders-api", "--identifier-uri", "api://orders",
		"--app-role", "Reader", "--app-role", "Writer:Application", "--scope", "Orders.Read", "--token-lifetime", "30m")...)
	api := decodeAdminJSON[adminapi.Application](t, created)
	if api.AccessTokenLifetimeSeconds != 1800 || len(api.AppRoles) != 2 || api.AppRoles[1].AllowedMemberTypes[0] != "Application" ||
		api.Scopes[0].Value != "Orders.Read" || api.IdentifierURIs[0] != "api://orders" {
		t.Fatalf("created %+v", api)
	}
	if got := f.both("app", "show", "--id", "api://orders"); got != created {
		t.Errorf("show differs from create:\n%s\n%s", got, created)
	}

	created = f.run(0, append(f.remote(), "app", "create", "--display-name", "orders-worker")...)
	worker := decodeAdminJSON[adminapi.Application](t, created)
	if got := f.both("app", "show", "--id", worker.AppID); got != created {
		t.Errorf("show differs from create:\n%s\n%s", got, created)
	}
	apps := decodeAdminJSON[[]adminapi.Application](t, f.both("app", "list"))
	if len(apps) != 5 { // the admin API's own, the CLI's, the management application, and ours
		t.Errorf("list has %d applications", len(apps))
	}

	// --query and tsv print the bare value, as az does.
	if got := f.both("app", "show", "--id", "api://orders", "--query", "appId", "-o", "tsv"); got != api.AppID+"\n" {
		t.Errorf("--query appId -o tsv = %q", got)
	}

	f.run(0, append(f.local(), "sp", "create", "--id", api.AppID, "--assignment-required")...)
	f.run(0, append(f.remote(), "sp", "create", "--id", worker.AppID)...)
	sps := decodeAdminJSON[[]directory.ServicePrincipal](t, f.both("sp", "list"))
	if i := slices.IndexFunc(sps, func(sp directory.ServicePrincipal) bool { return sp.AppID == api.AppID }); len(sps) != 5 || i < 0 || !sps[i].AppRoleAssignmentRequired { // the admin API's, the CLI's, the management application's, ours
		t.Errorf("sp list %+v", sps)
	}
	ra := decodeAdminJSON[directory.RoleAssignment](t, f.run(0, append(f.remote(), "role", "assign", "--assignee", worker.AppID, "--resource", "api://orders", "--role", "Reader")...))
	listed := decodeAdminJSON[[]directory.RoleAssignment](t, f.both("role", "list", "--resource", "api://orders"))
	if len(listed) != 1 || listed[0] != ra {
		t.Errorf("role list %+v, want %+v", listed, ra)
	}

	// Update keeps the ids of roles named again, so the assignment stays.
	upd := decodeAdminJSON[adminapi.Application](t, f.run(0, append(f.remote(), "app", "update", "--id", "api://orders", "--app-role", "Reader", "--app-role", "Auditor:Application", "--token-version", "1", "--pre-authorize", worker.AppID+"=Orders.Read")...))
	if len(upd.AppRoles) != 2 || upd.AppRoles[0].ID != api.AppRoles[0].ID || upd.AppRoles[1].Value != "Auditor" || upd.AccessTokenAcceptedVersion != 1 ||
		len(upd.PreAuthorized) != 1 || upd.PreAuthorized[0].AppID != worker.AppID || upd.Scopes[0].ID != api.Scopes[0].ID {
		t.Errorf("updated %+v", upd)
	}
	f.both("role", "list", "--assignee", worker.AppID, "--query", "[0].id", "-o", "tsv")

	sp := decodeAdminJSON[directory.ServicePrincipal](t, f.run(0, append(f.local(), "sp", "update", "--id", worker.AppID, "--enabled=false")...))
	if sp.Enabled {
		t.Error("sp update --enabled=false left it enabled")
	}
	f.both("sp", "show", "--id", worker.AppID)
	f.both("keys", "list")
	f.both("tenant", "list")

	f.run(0, append(f.remote(), "role", "remove", "--id", ra.ID)...)
	f.run(0, append(f.local(), "sp", "delete", "--id", worker.AppID)...)
	f.run(0, append(f.remote(), "app", "delete", "--id", "api://orders")...)
	f.run(ExitNotFound, append(f.local(), "app", "show", "--id", "api://orders")...)
}

func TestAdminSecretPrintedOnce(t *testing.T) {
	f := newAdminFixture(t)
	app := decodeAdminJSON[adminapi.Application](t, f.run(0, append(f.local(), "app", "create", "--display-name", "ci")...))

	out := f.run(0, append(f.remote(), "secret", "add", "--id", app.AppID, "--display-name", "pipeline", "--years", "1")...)
	// az's `ad app credential reset` names: password and tenant.
	type printed struct {
		KeyID       string    `json:"keyId"`
		AppID       string    `json:"appId"`
		SecretText  string    `json:"secretText"`
		Password    string    `json:"password"`
		Tenant      string    `json:"tenant"`
		TenantID    string    `json:"tenantId"`
		EndDateTime time.Time `json:"endDateTime"`
	}
	s := decodeAdminJSON[printed](t, out)
	if !strings.HasPrefix(s.SecretText, directory.SecretPrefix) || s.Password != s.SecretText || s.Tenant != s.TenantID || s.AppID != app.AppID {
		t.Fatalf("secret add printed %s", out)
	}
	if d := time.Until(s.EndDateTime); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("--years 1 expires in %v", d)
	}
	listed := f.both("secret", "list", "--id", app.AppID)
	if strings.Contains(listed, s.SecretText) || strings.Contains(listed, "secretText") || !strings.Contains(listed, s.KeyID) {
		t.Fatalf("secret list shows the secret or misses the key: %s", listed)
	}

	only := f.run(0, append(f.local(), "secret", "add", "--id", app.AppID, "--end-date", "2026-12-31", "--query", "secretText", "-o", "tsv")...)
	if !strings.HasPrefix(only, directory.SecretPrefix) || strings.Count(only, "\n") != 1 {
		t.Errorf("--query secretText -o tsv = %q", only)
	}

	f.run(0, append(f.local(), "secret", "remove", "--id", app.AppID, "--key-id", s.KeyID)...)
	if n := len(decodeAdminJSON[[]directory.Credential](t, f.both("secret", "list", "--id", app.AppID))); n != 1 {
		t.Errorf("%d credentials after remove, want 1", n)
	}
}

func TestAdminCertificate(t *testing.T) {
	f := newAdminFixture(t)
	app := decodeAdminJSON[adminapi.Application](t, f.run(0, append(f.local(), "app", "create", "--display-name", "signer")...))
	// A file holding the private key too: only the certificate is sent.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	file := filepath.Join(t.TempDir(), "signer.pem")
	combined := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if err := os.WriteFile(file, combined, 0o600); err != nil {
		t.Fatal(err)
	}
	c := decodeAdminJSON[directory.Credential](t, f.run(0, append(f.remote(), "cert", "add", "--id", app.AppID, "--cert", file)...))
	if c.Type != "certificate" || c.DisplayName != "CN=signer" || c.Thumbprint == "" {
		t.Fatalf("cert add printed %+v", c)
	}
	// The same certificate again is a conflict, not a second credential
	// that removing "the" certificate would leave working.
	f.run(ExitError, append(f.local(), "cert", "add", "--id", app.AppID, "--cert", file)...)
	if n := len(decodeAdminJSON[[]directory.Credential](t, f.both("secret", "list", "--id", app.AppID))); n != 1 {
		t.Errorf("%d credentials after adding one certificate twice, want 1", n)
	}
	got, err := certificatePEM(combined)
	if err != nil || strings.Contains(got, "PRIVATE KEY") || !strings.Contains(got, "CERTIFICATE") {
		t.Errorf("certificatePEM = %q, %v", got, err)
	}
	if _, err := certificatePEM(der); err != nil {
		t.Errorf("DER: %v", err)
	}
}

func TestAdminExitCodes(t *testing.T) {
	f := newAdminFixture(t)
	both := func(want int, args ...string) {
		t.Helper()
		f.run(want, append(f.local(), args...)...)
		f.run(want, append(f.remote(), args...)...)
	}
	both(ExitNotFound, "app", "show", "--id", "api://nope")
	both(ExitNotFound, "sp", "delete", "--id", "api://nope")
	both(ExitNotFound, "app", "list", "--tenant", "nowhere")
	both(ExitUsage, "app", "create")
	both(ExitUsage, "app", "create", "--display-name", "x", "--token-version", "3")
	both(ExitUsage, "app", "create", "--display-name", "x", "--redirect-uri", "http://evil.example/cb") // the server's rule
	both(ExitUsage, "app", "create", "--display-name", "x", "--pre-authorize", "no-equals-sign")
	both(ExitUsage, "app", "create", "--display-name", "x", "--bogus")
	both(ExitUsage, "app", "list", "extra-arg")
	both(ExitUsage, "role", "list")
	both(ExitUsage, "secret", "add", "--id", "x", "--years", "1", "--end-date", "2027-01-01")
	both(ExitUsage, "sp", "update", "--id", "x")
	both(ExitError, "tenant", "create", "--domain", "default") // conflict

	f.run(ExitUsage, "--data", f.data, "--server", f.server.URL, "app", "list")
	f.run(ExitUsage, "--data", f.data, "--token", "x", "app", "list")
	f.run(ExitUsage, "--server", "http://id.example.com", "--token", "x", "app", "list")
	f.run(ExitAuth, "--server", f.server.URL, "--token", "wrong-token", "app", "list")
	f.run(ExitAuth, "--server", f.server.URL, "--token", tenantOnlyToken, "tenant", "list")

	// No token anywhere: the default token source says how to get one.
	_, errOut, err := runAdmin("--server", f.server.URL, "app", "list")
	if ExitCode(err) != ExitAuth || !strings.Contains(err.Error(), "tessera login") {
		t.Errorf("no token: exit %d, %v %s", ExitCode(err), err, errOut)
	}
}

func TestAdminTokenSourceAndEnv(t *testing.T) {
	f := newAdminFixture(t)
	var gotServer, gotTenant string
	f.deps.AdminToken = func(_ context.Context, server, tenant string) (string, error) {
		gotServer, gotTenant = server, tenant
		return adminTestToken, nil
	}
	t.Setenv("TESSERA_SERVER", f.server.URL)
	f.run(0, "app", "list", "--tenant", "default")
	if gotServer != f.server.URL || gotTenant != "default" {
		t.Errorf("token source asked for (%q, %q)", gotServer, gotTenant)
	}
	f.run(0, "keys", "list")
	if gotTenant != "" {
		t.Errorf("server-wide command asked for tenant %q", gotTenant)
	}
	// An explicit --data wins over $TESSERA_SERVER.
	f.deps.AdminToken = nil // the login cache's
	f.run(0, "--data", f.data, "app", "list")
	// $TESSERA_ADMIN_TOKEN stands for --token.
	t.Setenv("TESSERA_ADMIN_TOKEN", adminTestToken)
	f.run(0, "app", "list")
}

func TestParseAppRole(t *testing.T) {
	cases := []struct{ in, value, types string }{
		{"Reader", "Reader", ""},
		{"Writer:Application", "Writer", "Application"},
		{"Writer:application,user", "Writer", "Application,User"},
		{"Orders:Admin", "Orders:Admin", ""}, // a colon inside a value
		{"a:b:User", "a:b", "User"},
	}
	for _, c := range cases {
		v, types := parseAppRole(c.in)
		if v != c.value || strings.Join(types, ",") != c.types {
			t.Errorf("parseAppRole(%q) = %q %v, want %q %q", c.in, v, types, c.value, c.types)
		}
	}
}

// TestAdminHelpHasExamples: every admin command shows an example, as az's
// do.
func TestAdminHelpHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Example == "" {
			t.Errorf("%s has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			if sub.Name() != "help" {
				walk(sub)
			}
		}
	}
	for _, c := range NewRoot(Deps{}).Commands() {
		if c.Name() == "admin" {
			walk(c)
			return
		}
	}
	t.Fatal("no admin command")
}
