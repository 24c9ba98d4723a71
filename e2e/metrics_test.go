package e2e

import (
	"bufio"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/config"
)

// scrape returns the admin listener's /metrics as metric line -> value
// (the line's name and labels as exposed, e.g.
// `tessera_oauth_errors_total{error="invalid_grant"}`).
func scrape(t *testing.T, adminAddr string) map[string]float64 {
	t.Helper()
	status, body := plainGet(t, "http://"+adminAddr+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics on the admin listener: %d\n%s", status, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func plainGet(t *testing.T, rawURL string) (int, string) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The admin listener serves metrics that move with the traffic on the
// public listener: a token issued counts under its grant and tenant, an
// error under its OAuth code, and latency under the route pattern, so
// that a tenant id never becomes a label of the route.
func TestAdminListenerMetrics(t *testing.T) {
	adminAddr := freeAddr(t)
	h := startWith(t, t.TempDir(), freeAddr(t), func(c *config.Config) { c.AdminAddr = adminAddr })
	if got := h.srv.AdminAddr(); got != adminAddr {
		t.Fatalf("AdminAddr() = %q, want %q", got, adminAddr)
	}
	a := setupApps(t, h)
	unsupported := `tessera_oauth_errors_total{error="unsupported_grant_type"}`
	before := scrape(t, adminAddr)

	h.clientCredentials(a.client, a.clientSecret, "api://"+a.api+"/.default", false)
	status, _, _ := h.postForm("/"+h.tenant()+"/oauth2/v2.0/token", url.Values{"grant_type": {"urn:example:nope"}}, "", "")
	if status != http.StatusBadRequest {
		t.Fatalf("unsupported grant: %d, want 400", status)
	}

	after := scrape(t, adminAddr)
	issued := `tessera_tokens_issued_total{grant="client_credentials",tenant="` + h.tenant() + `"}`
	if d := after[issued] - before[issued]; d != 1 {
		t.Errorf("%s moved by %v after one token, want 1", issued, d)
	}
	if d := after[unsupported] - before[unsupported]; d != 1 {
		t.Errorf("%s moved by %v after one such error, want 1", unsupported, d)
	}
	route := `tessera_http_request_duration_seconds_count{code="200",method="POST",route="POST /{tenant}/oauth2/v2.0/token"}`
	if after[route] < 1 {
		t.Errorf("%s = %v, want the token request counted under its route pattern", route, after[route])
	}
	for line := range after {
		if strings.HasPrefix(line, "tessera_http_request_duration_seconds") && strings.Contains(line, h.tenant()) {
			t.Errorf("a tenant id made its way into a route label: %s", line)
		}
	}
	if age, ok := after["tessera_signing_key_age_seconds"]; !ok || age < 0 {
		t.Errorf("tessera_signing_key_age_seconds = %v (present %v), want a non-negative age", age, ok)
	}
	if _, ok := after["tessera_store_batch_size_count"]; !ok {
		t.Error("tessera_store_batch_size is not exported")
	}

	// pprof only with --pprof.
	if status, _ := plainGet(t, "http://"+adminAddr+"/debug/pprof/"); status != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ without --pprof: %d, want 404", status)
	}
	// Neither is on the public listener.
	for _, path := range []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap"} {
		resp, err := h.http.Get(h.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "tessera_") || strings.Contains(string(body), "goroutine") {
			t.Errorf("public listener serves %s: %d\n%.200s", path, resp.StatusCode, body)
		}
	}
}

// --pprof adds the profiles to the admin listener.
func TestAdminListenerPprof(t *testing.T) {
	adminAddr := freeAddr(t)
	h := startWith(t, t.TempDir(), freeAddr(t), func(c *config.Config) { c.AdminAddr, c.Pprof = adminAddr, true })
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/goroutine?debug=1"} {
		if status, body := plainGet(t, "http://"+adminAddr+path); status != http.StatusOK {
			t.Errorf("GET %s with --pprof: %d\n%.200s", path, status, body)
		}
	}
	if status, _ := plainGet(t, "http://"+adminAddr+"/metrics"); status != http.StatusOK {
		t.Errorf("GET /metrics with --pprof: %d, want 200", status)
	}
	resp, err := h.http.Get(h.srv.URL + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Error("the public listener serves /debug/pprof/ with --pprof")
	}
}

// Without --admin-addr there is no admin listener, and --pprof alone is a
// configuration error, not profiles on the public listener.
func TestAdminListenerOff(t *testing.T) {
	h := start(t)
	if got := h.srv.AdminAddr(); got != "" {
		t.Fatalf("AdminAddr() = %q without --admin-addr, want none", got)
	}
	c := config.Default()
	c.Pprof = true
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--pprof needs --admin-addr") {
		t.Fatalf("--pprof without --admin-addr: %v, want it refused", err)
	}
	c.AdminAddr = c.Addr
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--admin-addr") {
		t.Fatalf("--admin-addr equal to --addr: %v, want it refused", err)
	}
}
