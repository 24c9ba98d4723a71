package account

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// $BROWSER is a list of commands; the first that starts gets the URL as
// its argument, or in place of %s.
func TestOpenSystemBrowserHonoursBROWSER(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a POSIX shell script stands in for the browser")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "browser")
	out := filepath.Join(dir, "opened")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+out+".tmp && mv "+out+".tmp "+out+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	const u = "https://id.example.com/organizations/oauth2/v2.0/authorize?client_id=x&state=y"
	for _, tc := range []struct {
		browser, want string
	}{
		{script, u + "\n"},
		{dir + "/no-such-browser" + string(os.PathListSeparator) + script + " --new-window %s", "--new-window\n" + u + "\n"},
	} {
		os.Remove(out)
		t.Setenv("BROWSER", tc.browser)
		if err := OpenSystemBrowser(context.Background(), u); err != nil {
			t.Fatalf("BROWSER=%q: %v", tc.browser, err)
		}
		// The browser runs detached; wait for it to have written.
		var got []byte
		for range 500 {
			if got, _ = os.ReadFile(out); got != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if string(got) != tc.want {
			t.Errorf("BROWSER=%q got arguments %q, want %q", tc.browser, got, tc.want)
		}
	}
	t.Setenv("BROWSER", dir+"/no-such-browser")
	if err := OpenSystemBrowser(context.Background(), u); err == nil {
		t.Error("a $BROWSER that cannot start: want an error, so that the URL is printed")
	}
}

// The loopback server answers only its own response; everything it shows
// is escaped.
func TestLoopbackServer(t *testing.T) {
	lb, err := startLoopback("the-state", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lb.close()
	base := strings.Replace(lb.redirectURI, "localhost", "127.0.0.1", 1)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, _ := get("/favicon.ico"); status != 404 {
		t.Errorf("favicon: %d", status)
	}
	if status, _ := get("/?code=x&state=other"); status != 400 {
		t.Errorf("wrong state: %d", status)
	}
	status, body := get("/?state=the-state&error=access_denied&error_description=%3Cscript%3Ealert(1)%3C/script%3E")
	if status != 400 || strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;") {
		t.Errorf("error page %d %q: want the description escaped", status, body)
	}
	res := lb.wait(context.Background())
	if se, ok := res.err.(*ServerError); !ok || se.Code != "access_denied" {
		t.Errorf("result %+v, want the access_denied error", res)
	}
	if status, body := get("/?state=the-state&code=late"); status != 200 || !strings.Contains(body, "already complete") {
		t.Errorf("second response: %d %q", status, body)
	}
}
