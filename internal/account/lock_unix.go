//go:build unix

package account

import (
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on path. The kernel releases it when the
// process dies, so a crashed CLI never leaves the cache locked. flock locks
// belong to an open file description, so two goroutines that each open the
// file exclude each other as two processes do.
func lockDir(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
