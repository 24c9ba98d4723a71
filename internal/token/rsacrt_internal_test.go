package token

import (
	"bytes"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/secrets"
)

// An RS256 key opened from its sealed record signs with its CRT values
// precomputed (x509.ParsePKCS8PrivateKey validates and precomputes RSA
// keys): a signature is then two half-size exponentiations, not one
// full-size one, and crypto/rsa keeps the key's Montgomery form with them.
func TestRSAKeySignsWithPrecomputedCRT(t *testing.T) {
	keys, err := secrets.New(bytes.Repeat([]byte{9}, secrets.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	r, err := newKeyRecord(RS256, keys, time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	k, err := openKeyRecord(r, keys)
	if err != nil {
		t.Fatal(err)
	}
	s, err := newCompactSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	priv := s.rsa
	if priv == nil {
		t.Fatalf("signer of an RS256 key has no RSA key: %T", k.private)
	}
	if priv.Precomputed.Dp == nil || priv.Precomputed.Dq == nil || priv.Precomputed.Qinv == nil || len(priv.Primes) != 2 {
		t.Fatalf("RSA key without precomputed CRT values: %+v", priv.Precomputed)
	}
	// Precompute on a key that has them changes nothing.
	before := *priv.Precomputed.Dp
	priv.Precompute()
	if priv.Precomputed.Dp.Cmp(&before) != 0 {
		t.Fatal("Precompute changed the key's CRT values")
	}
	if _, err := s.sign([]byte(`{"uti":"x"}`)); err != nil {
		t.Fatal(err)
	}
}
