package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Microsoft's own Python clients, unchanged, from Debian's packages
// (python3-msal 1.21, python3-azure's azure-identity 1.13, azure-cli
// 2.45): what people point at tessera. .ci/run installs them; outside CI a
// machine without them skips these tests, saying so.

const systemPython = "/usr/bin/python3"

// needPython skips (or, under CI, fails) when the system Python lacks the
// modules.
func needPython(t *testing.T, modules ...string) {
	t.Helper()
	script := "import " + strings.Join(modules, ", ")
	if out, err := exec.Command(systemPython, "-c", script).CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s: %v\n%s(.ci/run installs python3-msal and python3-azure)", script, err, out)
		}
		t.Skipf("%s fails (%v): apt-get install python3-msal python3-azure", script, err)
	}
}

// runPython runs script with args as JSON in argv[1] and decodes the JSON
// object it prints last.
func runPython(t *testing.T, h *harness, script string, args map[string]any) map[string]any {
	t.Helper()
	raw, _ := json.Marshal(args)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, systemPython, "-c", script, string(raw))
	// The libraries trust what requests trusts: tessera's local CA here.
	cmd.Env = append(os.Environ(), "REQUESTS_CA_BUNDLE="+h.srv.CAFile, "NO_PROXY=*")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python: %v\n%s\n%s", err, out, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var v map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &v); err != nil {
		t.Fatalf("python printed %q: %v", out, err)
	}
	return v
}

const msalClientCredentials = `
import json, sys, msal
a = json.loads(sys.argv[1])
app = msal.ConfidentialClientApplication(a["client_id"], client_credential=a["secret"],
    authority=a["authority"], instance_discovery=False)
print(json.dumps(app.acquire_token_for_client(scopes=[a["scope"]])))
`

const azureIdentityClientSecret = `
import json, sys
from azure.identity import ClientSecretCredential
a = json.loads(sys.argv[1])
c = ClientSecretCredential(a["tenant"], a["client_id"], a["secret"], authority=a["host"], instance_discovery=False)
t = c.get_token(a["scope"])
print(json.dumps({"access_token": t.token, "expires_on": t.expires_on}))
`

// msalPasswordAndRefresh signs a person in with a password at the AD
// FS-shaped authority, then refreshes through the token cache. (At the
// AAD-shaped authority MSAL for Python first asks /common/userrealm on the
// authority's host without its port: that needs tessera on 443; see the
// README.)
const msalPasswordAndRefresh = `
import json, sys, msal
a = json.loads(sys.argv[1])
app = msal.PublicClientApplication(a["client_id"], authority=a["authority"])
r = app.acquire_token_by_username_password(a["username"], a["password"], scopes=a["scopes"])
if "access_token" not in r:
    print(json.dumps(r)); sys.exit(0)
acct = app.get_accounts(username=a["username"])
r2 = app.acquire_token_silent(a["scopes"], account=acct[0], force_refresh=True)
print(json.dumps({"first": r, "refreshed": r2, "accounts": len(acct)}))
`

func TestMSALPythonClientCredentials(t *testing.T) {
	needPython(t, "msal")
	h := start(t)
	a := setupApps(t, h)
	scope := "api://" + a.api + "/.default"
	for _, authority := range []string{h.srv.URL + "/" + h.tenant(), h.srv.URL + "/" + h.srv.HomeTenant.Domain} {
		r := runPython(t, h, msalClientCredentials, map[string]any{"client_id": a.client, "secret": a.clientSecret,
			"authority": authority, "scope": scope})
		tok, _ := r["access_token"].(string)
		if tok == "" {
			t.Fatalf("MSAL for Python at %s: %v", authority, r)
		}
		if _, err := guardFor(t, h, "api://"+a.api).Validate(context.Background(), tok); err != nil {
			t.Errorf("MSAL for Python's token at %s: %v", authority, err)
		}
	}
	h.assertNotLogged(a.clientSecret)
}

func TestAzureIdentityPythonClientSecretCredential(t *testing.T) {
	needPython(t, "azure.identity")
	h := start(t)
	a := setupApps(t, h)
	r := runPython(t, h, azureIdentityClientSecret, map[string]any{"tenant": h.tenant(), "client_id": a.client,
		"secret": a.clientSecret, "host": h.srv.URL, "scope": "api://" + a.api + "/.default"})
	tok, _ := r["access_token"].(string)
	if _, err := guardFor(t, h, "api://"+a.api).Validate(context.Background(), tok); err != nil {
		t.Errorf("azure-identity's token: %v (%v)", err, r)
	}
	if exp, _ := r["expires_on"].(float64); int64(exp) <= time.Now().Unix() {
		t.Errorf("expires_on %v", r["expires_on"])
	}
}

