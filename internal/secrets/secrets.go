// Package secrets holds the master key and what is derived from it: the
// keyed hash under which client secrets and opaque tokens are stored, and
// the sealing (authenticated encryption) of signing keys at rest.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeySize is the size of the master key in bytes (AES-256, HMAC-SHA256).
const MasterKeySize = 32

// MasterKeyFile is the file in the data folder that holds the master key
// when TESSERA_MASTER_KEY is not set.
const MasterKeyFile = "master.key"

// Keys are the purpose-bound keys derived from one master key with HKDF
// (RFC 5869), so that a key never serves two purposes.
type Keys struct {
	secretHash []byte
	tokenHash  []byte
	seal       cipher.AEAD
}

// Derivation labels. Changing one invalidates every value made under it.
const (
	labelSecretHash = "tessera/v1/client-secret-hash"
	labelTokenHash  = "tessera/v1/opaque-token-hash"
	labelSeal       = "tessera/v1/seal"
)

// New derives the purpose keys from a master key.
func New(master []byte) (*Keys, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", MasterKeySize, len(master))
	}
	derive := func(label string) []byte {
		k, err := hkdf.Key(sha256.New, master, nil, label, 32)
		if err != nil {
			panic(err) // only for lengths HKDF cannot produce; 32 is fine
		}
		return k
	}
	block, err := aes.NewCipher(derive(labelSeal))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{secretHash: derive(labelSecretHash), tokenHash: derive(labelTokenHash), seal: aead}, nil
}

// HashSecret returns the keyed hash under which a client secret is stored.
// Server-generated secrets carry 256 bits of entropy, so a fast keyed hash
// is as strong as a slow one and keeps client authentication cheap; unlike
// bcrypt it does not truncate long inputs.
func (k *Keys) HashSecret(secret string) []byte {
	m := hmac.New(sha256.New, k.secretHash)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// HashToken returns the keyed hash under which an opaque token (a refresh
// token, an authorization code) is stored, so that a copy of the database
// is not a copy of the tokens.
func (k *Keys) HashToken(token string) []byte {
	m := hmac.New(sha256.New, k.tokenHash)
	m.Write([]byte(token))
	return m.Sum(nil)
}

// Seal encrypts and authenticates plaintext, binding it to aad (e.g. the
// key id it belongs to, so a sealed value cannot be moved to another row).
func (k *Keys) Seal(plaintext, aad []byte) ([]byte, error) {
	nonce := make([]byte, k.seal.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.seal.Seal(nonce, nonce, plaintext, aad), nil
}

// AAD names the place a sealed value lives in: its tenant ("" for what
// belongs to no tenant, such as signing keys), table, column and row. Used
// as the associated data of Seal and Open, it makes the AEAD authenticate
// the place along with the value, so a ciphertext copied to another row,
// column, table or tenant — by someone with write access to the database
// but not the master key — does not decrypt. The fields are length-prefixed
// after a version label, so no two places encode alike.
func AAD(tenant, table, column, row string) []byte {
	b := make([]byte, 0, len(aadLabel)+16+len(tenant)+len(table)+len(column)+len(row))
	b = append(b, aadLabel...)
	for _, f := range [...]string{tenant, table, column, row} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

const aadLabel = "tessera/aad/v1"

// ErrUnseal means a sealed value was not made with this master key and aad:
// the wrong TESSERA_MASTER_KEY, or tampering.
var ErrUnseal = errors.New("cannot decrypt: wrong master key or tampered data")

// Open reverses Seal.
func (k *Keys) Open(sealed, aad []byte) ([]byte, error) {
	n := k.seal.NonceSize()
	if len(sealed) < n {
		return nil, ErrUnseal
	}
	pt, err := k.seal.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return nil, ErrUnseal
	}
	return pt, nil
}

// ParseMasterKey accepts a master key as 64 hex digits or as standard or
// URL-safe base64 (padded or not) of 32 bytes.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*MasterKeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == MasterKeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("a master key is %d random bytes as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)", MasterKeySize)
}

// ErrNoMasterKey: neither TESSERA_MASTER_KEY nor a key file is there.
var ErrNoMasterKey = errors.New("no master key")

// LoadMasterKey is LoadOrCreateMasterKey for a command that must not make
// a new key (a restore: a fresh key could open nothing it restores); it
// fails with ErrNoMasterKey where that would create one.
func LoadMasterKey(env, dataDir string) ([]byte, error) {
	if env != "" {
		return parseEnvKey(env)
	}
	path := filepath.Join(dataDir, MasterKeyFile)
	k, err := readKeyFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: set TESSERA_MASTER_KEY, or put the key file back at %s", ErrNoMasterKey, path)
	}
	return k, err
}

func parseEnvKey(env string) ([]byte, error) {
	k, err := ParseMasterKey(env)
	if err != nil {
		return nil, fmt.Errorf("TESSERA_MASTER_KEY: %w", err)
	}
	return k, nil
}

// readKeyFile reads the key file at path, refusing one others can read.
func readKeyFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	k, err := ParseMasterKey(string(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreateMasterKey returns the master key from env (the value of
// TESSERA_MASTER_KEY) if it is set, else from the key file in dataDir,
// creating that file (mode 0600) with a fresh key if it does not exist.
// created reports whether a new key was made.
func LoadOrCreateMasterKey(env, dataDir string) (key []byte, created bool, err error) {
	if env != "" {
		k, err := parseEnvKey(env)
		return k, false, err
	}
	path := filepath.Join(dataDir, MasterKeyFile)
	k, err := readKeyFile(path)
	if !errors.Is(err, os.ErrNotExist) {
		return k, false, err
	}
	k = make([]byte, MasterKeySize)
	if _, err := io.ReadFull(rand.Reader, k); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, false, err
	}
	// O_EXCL: two processes starting at once must not each write a key and
	// then disagree about which one sealed the signing keys.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return LoadOrCreateMasterKey("", dataDir)
	}
	if err != nil {
		return nil, false, err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, false, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, false, err
	}
	return k, true, f.Close()
}
