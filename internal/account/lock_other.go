//go:build !unix

package account

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// lockDir, where there is no flock, creates path exclusively and removes it
// to unlock. A lock file older than staleLock is taken to be left by a
// crashed process and broken. Without the lock the atomic rename still
// keeps the files whole; only a concurrent update could be lost.
func lockDir(path string) (unlock func(), err error) {
	const staleLock = 30 * time.Second
	deadline := time.Now().Add(2 * staleLock)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if fi, serr := os.Stat(path); serr == nil && time.Since(fi.ModTime()) > staleLock {
			os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, errors.New("timed out waiting for " + path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
