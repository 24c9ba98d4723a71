package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/cli"
	"github.com/tessera-id/tessera/internal/directory"
)

const cliAlicePW = "correct horse battery"

// cliUserAPI creates alice and an API that exposes the delegated scope
// "default" and pre-authorizes the CLI's public client for it, so that
// signing in asks no consent. It returns the API's appId and alice's UPN.
func cliUserAPI(t *testing.T, h *harness) (api, upn string) {
	t.Helper()
	u, err := h.srv.Directory.CreateUser(context.Background(), h.tenant(), directory.UserSpec{UserPrincipalName: "alice", Password: cliAlicePW})
	if err != nil {
		t.Fatal(err)
	}
	adm := h.adminToken()
	api = h.admin(adm, "app", "create", "--display-name", "Orders API", "--scope", "default")["appId"].(string)
	h.admin(adm, "sp", "create", "--id", api)
	h.admin(adm, "app", "update", "--id", api, "--pre-authorize", directory.CLIClientID+"=default")
	return api, u.UserPrincipalName
}

// watchedStderr is a command's stderr that a test reads while the command
// runs: it reports the device code's user code as soon as it is printed.
type watchedStderr struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	code chan string
	sent bool
}

var reUserCode = regexp.MustCompile(`enter the code (\S+) to authenticate`)

func (w *watchedStderr) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, _ := w.buf.Write(p)
	if m := reUserCode.FindStringSubmatch(w.buf.String()); m != nil && !w.sent {
		w.sent = true
		w.code <- m[1]
	}
	return n, nil
}

func (w *watchedStderr) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// loginWithDeviceCode runs `tessera login --use-device-code` in a goroutine,
// approves the code it prints as alice in the device pages, and returns
// what login printed.
func loginWithDeviceCode(t *testing.T, h *harness) string {
	t.Helper()
	t.Setenv("TESSERA_CONFIG_DIR", h.configDir)
	stderr := &watchedStderr{code: make(chan string, 1)}
	var stdout bytes.Buffer
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		root := cli.NewRoot(h.cliDeps)
		root.SetOut(&stdout)
		root.SetErr(stderr)
		root.SetArgs([]string{"login", "--use-device-code", "--tenant", "default", "--authority", h.srv.URL, "--ca-file", h.srv.CAFile})
		done <- root.ExecuteContext(ctx)
	}()
	select {
	case code := <-stderr.code:
		h.approveDevice(t, code, "alice", cliAlicePW)
	case err := <-done:
		t.Fatalf("login ended before printing a code: %v\n%s", err, stderr)
	case <-ctx.Done():
		t.Fatalf("login printed no code:\n%s", stderr)
	}
	if err := <-done; err != nil {
		t.Fatalf("login: %v\n%s", err, stderr)
	}
	return stdout.String()
}

// storedRefreshToken is the refresh token in the CLI's cache.
func storedRefreshToken(t *testing.T, h *harness) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(h.configDir, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		RefreshTokens map[string]struct {
			Secret string `json:"secret"`
		} `json:"refreshTokens"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, e := range doc.RefreshTokens {
		return e.Secret
	}
	return ""
}

// A person signs in on another device with a code, as `az login
// --use-device-code` does; the CLI then serves tokens for an API from the
// cache, refreshes them when they expire (rotating the refresh token), and
// logout revokes the sign-in at the server.
func TestCLIUserDeviceCodeLogin(t *testing.T) {
	h := start(t)
	api, upn := cliUserAPI(t, h)
	out := loginWithDeviceCode(t, h)
	var accounts []map[string]any
	if err := json.Unmarshal([]byte(out), &accounts); err != nil || len(accounts) != 1 {
		t.Fatalf("login output %q: %v", out, err)
	}
	if u, _ := accounts[0]["user"].(map[string]any); u["name"] != upn || u["type"] != "user" || accounts[0]["tenantId"] != h.tenant() {
		t.Errorf("login output %v", accounts[0])
	}

	issued := func() int { return strings.Count(h.logs.String(), "msg=\"issued token\"") }
	scope := "api://" + api + "/default"
	args := []string{"account", "get-access-token", "--scope", scope, "--query", "accessToken", "-o", "tsv"}
	out, errOut, err := h.cli(args...)
	if err != nil {
		t.Fatalf("get-access-token: %v\n%s", err, errOut)
	}
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") || strings.Count(out, ".") != 2 {
		t.Fatalf("tsv output is not the token alone on one line: %q", out)
	}
	first := strings.TrimSpace(out)
	if c := claimsOf(t, first); c["aud"] != api || c["scp"] != "default" || c["sid"] == nil || c["tid"] != h.tenant() {
		t.Errorf("delegated token claims %v", c)
	}
	n := issued()
	if again, _, _ := h.cli(args...); strings.TrimSpace(again) != first || issued() != n {
		t.Errorf("the second call did not serve the cached token (%d issued since)", issued()-n)
	}

	// Two hours on, the cached token has expired: the refresh token is
	// redeemed, and the rotated one replaces it.
	before := storedRefreshToken(t, h)
	h.cliDeps.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	out, errOut, err = h.cli(args...)
	if err != nil {
		t.Fatalf("get-access-token after expiry: %v\n%s", err, errOut)
	}
	if strings.TrimSpace(out) == first || issued() != n+1 {
		t.Errorf("after expiry: same token %v, %d issued; want one fresh token", strings.TrimSpace(out) == first, issued()-n)
	}
	rt := storedRefreshToken(t, h)
	if rt == "" || rt == before {
		t.Errorf("refresh token not rotated: %q → %q", before, rt)
	}
	// One refresh token, any consented resource, v1 too.
	if _, errOut, err := h.cli("account", "get-access-token", "--resource", "api://"+api); err != nil {
		t.Errorf("v1 resource: %v\n%s", err, errOut)
	}
	rt = storedRefreshToken(t, h)

	if _, errOut, err := h.cli("logout"); err != nil || errOut != "" {
		t.Fatalf("logout: %v %q", err, errOut)
	}
	status, body, _ := h.postForm("/"+h.tenant()+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {directory.CLIClientID}, "refresh_token": {rt}, "scope": {scope},
	}, "", "")
	if status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the refresh token after logout: %d %v, want invalid_grant", status, body)
	}
	if _, _, err := h.cli(args...); cli.ExitCode(err) != cli.ExitAuth {
		t.Errorf("get-access-token after logout: %v, want exit %d", err, cli.ExitAuth)
	}
	h.assertNotLogged(first, rt)
}

