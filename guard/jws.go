package guard

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"unsafe"

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
	var j compactJWS
	h, rest, ok := strings.Cut(raw, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.IndexByte(s, '.') >= 0 {
		return j, errors.New("not a compact JWS: want three segments")
	}
	j.signingInput = raw[:len(h)+1+len(p)]

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
	payload, err := decodeSegment(nil, p)
	if err != nil {
		return j, fmt.Errorf("payload: %w", err)
	}
	// The decoded bytes are never written again, so they can be the
	// string the principal keeps and its claims are substrings of.
	j.payload = unsafe.String(unsafe.SliceData(payload), len(payload))
	if j.signature, err = decodeSegment(nil, s); err != nil || len(j.signature) == 0 {
		return j, errors.New("signature is not base64url")
	}
	return j, nil
}

// decodeSegment appends the base64url decoding (RFC 7515 §2: no padding,
// no line breaks) of seg to dst.
func decodeSegment(dst []byte, seg string) ([]byte, error) {
	return b64.AppendDecode(dst, bytesOf(seg))
}

// b64 rejects, besides padding, non-zero trailing bits: one token has one
// encoding.
var b64 = base64.RawURLEncoding.Strict()

// bytesOf is s as a byte slice without a copy. Callers only read it: it
// is for the hash and decoder calls that take []byte.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// verify checks j's signature with key, which fits j.alg (see fits).
func (j *compactJWS) verify(key jose.JSONWebKey) error {
	alg := jose.SignatureAlgorithm(j.alg)
	if pub, ok := key.Key.(ed25519.PublicKey); ok && alg == jose.EdDSA {
		if !ed25519.Verify(pub, bytesOf(j.signingInput), j.signature) {
			return errors.New("EdDSA signature does not verify")
		}
		return nil
	}
	hash, ok := hashOf[alg]
	if !ok {
		return fmt.Errorf("alg %s", alg)
	}
	h := hash.New()
	h.Write(bytesOf(j.signingInput))
	var sum [64]byte
	digest := h.Sum(sum[:0])
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

var hashOf = map[jose.SignatureAlgorithm]crypto.Hash{
	jose.RS256: crypto.SHA256, jose.RS384: crypto.SHA384, jose.RS512: crypto.SHA512,
	jose.PS256: crypto.SHA256, jose.PS384: crypto.SHA384, jose.PS512: crypto.SHA512,
	jose.ES256: crypto.SHA256, jose.ES384: crypto.SHA384, jose.ES512: crypto.SHA512,
}
