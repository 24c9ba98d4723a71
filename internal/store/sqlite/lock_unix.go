//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrServing is returned by LockServing when another process serves the
// same database file.
var ErrServing = errors.New("another tessera serve is already running on this database")

// LockServing takes the serving lock of the database file at path: an
// exclusive flock(2) on path+".serve.lock", held until release is called or
// the process exits (the kernel drops it even on kill -9, so a crash never
// leaves a stale lock behind).
//
// SQLite mode is one serving process per data folder. The store itself
// would survive two (SQLite serialises writers across processes), but
// every cache and the group commit assume one writer doing most of the
// writing, and two servers on one file is almost always a mistake (a
// second terminal, a forgotten background job); to scale out, use
// PostgreSQL. Short-lived writers such as `tessera admin --data` do not
// take this lock: the server picks their changes up through the directory
// change counter.
func LockServing(path string) (release func(), err error) {
	name := path + ".serve.lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: serving lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder, _ := os.ReadFile(name)
			return nil, fmt.Errorf("sqlite: %w (%s holds %s). SQLite mode runs one server per data folder; stop the other one, or use --db postgres://… to run several instances", ErrServing, holderOf(holder), name)
		}
		return nil, fmt.Errorf("sqlite: serving lock %s: %w", name, err)
	}
	// Say who holds it, for the message above; best effort.
	f.Truncate(0)
	fmt.Fprintf(f, "pid %d", os.Getpid())
	return func() { f.Close() }, nil
}

func holderOf(b []byte) string {
	if len(b) == 0 || len(b) > 64 {
		return "another process"
	}
	return string(b)
}
