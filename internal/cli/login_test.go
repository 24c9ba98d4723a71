package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	lfTenantID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	lfClientID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	lfSecret   = "s3cr3t-Value~x"
)

// loginFake is the identity provider and an API behind it, as far as the
// client commands see them: Entra's discovery and v1/v2 token endpoints
// (client secret only; the account package tests assertions), and
// /api/echo which answers with what it received. It counts token requests
// so tests can tell cached tokens from fresh ones.
type loginFake struct {
	srv *httptest.Server
	ca  string      // PEM file trusting srv, as the real server hands out its CA
	c   *clientTest // the commands under test, whose clock the fake shares

	mu     sync.Mutex
	tokens int
	paths  []string

	requests atomic.Int64 // every request, of any path

	user lfUser // people's sign-in: login_user_test.go
}

func newLoginFake(c *clientTest) *loginFake {
	t := c.t
	t.Helper()
	f := &loginFake{c: c}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if tn := r.PathValue("tenant"); tn != "default" && tn != lfTenantID {
			lfError(w, 400, "invalid_tenant", 90002, "Tenant '"+tn+"' not found.")
			return
		}
		lfJSON(w, 200, map[string]any{
			"issuer":                        f.srv.URL + "/" + lfTenantID + "/v2.0",
			"authorization_endpoint":        f.srv.URL + "/" + lfTenantID + "/oauth2/v2.0/authorize",
			"token_endpoint":                f.srv.URL + "/" + lfTenantID + "/oauth2/v2.0/token",
			"device_authorization_endpoint": f.srv.URL + "/" + lfTenantID + "/oauth2/v2.0/devicecode",
			"revocation_endpoint":           f.srv.URL + "/" + lfTenantID + "/oauth2/v2.0/revoke",
			"jwks_uri":                      f.srv.URL + "/" + lfTenantID + "/discovery/v2.0/keys",
		})
	})
	token := func(v1 bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			if r.PostForm.Get("grant_type") != "client_credentials" {
				f.userGrant(w, r, v1)
				return
			}
			if r.PathValue("tenant") != lfTenantID {
				lfError(w, 400, "invalid_request", 900144, "Bad request.")
				return
			}
			if r.PostForm.Get("client_id") != lfClientID || r.PostForm.Get("client_secret") != lfSecret {
				lfError(w, 401, "invalid_client", 7000215, "Invalid client secret provided.")
				return
			}
			f.mu.Lock()
			f.tokens++
			f.paths = append(f.paths, r.URL.Path)
			n := f.tokens
			f.mu.Unlock()
			if v1 {
				lfJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": "3599", "ext_expires_in": "3599",
					"expires_on": "1764064800", "resource": r.PostForm.Get("resource"), "access_token": fmt.Sprintf("token-%d", n)})
				return
			}
			lfJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
				"access_token": fmt.Sprintf("token-%d", n)})
		}
	}
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", token(false))
	mux.HandleFunc("POST /{tenant}/oauth2/token", token(true))
	f.registerUser(t, mux)
	mux.HandleFunc("/api/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		lfJSON(w, 200, map[string]any{
			"method":        r.Method,
			"authorization": r.Header.Get("Authorization"),
			"contentType":   r.Header.Get("Content-Type"),
			"if":            r.Header.Get("If-Match"),
			"query":         r.URL.RawQuery,
			"body":          string(body),
		})
	})
	mux.HandleFunc("/api/forbidden", func(w http.ResponseWriter, r *http.Request) {
		lfJSON(w, 403, map[string]any{"error": map[string]any{"code": "Forbidden", "message": "no role"}})
	})
	mux.HandleFunc("/api/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "plain words\n")
	})
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)

	f.ca = filepath.Join(t.TempDir(), "ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(f.ca, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *loginFake) tokenRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens
}

func lfJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func lfError(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	lfJSON(w, status, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: 9f\r\nCorrelation ID: 8e\r\nTimestamp: 2026-01-01 00:00:00Z", aadsts, msg),
		"error_codes":       []int{aadsts},
		"trace_id":          "9f",
		"correlation_id":    "8e",
	})
}

