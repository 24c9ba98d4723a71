package cli

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A port already in use stops `tessera serve` before it makes anything: the
// error names the address and the flag that changes it, and no data folder
// is left behind for a server that never ran (issue 15).
func TestServeOnAPortInUseSaysSoAndCreatesNothing(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	for _, tc := range []struct {
		name string
		args []string
		flag string
	}{
		{"addr", []string{"--addr", addr}, "--addr"},
		{"admin-addr", []string{"--addr", "127.0.0.1:0", "--admin-addr", addr}, "--admin-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			root := NewRoot(Deps{})
			var out, errb bytes.Buffer
			root.SetArgs(append([]string{"serve", "--data", data}, tc.args...))
			root.SetOut(&out)
			root.SetErr(&errb)
			err := root.ExecuteContext(context.Background())
			if err == nil {
				t.Fatalf("serve on a port in use started\n%s", out.String())
			}
			want := addr + " is already in use (by another tessera?); pick another with " + tc.flag
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q, want it to contain %q", err, want)
			}
			if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the data folder exists after the refused start (stat: %v)", err)
			}
		})
	}
}

// The bootstrap secret is shown only on a terminal: a file whose fd the
// terminal check accepts. A pipe, a file or a buffer (journald, a
// container runtime, a test) gets where the file is instead.
func TestServeShowsTheSecretOnlyOnATerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	yes := func(fd int) bool { return fd == int(f.Fd()) }
	no := func(int) bool { return false }
	if !onTerminal(f, yes) {
		t.Error("a terminal: the secret is not shown")
	}
	if onTerminal(f, no) {
		t.Error("not a terminal: the secret is shown")
	}
	if onTerminal(&bytes.Buffer{}, func(int) bool { return true }) {
		t.Error("a writer without a file descriptor counts as a terminal")
	}
}

// Errors before the flags are all parsed are JSON when the arguments or
// the environment ask for --log-format json.
func TestJSONLogRequested(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "TESSERA_LOG_FORMAT" {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		args []string
		env  string
		want bool
	}{
		{[]string{"--log-format", "json", "--addr", "x"}, "", true},
		{[]string{"--addr", "x", "--log-format=json"}, "", true},
		{[]string{"--addr", "x"}, "json", true},
		{[]string{"--log-format", "text"}, "json", false},
		{[]string{"--addr", "x"}, "", false},
		{[]string{"--", "--log-format", "json"}, "", false},
	} {
		if got := jsonLogRequested(tc.args, env(tc.env)); got != tc.want {
			t.Errorf("jsonLogRequested(%q, env %q) = %v, want %v", tc.args, tc.env, got, tc.want)
		}
	}
}
