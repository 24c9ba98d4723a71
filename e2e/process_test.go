package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/server"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/tessera once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tessera-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tessera")
		// -buildvcs=auto stamps the commit as an operator's build from a
		// checkout would, even where GOFLAGS turns stamping off.
		out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", binPath, "../cmd/tessera").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binPath
}

// process is `tessera serve` running as its own process.
type process struct {
	cmd    *exec.Cmd
	stdout *bufio.Scanner
	mu     sync.Mutex
	lines  []string
	exited chan error
	// stderr is the server's log.
	stderr *syncBuffer
	// data is the --data folder it was started with.
	data string
}

func serve(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stdout: bufio.NewScanner(out), exited: make(chan error, 1), stderr: logs}
	for i, a := range args {
		if a == "--data" && i+1 < len(args) {
			p.data = args[i+1]
		}
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
	})
	// Read until the server says it serves; the rest of stdout drains in
	// the background so the process never blocks on a full pipe.
	ready := make(chan struct{})
	go func() {
		signalled := false
		for p.stdout.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, p.stdout.Text())
			p.mu.Unlock()
			if !signalled && strings.HasPrefix(p.stdout.Text(), "Serving ") {
				close(ready)
				signalled = true
			}
		}
		if !signalled {
			close(ready)
		}
		p.exited <- cmd.Wait()
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("tessera serve did not start")
	}
	return p
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// stop sends SIGTERM and returns the exit error.
func (p *process) stop(t *testing.T) error {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("tessera serve did not stop on SIGTERM")
		return nil
	}
}

func httpsClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeProcessFirstStartHealthAndSIGTERM(t *testing.T) {
	data, addr := t.TempDir(), freeAddr(t)
	p := serve(t, nil, "--data", data, "--addr", addr)
	out := p.output()
	caFile := filepath.Join(data, "ca.pem")
	credFile := filepath.Join(data, server.BootstrapFile)
	for _, want := range []string{"export SSL_CERT_FILE=" + caFile, "export REQUESTS_CA_BUNDLE=" + caFile, "export NODE_EXTRA_CA_CERTS=" + caFile, "Its secret is in " + credFile, "Serving https://" + addr} {
		if !strings.Contains(out, want) {
			t.Errorf("first-start output lacks %q:\n%s", want, out)
		}
	}
	c := httpsClient(t, caFile)
	if status, body := get(t, c, "https://"+addr+"/healthz"); status != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", status, body)
	}
	if status, body := get(t, c, "https://"+addr+"/readyz"); status != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("/readyz: %d %q", status, body)
	}
	if fi, err := os.Stat(filepath.Join(data, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("master.key: %v", err)
	}
	// stdout is a pipe here, as under systemd or a container runtime:
	// the secret is in the file (0600) only, not in stdout or the log.
	cred := readBootstrapFile(t, credFile)
	if !strings.HasPrefix(cred.ClientSecret, "tss_") {
		t.Fatalf("%s: clientSecret %q", credFile, cred.ClientSecret)
	}
	if strings.Contains(out, cred.ClientSecret) || strings.Contains(p.stderr.String(), cred.ClientSecret) {
		t.Errorf("the bootstrap secret is in the output of a serve whose stdout is not a terminal")
	}
	if cred.TokenURL != "https://"+addr+"/"+cred.TenantID+"/oauth2/v2.0/token" {
		t.Errorf("tokenUrl %q", cred.TokenURL)
	}
	resp, err := c.PostForm(cred.TokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {cred.ClientID},
		"client_secret": {cred.ClientSecret}, "scope": {cred.Scope}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"access_token"`) {
		t.Errorf("client credentials with the file's secret: %d %s", resp.StatusCode, body)
	}
	if err := p.stop(t); err != nil {
		t.Errorf("exit after SIGTERM: %v, want 0", err)
	}
	// At info (the default), the token issued is in the audit log, not a
	// line of the operational log; durations print as durations.
	logs := p.stderr.String()
	if strings.Contains(logs, "msg=audit") || strings.Contains(logs, "token.issued") {
		t.Errorf("a token issued is a line of the log at info:\n%s", logs)
	}
	for _, want := range []string{"key_reload=10s", `msg="shutting down" timeout=15s`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
	before, err := os.ReadFile(credFile)
	if err != nil {
		t.Fatal(err)
	}

	// A second start prints no credentials, leaves the file as it was and
	// warns that it is still there.
	p = serve(t, nil, "--data", data, "--addr", addr)
	if strings.Contains(p.output(), "First start") {
		t.Errorf("a second start announced credentials again:\n%s", p.output())
	}
	if after, err := os.ReadFile(credFile); err != nil || string(after) != string(before) {
		t.Errorf("a second start rewrote %s (%v)", credFile, err)
	}
	// stderr arrives through a pipe of its own: wait for the line.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.stderr.String(), "credentials are still in the data folder") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if logs := p.stderr.String(); !strings.Contains(logs, "level=WARN msg=\"the first start's admin credentials are still in the data folder") || strings.Contains(logs, cred.ClientSecret) {
		t.Errorf("a second start with the file left does not warn about it (or shows the secret):\n%s", logs)
	}
	p.stop(t)
}

type bootstrapFile struct {
	TenantID, ClientID, ClientSecret, TokenURL, Scope string
}

// readBootstrapFile reads the first start's credentials and checks that
// only the server's user can read them.
func readBootstrapFile(t *testing.T, path string) bootstrapFile {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the first start wrote no credentials file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: mode %v, want 0600", path, fi.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f bootstrapFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// With --log-format json every line the process writes is JSON: the log,
// the CA hint, the first-start notice (without the secret), the shutdown;
// and so is the error of a start that fails, in flags or in the
// configuration.
func TestServeProcessJSONLogIsAllJSON(t *testing.T) {
	data, addr := t.TempDir(), freeAddr(t)
	cmd := exec.Command(binary(t), "serve", "--log-format", "json", "--data", data, "--addr", addr, "--log-level", "debug")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stderr.String(), `"msg":"serving"`) {
		if time.Now().After(deadline) {
			t.Fatalf("tessera serve did not start:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// At debug, a token issued is an audit line too (JSON like the rest).
	cred := readBootstrapFile(t, filepath.Join(data, server.BootstrapFile))
	resp, err := httpsClient(t, filepath.Join(data, "ca.pem")).PostForm(cred.TokenURL, url.Values{"grant_type": {"client_credentials"},
		"client_id": {cred.ClientID}, "client_secret": {cred.ClientSecret}, "scope": {cred.Scope}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("client credentials: %d", resp.StatusCode)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	msgs := jsonLines(t, "stdout", stdout.String())
	msgs = append(msgs, jsonLines(t, "stderr", stderr.String())...)
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"serving HTTPS with the local CA", "first start: created the home tenant", "serving", "audit", "shutting down"} {
		if !strings.Contains(all, want) {
			t.Errorf("no JSON line with %q among:\n%s", want, all)
		}
	}
	if strings.Contains(stdout.String()+stderr.String(), cred.ClientSecret) {
		t.Error("the bootstrap secret is in the JSON log")
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--key-reload", "0s"}, 2, "--key-reload"},                // configuration
		{[]string{"--key-reload", "abc"}, 2, "--key-reload"},               // flag parsing
		{[]string{"--addr", busy.Addr().String()}, 1, "is already in use"}, // opening
	} {
		cmd := exec.Command(binary(t), append([]string{"serve", "--log-format", "json", "--data", t.TempDir(), "--addr", freeAddr(t)}, tc.args...)...)
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if code := exitCode(err); code != tc.code {
			t.Errorf("serve %v: exit %d, want %d", tc.args, code, tc.code)
		}
		msgs := jsonLines(t, "stderr", stdout.String()+stderr.String())
		if len(msgs) == 0 || !strings.Contains(strings.Join(msgs, "\n"), tc.want) {
			t.Errorf("serve %v: no JSON line says %q:\n%s", tc.args, tc.want, stderr.String())
		}
	}
}

// jsonLines decodes every line of out as a JSON object with a msg and
// returns the messages.
func jsonLines(t *testing.T, name, out string) []string {
	t.Helper()
	var msgs []string
	for line := range strings.Lines(out) {
		var rec struct {
			Msg   string `json:"msg"`
			Level string `json:"level"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Msg == "" || rec.Level == "" {
			t.Errorf("%s: a line that is not a JSON log record: %q", name, line)
			continue
		}
		msgs = append(msgs, rec.Msg)
	}
	return msgs
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestServeProcessBehindProxyWithMasterKeyFromEnv(t *testing.T) {
	data, addr := t.TempDir(), freeAddr(t)
	key := "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes, base64
	p := serve(t, []string{"TESSERA_MASTER_KEY=" + key, "TESSERA_HTTP=true"}, "--data", data, "--addr", addr, "--public-url", "https://id.example.test")
	if _, err := os.Stat(filepath.Join(data, "master.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a master key file was written although TESSERA_MASTER_KEY is set: %v", err)
	}
	status, body := get(t, http.DefaultClient, "http://"+addr+"/default/v2.0/.well-known/openid-configuration")
	var doc map[string]any
	json.Unmarshal([]byte(body), &doc)
	if status != 200 || !strings.HasPrefix(doc["issuer"].(string), "https://id.example.test/") || !strings.HasPrefix(doc["token_endpoint"].(string), "https://id.example.test/") {
		t.Errorf("discovery behind a proxy: %d %v", status, doc)
	}
	p.stop(t)

	// The signing keys are sealed with that master key: another refuses.
	cmd := exec.Command(binary(t), "serve", "--data", data, "--addr", addr, "--http")
	cmd.Env = append(os.Environ(), "TESSERA_MASTER_KEY=ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "wrong master key") {
		t.Errorf("start with another master key: %v\n%s", err, out)
	}
}

func TestServeProcessWithOwnCertificate(t *testing.T) {
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "own"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kder, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
	addr := freeAddr(t)
	p := serve(t, nil, "--data", filepath.Join(dir, "data"), "--addr", addr, "--tls-cert", certFile, "--tls-key", keyFile)
	if strings.Contains(p.output(), "SSL_CERT_FILE") {
		t.Error("with its own certificate the server still talks of the local CA")
	}
	if status, _ := get(t, httpsClient(t, certFile), "https://"+addr+"/healthz"); status != 200 {
		t.Errorf("/healthz over the given certificate: %d", status)
	}
	p.stop(t)
}

func TestServeRejectsBadConfigurationAllAtOnce(t *testing.T) {
	out, err := exec.Command(binary(t), "serve", "--addr", "nope", "--signing-alg", "HS256", "--data", t.TempDir()).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2\n%s", err, out)
	}
	if !strings.Contains(string(out), "--addr") || !strings.Contains(string(out), "--signing-alg") {
		t.Errorf("not every problem reported:\n%s", out)
	}
}

