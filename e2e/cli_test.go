package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// The az-shaped flow: log in as a service principal, get a token with
// --query accessToken -o tsv, get it again from the cache, call an API.
func TestCLILoginAndGetAccessToken(t *testing.T) {
	h := start(t)
	a := setupApps(t, h)
	out, errOut, err := h.cli("login", "--service-principal", "-u", a.client, "-p", a.clientSecret, "--tenant", "default",
		"--authority", h.srv.URL, "--ca-file", h.srv.CAFile, "--allow-no-subscriptions")
	if err != nil {
		t.Fatalf("login: %v\n%s", err, errOut)
	}
	var accounts []map[string]any
	if err := json.Unmarshal([]byte(out), &accounts); err != nil || len(accounts) != 1 || accounts[0]["tenantId"] != h.tenant() {
		t.Fatalf("login output %s", out)
	}
	if strings.Contains(out+errOut, a.clientSecret) {
		t.Error("login printed the secret")
	}

	issued := func() int { return strings.Count(h.logs.String(), "msg=\"issued token\"") }
	scope := "api://" + a.api + "/.default"
	out, errOut, err = h.cli("account", "get-access-token", "--scope", scope, "--query", "accessToken", "-o", "tsv")
	if err != nil {
		t.Fatalf("get-access-token: %v\n%s", err, errOut)
	}
	if !strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 || strings.Count(out, ".") != 2 {
		t.Fatalf("tsv output is not the token alone on one line: %q", out)
	}
	first := strings.TrimSpace(out)
	if c := claimsOf(t, first); c["aud"] != a.api || c["azp"] != a.client {
		t.Errorf("token claims %v", c)
	}
	n := issued()
	out, _, err = h.cli("account", "get-access-token", "--scope", scope)
	if err != nil {
		t.Fatal(err)
	}
	var full map[string]any
	json.Unmarshal([]byte(out), &full)
	if full["accessToken"] != first {
		t.Error("the second call did not serve the cached token")
	}
	if issued() != n {
		t.Error("the second call asked the server for a new token")
	}
	for _, f := range []string{"accessToken", "expiresOn", "expires_on", "subscription", "tenant", "tokenType"} {
		if _, ok := full[f]; !ok {
			t.Errorf("get-access-token output lacks az's %s: %v", f, full)
		}
	}
	if _, ok := full["expires_on"].(float64); !ok {
		t.Errorf("expires_on %v is not a JSON number", full["expires_on"])
	}

	if _, _, err := h.cli("logout"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.cli("account", "get-access-token", "--scope", scope); err == nil {
		t.Error("get-access-token works after logout")
	}
}

// `tessera admin --server` uses the token of the profile `tessera login`
// stored for that server: the bootstrap flow the server prints.
func TestAdminThroughLogin(t *testing.T) {
	h := start(t)
	b := h.srv.Bootstrap
	if _, errOut, err := h.cli("login", "--service-principal", "-u", b.ClientID, "-p", b.ClientSecret, "--tenant", "default",
		"--authority", h.srv.URL, "--ca-file", h.srv.CAFile); err != nil {
		t.Fatalf("login: %v %s", err, errOut)
	}
	out, errOut, err := h.cli("admin", "app", "create", "--display-name", "Via login", "--server", h.srv.URL, "--ca-file", h.srv.CAFile, "--query", "appId", "-o", "tsv")
	if err != nil {
		t.Fatalf("admin app create through the login profile: %v %s", err, errOut)
	}
	appID := strings.TrimSpace(out)
	out, _, err = h.cli("admin", "app", "list", "--server", h.srv.URL, "--ca-file", h.srv.CAFile, "--query", "[].appId", "-o", "tsv")
	if err != nil || !strings.Contains(out, appID) {
		t.Errorf("app list %q, %v: want it to contain %s", out, err, appID)
	}
	// Server-wide commands work for the home tenant's admin.
	if out, errOut, err := h.cli("admin", "tenant", "create", "--domain", "fabrikam", "--server", h.srv.URL, "--ca-file", h.srv.CAFile); err != nil {
		t.Errorf("tenant create: %v %s %s", err, out, errOut)
	}
	h.cli("logout")
	if _, _, err := h.cli("admin", "app", "list", "--server", h.srv.URL, "--ca-file", h.srv.CAFile); err == nil {
		t.Error("admin works after logout without a token")
	}
}
