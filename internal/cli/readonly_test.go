package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/store/sqlite"
)

// `tessera admin --data` on a data folder it cannot write (here a
// read-only bind mount, which binds root too) reads as usual, and a change
// says why it cannot be made instead of "unable to open database file (14)".
func TestAdminOnAReadOnlyDataFolder(t *testing.T) {
	for _, k := range []string{"TESSERA_SERVER", "TESSERA_DATA", "TESSERA_DB", "TESSERA_ADMIN_TOKEN", "TESSERA_CA_FILE", "TESSERA_MASTER_KEY"} {
		t.Setenv(k, "")
	}
	data := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(data, "tessera.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	run := func(want int, args ...string) (string, string) {
		t.Helper()
		out, errOut, err := runAdminWith(Deps{}, "", args...)
		if got := exitCodeOf(err); got != want {
			t.Fatalf("tessera admin %s: exit %d (%v), want %d\n%s", strings.Join(args, " "), got, err, want, errOut)
		}
		if err != nil {
			errOut += err.Error()
		}
		return out, errOut
	}
	run(0, "--data", data, "tenant", "create", "--domain", "default")
	run(0, "--data", data, "app", "create", "--display-name", "Orders API")

	ro := t.TempDir()
	if out, err := exec.Command("mount", "--bind", data, ro).CombinedOutput(); err != nil {
		t.Skipf("a read-only bind mount needs mount privileges: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", ro).Run() })
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", ro).CombinedOutput(); err != nil {
		t.Skipf("remount read-only: %v %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(ro, "probe"), nil, 0o600); err == nil {
		t.Fatal("the mount is writable")
	}

	out, _ := run(0, "--data", ro, "app", "list", "--query", "[].displayName", "-o", "tsv")
	if !strings.Contains(out, "Orders API") {
		t.Errorf("list on the read-only folder: %q", out)
	}
	_, errOut := run(ExitUsage, "--data", ro, "app", "create", "--display-name", "Another")
	if !strings.Contains(errOut, ro) || !strings.Contains(errOut, "read-only") {
		t.Errorf("a change on the read-only folder says %q", errOut)
	}
}
