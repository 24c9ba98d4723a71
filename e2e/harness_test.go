// Package e2e drives tessera as its users do: a real server on loopback
// with a temporary data folder, plain HTTP requests and real client
// libraries, the CLI run in-process, and resource servers behind the guard.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/cli"
	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/server"
)

// harness is one tessera server on loopback.
type harness struct {
	t       *testing.T
	dataDir string
	addr    string
	srv     *server.Server
	http    *http.Client
	cancel  context.CancelFunc
	done    chan error
	// configDir is the CLI's config folder (profiles, token cache).
	configDir string
	// cliDeps are the in-process CLI's dependencies: the system's unless
	// a test plays the clock or the browser.
	cliDeps cli.Deps
	// logs is everything the server logged, at debug level.
	logs *syncBuffer
	// secrets has every secret that crossed h.http; none may be in logs
	// or in the audit log when the harness stops.
	secrets *secretRecorder
}

// syncBuffer is a bytes.Buffer the server's goroutines may write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// assertNotLogged fails if any of the given secrets or tokens appears in
// the server's log.
func (h *harness) assertNotLogged(values ...string) {
	h.t.Helper()
	logs := h.logs.String()
	for _, v := range values {
		if v == "" {
			continue
		}
		// A JWT's signature alone identifies it; look for that part too.
		probe := v
		if parts := strings.Split(v, "."); len(parts) == 3 {
			probe = parts[2]
		}
		if strings.Contains(logs, probe) {
			h.t.Errorf("the server logged a secret or token (%d chars)", len(v))
		}
	}
	if h.cancel != nil {
		// The audit log keeps the same rule (see assertNoSecrets); it is
		// read through the running server.
		h.assertNoSecrets(values...)
	}
}

// freeAddr returns a loopback address with a port free now, so that a
// restarted server can listen on the same one (the issuer contains it).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func start(t *testing.T) *harness {
	t.Helper()
	return startAt(t, t.TempDir(), freeAddr(t))
}

func startAt(t *testing.T, dataDir, addr string) *harness {
	t.Helper()
	return startWith(t, dataDir, addr, func(*config.Config) {})
}

// startWith starts a server with a configuration changed by edit.
func startWith(t *testing.T, dataDir, addr string, edit func(*config.Config)) *harness {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir, cfg.Addr = dataDir, addr
	cfg.KeyReload = time.Second
	cfg.ShutdownTimeout = 5 * time.Second
	edit(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	srv, err := server.Open(ctx, cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	h := &harness{t: t, dataDir: dataDir, addr: addr, srv: srv, cancel: cancel, done: make(chan error, 1), configDir: t.TempDir(), logs: logs}
	go func() { h.done <- srv.Run(ctx) }()
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	h.secrets = &secretRecorder{base: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, seen: map[string]struct{}{}}
	h.http = &http.Client{Timeout: 30 * time.Second, Transport: h.secrets}
	t.Cleanup(h.stop)
	return h
}

// stop shuts the server down gracefully and waits for it.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	if vs := h.secrets.values(); len(vs) > 0 {
		h.assertNoSecrets(vs...)
	}
	// A connection the client opened and never sent a request on counts
	// as busy to http.Server.Shutdown for its first five seconds, as long
	// as the shutdown timeout here: close the test's idle ones first.
	h.http.CloseIdleConnections()
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("server: %v", err)
		}
	case <-time.After(30 * time.Second):
		h.t.Error("server did not shut down")
	}
}

// tenant returns the home tenant's id.
func (h *harness) tenant() string { return h.srv.HomeTenant.ID }

// postForm sends a form and decodes the JSON answer.
func (h *harness) postForm(path string, form url.Values, basicUser, basicPass string) (int, map[string]any, http.Header) {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	return h.do(req)
}

func (h *harness) do(req *http.Request) (int, map[string]any, http.Header) {
	h.t.Helper()
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &body) != nil {
		body = map[string]any{"_raw": string(raw)}
	}
	return resp.StatusCode, body, resp.Header
}

// clientCredentials gets a token by a plain HTTP request, as the ARM how-to
// shows it, from the v2 endpoint (scope) or the v1 endpoint (resource).
func (h *harness) clientCredentials(clientID, secret, scopeOrResource string, v1 bool) string {
	h.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}
	path := "/" + h.tenant() + "/oauth2/v2.0/token"
	if v1 {
		path = "/" + h.tenant() + "/oauth2/token"
		form.Set("resource", scopeOrResource)
	} else {
		form.Set("scope", scopeOrResource)
	}
	status, body, _ := h.postForm(path, form, "", "")
	if status != 200 {
		h.t.Fatalf("token request for %s: %d %v", scopeOrResource, status, body)
	}
	return body["access_token"].(string)
}

// adminToken is a token for the admin API from the bootstrap client.
func (h *harness) adminToken() string {
	h.t.Helper()
	b := h.srv.Bootstrap
	if b == nil {
		h.t.Fatal("no bootstrap credentials: the server was not started on an empty data folder")
	}
	return h.clientCredentials(b.ClientID, b.ClientSecret, "api://tessera-admin/.default", false)
}

// cli runs a tessera command in-process with this harness's config folder.
func (h *harness) cli(args ...string) (string, string, error) {
	h.t.Helper()
	h.t.Setenv("TESSERA_CONFIG_DIR", h.configDir)
	root := cli.NewRoot(h.cliDeps)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

// admin runs `tessera admin …` against this server's admin API and decodes
// its JSON output.
func (h *harness) admin(token string, args ...string) map[string]any {
	h.t.Helper()
	full := append([]string{"admin"}, args...)
	full = append(full, "--server", h.srv.URL, "--token", token, "--ca-file", h.srv.CAFile)
	out, errOut, err := h.cli(full...)
	if err != nil {
		h.t.Fatalf("tessera %s: %v\n%s", strings.Join(full[:len(full)-6], " "), err, errOut)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		h.t.Fatalf("tessera %s: output is not a JSON object: %v\n%s", strings.Join(args, " "), err, out)
	}
	return v
}

// claimsOf decodes a JWT's payload without verifying it.
func claimsOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func headerOf(t *testing.T, raw string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	json.Unmarshal(b, &c)
	return c
}

// waitListening waits until something accepts connections on addr.
func waitListening(t *testing.T, addr string, errc <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-errc:
			t.Fatalf("process exited before listening on %s: %v", addr, err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}

// cliCtx runs a long-lived tessera command (proxy) until ctx ends.
func (h *harness) cliCtx(ctx context.Context, args ...string) (string, string, error) {
	root := cli.NewRoot(h.cliDeps)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}