// The browser sign-in: authorization code with PKCE to a loopback
// redirect. The browser is played by the page helpers, which sign in as
// alice; the redirect they stop at is then followed to the CLI's loopback
// server, as the browser would.
func TestCLIUserBrowserLogin(t *testing.T) {
	h := start(t)
	api, upn := cliUserAPI(t, h)
	h.cliDeps.OpenBrowser = func(ctx context.Context, u string) error {
		redirect := h.authorizeWithPassword(t, u, upn, cliAlicePW) // at organizations the UPN names the tenant
		if redirect.Hostname() != "localhost" {
			t.Errorf("redirect to %s, want the loopback redirect", redirect)
		}
		resp, err := http.Get(redirect.String())
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("the loopback page answered %d", resp.StatusCode)
		}
		return nil
	}
	// No --tenant: organizations, and the sign-in decides the tenant.
	out, errOut, err := h.cli("login", "--authority", h.srv.URL, "--ca-file", h.srv.CAFile,
		"--scope", "api://"+api+"/default", "--query", "[0].[user.name, tenantId]", "-o", "json")
	if err != nil {
		t.Fatalf("login: %v\n%s", err, errOut)
	}
	var got []string
	if json.Unmarshal([]byte(out), &got) != nil || len(got) != 2 || got[0] != upn || got[1] != h.tenant() {
		t.Errorf("login printed %q, want %s in tenant %s", out, upn, h.tenant())
	}
	// --scope at login: its token is already in the cache.
	issued := strings.Count(h.logs.String(), "msg=\"issued token\"")
	if _, errOut, err := h.cli("account", "get-access-token", "--scope", "api://"+api+"/default"); err != nil {
		t.Fatalf("get-access-token: %v\n%s", err, errOut)
	}
	if strings.Count(h.logs.String(), "msg=\"issued token\"") != issued {
		t.Error("the token asked for at login was not served from the cache")
	}
}

// az login -u -p: the password grant; a wrong password exits 4.
func TestCLIUserPasswordLogin(t *testing.T) {
	h := start(t)
	api, _ := cliUserAPI(t, h)
	if _, errOut, err := h.cli("login", "-u", "alice", "-p", "wrong horse", "--tenant", "default", "--authority", h.srv.URL, "--ca-file", h.srv.CAFile); cli.ExitCode(err) != cli.ExitAuth {
		t.Errorf("wrong password: %v (exit %d) %s", err, cli.ExitCode(err), errOut)
	} else if strings.Contains(err.Error(), "wrong horse") {
		t.Error("the error shows the password")
	}
	if _, errOut, err := h.cli("login", "-u", "alice", "-p", cliAlicePW, "--tenant", "default", "--authority", h.srv.URL, "--ca-file", h.srv.CAFile); err != nil {
		t.Fatalf("login: %v\n%s", err, errOut)
	}
	out, errOut, err := h.cli("rest", "--url", "/"+h.tenant()+"/v2.0/.well-known/openid-configuration", "--scope", "api://"+api+"/default", "--query", "issuer", "-o", "tsv")
	if err != nil || out != h.srv.URL+"/"+h.tenant()+"/v2.0\n" {
		t.Errorf("rest as alice: %q, %v %s", out, err, errOut)
	}
	h.assertNotLogged(cliAlicePW)
}
