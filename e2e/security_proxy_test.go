package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/internal/directory"
)

// cgiEchoEnv switches this test binary into a CGI script (RFC 3875) that
// answers with the HTTP_* meta-variables it was given: what a CGI, WSGI or
// Rack application reads request headers from.
const cgiEchoEnv = "TESSERA_E2E_CGI_ECHO"

func init() {
	if os.Getenv(cgiEchoEnv) == "1" {
		env := map[string]string{}
		for _, kv := range os.Environ() {
			if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "HTTP_") {
				env[k] = v
			}
		}
		body, _ := json.Marshal(env)
		fmt.Printf("Content-Type: application/json\r\n\r\n%s", body)
		os.Exit(0)
	}
}

// cgiEchoUpstream is a real CGI host (net/http/cgi) running this binary as
// its script: header names become HTTP_* variables, upper case, '-' as '_'
// (RFC 3875 §4.1.18).
func cgiEchoUpstream(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&cgi.Handler{Path: exe, Env: []string{cgiEchoEnv + "=1"}})
	t.Cleanup(srv.Close)
	return srv.URL
}

// wsgiEchoScript is a WSGI application on Python's reference server
// (wsgiref), which joins two headers that map to one HTTP_* key with ','.
const wsgiEchoScript = `
import json
from wsgiref.simple_server import make_server, WSGIRequestHandler
class Quiet(WSGIRequestHandler):
    def log_message(self, *args): pass
def app(environ, start):
    body = json.dumps({k: v for k, v in environ.items() if k.startswith('HTTP_')}).encode()
    start('200 OK', [('Content-Type', 'application/json'), ('Content-Length', str(len(body)))])
    return [body]
srv = make_server('127.0.0.1', 0, app, handler_class=Quiet)
print(srv.server_port, flush=True)
srv.serve_forever()
`

// wsgiEchoUpstream starts wsgiEchoScript with python3, or returns "" when
// there is none.
func wsgiEchoUpstream(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		return ""
	}
	cmd := exec.Command(py, "-c", wsgiEchoScript)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	port, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("wsgiref did not start: %v", err)
	}
	return "http://127.0.0.1:" + strings.TrimSpace(port)
}

// runProxy runs `tessera proxy` in-process in front of upstream until the
// test ends, and returns its base URL.
func runProxy(t *testing.T, h *harness, upstream string, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, stop := context.WithCancel(context.Background())
	// Two channels: waitListening takes the error of a proxy that exits
	// before it listens, the clean-up the proxy's end either way.
	errc, exited := make(chan error, 1), make(chan error, 1)
	go func() {
		_, _, err := h.cliCtx(ctx, append([]string{"proxy", "--addr", addr, "--upstream", upstream, "--ca-file", h.srv.CAFile}, args...)...)
		errc <- err
		exited <- err
	}()
	t.Cleanup(func() {
		stop()
		if err := <-errc; err != nil {
			t.Errorf("proxy: %v", err)
		}
	})
	waitListening(t, addr, exited)
	return "http://" + addr
}

// callProxy GETs url with the bearer token and returns the status, the
// WWW-Authenticate challenge and the body.
func callProxy(t *testing.T, url, token string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(raw)
}

// proxyEnv is a tenant with an API whose Reader role users and
// applications can hold, alice (a Reader) and a daemon (a Reader) besides
// newSecEnv's clients.
type proxyEnv struct {
	*secEnv
	daemon       directory.Application
	daemonSecret string
}

