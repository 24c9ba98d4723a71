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
