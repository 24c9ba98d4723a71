package sqlite

import (
	"errors"
	"io/fs"
	"os"
	"runtime"
)

// The database holds password hashes, the sealed signing keys, every
// grant and the audit log: only its owner may read it, whatever the umask
// and whatever the mode of the folder it sits in.

// companions are the files SQLite keeps beside the database. It gives each
// the mode of the database file when it creates it (unix VFS,
// robust_open), so a database created 0600 has 0600 companions.
var companions = []string{"", "-wal", "-shm", "-journal"}

// createPrivate creates the database file, empty and 0600, when there is
// none yet: an empty file is an empty database to SQLite, which would
// otherwise create it 0644 less the umask.
func createPrivate(abs string) error {
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// makePrivate takes group and other permissions off the database and its
// companions where they have any: versions before this one created them
// with the process umask, commonly 0644. Best effort: a file this process
// does not own keeps its mode, and the server's data folder check
// (server.checkDataFolder) warns of it.
func makePrivate(abs string) {
	if runtime.GOOS == "windows" {
		return // no permission bits to speak of
	}
	for _, suffix := range companions {
		fi, err := os.Stat(abs + suffix)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		_ = os.Chmod(abs+suffix, fi.Mode().Perm()&^0o077)
	}
}

// Files returns the paths of the database file at path and of its
// companions that exist now, for a check of their modes.
func Files(path string) []string {
	var out []string
	for _, suffix := range companions {
		if _, err := os.Stat(path + suffix); err == nil {
			out = append(out, path+suffix)
		}
	}
	return out
}
