package token

import (
	"bytes"
	"crypto/x509"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/secrets"
)

// A sealed private key opens only in its own row: swapped between two
// key records it does not decrypt, and a key sealed by an earlier version
// (bound to its id alone) still loads.
func TestSealedKeyIsBoundToItsRow(t *testing.T) {
	keys, err := secrets.New(bytes.Repeat([]byte{9}, secrets.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	a, err := newKeyRecord("ES256", keys, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newKeyRecord("ES256", keys, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openKeyRecord(a, keys); err != nil {
		t.Fatalf("own row: %v", err)
	}
	a.Sealed, b.Sealed = b.Sealed, a.Sealed
	if _, err := openKeyRecord(a, keys); err == nil {
		t.Error("a private key moved to another key's row decrypted")
	}

	// An earlier version's record: the same key, sealed with its id.
	c, _ := newKeyRecord("ES256", keys, now)
	k, err := openKeyRecord(c, keys)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(k.private)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sealed, err = keys.Seal(pkcs8, []byte(c.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := openKeyRecord(c, keys); err != nil {
		t.Errorf("a key sealed by an earlier version: %v", err)
	}
}
