package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/directory"
)

// bansServer starts a server that counts failed sign-ins from loopback:
// --rate-exempt names another network, and 3 failures ban an address.
func bansServer(t *testing.T) (*harness, userApps) {
	t.Helper()
	h := startWith(t, t.TempDir(), freeAddr(t), func(c *config.Config) {
		c.RateExempt = "192.0.2.0/24"
		c.BanAddressFailures = 3
	})
	u := setupUserApps(t, h)
	u.adminConsent(t, h, "openid profile offline_access api://studies/read")
	// The product login issues tokens only for the resource the tenant's
	// policy names (review L1); the logins below name it.
	if _, err := h.srv.Directory.SetTenantPolicy(context.Background(), h.tenant(), directory.TenantPolicy{ProductLoginResource: "api://studies"}); err != nil {
		t.Fatal(err)
	}
	return h, u
}

// refusal is what a failure message may show of an answer: its error
// fields, never a token that a broken rule let through.
func refusal(body map[string]any) string {
	return fmt.Sprintf("error %v, description %v, codes %v", body["error"], body["error_description"], body["error_codes"])
}

// banProductLogin posts a product login from 127.0.0.1.
func banProductLogin(t *testing.T, h *harness, user, password string) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password, "tenant": "default", "resource": "api://studies"})
	req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/users/login", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	status, out, _ := h.do(req)
	return status, out
}

// banPasswordGrant asks for a token with the password grant (RFC 6749 §4.3).
func banPasswordGrant(h *harness, u userApps, user, password string) (int, map[string]any) {
	form := url.Values{"grant_type": {"password"}, "client_id": {u.native.AppID}, "username": {user}, "password": {password},
		"scope": {"openid api://studies/read"}}
	status, body, _ := h.postForm("/"+h.tenant()+"/oauth2/v2.0/token", form, "", "")
	return status, body
}

