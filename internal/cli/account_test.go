package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The pipeline scripts use: the token alone on one line, then served from
// the cache on the next call.
func TestGetAccessTokenTSVPrintsOnlyTheTokenAndCaches(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.login(t)
	args := []string{"account", "get-access-token", "--scope", "api://X/.default", "--query", "accessToken", "-o", "tsv"}
	stdout, stderr, err := c.run(args...)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "token-2\n" || stderr != "" {
		t.Fatalf("stdout %q, stderr %q; want the token and a newline only", stdout, stderr)
	}
	stdout, _, err = c.run(args...)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "token-2\n" || f.tokenRequests() != 2 {
		t.Fatalf("second call: %q after %d token requests, want the cached token-2", stdout, f.tokenRequests())
	}
}

// The fields and formats the Azure SDKs' AzureCliCredential parses.
func TestGetAccessTokenAzShape(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.login(t)
	stdout, _, err := c.run("account", "get-access-token", "--scope", "api://X/.default")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	exp := clientTestNow.Add(3599 * time.Second)
	want := map[string]any{
		"accessToken":  "token-2",
		"expiresOn":    exp.Local().Format("2006-01-02 15:04:05.000000"),
		"expires_on":   json.Number(fmt.Sprint(exp.Unix())),
		"subscription": lfTenantID,
		"tenant":       lfTenantID,
		"tokenType":    "Bearer",
	}
	if len(got) != len(want) {
		t.Errorf("fields %v, want exactly %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
}

func TestGetAccessTokenResourceUsesV1(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.login(t)
	stdout, _, err := c.run("account", "get-access-token", "--resource", "api://orders", "--query", "expires_on", "-o", "tsv")
	if err != nil {
		t.Fatal(err)
	}
	// expires_in (relative, immune to clock skew) wins over expires_on.
	if want := fmt.Sprintln(clientTestNow.Add(3599 * time.Second).Unix()); stdout != want {
		t.Errorf("expires_on = %q", stdout)
	}
	f.mu.Lock()
	last := f.paths[len(f.paths)-1]
	f.mu.Unlock()
	if last != "/"+lfTenantID+"/oauth2/token" {
		t.Errorf("--resource went to %s, want the v1 endpoint", last)
	}
}

func TestGetAccessTokenTenantSelectsOrResolves(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.login(t)
	// The profile's tenant by domain or GUID: same profile, same cache.
	for _, tenant := range []string{"default", strings.ToUpper(lfTenantID)} {
		stdout, _, err := c.run("account", "get-access-token", "--scope", "api://X/.default", "--tenant", tenant, "--query", "[accessToken, tenant]", "-o", "tsv")
		if err != nil {
			t.Fatal(err)
		}
		if stdout != "token-2\n"+lfTenantID+"\n" {
			t.Errorf("--tenant %s: %q", tenant, stdout)
		}
	}
	// Another tenant: discovery says it does not exist.
	_, _, err := c.run("account", "get-access-token", "--scope", "api://X/.default", "--tenant", "fabrikam")
	if err == nil || !strings.Contains(err.Error(), "AADSTS90002") {
		t.Errorf("unknown tenant: %v", err)
	}
}

func TestGetAccessTokenNeedsScopeOrResource(t *testing.T) {
	c := clientEnv(t)
	for _, args := range [][]string{
		{"account", "get-access-token"},
		{"account", "get-access-token", "--scope", "a/.default", "--resource", "a"},
	} {
		if _, _, err := c.run(args...); ExitCode(err) != ExitUsage {
			t.Errorf("%v: %v, want exit %d", args, err, ExitUsage)
		}
	}
}

func TestAccountShowAndList(t *testing.T) {
	c := clientEnv(t)
	stdout, _, err := c.run("account", "list")
	if err != nil || stdout != "[]\n" {
		t.Fatalf("list before login: %q, %v; want []", stdout, err)
	}
	if _, _, err := c.run("account", "show"); ExitCode(err) != ExitAuth {
		t.Fatalf("show before login: %v, want exit %d", err, ExitAuth)
	}
	f := newLoginFake(c)
	f.login(t)
	stdout, _, err = c.run("account", "show")
	if err != nil {
		t.Fatal(err)
	}
	var acct map[string]any
	if err := json.Unmarshal([]byte(stdout), &acct); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{
		"environmentName": "Tessera", "id": lfTenantID, "tenantId": lfTenantID, "homeTenantId": lfTenantID,
		"isDefault": true, "name": "N/A(tenant level account)", "state": "Enabled",
	} {
		if acct[k] != v {
			t.Errorf("show: %s = %v, want %v", k, acct[k], v)
		}
	}
	if user, _ := acct["user"].(map[string]any); user["name"] != lfClientID || user["type"] != "servicePrincipal" {
		t.Errorf("show: user = %v", acct["user"])
	}
	stdout, _, err = c.run("account", "list", "--query", "[].user.name", "-o", "tsv")
	if err != nil || stdout != lfClientID+"\n" {
		t.Errorf("list: %q, %v", stdout, err)
	}
}

func TestAccountUnknownSubcommandExits2(t *testing.T) {
	c := clientEnv(t)
	if _, _, err := c.run("account", "shwo"); ExitCode(err) != ExitUsage {
		t.Errorf("account shwo: %v, want exit %d", err, ExitUsage)
	}
	if stdout, _, err := c.run("account"); err != nil || !strings.Contains(stdout, "get-access-token") {
		t.Errorf("account alone: %v, want its help", err)
	}
}