func newProxyEnv(t *testing.T) *proxyEnv {
	t.Helper()
	e := &proxyEnv{secEnv: newSecEnv(t)}
	ctx := context.Background()
	d, tid := e.h.srv.Directory, e.tid
	api, err := d.CreateApplication(ctx, tid, directory.ApplicationSpec{DisplayName: "Orders API", IdentifierURIs: []string{"api://orders"},
		Scopes:   []directory.Scope{{Value: "read", Enabled: true}},
		AppRoles: []directory.AppRole{{Value: "Reader", Enabled: true, AllowedMemberTypes: []string{directory.MemberTypeUser, directory.MemberTypeApplication}}}})
	if err != nil {
		t.Fatal(err)
	}
	e.api = api
	if e.daemon, err = d.CreateApplication(ctx, tid, directory.ApplicationSpec{DisplayName: "Orders daemon"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{api.AppID, e.daemon.AppID} {
		if _, err := d.CreateServicePrincipal(ctx, tid, directory.ServicePrincipalSpec{AppID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, e.daemonSecret, err = d.AddSecret(ctx, tid, e.daemon.AppID, directory.SecretSpec{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{e.alice.ObjectID, e.daemon.AppID} {
		if _, err := d.AssignRole(ctx, tid, directory.AssignmentSpec{Principal: p, Resource: api.AppID, Role: "Reader"}); err != nil {
			t.Fatal(err)
		}
	}
	q, err := d.ParseScopes(ctx, tid, "api://orders/read", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Consent(ctx, tid, e.native.AppID, directory.AllPrincipals, q); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetTenantPolicy(ctx, tid, directory.TenantPolicy{ProductLoginResource: "api://orders"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// ropc signs alice in with the password grant for scope.
func (e *proxyEnv) ropc(t *testing.T, scope string) map[string]any {
	t.Helper()
	status, body := e.token(e.tid, url.Values{"grant_type": {"password"}, "client_id": {e.native.AppID},
		"username": {"alice"}, "password": {alicePassword}, "scope": {scope}})
	if status != 200 {
		t.Fatalf("password grant for %s: %d %v", scope, status, body)
	}
	return body
}

// TestSecurityProxyIdentityHeaders: whatever identity headers a caller
// sends, in whichever spelling an upstream folds onto the real ones ('_'
// for '-', any case, twice), the upstream reads the token's identity:
// tessera proxy drops them, and sets every identity header, empty when the
// token has no value, with X-Tessera-Token-Type telling an application
// from a user. Checked at a CGI host (net/http/cgi) and, where python3 is,
// a WSGI server (wsgiref), on what the application actually reads.
func TestSecurityProxyIdentityHeaders(t *testing.T) {
	e := newProxyEnv(t)
	h, tid := e.h, e.tid

	app := h.clientCredentials(e.daemon.AppID, e.daemonSecret, "api://orders/.default", false)
	user := e.ropc(t, "api://orders/read")["access_token"].(string)
	login := productLogin(t, h)
	if c := claimsOf(t, login); c["scp"] != nil || c["azp"] == nil {
		t.Fatalf("product-login token: %v", c)
	}

	upstreams := map[string]string{"CGI": cgiEchoUpstream(t)}
	if wsgi := wsgiEchoUpstream(t); wsgi != "" {
		upstreams["WSGI"] = wsgi
	} else {
		t.Log("no python3: the WSGI upstream is left out")
	}
	for name, upstream := range upstreams {
		proxy := runProxy(t, h, upstream, "--authority", h.srv.URL+"/"+tid+"/v2.0", "--audience", e.api.AppID, "--tenant-header")
		for _, tc := range []struct {
			name  string
			token string
			want  map[string]string
		}{
			{"application token (client credentials): roles, no scp", app, map[string]string{"ROLES": "Reader", "SCOPES": "", "TOKEN_TYPE": "app"}},
			{"user token (password grant): scp and the user's roles", user, map[string]string{"ROLES": "Reader", "SCOPES": "read", "TOKEN_TYPE": "user"}},
			{"user token (product login): roles, no scp", login, map[string]string{"ROLES": "Reader", "SCOPES": "", "TOKEN_TYPE": "user"}},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				c := claimsOf(t, tc.token)
				want := map[string]string{"SUBJECT": c["sub"].(string), "OBJECT_ID": c["oid"].(string), "TENANT_ID": tid,
					"CLIENT_ID": c["azp"].(string)}
				for k, v := range tc.want {
					want[k] = v
				}
				req, _ := http.NewRequest(http.MethodGet, proxy+"/orders", nil)
				req.Header = http.Header{ // sent with these names, as written
					"X-Tessera_Subject":    {"admin"},
					"X_Tessera_Object_Id":  {"00000000-0000-0000-0000-000000000000"},
					"x-tessera_tenant_id":  {"00000000-0000-0000-0000-000000000001"},
					"X-TESSERA-CLIENT-ID":  {"forged-client", "second-forged-client"},
					"X-Tessera_Roles":      {"Admin"},
					"X_Tessera_Scopes":     {"Admin.All"},
					"X_TESSERA_TOKEN_TYPE": {"app"},
					"X-tessera-token_type": {"app"},
					"X_Tenant_Id":          {"00000000-0000-0000-0000-000000000001"},
					"X_Forwarded_For":      {"203.0.113.9"},
				}
				req.Header.Set("Authorization", "Bearer "+tc.token)
				req.Header.Set("X-Tenant-ID", tid)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var env map[string]string
				if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != 200 {
					t.Fatalf("status %d: %v", resp.StatusCode, err)
				}
				for k, v := range want {
					if got, ok := env["HTTP_X_TESSERA_"+k]; !ok || got != v {
						t.Errorf("upstream HTTP_X_TESSERA_%s = %q (set: %v), want %q", k, got, ok, v)
					}
				}
				var extra []string
				for k, v := range env {
					if _, ok := want[strings.TrimPrefix(k, "HTTP_X_TESSERA_")]; strings.HasPrefix(k, "HTTP_X_TESSERA") && !ok {
						extra = append(extra, k+"="+v)
					}
				}
				sort.Strings(extra)
				if len(extra) > 0 {
					t.Errorf("upstream read identity variables the proxy does not own: %v", extra)
				}
				if env["HTTP_X_TENANT_ID"] != tid || env["HTTP_X_FORWARDED_FOR"] != "127.0.0.1" {
					t.Errorf("upstream HTTP_X_TENANT_ID %q, HTTP_X_FORWARDED_FOR %q: not what the proxy checked and saw",
						env["HTTP_X_TENANT_ID"], env["HTTP_X_FORWARDED_FOR"])
				}
			})
		}
	}
}

// TestSecurityGuardRefusesIDTokens: an ID token is signed by the same keys
// as access tokens, and its aud is the client: a guard (or tessera proxy)
// for an API whose id is also a client's would take a user's ID token for
// an access token. The guard takes only tokens with an access token's
// marks (azp in v2, appid in v1, or typ at+jwt, RFC 9068 §2.1); tessera's
// ID tokens carry none, every tessera access token one: v1 and v2, an
// application's and a user's, product login's, and the token of a request
// with only OpenID Connect scopes, whose aud is the client itself.
func TestSecurityGuardRefusesIDTokens(t *testing.T) {
	e := newProxyEnv(t)
	h, tid, ctx := e.h, e.tid, context.Background()
	d := h.srv.Directory
	legacy, err := d.CreateApplication(ctx, tid, directory.ApplicationSpec{DisplayName: "Legacy orders", IdentifierURIs: []string{"https://legacy.example/orders"},
		AccessTokenAcceptedVersion: 1, Scopes: []directory.Scope{{Value: "user_impersonation", Enabled: true}},
		AppRoles: []directory.AppRole{{Value: "Reader", Enabled: true, AllowedMemberTypes: []string{directory.MemberTypeApplication}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateServicePrincipal(ctx, tid, directory.ServicePrincipalSpec{AppID: legacy.AppID}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AssignRole(ctx, tid, directory.AssignmentSpec{Principal: e.daemon.AppID, Resource: legacy.AppID, Role: "Reader"}); err != nil {
		t.Fatal(err)
	}
	q, _ := d.ParseScopes(ctx, tid, "https://legacy.example/orders/user_impersonation", "")
	if err := d.Consent(ctx, tid, e.native.AppID, directory.AllPrincipals, q); err != nil {
		t.Fatal(err)
	}

	// The native client's own sign-in: its ID token, and the access token
	// of a request with only OpenID Connect scopes, both with aud the
	// client's id.
	oidcOnly := e.ropc(t, "openid profile offline_access")
	idV2, selfToken := oidcOnly["id_token"].(string), oidcOnly["access_token"].(string)
	status, v1body, _ := h.postForm("/"+tid+"/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {e.native.AppID},
		"username": {"alice"}, "password": {alicePassword}, "resource": {"https://legacy.example/orders"}, "scope": {"openid"}}, "", "")
	if status != 200 || v1body["id_token"] == nil {
		t.Fatalf("v1 password grant: %d %v", status, v1body)
	}
	idV1 := v1body["id_token"].(string)
	for name, id := range map[string]string{"v2": idV2, "v1": idV1} {
		if c := claimsOf(t, id); c["aud"] != e.native.AppID || c["azp"] != nil || c["appid"] != nil || c["oid"] != e.alice.ObjectID {
			t.Fatalf("%s ID token claims %v", name, c)
		}
	}
	if c := claimsOf(t, selfToken); c["aud"] != e.native.AppID || c["azp"] != e.native.AppID {
		t.Fatalf("OpenID-scopes-only access token claims %v", c)
	}

	// The guard of an API whose id is the client's refuses the ID tokens
	// and takes that client's access token.
	self := guardFor(t, h, e.native.AppID)
	for name, id := range map[string]string{"v2 ID token": idV2, "v1 ID token": idV1} {
		_, err := self.Validate(ctx, id)
		var ge *guard.Error
		if !errors.As(err, &ge) || ge.Reason != guard.ReasonNotAccessToken || ge.Status() != 401 || ge.Code() != "invalid_token" {
			t.Errorf("%s: %v, want 401 invalid_token (not_access_token)", name, err)
		}
	}
	if _, err := self.Validate(ctx, selfToken); err != nil {
		t.Errorf("the client's own access token: %v", err)
	}

	// Every kind of access token tessera issues still passes.
	v1App := func() string {
		status, body, _ := h.postForm("/"+tid+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {e.daemon.AppID},
			"client_secret": {e.daemonSecret}, "resource": {"https://legacy.example/orders"}}, "", "")
		if status != 200 {
			t.Fatalf("v1 client credentials: %d %v", status, body)
		}
		return body["access_token"].(string)
	}()
	orders, legacyGuard := guardFor(t, h, e.api.AppID), guardFor(t, h, "https://legacy.example/orders")
	for _, tc := range []struct {
		name  string
		g     *guard.Guard
		token string
	}{
		{"v2 application token (azp)", orders, h.clientCredentials(e.daemon.AppID, e.daemonSecret, "api://orders/.default", false)},
		{"v2 user token (azp)", orders, e.ropc(t, "api://orders/read")["access_token"].(string)},
		{"v2 product-login token (azp)", orders, productLogin(t, h)},
		{"v1 application token (appid)", legacyGuard, v1App},
		{"v1 user token (appid)", legacyGuard, v1body["access_token"].(string)},
	} {
		if _, err := tc.g.Validate(ctx, tc.token); err != nil {
			t.Errorf("%s: %v (claims %v)", tc.name, err, claimsOf(t, tc.token))
		}
	}

	// Through tessera proxy: the ID token is answered 401 before the
	// upstream sees anything.
	var hits atomic.Int64
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprintf(w, `{"oid":%q}`, r.Header.Get("X-Tessera-Object-Id"))
	}))
	defer upstream.Close()
	proxy := runProxy(t, h, upstream.URL, "--authority", h.srv.URL+"/"+tid+"/v2.0", "--audience", e.native.AppID)
	call := func(tok string) (int, string, string) { return callProxy(t, proxy+"/me", tok) }
	if status, challenge, body := call(idV2); status != 401 || !strings.Contains(challenge, `error="invalid_token"`) ||
		!strings.Contains(body, "not an access token") {
		t.Errorf("ID token through the proxy: %d %q %s", status, challenge, body)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the upstream saw %d requests with an ID token", n)
	}
	if status, _, body := call(selfToken); status != 200 || !strings.Contains(body, e.alice.ObjectID) {
		t.Errorf("the client's access token through the proxy: %d %s", status, body)
	}
}
