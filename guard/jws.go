package guard

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	jose "github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
)

// The guard parses and verifies the compact JWS itself rather than
// through go-jose's ParseSignedCompact and Verify: those decode the
// protected header into a generic map and re-encode it to rebuild the
// signing input, which was half of a validation's allocations and a
// quarter of its CPU besides the RSA operation. The token's first two
// segments are the signing input as they stand (RFC 7515 §5.2 step 8),
// so nothing needs re-encoding. The rules are go-jose's, and stricter
// where RFC 7515 is: exactly three segments, unpadded base64url (§2), a
// protected header that is a JSON object with a string alg on the
// allowlist, and no crit (§4.1.11: a header we do not fully understand is
// refused; tessera and Entra never send one).
//
// Measured, not assumed (BenchmarkVerifyUncached, December 2026: an
// Entra-sized token, a cache miss through Validate, benchstat over 8 and
// 10 interleaved runs on a shared 2-core machine, so indicative): go-jose's
// ParseSignedCompact and Verify with encoding/json for the claims took
// 57-63 % longer than this path for RS256 (118-122 µs against 75 µs) and
// 45-47 % longer for ES256, with 150 allocations against 30. Of the
// halves, go-jose with the claims scanner was 42-44 % slower for RS256,
// this verifier with encoding/json about a third (p = 0.05-0.07); for
// ES256 the halves were lost in the noise. The review's rule was to keep
// the hand-written path only above 10 %. Measured again in CPU time per
// validation (cpu-ns/op, which other work on the machine barely moves;
// 6 interleaved runs, December 7), after the header cache (headerCache):
// RS256 33.3 µs against go-jose's 57.2 µs, 14 allocations against 150,
// with crypto/rsa's verification alone about 26 µs of either.

// compactJWS is a compact serialization split and decoded.
type compactJWS struct {
	alg, kid     string
	typ          string // the typ header parameter (RFC 7515 §4.1.9), or ""
	signingInput string // BASE64URL(header) '.' BASE64URL(payload)
	payload      string // decoded; its bytes are the JSON claims set
	signature    []byte
}

// jwsHeader holds the protected header parameters the guard reads. Its
// decoder (go-jose's fork of encoding/json) matches names exactly, so
// "ALG" is not alg.
type jwsHeader struct {
	Alg  *string `json:"alg"`
	Kid  string  `json:"kid"`
	Typ  string  `json:"typ"`
	Crit any     `json:"crit"` // any value at all is refused
	B64  any     `json:"b64"`  // RFC 7797 needs crit; refused with it
}

// errAlgorithm is a header whose alg is not on the allowlist.
type errAlgorithm struct{ alg string }

func (e errAlgorithm) Error() string { return fmt.Sprintf("alg %q", e.alg) }

// parseCompact splits and decodes raw, checking alg against allowed.
func parseCompact(raw string, allowed []jose.SignatureAlgorithm) (compactJWS, error) {
	return parseCompactWith(raw, allowed, nil)
}

