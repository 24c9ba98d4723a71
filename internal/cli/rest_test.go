package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func restEcho(c *clientTest, args ...string) map[string]string {
	t := c.t
	t.Helper()
	stdout, _, err := c.run(append([]string{"rest"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("rest printed %q: %v", stdout, err)
	}
	return got
}

func TestRestSendsBearerFromCache(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.login(t)
	got := restEcho(c, "--url", f.srv.URL+"/api/echo", "--scope", "api://orders/.default")
	if got["method"] != "GET" || got["authorization"] != "Bearer token-2" {
		t.Errorf("request = %v, want GET with Bearer token-2", got)
	}
	// A relative URL goes to the authority; the token comes from the cache.
	got = restEcho(c, "--url", "/api/echo", "--scope", "api://orders/.default")
	if got["authorization"] != "Bearer token-2" || f.tokenRequests() != 2 {
		t.Errorf("second call: %v after %d token requests, want the cached token", got, f.tokenRequests())
	}
}

func TestRestBodyHeadersAndParameters(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.login(t)
	body := filepath.Join(t.TempDir(), "order.json")
	if err := os.WriteFile(body, []byte(`{"item":"tea"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	got := restEcho(c, "-m", "post", "--url", f.srv.URL+"/api/echo?a=1", "--resource", "api://orders",
		"--body", "@"+body, "--headers", "If-Match=*", "--uri-parameters", "b=2", "--uri-parameters", `{"c":"3 4"}`)
	want := map[string]string{
		"method":        "POST",
		"authorization": "Bearer token-2",
		"contentType":   "application/json",
		"if":            "*",
		"query":         "a=1&b=2&c=3+4",
		"body":          `{"item":"tea"}`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestRestWithoutTargetWarnsAndSendsNoToken(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.login(t)
	stdout, stderr, err := c.run("rest", "--url", f.srv.URL+"/api/echo", "--query", "authorization", "-o", "tsv")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "\n" || !strings.Contains(stderr, "--resource or --scope") {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
}

func TestRestNon2xxIsAnError(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.login(t)
	stdout, _, err := c.run("rest", "--url", f.srv.URL+"/api/forbidden", "--scope", "api://orders/.default")
	if ExitCode(err) != ExitError || stdout != "" {
		t.Fatalf("exit %d (%v), stdout %q; want exit 1 and nothing on stdout", ExitCode(err), err, stdout)
	}
	msg := err.Error()
	if !strings.Contains(msg, "403 Forbidden") || !strings.Contains(msg, `{"error":{"code":"Forbidden","message":"no role"}}`) || strings.Contains(msg, "\n") {
		t.Errorf("message %q: want the status and the compact body on one line", msg)
	}
}

func TestRestPrintsTextAsIs(t *testing.T) {
	c := clientEnv(t)
	f := newLoginFake(c)
	f.login(t)
	stdout, _, err := c.run("rest", "--url", "/api/text", "--skip-authorization-header")
	if err != nil || stdout != "plain words\n" {
		t.Errorf("stdout %q, %v", stdout, err)
	}
}

func TestRestUsageErrors(t *testing.T) {
	c := clientEnv(t)
	for _, args := range [][]string{
		{"rest"},
		{"rest", "--url", "https://x", "--method", "fetch"},
		{"rest", "--url", "https://x", "--resource", "r", "--scope", "s"},
		{"rest", "--url", "https://x", "--headers", "novalue"},
		{"rest", "--url", "https://x", "--body", "@/does/not/exist"},
	} {
		if _, _, err := c.run(args...); ExitCode(err) != ExitUsage {
			t.Errorf("%v: %v (exit %d), want exit %d", args, err, ExitCode(err), ExitUsage)
		}
	}
	// Flags are fine but nobody is logged in.
	if _, _, err := c.run("rest", "--url", "https://127.0.0.1:1/x"); ExitCode(err) != ExitAuth {
		t.Errorf("not logged in: %v, want exit %d", err, ExitAuth)
	}
}
