package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"
	"testing"
)

// p256Signature turns crypto/ecdsa's DER into r||s (RFC 7518 §3.4),
// including integers that DER writes shorter (leading zeros) or longer
// (a sign byte), and refuses anything else.
func TestP256Signature(t *testing.T) {
	der := func(r, s *big.Int) []byte {
		b, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	full := new(big.Int).SetBytes(bytes.Repeat([]byte{0xff}, 32)) // 33 bytes in DER
	small := big.NewInt(1)                                        // 1 byte in DER
	for _, tc := range []struct{ r, s *big.Int }{{full, small}, {small, full}, {small, small}, {full, full}} {
		var out [64]byte
		if !p256Signature(out[:], der(tc.r, tc.s)) {
			t.Fatalf("refused r=%x s=%x", tc.r, tc.s)
		}
		if new(big.Int).SetBytes(out[:32]).Cmp(tc.r) != 0 || new(big.Int).SetBytes(out[32:]).Cmp(tc.s) != 0 {
			t.Fatalf("r=%x s=%x became %x", tc.r, tc.s, out)
		}
	}
	good := der(full, small)
	tooBig := new(big.Int).Lsh(big.NewInt(1), 256)
	for name, bad := range map[string][]byte{
		"empty": nil, "not a sequence": append([]byte{0x31}, good[1:]...), "length": append(bytes.Clone(good), 0),
		"truncated": der(small, small)[:6], "three integers": {0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, "integer of 33 bytes": der(tooBig, small), "one integer": {0x30, 0x03, 0x02, 0x01, 0x01},
	} {
		var out [64]byte
		if p256Signature(out[:], bad) {
			t.Errorf("%s: accepted %x", name, bad)
		}
	}
	// Real signatures, some of whose r or s are short.
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for i := range 200 {
		d := sha256.Sum256([]byte{byte(i)})
		sig, err := k.Sign(nil, d[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		var out [64]byte
		if !p256Signature(out[:], sig) {
			t.Fatalf("refused %x", sig)
		}
		if !ecdsa.Verify(&k.PublicKey, d[:], new(big.Int).SetBytes(out[:32]), new(big.Int).SetBytes(out[32:])) {
			t.Fatalf("%x does not verify as r||s", out)
		}
	}
}