// banWebSignIn signs in on the sign-in page and returns the page that
// answers, or the redirect when it went back to the client.
func banWebSignIn(t *testing.T, h *harness, u userApps, user, password string) (page, *url.URL) {
	t.Helper()
	conf := u.oauth2Config(h)
	authURL := conf.AuthCodeURL(randomString(t), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	b := h.newBrowser(t)
	p, next := b.get(authURL)
	if next != nil || p.kind != "signin" {
		t.Fatalf("authorize: %q page, redirect %v", p.kind, next)
	}
	return b.submit(p.form(t, "signin"), url.Values{"username": {user}, "password": {password}}, "")
}

// bansList runs `tessera admin bans list` against the server.
func bansList(t *testing.T, h *harness, token string) []adminapi.Ban {
	t.Helper()
	out, errOut, err := h.cli("admin", "bans", "list", "--server", h.srv.URL, "--token", token, "--ca-file", h.srv.CAFile)
	if err != nil {
		t.Fatalf("tessera admin bans list: %v\n%s", err, errOut)
	}
	var bans []adminapi.Ban
	if err := json.Unmarshal([]byte(out), &bans); err != nil {
		t.Fatalf("bans list output: %v\n%s", err, out)
	}
	return bans
}

func bansRemove(t *testing.T, h *harness, token string, args ...string) {
	t.Helper()
	full := append([]string{"admin", "bans", "remove"}, args...)
	full = append(full, "--server", h.srv.URL, "--token", token, "--ca-file", h.srv.CAFile)
	if _, errOut, err := h.cli(full...); err != nil {
		t.Fatalf("tessera %s: %v\n%s", strings.Join(full[:4], " "), err, errOut)
	}
}

// TestAddressBanEndToEnd: failed sign-ins from 127.0.0.1 (unknown names)
// ban the address; then the right password is refused on every channel
// with the ban's answer; `tessera admin bans list` shows the address and
// `bans remove --address` lifts it.
func TestAddressBanEndToEnd(t *testing.T) {
	h, u := bansServer(t)
	admin := h.adminToken()
	for _, name := range []string{"mallory", "trent", "eve"} {
		if status, body := banProductLogin(t, h, name, "spraying a password"); status != 401 {
			t.Fatalf("failed login of %s: %d %s", name, status, refusal(body))
		}
	}

	status, body := banProductLogin(t, h, "alice", alicePassword)
	if status != 429 || body["error"] != "too_many_attempts" || !strings.Contains(fmt.Sprint(body["error_description"]), "from this address") {
		t.Errorf("product login from a banned address with the right password: %d %s", status, refusal(body))
	}
	status, body = banPasswordGrant(h, u, "alice", alicePassword)
	if codes, _ := body["error_codes"].([]any); status != 400 || body["error"] != "invalid_grant" || len(codes) != 1 || codes[0] != float64(50053) ||
		!strings.Contains(fmt.Sprint(body["error_description"]), "address is blocked") {
		t.Errorf("password grant from a banned address: %d %s, want invalid_grant AADSTS50053", status, refusal(body))
	}
	p, next := banWebSignIn(t, h, u, "alice", alicePassword)
	if next != nil || p.kind != "signin" || !strings.Contains(p.message(), "Sign-in from your network is blocked") {
		t.Errorf("sign-in page from a banned address: %q page %q, redirect %v", p.kind, p.message(), next)
	}

	bans := bansList(t, h, admin)
	if len(bans) != 1 || bans[0].Type != "address" || bans[0].Address != "127.0.0.1" || bans[0].Failures != 3 || bans[0].BannedUntil == nil {
		t.Fatalf("bans list: %+v", bans)
	}
	bansRemove(t, h, admin, "--address", "127.0.0.1")
	if status, body := banProductLogin(t, h, "alice", alicePassword); status != 200 {
		t.Errorf("product login after the ban was lifted: %d %s", status, refusal(body))
	}
	// Signed in: on to consent (the client asks for email too), or back
	// to the client.
	if p, next := banWebSignIn(t, h, u, "alice", alicePassword); next == nil && p.kind != "consent" {
		t.Errorf("sign-in page after the ban was lifted: %q page %q", p.kind, p.message())
	}
	if bans := bansList(t, h, admin); len(bans) != 0 {
		t.Errorf("bans after the lift: %+v", bans)
	}
	h.assertNotLogged(alicePassword)
}

// TestUserLockoutEndToEnd: wrong passwords lock the account (the tenant's
// policy); `tessera admin bans list` shows the user and `bans remove
// --user` lifts the lock, after which the right password works.
func TestUserLockoutEndToEnd(t *testing.T) {
	h, _ := bansServer(t)
	admin := h.adminToken()
	// The whole policy: bansServer's product-login resource, and the lockout.
	if _, err := h.srv.Directory.SetTenantPolicy(t.Context(), h.tenant(), directory.TenantPolicy{ProductLoginResource: "api://studies", LockoutThreshold: 2}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		banProductLogin(t, h, "alice", "not the password")
	}
	if status, body := banProductLogin(t, h, "alice", alicePassword); status != 429 || strings.Contains(fmt.Sprint(body["error_description"]), "address") {
		t.Fatalf("right password of a locked account: %d %s, want the account's lockout", status, refusal(body))
	}
	bans := bansList(t, h, admin)
	if len(bans) != 1 || bans[0].Type != "user" || bans[0].UserPrincipalName != "alice@default" || bans[0].FailedSignIns != 2 || bans[0].LockedUntil == nil {
		t.Fatalf("bans list: %+v", bans)
	}
	bansRemove(t, h, admin, "--user", "alice@default")
	if status, body := banProductLogin(t, h, "alice", alicePassword); status != 200 {
		t.Errorf("right password after the lockout was lifted: %d %s", status, refusal(body))
	}
	if bans := bansList(t, h, admin); len(bans) != 0 {
		t.Errorf("bans after the lift: %+v", bans)
	}
}
