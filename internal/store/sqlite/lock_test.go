//go:build unix

package sqlite

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// A second server on the same database file is refused, saying what to
// do; once the first lets go, the file can be served again.
func TestLockServingIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tessera.db")
	release, err := LockServing(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockServing(path)
	if !errors.Is(err, ErrServing) {
		t.Fatalf("second lock: got %v, want ErrServing", err)
	}
	for _, want := range []string{"one server per data folder", "postgres://"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
	release()
	again, err := LockServing(path)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()
	// Another file in the same folder is another database.
	other, err := LockServing(filepath.Join(filepath.Dir(path), "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	other()
}