// SQLite mode is one server per data folder: a second `tessera serve` on
// it stops at once, says why and what to do, and leaves the first serving.
func TestServeProcessRefusesASecondServerOnOneDataFolder(t *testing.T) {
	data, addr := t.TempDir(), freeAddr(t)
	first := serve(t, nil, "--data", data, "--addr", addr)
	out, err := exec.Command(binary(t), "serve", "--data", data, "--addr", freeAddr(t)).CombinedOutput()
	if err == nil {
		t.Fatalf("a second server on %s started:\n%s", data, out)
	}
	for _, want := range []string{"already running on this database", "one server per data folder", "postgres://"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the second server's message lacks %q:\n%s", want, out)
		}
	}
	c := httpsClient(t, filepath.Join(data, "ca.pem"))
	if status, _ := get(t, c, "https://"+addr+"/readyz"); status != 200 {
		t.Errorf("the first server after the refused second: /readyz %d", status)
	}
	if err := first.stop(t); err != nil {
		t.Fatal(err)
	}
	// With the first gone, the folder can be served again.
	serve(t, nil, "--data", data, "--addr", addr).stop(t)
}

// TestVersionNamesTheCommit: a binary built from a checkout says which
// commit it is (`tessera version`, `--version`), so that an operator and a
// bug report can name exactly what runs.
func TestVersionNamesTheCommit(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (%v): nothing to compare the stamped revision with", err)
	}
	bin := binary(t)
	rev, err := exec.Command(bin, "version", "--query", "revision", "-o", "tsv").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(rev)), strings.TrimSpace(string(head)); got != want {
		t.Fatalf("tessera version names revision %q, the checkout is at %q", got, want)
	}
	line, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	// A build from a checkout carries a version Go derives from the tags or
	// the commit (v0.0.0-<time>-<commit>, "+dirty" with local changes),
	// then the revision itself.
	if want := "(" + strings.TrimSpace(string(head))[:12]; !strings.HasPrefix(string(line), "tessera v") || !strings.Contains(string(line), want) {
		t.Fatalf("--version = %q, want a pseudo-version and %q", line, want)
	}
}
