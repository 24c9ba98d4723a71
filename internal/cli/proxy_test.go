package cli

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

func TestProxyUsage(t *testing.T) {
	tests := []struct {
		rule string
		args []string
	}{
		{"required flags", []string{"proxy"}},
		{"upstream must be absolute", []string{"proxy", "--upstream", "/api", "--authority", "https://127.0.0.1/t/v2.0", "--audience", "a"}},
		{"unknown flag", []string{"proxy", "--no-such-flag"}},
		{"revocation poll is not negative", []string{"proxy", "--upstream", "http://127.0.0.1:1", "--authority", "https://127.0.0.1/t/v2.0", "--audience", "a", "--revocation-poll", "-1s"}},
		{"ca file must hold a certificate", []string{"proxy", "--upstream", "http://127.0.0.1:1", "--authority", "https://127.0.0.1/t/v2.0", "--audience", "a", "--ca-file", os.DevNull}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			root := NewRoot(Deps{})
			root.SetArgs(tt.args)
			root.SetOut(io.Discard)
			root.SetErr(io.Discard)
			if err := root.ExecuteContext(context.Background()); ExitCode(err) != ExitUsage {
				t.Fatalf("exit %d (%v), want %d", ExitCode(err), err, ExitUsage)
			}
		})
	}
}

// The command end to end: trusting the authority by --ca-file, refusing
// before the upstream, forwarding identity, stopping when its context ends.
func TestProxyCommand(t *testing.T) {
	idp := guardtest.NewAuthority(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, idp.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	seen := make(chan http.Header, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
	}))
	defer upstream.Close()

	const appID = "1f0c2b3d-4e5f-4a3c-9d7a-a3c1a0f26f52"
	// Revoked before the proxy starts: it reads the whole feed at start.
	revokedEarly := idp.AppClaims(appID, "Reader")
	idp.Revoke(guardtest.KindToken, revokedEarly["jti"].(string), time.Now(), time.Now().Add(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	root := NewRoot(Deps{})
	root.SetArgs([]string{"proxy", "--upstream", upstream.URL, "--authority", idp.URL(), "--audience", "api://" + appID,
		"--require-role", "Reader", "--tenant-header", "--ca-file", ca, "--addr", "127.0.0.1:0", "--revocation-poll", "20ms"})
	root.SetOut(io.Discard)
	root.SetErr(pw)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx); pw.Close() }()

	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`addr=(http://\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select { // keep draining: a blocked pipe would block the proxy's log
				case addr <- m[1]:
				default:
				}
			}
		}
		close(addr)
	}()
	base, ok := <-addr
	if !ok {
		t.Fatalf("proxy did not start: %v", <-done)
	}

	call := func(tok, tenant string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/studies", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		req.Header.Set("X-Tenant-ID", tenant)
		req.Header.Set("X-Tessera-Roles", "Admin")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := call("", idp.TenantID); s != http.StatusUnauthorized {
		t.Fatalf("no token: %d", s)
	}
	if s := call(idp.Mint(t, idp.AppClaims(appID, "Writer")), idp.TenantID); s != http.StatusForbidden {
		t.Fatalf("no Reader role: %d", s)
	}
	reader := idp.Mint(t, idp.AppClaims(appID, "Reader"))
	if s := call(reader, guardtest.NewGUID()); s != http.StatusForbidden {
		t.Fatalf("other tenant: %d", s)
	}
	// RFC 6750 §3.1: a missing required parameter is invalid_request.
	if s := call(reader, ""); s != http.StatusBadRequest {
		t.Fatalf("no X-Tenant-ID: %d, want 400", s)
	}
	if s := call(reader, "contoso.example"); s != http.StatusOK {
		t.Fatalf("admitted: %d", s)
	}
	h := <-seen
	if h.Get(guard.HeaderRoles) != "Reader" || h.Get(guard.HeaderTenantID) != idp.TenantID {
		t.Fatalf("upstream identity: roles %q tenant %q", h.Get(guard.HeaderRoles), h.Get(guard.HeaderTenantID))
	}

	// RFC 6750 §3.1: a revoked token is an invalid one.
	if s := call(idp.Mint(t, revokedEarly), idp.TenantID); s != http.StatusUnauthorized {
		t.Fatalf("token revoked before start: %d", s)
	}
	// Revoked while the proxy runs: the next poll picks it up. Only the
	// outcome is awaited, under a deadline.
	idp.Revoke(guardtest.KindClient, guardtest.ClientID, time.Now().Add(time.Minute), time.Now().Add(2*time.Hour))
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := call(reader, idp.TenantID)
		if s == http.StatusUnauthorized {
			break
		}
		if s != http.StatusOK {
			t.Fatalf("while waiting for the revocation: %d", s)
		}
		<-seen
		if time.Now().After(deadline) {
			t.Fatal("the proxy did not learn of the client's revocation")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case h := <-seen:
		t.Fatalf("upstream saw a refused request: %v", h)
	default:
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("proxy stopped with %v", err)
	}
}
