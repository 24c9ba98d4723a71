package server

import (
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

// checkDataFolder looks at who else may read what the data folder holds:
// the SQLite database (password hashes, sealed signing keys, grants, the
// audit log), the master key and the local CA's private keys. A folder
// made by tessera is 0700, but one that existed already keeps its mode
// (systemd's StateDirectory and Docker volumes are 0755): then it warns,
// saying how to fix it. A private key that others may read is made 0600
// and reported; a database file still open to others (one this process
// does not own, so sqlite.Open could not tighten it) is reported. The
// master key is refused in that case already (secrets.LoadOrCreateMasterKey).
func checkDataFolder(cfg config.Config, log *slog.Logger) {
	if runtime.GOOS == "windows" {
		return // access is by ACL there, not by these bits
	}
	dir := cfg.DataDir
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the data folder can be read or entered by other users, and it holds the database (password hashes, the audit log) and private keys: run chmod 700 "+dir,
			"folder", dir, "mode", fi.Mode().Perm().String())
	}
	for _, name := range []string{caKeyFile, serverKeyPEM} {
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(path, fi.Mode().Perm()&^0o077); err != nil {
			log.Warn("a private key in the data folder can be read by other users: run chmod 600 "+path, "file", path, "mode", fi.Mode().Perm().String(), "err", err)
			continue
		}
		log.Warn("a private key in the data folder could be read by other users: made it 0600; if anyone else could reach it, delete the local CA files to make new ones", "file", path, "was", fi.Mode().Perm().String())
	}
	if cfg.Postgres() {
		return
	}
	for _, path := range sqlite.Files(cfg.DatabasePath()) {
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("a database file can be read by other users: run chmod 600 "+path, "file", path, "mode", fi.Mode().Perm().String())
		}
	}
}