var clientTestNow = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// clientTest runs the client commands for one test: its own config
// directory, a clock it moves by hand, and the commands' dependencies.
type clientTest struct {
	t    *testing.T
	dir  string
	now  atomic.Int64 // UnixNano of the commands' clock
	deps Deps
}

// clientEnv gives a test its own config directory and a fixed clock,
// clears the environment variables the commands read, and never opens a
// real browser or waits for real.
func clientEnv(t *testing.T) *clientTest {
	t.Helper()
	c := &clientTest{t: t, dir: filepath.Join(t.TempDir(), "config")}
	t.Setenv("TESSERA_CONFIG_DIR", c.dir)
	for _, k := range []string{"TESSERA_AUTHORITY", "TESSERA_CA_FILE", "TESSERA_CLIENT_SECRET"} {
		t.Setenv(k, "")
	}
	c.setNow(clientTestNow)
	c.deps = Deps{
		Now:         c.clock,
		OpenBrowser: func(context.Context, string) error { return errors.New("no browser in tests") },
		Sleep:       func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	}
	return c
}

func (c *clientTest) clock() time.Time { return time.Unix(0, c.now.Load()).UTC() }

// setNow moves the commands' clock (and the fake server's) to at.
func (c *clientTest) setNow(at time.Time) { c.now.Store(at.UnixNano()) }

// run runs the command tree in-process.
func (c *clientTest) run(args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	root := NewRoot(c.deps)
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func (f *loginFake) login(t *testing.T) {
	t.Helper()
	if _, _, err := f.c.run("login", "--service-principal", "-u", lfClientID, "-p", lfSecret,
		"--tenant", "default", "--authority", f.srv.URL, "--ca-file", f.ca); err != nil {
		t.Fatalf("login: %v", err)
	}
}

func TestLoginServicePrincipalPrintsAzAccount(t *testing.T) {
	c := clientEnv(t)
	dir := c.dir
	f := newLoginFake(c)
	stdout, _, err := c.run("login", "--service-principal", "-u", lfClientID, "-p", lfSecret,
		"--tenant", "default", "--authority", f.srv.URL+"/", "--ca-file", f.ca, "--allow-no-subscriptions")
	if err != nil {
		t.Fatal(err)
	}
	want := `[
  {
    "cloudName": "Tessera",
    "homeTenantId": "` + lfTenantID + `",
    "id": "` + lfTenantID + `",
    "isDefault": true,
    "managedByTenants": [],
    "name": "N/A(tenant level account)",
    "state": "Enabled",
    "tenantId": "` + lfTenantID + `",
    "user": {
      "name": "` + lfClientID + `",
      "type": "servicePrincipal"
    }
  }
]
`
	if stdout != want {
		t.Errorf("login printed\n%s\nwant\n%s", stdout, want)
	}
	if f.tokenRequests() != 1 {
		t.Errorf("login made %d token requests, want 1 (a token for itself)", f.tokenRequests())
	}
	fi, err := os.Stat(filepath.Join(dir, "profiles.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("profiles.json: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}

func TestLoginSecretFromEnvironment(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	t.Setenv("TESSERA_CLIENT_SECRET", lfSecret)
	t.Setenv("TESSERA_AUTHORITY", f.srv.URL)
	t.Setenv("TESSERA_CA_FILE", f.ca)
	if _, _, err := c.run("login", "--service-principal", "-u", lfClientID, "--tenant", lfTenantID, "-o", "none"); err != nil {
		t.Fatal(err)
	}
}

func TestLoginWrongSecretExits4WithoutTheSecret(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	bad := "not-the-" + lfSecret
	_, _, err := c.run("login", "--service-principal", "-u", lfClientID, "-p", bad,
		"--tenant", "default", "--authority", f.srv.URL, "--ca-file", f.ca)
	if ExitCode(err) != ExitAuth {
		t.Fatalf("exit code %d (%v), want %d", ExitCode(err), err, ExitAuth)
	}
	msg := err.Error()
	if !strings.Contains(msg, "AADSTS7000215: Invalid client secret provided.") || strings.Contains(msg, bad) {
		t.Errorf("message %q: want the server's description and not the secret", msg)
	}
	if _, _, err := c.run("account", "show"); ExitCode(err) != ExitAuth {
		t.Errorf("a failed login stored a profile: account show = %v", err)
	}
}

func TestLoginUsageErrorsExit2(t *testing.T) {
	c := clientEnv(t)
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"login", "-u", "alice"}, []string{"-u USER needs -p PASSWORD"}},
		{[]string{"login", "-p", "pw"}, []string{"-p PASSWORD needs -u USER"}},
		{[]string{"login", "--use-device-code", "-u", "alice", "-p", "pw"}, []string{"not both"}},
		{[]string{"login", "--certificate", "x.pem"}, []string{"--certificate is for --service-principal"}},
		{[]string{"login", "--service-principal", "-u", "c", "-p", "s", "--tenant", "organizations"}, []string{"names no tenant"}},
		{[]string{"login", "--service-principal", "-u", "c", "-p", "s", "--tenant", "t", "--use-device-code", "--client-id", "x"}, []string{"--use-device-code is for people", "-u, not --client-id"}},
		{[]string{"login", "--service-principal"}, []string{"-u CLIENT_ID is required", "--tenant is required", "-p SECRET"}},
		{[]string{"login", "--service-principal", "-u", "c", "-p", "s", "--certificate", "x.pem", "--tenant", "t"}, []string{"not both"}},
		{[]string{"login", "--service-principal", "-u", "c", "-p", "s", "--tenant", "t", "--authority", "http://id.example.com"}, []string{"https"}},
		{[]string{"login", "--no-such-flag"}, []string{"unknown flag", "--help"}},
		{[]string{"login", "extra"}, []string{"unknown command"}},
	} {
		_, _, err := c.run(tc.args...)
		if ExitCode(err) != ExitUsage {
			t.Errorf("%v: exit code %d (%v), want %d", tc.args, ExitCode(err), err, ExitUsage)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q does not mention %q", tc.args, err, w)
			}
		}
	}
}

