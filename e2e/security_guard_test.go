package e2e

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// assembleJWT assembles a compact JWS from a header and claims, signed over the
// signing input by sign (nil: no signature).
func assembleJWT(t *testing.T, header, claims map[string]any, sign func(input []byte) []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	if sign == nil {
		return input + "."
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(input)))
}

func signRS256(key *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		sum := sha256.Sum256(in)
		sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		return sig
	}
}

func signHS256(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

// TestSecurityGuardAlg: the guard (RFC 9700 §4.10.2 audience restriction,
// RFC 8725 §2.1 and §3.1 algorithm verification) accepts only tokens
// signed by the authority's published keys with the key's own algorithm,
// for its audience and issuer, unexpired; alg none, HMAC with the public
// key, keys or key URLs named by the token itself, and other
// serializations are refused.
func TestSecurityGuardAlg(t *testing.T) {
	e := newSecEnv(t)
	g := guardFor(t, e.h, e.api.AppID)
	valid := e.h.clientCredentials(e.web.AppID, e.webSecret, "api://studies/.default", false)
	hdr, claims := headerOf(t, valid), claimsOf(t, valid)
	kid := hdr["kid"].(string)
	with := func(edit func(h map[string]any)) map[string]any {
		h := map[string]any{}
		for k, v := range hdr {
			h[k] = v
		}
		edit(h)
		return h
	}
	var jwks jose.JSONWebKeySet
	raw := getRaw(t, e.h, "/"+e.tid+"/discovery/v2.0/keys")
	if err := json.Unmarshal(raw, &jwks); err != nil {
		t.Fatal(err)
	}
	keys := jwks.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("kid %s not in the JWKS", kid)
	}
	pub, ok := keys[0].Key.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("the signing key is %T, want RSA", keys[0].Key)
	}
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	attacker, _ := rsa.GenerateKey(rand.Reader, 2048)
	attackerJWK, _ := json.Marshal(jose.JSONWebKey{Key: &attacker.PublicKey, KeyID: "attacker", Algorithm: "RS256", Use: "sig"})
	var attackerJWKMap map[string]any
	json.Unmarshal(attackerJWK, &attackerJWKMap)
	genuine := func(edit func(c map[string]any)) string {
		return signed(t, e.h, func(c map[string]any) {
			c["aud"] = e.api.AppID
			edit(c)
		})
	}
	parts := strings.Split(valid, ".")
	swapAlg := func(alg string) string {
		h, _ := json.Marshal(with(func(h map[string]any) { h["alg"] = alg }))
		return base64.RawURLEncoding.EncodeToString(h) + "." + parts[1] + "." + parts[2]
	}
	for _, tc := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"RFC 8725 §3.1 token as issued", valid, true},
		{"RFC 8725 §3.1 alg none", assembleJWT(t, with(func(h map[string]any) { h["alg"] = "none" }), claims, nil), false},
		{"RFC 8725 §3.1 alg None", assembleJWT(t, with(func(h map[string]any) { h["alg"] = "None" }), claims, nil), false},
		{"RFC 8725 §3.1 alg none with the original signature", assembleJWT(t, with(func(h map[string]any) { h["alg"] = "none" }), claims, nil) + parts[2], false},
		{"RFC 8725 §2.1 HS256 keyed with the public key's PEM", assembleJWT(t, with(func(h map[string]any) { h["alg"] = "HS256" }), claims, signHS256(pubPEM)), false},
		{"RFC 8725 §2.1 HS256 keyed with the public key's DER", assembleJWT(t, with(func(h map[string]any) { h["alg"] = "HS256" }), claims, signHS256(der)), false},
		{"RFC 8725 §2.1 HS256 keyed with the modulus", assembleJWT(t, with(func(h map[string]any) { h["alg"] = "HS256" }), claims, signHS256(pub.N.Bytes())), false},
		{"RFC 8725 §3.1 header alg changed to PS256, RS256 signature", swapAlg("PS256"), false},
		{"RFC 8725 §3.1 header alg changed to ES256, RS256 signature", swapAlg("ES256"), false},
		{"RFC 8725 §3.1 the real kid, signed by another key", assembleJWT(t, hdr, claims, signRS256(attacker)), false},
		{"RFC 8725 §3.1 an unknown kid, signed by another key", assembleJWT(t, with(func(h map[string]any) { h["kid"] = "attacker" }), claims, signRS256(attacker)), false},
		{"RFC 8725 §3.10 a key embedded in the header (jwk)", assembleJWT(t, with(func(h map[string]any) { h["kid"] = "attacker"; h["jwk"] = attackerJWKMap }), claims, signRS256(attacker)), false},
		{"RFC 8725 §3.10 a key URL in the header (jku)", assembleJWT(t, with(func(h map[string]any) { h["kid"] = "attacker"; h["jku"] = "https://evil.example/keys" }), claims, signRS256(attacker)), false},
		{"RFC 8725 §3.1 tampered claims, original signature", parts[0] + "." + reencode(t, parts[1], func(c map[string]any) { c["roles"] = []string{"Admin"} }) + "." + parts[2], false},
		{"§4.10.2 genuine token for another audience", genuine(func(c map[string]any) { c["aud"] = e.web.AppID }), false},
		{"§4.10.2 genuine token, the audience as control", genuine(func(map[string]any) {}), true},
		{"§4.4 genuine token from another issuer", genuine(func(c map[string]any) { c["iss"] = "https://evil.example/" + e.tid + "/v2.0" }), false},
		{"RFC 9068 §4 genuine token, expired", genuine(func(c map[string]any) {
			c["exp"], c["nbf"] = time.Now().Add(-10*time.Minute).Unix(), time.Now().Add(-time.Hour).Unix()
		}), false},
		{"RFC 9068 §4 genuine token, not yet valid", genuine(func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), false},
		{"RFC 7515 §7.2 JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, false},
		{"RFC 7516 five-part JWE", parts[0] + ".." + parts[1] + ".." + parts[2], false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := g.Validate(context.Background(), tc.token)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && (err == nil || p != nil) {
				t.Fatal("accepted")
			}
		})
	}
}
