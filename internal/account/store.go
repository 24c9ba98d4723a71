// Package account is the client side of the tessera CLI: the profiles
// `tessera login` stores, signing in (client credentials for a service
// principal; browser, device code or password for a person), and the
// on-disk token cache, refresh tokens included, that `account
// get-access-token` and `rest` serve from.
package account

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Files in the config directory. Like az (azureProfile.json,
// service_principal_entries.json, msal_token_cache.json) the profiles,
// which hold service principal secrets, and the token cache are plain JSON
// files readable only by their owner.
const (
	profilesFile = "profiles.json"
	tokensFile   = "tokens.json"
	lockFile     = ".lock"
)

// errCorrupt marks a file that exists but does not parse.
var errCorrupt = errors.New("corrupt file")

// Store is the config directory. Readers see whole files only, because
// every write goes to a temporary file that is renamed over the old one;
// read-modify-write cycles hold a lock on the directory's lock file, so
// two CLI processes cannot lose each other's updates.
type Store struct {
	dir string
}

// DefaultDir is $TESSERA_CONFIG_DIR if set, else tessera under the user's
// config directory (~/.config/tessera on Linux).
func DefaultDir() (string, error) {
	if d := os.Getenv("TESSERA_CONFIG_DIR"); d != "" {
		return d, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("cannot find a config directory (%v): set TESSERA_CONFIG_DIR", err)
	}
	return filepath.Join(base, "tessera"), nil
}

// Open uses dir as the config directory, creating it 0700 if it does not
// exist. An existing directory's mode is left alone: the user chose it, and
// may have pointed TESSERA_CONFIG_DIR somewhere shared on purpose; the
// files in it are 0600 regardless.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("account: empty config directory")
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("cannot create config directory %s: %w", dir, err)
		}
		// MkdirAll is subject to the umask; say what we mean.
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("cannot use config directory %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// Dir is the config directory's path.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

// readJSON decodes the named file into v. A missing file leaves v as it is
// and reports false. A file another tool made readable by others is put
// back to 0600 before it is read: it holds secrets.
func (s *Store) readJSON(name string, v any) (bool, error) {
	p := s.path(name)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	if runtime.GOOS != "windows" {
		if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return false, fmt.Errorf("%s is readable by other users and cannot be made private: %w", p, err)
			}
		}
	}
	if err := json.NewDecoder(f).Decode(v); err != nil {
		return true, fmt.Errorf("%w: %s is not valid JSON (%v): fix or delete it", errCorrupt, p, err)
	}
	return true, nil
}

// writeJSON replaces the named file atomically: a reader sees the old
// content or the new, never half of either. os.CreateTemp makes the file
// 0600, so the secret is never on disk with a wider mode.
func (s *Store) writeJSON(name string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return err
	}
	// Without the sync a crash soon after the rename can leave an empty
	// file under the final name on some file systems.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path(name))
}

// update runs fn under the directory lock, so that a read, a change and a
// write by one process are not interleaved with another's.
func (s *Store) update(fn func() error) error {
	unlock, err := lockDir(s.path(lockFile))
	if err != nil {
		return fmt.Errorf("cannot lock %s: %w", s.dir, err)
	}
	defer unlock()
	return fn()
}