func TestLoginUntrustedServerSaysCAFile(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	_, _, err := c.run("login", "--service-principal", "-u", lfClientID, "-p", lfSecret,
		"--tenant", "default", "--authority", f.srv.URL)
	if err == nil || !strings.Contains(err.Error(), "--ca-file") {
		t.Fatalf("err = %v, want advice about --ca-file", err)
	}
}

func TestLogoutRemovesProfileAndTokens(t *testing.T) {
	c := clientEnv(t)
	dir := c.dir
	f := newLoginFake(c)
	f.login(t)
	if _, _, err := c.run("account", "get-access-token", "--scope", "api://x/.default", "-o", "none"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.run("logout", "--username", "someone-else"); ExitCode(err) != ExitNotFound {
		t.Errorf("logout of an unknown user: %v, want exit %d", err, ExitNotFound)
	}
	if _, _, err := c.run("logout"); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "token-") {
		t.Errorf("tokens survived logout: %s", raw)
	}
	raw, _ = os.ReadFile(filepath.Join(dir, "profiles.json"))
	if strings.Contains(string(raw), lfSecret) {
		t.Error("the secret survived logout")
	}
	_, _, err = c.run("account", "get-access-token", "--scope", "api://x/.default")
	if ExitCode(err) != ExitAuth || !strings.Contains(err.Error(), "tessera login") {
		t.Errorf("after logout: %v (exit %d), want exit %d telling to log in", err, ExitCode(err), ExitAuth)
	}
	if _, _, err := c.run("logout"); ExitCode(err) != ExitAuth {
		t.Errorf("second logout: %v, want exit %d", err, ExitAuth)
	}
}

// Every client command shows an example in its help.
func TestClientCommandsHaveExamples(t *testing.T) {
	root := NewRoot(Deps{})
	for _, path := range [][]string{{"login"}, {"logout"}, {"account"}, {"account", "show"}, {"account", "list"}, {"account", "set"}, {"account", "get-access-token"}, {"rest"}} {
		cmd, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		if cmd.Hidden || strings.TrimSpace(cmd.Example) == "" {
			t.Errorf("%v: hidden or no Example", path)
		}
	}
}
