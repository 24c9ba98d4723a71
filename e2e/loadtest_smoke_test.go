package e2e

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/examples/studies"
	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/internal/cli"
	"github.com/tessera-id/tessera/internal/loadtest"
)

// loadReport is the part of `tessera loadtest -o json` the smoke run reads.
type loadReport struct {
	Scenario  string                 `json:"scenario"`
	Requests  int64                  `json:"requests"`
	Errors    map[string]int64       `json:"errors"`
	RPS       float64                `json:"rps"`
	LatencyMS map[string]float64     `json:"latency_ms"`
	Phases    map[string]any         `json:"phases"`
	Verified  *loadtest.Verification `json:"verified"`
}

func (h *harness) loadtest(t *testing.T, args ...string) loadReport {
	t.Helper()
	full := append([]string{"loadtest", "--url", h.srv.URL, "--ca-file", h.srv.CAFile, "-o", "json"}, args...)
	out, errOut, err := h.cli(full...)
	if err != nil {
		t.Fatalf("tessera loadtest %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	var r loadReport
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&r); err != nil || dec.More() {
		t.Fatalf("loadtest output is not exactly one JSON object (%v):\n%s", err, out)
	}
	return r
}

// TestLoadtestSetup creates the scenarios' objects through the admin API
// twice with one tag: the second run finds what the first made, and only
// the newest secret works.
func TestLoadtestSetup(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	tr, err := loadtest.NewTransport(h.srv.CAFile, 2, h.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := loadtest.SetupConfig{BaseURL: h.srv.URL, Tenant: "default", Transport: tr, AdminToken: h.adminToken(), Tag: "smoke"}
	first, err := loadtest.Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	second, err := loadtest.Setup(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if first.APIAppID != second.APIAppID || first.ClientID != second.ClientID || first.PublicClientID != second.PublicClientID || first.User != second.User {
		t.Errorf("a second setup made new objects:\n%+v\n%+v", first, second)
	}
	if first.ClientSecret == second.ClientSecret || first.Password == second.Password {
		t.Error("a second setup kept the secret or the password")
	}
	tok := h.clientCredentials(second.ClientID, second.ClientSecret, second.APIScope, false)
	if roles, _ := claimsOf(t, tok)["roles"].([]any); len(roles) != 1 || roles[0] != "Reader" {
		t.Errorf("the setup client's token has roles %v, want [Reader]", roles)
	}
	status, _, _ := h.postForm("/default/oauth2/v2.0/token", map[string][]string{"grant_type": {"client_credentials"},
		"client_id": {first.ClientID}, "client_secret": {first.ClientSecret}, "scope": {first.APIScope}}, "", "")
	if status != 401 && status != 400 {
		t.Errorf("the first setup's secret still works after the second (status %d)", status)
	}
	ten, err := h.srv.Directory.ResolveTenant(ctx, h.tenant())
	if err != nil {
		t.Fatal(err)
	}
	if ten.Policy.ProductLoginResource != "api://"+second.APIAppID || ten.Policy.RefreshGrace <= 0 {
		t.Errorf("tenant policy after setup: product login %q, refresh grace %v", ten.Policy.ProductLoginResource, ten.Policy.RefreshGrace)
	}
}

// TestLoadtestSmoke runs every scenario for five seconds against a real
// server and the example API behind the guard: each must send requests and
// see no error at all, and the refresh chains' last tokens must all still
// rotate afterwards (--verify). The numbers of a real measurement come
// from bench/compare.sh.
func TestLoadtestSmoke(t *testing.T) {
	h := start(t)
	b := h.srv.Bootstrap
	bound := []string{"--duration", "5s", "--warmup", "0", "--concurrency", "4"}

	// --setup through the CLI, as bench/compare.sh runs it.
	r := h.loadtest(t, append([]string{"--scenario", "client-credentials", "--setup", "--setup-tag", "smoke",
		"--admin-client-id", b.ClientID, "--admin-client-secret", b.ClientSecret}, bound...)...)
	if r.Requests == 0 || len(r.Errors) != 0 {
		t.Fatalf("client-credentials with --setup: %+v", r)
	}

	// The same setup again, here, to learn the credentials for the rest.
	tr, err := loadtest.NewTransport(h.srv.CAFile, 4, h.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	made, err := loadtest.Setup(context.Background(), loadtest.SetupConfig{BaseURL: h.srv.URL, Tenant: "default", Transport: tr, AdminToken: h.adminToken(), Tag: "smoke"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := guard.New(context.Background(), guard.Config{Authority: h.srv.URL + "/default/v2.0", Audiences: []string{made.APIScope[:len(made.APIScope)-len("/.default")]},
		TenantHeader: "X-Tenant-ID", HTTPClient: h.http})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	api := httptest.NewServer(studies.NewHandler(g))
	defer api.Close()

	client := []string{"--client-id", made.ClientID, "--client-secret", made.ClientSecret, "--scope", made.APIScope}
	user := []string{"--client-id", made.PublicClientID, "--redirect-uri", made.RedirectURI, "--scope", made.UserScope, "--user", made.User, "--password", made.Password}
	// Where every request hashes a password (auth-code, password-login)
	// one virtual user: the server hashes at most as many passwords at
	// once as it has cores and answers 503 to a sign-in that waits for a
	// slot longer than two seconds, which a hash under -race on a busy CI
	// machine can take. That is the overload answer working (see
	// TestSignInsBeyondHashSlots); this run checks that each scenario works.
	hashing := []string{"--concurrency", "1"}
	for _, tc := range []struct {
		scenario string
		args     []string
	}{
		{"client-credentials", client},
		{"client-credentials-v1", client},
		{"guard", append([]string{"--api-url", api.URL}, client...)},
		{"refresh", append([]string{"--verify"}, user...)},
		{"auth-code", append(hashing, user...)},
		{"device-code", user},
		{"password-login", append(hashing, "--user", made.User, "--password", made.Password)},
	} {
		t.Run(tc.scenario, func(t *testing.T) {
			// A later --concurrency (in tc.args) wins over bound's.
			r := h.loadtest(t, append(append([]string{"--scenario", tc.scenario}, bound...), tc.args...)...)
			t.Logf("%s: %d requests, %.1f/s, p50 %.1f ms, p99 %.1f ms", tc.scenario, r.Requests, r.RPS, r.LatencyMS["p50"], r.LatencyMS["p99"])
			if r.Scenario != tc.scenario || r.Requests == 0 || len(r.Errors) != 0 {
				t.Errorf("%+v: want requests and no errors", r)
			}
			if v := r.Verified; tc.scenario == "refresh" && (v == nil || v.Checked != 4 || v.Lost != 0) {
				t.Errorf("refresh --verify: %+v, want all 4 chains checked and none lost", v)
			}
			if (tc.scenario == "auth-code" || tc.scenario == "device-code") && r.Phases["signin"] == nil {
				t.Errorf("%s reports no signin phase: %v", tc.scenario, r.Phases)
			}
		})
	}
}

// TestLoadtestRefusesElsewhere: what --setup makes is for --url alone, and
// a bad invocation is a usage error (exit 2) before anything is sent.
func TestLoadtestRefusesElsewhere(t *testing.T) {
	h := start(t)
	for _, args := range [][]string{
		{"--scenario", "client-credentials", "--setup", "--admin-token", "x", "--token-url", "https://elsewhere.example/token"},
		{"--scenario", "no-such-scenario"},
		{"--scenario", "client-credentials", "--duration", "0"},
	} {
		_, errOut, err := h.cli(append([]string{"loadtest", "--url", h.srv.URL, "--ca-file", h.srv.CAFile}, args...)...)
		if cli.ExitCode(err) != cli.ExitUsage {
			t.Errorf("%v: exit %d (%v), want 2\n%s", args, cli.ExitCode(err), err, errOut)
		}
	}
}
