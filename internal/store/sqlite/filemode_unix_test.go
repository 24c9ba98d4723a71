//go:build unix

package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFilesArePrivate: whatever the umask and the folder's mode, the
// database and its -wal and -shm files are 0600; ones an earlier version
// left 0644 are made 0600 at the next Open.
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tessera.db")
	check := func(when string) {
		t.Helper()
		files := Files(path)
		if len(files) != 3 {
			t.Fatalf("%s: files %v, want the database, -wal and -shm", when, files)
		}
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s has mode %v, want 0600", when, f, fi.Mode().Perm())
			}
		}
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	check("created")
	for _, f := range Files(path) {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := Open(context.Background(), path, NoMigrate())
	if err != nil {
		t.Fatal(err)
	}
	check("reopened")
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
