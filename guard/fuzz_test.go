package guard_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzValidate feeds hostile token strings to Validate: it must never
// panic and never accept one. Nothing here is signed by a key in the
// guard's set, so no input can be valid; the committed corpus
// (testdata/fuzz/FuzzValidate) starts from near-misses: alg none, HS256,
// a foreign RS256 key, JWS JSON and JWE shapes.
func FuzzValidate(f *testing.F) {
	idp, g, _ := setup(f, nil)
	f.Add(unsignedToken(idp.RSA.ID, idp.V2Claims(resourceID)))
	f.Add(hmacWithPublicKey(f, idp, idp.V2Claims(resourceID)))
	f.Fuzz(func(t *testing.T, token string) {
		p, err := g.Validate(context.Background(), token)
		if err == nil || p != nil {
			t.Fatalf("Validate accepted %q", token)
		}
		if reasonOf(err) == "" || strings.HasPrefix(string(reasonOf(err)), "not a") {
			t.Fatalf("Validate returned %T %v", err, err)
		}
	})
}

// FuzzValidateClaims signs arbitrary payloads with the authority's real
// key, so the claim checks after the signature are what is fuzzed: no
// panic, and whatever is accepted satisfies every rule.
func FuzzValidateClaims(f *testing.F) {
	idp, g, clk := setup(f, nil)
	for _, seed := range []string{
		`{}`, `[]`, `null`, `"x"`,
		`{"aud":"a3c1a0f2-6f52-4b1e-9d7a-1f0c2b3d4e5f","exp":1.9e9,"tid":"t","iss":"x"}`,
		`{"aud":["a3c1a0f2-6f52-4b1e-9d7a-1f0c2b3d4e5f",1],"exp":"1"}`,
		`{"exp":1e308,"nbf":-1,"roles":"Reader","scp":["a"]}`,
		// The guard scans the payload itself (claims.go): escapes in
		// names and values, a claim named twice, numbers past float64.
		`{"\u0061ud":"a3c1a0f2-6f52-4b1e-9d7a-1f0c2b3d4e5f","exp":1.9e9,"exp":"x","t\u0069d":"t\u00e9"}`,
		`{"aud":"a3c1a0f2-6f52-4b1e-9d7a-1f0c2b3d4e5f","exp":1.9e9,"tid":"t","x":[1e400]}`,
		`{"scp":"a\u00a0b  c","roles":["R",null],"exp":1.9e9,"exp":null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		tok, err := idp.SignPayload(payload)
		if err != nil {
			t.Skip()
		}
		p, err := g.Validate(context.Background(), tok)
		if err != nil {
			return
		}
		now := clk.Now()
		if p.TenantID == "" || !p.ExpiresAt.Add(time.Minute).After(now) || !slices.ContainsFunc(p.Audience, func(a string) bool {
			return a == resourceID || a == "api://"+resourceID
		}) || !slices.Contains(g.Issuers(), p.Issuer) {
			t.Fatalf("accepted a token breaking a rule: %+v", p)
		}
	})
}

// The clock shared with setup stays at t0, so tokens stay valid for the
// whole run without sleeping.
func BenchmarkValidate(b *testing.B) {
	idp, g, _ := setup(b, nil)
	for _, bc := range []struct {
		name string
		key  func() string
	}{
		{"RS256", func() string { return idp.Mint(b, idp.V2Claims(resourceID)) }},
		{"ES256", func() string { return idp.Mint(b, idp.V2Claims(resourceID), signWithEC(idp)) }},
	} {
		tok := bc.key()
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g.Validate(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := g.Validate(context.Background(), tok); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
