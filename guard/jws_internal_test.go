package guard

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// What go-jose signs, the guard's own verifier accepts, for every
// algorithm on the allowlist; a changed signature, payload or header, or
// the key of another algorithm, is refused.
func TestCompactJWSAgreesWithGoJose(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		alg  jose.SignatureAlgorithm
		priv crypto.Signer
	}{
		{jose.RS256, rsaKey}, {jose.RS384, rsaKey}, {jose.RS512, rsaKey},
		{jose.PS256, rsaKey}, {jose.PS384, rsaKey}, {jose.PS512, rsaKey},
		{jose.ES256, ec256}, {jose.ES384, ec384}, {jose.ES512, ec521}, {jose.EdDSA, edKey},
	} {
		t.Run(string(tc.alg), func(t *testing.T) {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: tc.alg, Key: tc.priv},
				(&jose.SignerOptions{}).WithHeader("kid", "k1").WithType("at+jwt"))
			if err != nil {
				t.Fatal(err)
			}
			obj, err := signer.Sign([]byte(`{"sub":"s"}`))
			if err != nil {
				t.Fatal(err)
			}
			tok, _ := obj.CompactSerialize()
			key := jose.JSONWebKey{Key: tc.priv.Public(), KeyID: "k1"}
			j, err := parseCompact(tok, allAlgorithms())
			if err != nil || j.alg != string(tc.alg) || j.kid != "k1" || string(j.payload) != `{"sub":"s"}` {
				t.Fatalf("parse: %+v, %v", j, err)
			}
			if !fits(key, j.alg) {
				t.Fatal("key does not fit its own algorithm")
			}
			if err := j.verify(key); err != nil {
				t.Fatalf("verify: %v", err)
			}
			h, p, s := split3(tok)
			for name, bad := range map[string]string{
				"signature": h + "." + p + "." + flip(s),
				"payload":   h + "." + b64url(`{"sub":"t"}`) + "." + s,
				"header":    b64url(`{"alg":"`+string(tc.alg)+`","kid":"k2"}`) + "." + p + "." + s,
			} {
				j, err := parseCompact(bad, allAlgorithms())
				if err == nil {
					err = j.verify(key)
				}
				if err == nil {
					t.Errorf("a token with another %s verified", name)
				}
			}
		})
	}
}

// The parser's own rules (RFC 7515 §2, §4.1.11, §7.1; RFC 8725 §3.1).
func TestParseCompactRefuses(t *testing.T) {
	hdr := func(json string) string { return b64url(json) }
	payload, sig := b64url(`{}`), b64url("sig")
	for _, tc := range []struct{ name, token string }{
		{"two segments", hdr(`{"alg":"RS256"}`) + "." + payload},
		{"four segments", hdr(`{"alg":"RS256"}`) + "." + payload + "." + sig + "." + sig},
		{"JWE", strings.Repeat(hdr(`{"alg":"RSA-OAEP"}`)+".", 4) + sig},
		{"JSON serialization", `{"payload":"e30","signatures":[]}`},
		{"padded header", b64url(`{"alg":"RS256","kid":"k"}`) + "=." + payload + "." + sig},
		{"non-canonical trailing bits", hdr(`{"alg":"RS256"}`)[:len(hdr(`{"alg":"RS256"}`))-1] + "1." + payload + "." + sig},
		{"header not an object", hdr(`["alg","RS256"]`) + "." + payload + "." + sig},
		{"no alg", hdr(`{"kid":"k"}`) + "." + payload + "." + sig},
		{"alg in other case", hdr(`{"ALG":"RS256","kid":"k"}`) + "." + payload + "." + sig},
		{"alg none", hdr(`{"alg":"none","kid":"k"}`) + "." + payload + "." + sig},
		{"alg HS256", hdr(`{"alg":"HS256","kid":"k"}`) + "." + payload + "." + sig},
		{"alg not a string", hdr(`{"alg":1,"kid":"k"}`) + "." + payload + "." + sig},
		{"crit", hdr(`{"alg":"RS256","kid":"k","crit":["exp"],"exp":1}`) + "." + payload + "." + sig},
		{"b64", hdr(`{"alg":"RS256","kid":"k","b64":false}`) + "." + payload + "." + sig},
		{"empty signature", hdr(`{"alg":"RS256","kid":"k"}`) + "." + payload + "."},
		{"payload not base64url", hdr(`{"alg":"RS256","kid":"k"}`) + ".e30+." + sig},
	} {
		if _, err := parseCompact(tc.token, allAlgorithms()); err == nil {
			t.Errorf("%s: accepted %q", tc.name, tc.token)
		}
	}
}

func allAlgorithms() []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, a := range allowedAlgorithms {
		out = append(out, a)
	}
	return out
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func split3(tok string) (string, string, string) {
	p := strings.Split(tok, ".")
	return p[0], p[1], p[2]
}

// flip changes the first character of a base64url segment.
func flip(seg string) string {
	c := byte('A')
	if seg[0] == 'A' {
		c = 'B'
	}
	return string(c) + seg[1:]
}
