package token_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/tessera-id/tessera/internal/token"
)

// The ring signs below go-jose (see compactSigner); every token it signs
// must still verify with go-jose against the published JWKS and with
// go-oidc, as resource servers check them, and carry the header go-jose
// wrote (alg, kid, typ JWT, x5t).
func TestSignedTokensVerifyWithGoJoseAndGoOIDC(t *testing.T) {
	for _, alg := range []string{token.RS256, token.ES256} {
		t.Run(alg, func(t *testing.T) {
			f := newFixture(t)
			r := f.ring(t, token.RingOptions{Alg: alg})
			now := time.Now()
			c := claims(now)
			c.Roles = []string{"Reader", "<Writer & \"Admin\">"}
			c.Audience = "https://api.example/\u2028"
			raws := []string{}
			for _, v := range []any{c, &c, map[string]any{"aud": "a", "iss": c.Issuer, "exp": c.Expiry}} {
				raw, err := r.Sign(v)
				if err != nil {
					t.Fatal(err)
				}
				raws = append(raws, raw)
			}
			set := jwks(t, r)
			var pub jose.JSONWebKey
			for _, k := range set.Keys {
				if k.KeyID == r.ActiveKeyID() {
					pub = k
				}
			}
			for i, raw := range raws {
				h := header(t, raw)
				if h["alg"] != alg || h["kid"] != r.ActiveKeyID() || h["typ"] != "JWT" || h["x5t"] == "" || len(h) != 4 {
					t.Fatalf("header %v", h)
				}
				jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := jws.Verify(pub.Key); err != nil {
					t.Fatalf("go-jose: %v", err)
				}
				sig, _ := base64.RawURLEncoding.DecodeString(raw[strings.LastIndexByte(raw, '.')+1:])
				switch k := pub.Key.(type) {
				case *ecdsa.PublicKey:
					if len(sig) != 64 { // RFC 7518 §3.4: r||s, 32 bytes each
						t.Fatalf("ES256 signature of %d bytes", len(sig))
					}
				case *rsa.PublicKey:
					if len(sig) != k.Size() {
						t.Fatalf("RS256 signature of %d bytes", len(sig))
					}
				}
				if i == 2 {
					continue // not access claims: go-oidc wants its own shape
				}
				got, err := r.Verify(raw, now, 0)
				if err != nil {
					t.Fatal(err)
				}
				if got.Roles[1] != c.Roles[1] || got.Audience != c.Audience {
					t.Fatalf("round trip: %+v", got)
				}
				v := oidc.NewVerifier(c.Issuer, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{pub.Key}}, &oidc.Config{
					ClientID: c.Audience, SupportedSigningAlgs: []string{alg}, Now: func() time.Time { return now },
				})
				if _, err := v.Verify(context.Background(), raw); err != nil {
					t.Fatalf("go-oidc: %v", err)
				}
			}
		})
	}
}
