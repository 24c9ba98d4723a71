package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeBlock is a shell block of the README that belongs to the
// walkthrough: its info string is "sh walkthrough" (or
// "sh walkthrough-serve", the server, which runs on while the others do).
type readmeBlock struct {
	line   int
	serve  bool
	script string
}

func readmeWalkthrough(t *testing.T, path string) []readmeBlock {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []readmeBlock
	var cur *readmeBlock
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur == nil && (line == "```sh walkthrough" || line == "```sh walkthrough-serve"):
			cur = &readmeBlock{line: n, serve: strings.HasSuffix(line, "-serve")}
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.script += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// needTool skips without a tool, or fails under CI, where .ci/run provides
// it.
func needTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing", n)
			}
			t.Skipf("%s is missing", n)
		}
	}
}

// TestREADMEWalkthrough runs the README's story as a newcomer types it:
// in a folder that holds the repository (symbolic links to it, so the
// data folder and the binary it builds land apart), the server block in
// the background, then every other walkthrough block in order in one
// bash, each command as written, under `set -euo pipefail`. A block that
// stops working fails this test, naming its line in the README.
func TestREADMEWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the README's story: not in -short")
	}
	needTool(t, "bash", "curl", "jq", "openssl", "go")
	// The README's addresses are fixed: the server's 8443, the example
	// API's 8081.
	for _, addr := range []string{"127.0.0.1:8443", "127.0.0.1:8081"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("the README's %s is taken: %v", addr, err)
			}
			t.Skipf("the README's %s is taken (a server of yours?): %v", addr, err)
		}
		ln.Close()
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeWalkthrough(t, filepath.Join(root, "README.md"))
	if len(blocks) < 5 || !blocks[0].serve {
		t.Fatalf("the README's walkthrough has %d blocks, the first a server: %v", len(blocks), len(blocks) > 0 && blocks[0].serve)
	}
	dir := t.TempDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case "tessera-data", "tessera", "test-output", ".git":
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	// A HOME of its own (the CLI's config folder goes there), but the Go
	// caches of this machine: the story builds, it need not download.
	goenv, err := exec.Command("go", "env", "GOMODCACHE", "GOCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	paths := strings.Split(strings.TrimSpace(string(goenv)), "\n")
	if len(paths) != 3 {
		t.Fatalf("go env: %q", goenv)
	}
	env := append(os.Environ(), "HOME="+dir, "TESSERA_CONFIG_DIR="+filepath.Join(dir, ".config", "tessera"),
		"GOMODCACHE="+paths[0], "GOCACHE="+paths[1], "GOPATH="+paths[2], "GOFLAGS=-buildvcs=false", "NO_PROXY=*")

	var serveOut bytes.Buffer
	serve := exec.Command("bash", "-euo", "pipefail", "-c", blocks[0].script)
	serve.Dir, serve.Env, serve.Stdout, serve.Stderr = dir, env, &serveOut, &serveOut
	serve.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-serve.Process.Pid, syscall.SIGTERM)
		serve.Wait()
	})
	insecure := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(3 * time.Minute) // the block builds tessera first
	for {
		resp, err := insecure.Get("https://127.0.0.1:8443/default/v2.0/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server block (README line %d) did not start serving:\n%s", blocks[0].line, serveOut.String())
		}
		time.Sleep(250 * time.Millisecond)
	}

	var script strings.Builder
	// The example API the story starts in the background goes with it.
	script.WriteString("trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n")
	for _, b := range blocks[1:] {
		if b.serve {
			t.Fatalf("a second server block at README line %d", b.line)
		}
		fmt.Fprintf(&script, "echo '>>> README line %d' >&2\n%s", b.line, b.script)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script.String())
	run.Dir, run.Env = dir, env
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	run.Cancel = func() error { return syscall.Kill(-run.Process.Pid, syscall.SIGKILL) }
	// Output to a file, not a pipe: the example API the story started (a
	// child of `go run`) would hold a pipe open after bash exits.
	outFile, err := os.Create(filepath.Join(t.TempDir(), "walkthrough.out"))
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	run.Stdout, run.Stderr = outFile, outFile
	err = run.Run()
	syscall.Kill(-run.Process.Pid, syscall.SIGTERM) // whatever the story left running
	var out bytes.Buffer
	if raw, rerr := os.ReadFile(outFile.Name()); rerr == nil {
		out.Write(raw)
	}
	if err != nil {
		t.Fatalf("the README's walkthrough failed (%v); the last '>>> README line' names the block:\n%s\n--- server:\n%s", err, out.String(), serveOut.String())
	}
	t.Logf("the README's walkthrough:\n%s", out.String())
	// What the README says each step prints: the studies page, the guard's
	// 401 without a token and 400 without the tenant header (curl's
	// status on the line after the body), alice as the account in use, the product
	// logout's 204.
	for _, want := range []string{`"total":2345`, `(?m)^401$`, `(?m)"invalid_request".*\n400$`, `(?m)^alice@default$`, `(?m)^204$`} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("the walkthrough's output lacks %s", want)
		}
	}
}