func TestMSALPythonPasswordAndRefreshAtADFS(t *testing.T) {
	needPython(t, "msal")
	h := start(t)
	u := setupUserApps(t, h)
	u.adminConsent(t, h, "openid profile offline_access api://studies/read")
	r := runPython(t, h, msalPasswordAndRefresh, map[string]any{"client_id": u.native.AppID, "authority": h.srv.URL + "/adfs",
		"username": "alice@" + h.srv.HomeTenant.Domain, "password": alicePassword, "scopes": []string{"api://studies/read"}})
	first, _ := r["first"].(map[string]any)
	refreshed, _ := r["refreshed"].(map[string]any)
	if first == nil || refreshed == nil {
		t.Fatalf("MSAL for Python: %v", r)
	}
	for name, res := range map[string]map[string]any{"password": first, "refresh": refreshed} {
		tok, _ := res["access_token"].(string)
		if tok == "" {
			t.Fatalf("%s: %v", name, res)
		}
		if c := claimsOf(t, tok); c["scp"] != "read" || c["oid"] != u.alice.ObjectID {
			t.Errorf("%s: claims %v", name, c)
		}
	}
	if first["access_token"] == refreshed["access_token"] {
		t.Error("force_refresh returned the cached token")
	}
	h.assertNotLogged(alicePassword)
}

// TestAzureCLI: az 2.45 registered with tessera as a cloud (AD FS shape,
// which every CLI version accepts), signing in as a service principal and
// as a person, then getting tokens for an API, as the README shows.
func TestAzureCLI(t *testing.T) {
	az, err := exec.LookPath("az")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no az: .ci/run installs azure-cli")
		}
		t.Skip("no az: apt-get install azure-cli")
	}
	h := start(t)
	a := setupApps(t, h)
	u := setupUserApps(t, h)
	// The CLI's own client may use the API as a person: pre-authorized,
	// as the Management-API how-to does.
	if _, errOut, err := h.cli("admin", "app", "update", "--id", "api://studies", "--pre-authorize", "04b07795-8ddb-461a-bbee-02f9e1bf7b46=read",
		"--server", h.srv.URL, "--token", h.adminToken(), "--ca-file", h.srv.CAFile); err != nil {
		t.Fatalf("pre-authorize the CLI: %v %s", err, errOut)
	}
	configDir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, az, args...)
		cmd.Env = append(os.Environ(), "AZURE_CONFIG_DIR="+configDir, "REQUESTS_CA_BUNDLE="+h.srv.CAFile,
			"AZURE_CORE_COLLECT_TELEMETRY=false", "AZURE_CORE_NO_COLOR=true", "NO_PROXY=*")
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("az %s: %v\n%s\n%s", strings.Join(args, " "), err, out, stderr)
		}
		return strings.TrimSpace(string(out))
	}
	run("cloud", "register", "--name", "tessera",
		"--endpoint-active-directory", h.srv.URL+"/adfs",
		"--endpoint-active-directory-resource-id", "https://management.core.windows.net/",
		"--endpoint-resource-manager", h.srv.URL+"/management/",
		"--endpoint-active-directory-graph-resource-id", "https://graph.windows.net/")
	run("cloud", "set", "--name", "tessera")

	run("login", "--service-principal", "-u", a.client, "-p", a.clientSecret, "--tenant", h.tenant(), "--allow-no-subscriptions")
	tok := run("account", "get-access-token", "--scope", "api://"+a.api+"/.default", "--query", "accessToken", "-o", "tsv")
	if _, err := guardFor(t, h, "api://"+a.api).Validate(context.Background(), tok); err != nil {
		t.Errorf("az's service-principal token: %v", err)
	}
	run("logout")

	run("login", "-u", "alice@"+h.srv.HomeTenant.Domain, "-p", alicePassword, "--allow-no-subscriptions")
	tok = run("account", "get-access-token", "--scope", "api://studies/read", "--query", "accessToken", "-o", "tsv")
	if c := claimsOf(t, tok); c["oid"] != u.alice.ObjectID || c["scp"] != "read" {
		t.Errorf("az's token for alice: %v", c)
	}
	h.assertNotLogged(alicePassword, a.clientSecret)
}