// parseCompactWith is parseCompact that looks the protected header up in
// known first (nil: none), where a header that was parsed exactly so for
// a token whose signature verified is kept.
func parseCompactWith(raw string, allowed []jose.SignatureAlgorithm, known *headerCache) (compactJWS, error) {
	var j compactJWS
	h, rest, ok := strings.Cut(raw, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.IndexByte(s, '.') >= 0 {
		return j, errors.New("not a compact JWS: want three segments")
	}
	j.signingInput = raw[:len(h)+1+len(p)]

	if f, ok := known.get(h); ok {
		j.alg, j.kid, j.typ = f.alg, f.kid, f.typ
	} else {
		var buf [512]byte // the header, decoded on the stack when it fits
		hdrBytes, err := decodeSegment(buf[:0], h)
		if err != nil {
			return j, fmt.Errorf("protected header: %w", err)
		}
		var hdr jwsHeader
		if err := josejson.Unmarshal(hdrBytes, &hdr); err != nil {
			return j, errors.New("protected header is not a JSON object of the expected types")
		}
		if hdr.Alg == nil {
			return j, errAlgorithm{""}
		}
		if !slices.Contains(allowed, jose.SignatureAlgorithm(*hdr.Alg)) {
			return j, errAlgorithm{*hdr.Alg}
		}
		if hdr.Crit != nil || hdr.B64 != nil {
			return j, errors.New("protected header has crit or b64")
		}
		j.alg, j.kid = *hdr.Alg, hdr.Kid
		j.typ = hdr.Typ
	}
	// The payload is decoded on the stack when it fits (Entra's tokens
	// do) and copied once into the string the principal keeps and its
	// claims are substrings of: one allocation, as many as decoding onto
	// the heap would take.
	var pbuf [4096]byte
	payload, err := decodeSegment(pbuf[:0], p)
	if err != nil {
		return j, fmt.Errorf("payload: %w", err)
	}
	j.payload = string(payload)
	if j.signature, err = decodeSegment(nil, s); err != nil || len(j.signature) == 0 {
		return j, errors.New("signature is not base64url")
	}
	return j, nil
}

// headerCache keeps the protected headers, as parsed, of tokens whose
// signature verified, by their base64url text. An issuer signs every
// token under one of a few headers (one per key: alg, kid, typ, x5t),
// and parsing one with go-jose's JSON decoder was 1.8 µs and 8
// allocations of a 33 µs RS256 cache miss. Only a verified token adds
// its header, so what fills the cache is what the issuer signed, never
// what a caller made up; and it stops growing at maxKnownHeaders (keys
// rotate; a header unknown then is parsed as before). The same text
// always parses to the same fields, so a hit decides exactly as a parse.
type headerCache struct {
	m  atomic.Pointer[map[string]headerFields] // read without a lock; replaced whole on add
	mu sync.Mutex                              // serialises adds
}

// headerFields are what the guard reads from a protected header.
type headerFields struct{ alg, kid, typ string }

// maxKnownHeaders bounds the headers kept: a few per key, a few keys.
const maxKnownHeaders = 32

func (c *headerCache) get(h string) (headerFields, bool) {
	if c == nil {
		return headerFields{}, false
	}
	m := c.m.Load()
	if m == nil {
		return headerFields{}, false
	}
	f, ok := (*m)[h]
	return f, ok
}

// add keeps the header text h of j, whose signature verified.
func (c *headerCache) add(h string, j *compactJWS) {
	if c == nil {
		return
	}
	if _, ok := c.get(h); ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil && len(*old) >= maxKnownHeaders {
		return
	}
	m := make(map[string]headerFields, 1+len(derefHeaders(old)))
	for k, v := range derefHeaders(old) {
		m[k] = v
	}
	// Cloned: h is a substring of a token, which it would keep alive.
	m[strings.Clone(h)] = headerFields{alg: strings.Clone(j.alg), kid: strings.Clone(j.kid), typ: strings.Clone(j.typ)}
	c.m.Store(&m)
}

func derefHeaders(m *map[string]headerFields) map[string]headerFields {
	if m == nil {
		return nil
	}
	return *m
}

// decodeSegment appends the base64url decoding (RFC 7515 §2: no padding,
// no line breaks) of seg to dst. The compiler passes seg without a copy,
// as the decoder only reads it.
func decodeSegment(dst []byte, seg string) ([]byte, error) {
	return b64.AppendDecode(dst, []byte(seg))
}

// b64 rejects, besides padding, non-zero trailing bits: one token has one
// encoding.
var b64 = base64.RawURLEncoding.Strict()

// verify checks j's signature with key, which fits j.alg (see fits).
func (j *compactJWS) verify(key jose.JSONWebKey) error {
	return j.verifySum(key, signingInputSum{len: -1})
}

// verifySum is verify with pre, when its length is the signing input's,
// the SHA-256 of j.signingInput, hashed already with the whole token for
// the verified-token cache (see tokenSums).
func (j *compactJWS) verifySum(key jose.JSONWebKey, pre signingInputSum) error {
	alg := jose.SignatureAlgorithm(j.alg)
	if pub, ok := key.Key.(ed25519.PublicKey); ok && alg == jose.EdDSA {
		if !ed25519.Verify(pub, []byte(j.signingInput), j.signature) {
			return errors.New("EdDSA signature does not verify")
		}
		return nil
	}
	hash, ok := hashOf[alg]
	if !ok {
		return fmt.Errorf("alg %s", alg)
	}
	var sum [64]byte
	var digest []byte
	if hash == crypto.SHA256 && pre.len == len(j.signingInput) {
		digest = sum[:copy(sum[:], pre.sum[:])]
	} else {
		digest = digestOf(hash, j.signingInput, &sum)
	}
	switch pub := key.Key.(type) {
	case *rsa.PublicKey:
		var err error
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512:
			err = rsa.VerifyPKCS1v15(pub, hash, digest, j.signature)
		default: // PS*: the salt length is the signer's choice (RFC 7518 §3.5)
			err = rsa.VerifyPSS(pub, hash, digest, j.signature, nil)
		}
		return err
	case *ecdsa.PublicKey:
		// RFC 7518 §3.4: R and S as fixed-size big-endian integers,
		// concatenated.
		size := (pub.Curve.Params().BitSize + 7) / 8
		if len(j.signature) != 2*size {
			return fmt.Errorf("ECDSA signature of %d bytes, want %d", len(j.signature), 2*size)
		}
		r := new(big.Int).SetBytes(j.signature[:size])
		s := new(big.Int).SetBytes(j.signature[size:])
		if !ecdsa.Verify(pub, digest, r, s) {
			return errors.New("ECDSA signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("key of type %T", key.Key)
}

// digestOf hashes the signing input s into sum without copying s to the
// heap for the usual SHA-256; the rarer SHA-384 and SHA-512 pay one copy.
func digestOf(hash crypto.Hash, s string, sum *[64]byte) []byte {
	var d []byte
	switch hash {
	case crypto.SHA256:
		d256 := sha256Of(s)
		d = d256[:]
	case crypto.SHA384:
		d384 := sha512.Sum384([]byte(s))
		d = d384[:]
	default:
		d512 := sha512.Sum512([]byte(s))
		d = d512[:]
	}
	return sum[:copy(sum[:], d)]
}

// sha256Of is the SHA-256 of s, hashed through a buffer on the stack:
// sha256.Sum256([]byte(s)) would copy s to the heap. sha256.New is
// inlined, so the compiler devirtualizes Write and buf does not escape
// (which a helper taking the hash.Hash would undo: keep the loops here).
func sha256Of(s string) (sum [sha256.Size]byte) {
	h := sha256.New()
	var buf [512]byte
	for len(s) > 0 {
		n := copy(buf[:], s)
		h.Write(buf[:n])
		s = s[n:]
	}
	h.Sum(sum[:0])
	return sum
}

// tokenSums hashes raw once for the two SHA-256 sums a validation
// needs: the whole token's, which keys the verified-token cache on every
// request, and its signing input's (raw up to its last '.'; RFC 7515
// §5.2 step 8), which RS256, PS256 and ES256 verify on a cache miss.
// Sum leaves the state as it is, so the first sum is taken on the way to
// the second: a miss hashes the token once, not twice, and a hit pays
// one padding block more. inputLen is the signing input's length, -1
// when raw has no '.'.
func tokenSums(raw string) (whole, input [sha256.Size]byte, inputLen int) {
	h := sha256.New()
	var buf [512]byte
	inputLen = strings.LastIndexByte(raw, '.')
	for i, s := 0, raw; len(s) > 0; {
		if i == inputLen {
			h.Sum(input[:0])
		}
		end := len(buf)
		if inputLen > i && inputLen-i < end {
			end = inputLen - i // stop at the signing input's end
		}
		n := copy(buf[:end], s)
		h.Write(buf[:n])
		s, i = s[n:], i+n
	}
	h.Sum(whole[:0])
	return whole, input, inputLen
}

var hashOf = map[jose.SignatureAlgorithm]crypto.Hash{
	jose.RS256: crypto.SHA256, jose.RS384: crypto.SHA384, jose.RS512: crypto.SHA512,
	jose.PS256: crypto.SHA256, jose.PS384: crypto.SHA384, jose.PS512: crypto.SHA512,
	jose.ES256: crypto.SHA256, jose.ES384: crypto.SHA384, jose.ES512: crypto.SHA512,
}
