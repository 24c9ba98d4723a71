package cli

import (
	"bytes"
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runHealth runs `tessera health args…` in-process and returns its exit
// code (0 on success) and output.
func runHealth(t *testing.T, args ...string) (int, string) {
	t.Helper()
	root := NewRoot(Deps{})
	var out bytes.Buffer
	root.SetArgs(append([]string{"health", "--timeout", "10s"}, args...))
	root.SetOut(&out)
	root.SetErr(&out)
	if err := root.ExecuteContext(context.Background()); err != nil {
		return ExitCode(err), out.String() + err.Error()
	}
	return 0, out.String()
}

// readyServer answers /readyz with status, and counts the requests.
func readyServer(status int, hits *int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		*hits++
		w.WriteHeader(status)
		w.Write([]byte(`{"status":"ok"}`))
	})
}

// The probe follows serve's settings: --http and --addr (0.0.0.0 probed on
// loopback) find the server, 200 exits 0 and anything else 1; a server
// that is not there is unhealthy, not a usage error.
func TestHealthProbesReadyzAtTheServeAddress(t *testing.T) {
	var hits int
	ok := httptest.NewServer(readyServer(200, &hits))
	defer ok.Close()
	_, port, _ := net.SplitHostPort(ok.Listener.Addr().String())
	if code, out := runHealth(t, "--http", "--addr", "0.0.0.0:"+port); code != 0 || hits != 1 || !strings.Contains(out, "/readyz") {
		t.Errorf("a ready server on 0.0.0.0:%s: exit %d, %d requests, output %q", port, code, hits, out)
	}
	t.Setenv("TESSERA_HTTP", "true")
	t.Setenv("TESSERA_ADDR", ok.Listener.Addr().String())
	if code, out := runHealth(t); code != 0 || hits != 2 {
		t.Errorf("from TESSERA_* variables: exit %d, %d requests, output %q", code, hits, out)
	}

	failing := httptest.NewServer(readyServer(503, &hits))
	defer failing.Close()
	if code, out := runHealth(t, "--http", "--addr", failing.Listener.Addr().String()); code != ExitError || !strings.Contains(out, "503") {
		t.Errorf("a server answering 503: exit %d, output %q; want exit 1 naming the status", code, out)
	}
	failing.Close()
	if code, out := runHealth(t, "--http", "--addr", failing.Listener.Addr().String()); code != ExitError {
		t.Errorf("no server: exit %d, output %q; want 1", code, out)
	}
	if code, out := runHealth(t, "--url", "http://"+ok.Listener.Addr().String()+"/nothing"); code != ExitError || !strings.Contains(out, "404") {
		t.Errorf("--url to a 404: exit %d, output %q; want 1", code, out)
	}
	if code, _ := runHealth(t, "--url", "ftp://x"); code != ExitUsage {
		t.Errorf("--url ftp://x: exit %d, want %d", code, ExitUsage)
	}
}

// Over HTTPS the probe verifies the certificate: with the local CA of the
// data folder, or under the public URL's name; an untrusted certificate or
// a wrong name is unhealthy, never skipped.
func TestHealthVerifiesTheServerCertificate(t *testing.T) {
	var hits int
	srv := httptest.NewTLSServer(readyServer(200, &hits))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	data := t.TempDir()

	if code, out := runHealth(t, "--data", data, "--addr", addr); code != ExitError || hits != 0 {
		t.Errorf("an untrusted certificate: exit %d, %d requests, output %q; want 1 before any request", code, hits, out)
	}
	// The test server's certificate (for 127.0.0.1 and example.com) as the
	// data folder's local CA.
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(data, "ca.pem"), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := runHealth(t, "--data", data, "--addr", addr); code != 0 || hits != 1 {
		t.Errorf("the local CA's certificate: exit %d, output %q", code, out)
	}
	if code, out := runHealth(t, "--data", data, "--addr", addr, "--public-url", "https://example.com"); code != 0 || hits != 2 {
		t.Errorf("verified as the public host: exit %d, output %q", code, out)
	}
	if code, out := runHealth(t, "--data", data, "--addr", addr, "--public-url", "https://id.other.test"); code != ExitError || hits != 2 {
		t.Errorf("a certificate not for the public host: exit %d, output %q; want 1", code, out)
	}
}
