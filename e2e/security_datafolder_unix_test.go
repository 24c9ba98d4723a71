//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// publicFiles are the files of the data folder anyone may read: the local
// CA's certificate (clients are told to trust it) and the server's.
var publicFiles = map[string]bool{"ca.pem": true, "server.pem": true}

// dataFolderModes lists every file of dir with its permission bits.
func dataFolderModes(t *testing.T, dir string) map[string]os.FileMode {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]os.FileMode{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		modes[e.Name()] = fi.Mode().Perm()
	}
	return modes
}

// checkPrivate fails for every file of dir but the public ones that group
// or others may read or write.
func checkPrivate(t *testing.T, dir string, when string) {
	t.Helper()
	modes := dataFolderModes(t, dir)
	for _, name := range []string{"tessera.db", "tessera.db-wal", "tessera.db-shm", "master.key", "ca-key.pem", "server-key.pem"} {
		if _, ok := modes[name]; !ok {
			t.Errorf("%s: no %s in the data folder (%v)", when, name, modes)
		}
	}
	for name, mode := range modes {
		if !publicFiles[name] && mode&0o077 != 0 {
			t.Errorf("%s: %s has mode %v, want 0600: it holds password hashes, the audit log or a private key", when, name, mode)
		}
	}
}

// TestDataFolderIsPrivate (review L6): in a data folder that exists
// already with mode 0755 (as systemd's StateDirectory or a Docker volume
// make it), under the usual umask 022, the database and its -wal and -shm
// files are created 0600, like the keys; the server warns that the
// folder is open to others and says how to fix it. A database left 0644
// by an earlier version is made 0600 at the next start.
func TestDataFolderIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	h := startAt(t, dir, addr)
	// A write, so that the WAL holds something.
	h.adminToken()
	checkPrivate(t, dir, "first start")
	logs := h.logs.String()
	if !strings.Contains(logs, "data folder") || !strings.Contains(logs, "chmod 700 "+dir) {
		t.Errorf("no warning that the data folder is open to others, with the fix (chmod 700 %s), in the log:\n%s", dir, logs)
	}
	h.stop()

	// As an earlier version left them.
	for _, name := range []string{"tessera.db", "tessera.db-wal", "tessera.db-shm"} {
		if err := os.Chmod(filepath.Join(dir, name), 0o644); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	h = startAt(t, dir, addr)
	checkPrivate(t, dir, "restart")
	if strings.Contains(h.logs.String(), "chmod 700") {
		t.Errorf("a data folder of mode 0700 was warned about:\n%s", h.logs.String())
	}
}
