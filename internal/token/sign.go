package token

import (
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Sign signs claims as a compact JWS with the active key; the header
// carries kid, x5t and typ "JWT". The claims must carry a fresh random
// token id (uti or jti, NewTokenID): ES256 signatures are deterministic
// (see compactSigner.sign), safe because no message is signed twice. The claims are encoded by encoding/json:
// a hand-written encoder for AccessClaims was measured (December 2026) to
// save about 1.7 µs of an ES256 mint's 55 µs, within the noise, and went.
func (r *Ring) Sign(claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return r.set.Load().signer.sign(payload)
}

// Verification errors.
var (
	ErrMalformed = errors.New("token: malformed")
	ErrSignature = errors.New("token: bad signature or unknown key")
	ErrExpired   = errors.New("token: expired or not yet valid")
)

// allowedAlgs are the only algorithms Verify accepts: never none, never
// HMAC (RFC 8725 §3.1, §3.2).
var allowedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// Verify checks a token this ring signed: signature by a published key and
// the time window with skew. Issuer and audience are the caller's to check.
func (r *Ring) Verify(raw string, now time.Time, skew time.Duration) (AccessClaims, error) {
	var c AccessClaims
	jws, err := jose.ParseSignedCompact(raw, allowedAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return c, ErrMalformed
	}
	sig := jws.Signatures[0]
	k, ok := r.set.Load().byKid[sig.Header.KeyID]
	if !ok || sig.Header.Algorithm != k.record.Alg || !slices.Contains(allowedAlgs, jose.SignatureAlgorithm(sig.Header.Algorithm)) {
		return c, ErrSignature
	}
	payload, err := jws.Verify(k.public.Key)
	if err != nil {
		return c, ErrSignature
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, ErrMalformed
	}
	t := now.Unix()
	s := int64(skew / time.Second)
	if t > c.Expiry+s || t < c.NotBefore-s {
		return c, ErrExpired
	}
	return c, nil
}
