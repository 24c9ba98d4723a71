package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// compactSigner signs JWTs as compact JWS (RFC 7515 §7.1) with one key.
// It is built once per key-ring snapshot and immutable after, so issuing
// takes no lock.
//
// Why not go-jose's Signer, which did this before: per token it marshals
// the protected header to JSON, base64-encodes it, builds a
// JSONWebSignature and serializes it again, a few dozen allocations that
// showed in the client-credentials profile next to the signature itself.
// Here the header is encoded once per key, and the signature is the
// standard library's, on the same key: ES256 is ECDSA P-256 over SHA-256
// with the signature as r||s, each a 32-byte big-endian integer (RFC 7518
// §3.4), RS256 is RSASSA-PKCS1-v1_5 over SHA-256 (RFC 7518 §3.3). Every
// token is still verified with go-jose (Ring.Verify) and, in the tests,
// with go-oidc.
type compactSigner struct {
	// prefix is base64url(protected header) + ".", the first part of every
	// signing input.
	prefix []byte
	ec     *ecdsa.PrivateKey
	rsa    *rsa.PrivateKey
	sigLen int
}

// protectedHeader is the JOSE header of every token, in the member order
// go-jose wrote it (sorted), which resource servers have seen until now.
type protectedHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
	X5t string `json:"x5t"`
}

func newCompactSigner(k *signingKey) (*compactSigner, error) {
	h, err := json.Marshal(protectedHeader{Alg: k.record.Alg, Kid: k.record.ID, Typ: "JWT", X5t: k.x5t})
	if err != nil {
		return nil, err
	}
	s := &compactSigner{prefix: append(base64.RawURLEncoding.AppendEncode(nil, h), '.')}
	switch priv := k.private.(type) {
	case *ecdsa.PrivateKey:
		if k.record.Alg != ES256 || priv.Curve.Params().BitSize != 256 {
			return nil, fmt.Errorf("token: key %s: %s with a %d-bit EC key", k.record.ID, k.record.Alg, priv.Curve.Params().BitSize)
		}
		s.ec, s.sigLen = priv, 64
	case *rsa.PrivateKey:
		if k.record.Alg != RS256 {
			return nil, fmt.Errorf("token: key %s: %s with an RSA key", k.record.ID, k.record.Alg)
		}
		s.rsa, s.sigLen = priv, priv.Size()
	default:
		return nil, fmt.Errorf("token: key %s: unsupported private key %T", k.record.ID, k.private)
	}
	return s, nil
}

// sign returns header.payload.signature for a JSON payload.
func (s *compactSigner) sign(payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	out := make([]byte, 0, len(s.prefix)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(s.sigLen))
	out = append(out, s.prefix...)
	out = enc.AppendEncode(out, payload)
	digest := sha256.Sum256(out) // the signing input, RFC 7515 §5.1 step 5
	var sig []byte
	if s.ec != nil {
		// Deterministic ECDSA (RFC 6979, FIPS 186-5 §6.3.2) with
		// HMAC-SHA-256, not the hedged default (ecdsa.SignASN1: an
		// HMAC-SHA-512 DRBG seeded from crypto/rand, the key and the
		// digest), which cost a sixth of an ES256 token's CPU. What
		// hedging adds is resistance to fault attacks, which need the
		// same message signed twice; every token tessera signs carries
		// a fresh 128-bit uti (NewTokenID), so no message is. And no
		// signature depends on the random source being sound.
		der, err := s.ec.Sign(nil, digest[:], crypto.SHA256)
		if err != nil {
			return "", fmt.Errorf("token: sign: %w", err)
		}
		var raw [64]byte
		if !p256Signature(raw[:], der) {
			return "", fmt.Errorf("token: sign: ECDSA signature of %d bytes is not two 32-byte integers", len(der))
		}
		sig = raw[:]
	} else {
		var err error
		if sig, err = rsa.SignPKCS1v15(nil, s.rsa, crypto.SHA256, digest[:]); err != nil {
			return "", fmt.Errorf("token: sign: %w", err)
		}
	}
	out = append(out, '.')
	out = enc.AppendEncode(out, sig)
	return string(out), nil
}

// p256Signature writes the ASN.1 DER ECDSA signature der (SEQUENCE {
// INTEGER r, INTEGER s }, as crypto/ecdsa writes it) into dst as JWS wants
// it: r and s as 32-byte big-endian integers (RFC 7518 §3.4). It reports
// false for anything but two INTEGERs of at most 32 bytes once their sign
// byte is dropped.
func p256Signature(dst []byte, der []byte) bool {
	if len(der) < 2 || der[0] != 0x30 || int(der[1]) != len(der)-2 || der[1] >= 0x80 {
		return false
	}
	rest := der[2:]
	for i := range 2 {
		if len(rest) < 2 || rest[0] != 0x02 || int(rest[1]) > len(rest)-2 || rest[1] == 0 {
			return false
		}
		n := rest[2 : 2+int(rest[1])]
		rest = rest[2+int(rest[1]):]
		for len(n) > 0 && n[0] == 0 {
			n = n[1:]
		}
		if len(n) > 32 {
			return false
		}
		out := dst[32*i : 32*i+32]
		clear(out[:32-len(n)])
		copy(out[32-len(n):], n)
	}
	return len(rest) == 0
}
