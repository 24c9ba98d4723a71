package secrets

import (
	"bytes"
	"errors"
	"testing"
)

// A sealed value opens only at the place it was sealed for: another
// tenant, table, column or row is refused, and the length prefixes keep
// fields from sliding into each other.
func TestAADBindsThePlace(t *testing.T) {
	k, err := New(bytes.Repeat([]byte{7}, MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k.Seal([]byte("private key"), AAD("tenant-a", "signing_keys", "sealed", "kid-1"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k.Open(sealed, AAD("tenant-a", "signing_keys", "sealed", "kid-1")); err != nil || string(pt) != "private key" {
		t.Fatalf("the same place: %q %v", pt, err)
	}
	for name, elsewhere := range map[string][]byte{
		"another tenant":       AAD("tenant-b", "signing_keys", "sealed", "kid-1"),
		"no tenant":            AAD("", "signing_keys", "sealed", "kid-1"),
		"another table":        AAD("tenant-a", "refresh_tokens", "sealed", "kid-1"),
		"another column":       AAD("tenant-a", "signing_keys", "successor_sealed", "kid-1"),
		"another row":          AAD("tenant-a", "signing_keys", "sealed", "kid-2"),
		"fields slid across":   AAD("tenant-as", "igning_keys", "sealed", "kid-1"),
		"the row id alone":     []byte("kid-1"),
		"no associated data":   nil,
		"tenant and row moved": AAD("kid-1", "signing_keys", "sealed", "tenant-a"),
	} {
		if _, err := k.Open(sealed, elsewhere); !errors.Is(err, ErrUnseal) {
			t.Errorf("%s: opened (%v), want ErrUnseal", name, err)
		}
	}
	if bytes.Equal(AAD("ab", "c", "", ""), AAD("a", "bc", "", "")) {
		t.Error("two places encode alike")
	}
}
