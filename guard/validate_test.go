package guard_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

func TestValidate(t *testing.T) {
	idp, g, _ := setup(t, nil)
	other := guardtest.NewGUID()
	stranger := idp.NewKey(t, "RS256") // never published
	v2 := func(edit func(guardtest.Claims)) guardtest.Claims {
		c := idp.V2Claims(resourceID)
		if edit != nil {
			edit(c)
		}
		return c
	}
	valid := idp.Mint(t, v2(nil))

	tests := []struct {
		rule  string
		token string
		want  guard.Reason // "" means valid
	}{
		{"RFC 7515 §5.2: v2 token, RS256", valid, ""},
		{"RFC 7518 §3.4: v2 token, ES256", idp.Mint(t, v2(nil), guardtest.SignWith(idp.EC)), ""},
		{"v1 token: iss https://host/{tid}/, aud api://{appId}, appid", idp.Mint(t, idp.V1Claims("api://"+resourceID)), ""},
		{"v1 token with the bare app id as aud", idp.Mint(t, idp.V1Claims(resourceID)), ""},
		{"RFC 7519 §4.1.3: aud array containing ours", idp.Mint(t, v2(func(c guardtest.Claims) { c["aud"] = []string{"other", resourceID} })), ""},
		{"RFC 7519 §4.1.3: aud of another resource", idp.Mint(t, v2(func(c guardtest.Claims) { c["aud"] = guardtest.NewGUID() })), guard.ReasonAudience},
		{"RFC 7519 §4.1.3: no aud", idp.Mint(t, v2(func(c guardtest.Claims) { delete(c, "aud") })), guard.ReasonAudience},
		{"RFC 7519 §4.1.4: expired two minutes ago (skew one minute)", idp.Mint(t, v2(func(c guardtest.Claims) { c["exp"] = t0.Add(-2 * time.Minute).Unix() })), guard.ReasonExpired},
		{"RFC 7519 §4.1.4: expired at exactly now minus skew", idp.Mint(t, v2(func(c guardtest.Claims) { c["exp"] = t0.Add(-time.Minute).Unix() })), guard.ReasonExpired},
		{"RFC 7519 §4.1.4: expired 30s ago, within skew", idp.Mint(t, v2(func(c guardtest.Claims) { c["exp"] = t0.Add(-30 * time.Second).Unix() })), ""},
		{"RFC 9068 §2.2: exp is required", idp.Mint(t, v2(func(c guardtest.Claims) { delete(c, "exp") })), guard.ReasonMalformed},
		{"RFC 7519 §2: exp must be a NumericDate", idp.Mint(t, v2(func(c guardtest.Claims) { c["exp"] = "tomorrow" })), guard.ReasonMalformed},
		{"RFC 7519 §4.1.5: nbf two minutes ahead", idp.Mint(t, v2(func(c guardtest.Claims) { c["nbf"] = t0.Add(2 * time.Minute).Unix() })), guard.ReasonNotYetValid},
		{"RFC 7519 §4.1.5: nbf 30s ahead, within skew", idp.Mint(t, v2(func(c guardtest.Claims) { c["nbf"] = t0.Add(30 * time.Second).Unix() })), ""},
		{"RFC 7519 §4.1.1: issuer of another tenant", idp.Mint(t, v2(func(c guardtest.Claims) { c["iss"] = idp.Base() + "/" + other + "/v2.0" })), guard.ReasonIssuer},
		{"RFC 7519 §4.1.1: issuer of another host", idp.Mint(t, v2(func(c guardtest.Claims) { c["iss"] = "https://evil.example/" + idp.TenantID + "/v2.0" })), guard.ReasonIssuer},
		{"Entra: tid is required", idp.Mint(t, v2(func(c guardtest.Claims) { delete(c, "tid") })), guard.ReasonNoTenant},
		{"RFC 7515 §4.1.4: kid of a key not in the key set", idp.Mint(t, v2(nil), guardtest.SignWith(stranger)), guard.ReasonUnknownKey},
		{"RFC 7515 §4.1.4: no kid", idp.Mint(t, v2(nil), guardtest.SignWith(guardtest.Key{Algorithm: "RS256", Signer: idp.RSA.Signer})), guard.ReasonUnknownKey},
		{"RFC 7515 §5.2: published kid, other key's signature", idp.Mint(t, v2(nil), guardtest.SignWith(guardtest.Key{ID: idp.RSA.ID, Algorithm: "RS256", Signer: stranger.Signer})), guard.ReasonSignature},
		{"RFC 8725 §3.1: alg none", unsignedToken(idp.RSA.ID, v2(nil)), guard.ReasonAlgorithm},
		{"RFC 8725 §2.1: HS256 keyed with the RSA public key (alg confusion)", hmacWithPublicKey(t, idp, v2(nil)), guard.ReasonAlgorithm},
		{"RFC 8725 §3.1: ES256 header on the RSA key's kid", idp.Mint(t, v2(nil), guardtest.SignWith(guardtest.Key{ID: idp.RSA.ID, Algorithm: "ES256", Signer: idp.EC.Signer})), guard.ReasonAlgorithm},
		{"RFC 7515 §5.2: payload changed after signing", tamper(valid, v2(func(c guardtest.Claims) { c["roles"] = []string{"Admin"} })), guard.ReasonSignature},
		{"RFC 7519 §7.2: payload not a JSON object", signedPayload(t, idp, `["not","an","object"]`), guard.ReasonMalformed},
		{"RFC 7519 §7.2: not a JWS", "not-a-token", guard.ReasonMalformed},
		{"RFC 7516 §7.1: a JWE is not accepted", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d", guard.ReasonMalformed},
		{"empty token", "", guard.ReasonMalformed},
		{"oversized token", valid + strings.Repeat("A", 70<<10), guard.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			p, err := g.Validate(context.Background(), tt.token)
			if got := reasonOf(err); got != tt.want {
				t.Fatalf("Validate: reason %q, want %q (err %v)", got, tt.want, err)
			}
			if tt.want == "" && (p == nil || p.TenantID != idp.TenantID) {
				t.Fatalf("Validate: principal %+v, want tenant %s", p, idp.TenantID)
			}
			if tt.want != "" && p != nil {
				t.Fatalf("Validate refused but returned a principal")
			}
			if err != nil && strings.Contains(err.Error(), tt.token) && tt.token != "" {
				t.Fatalf("error text contains the token")
			}
		})
	}
}

func signedPayload(tb testing.TB, idp *guardtest.Authority, payload string) string {
	tok, err := idp.SignPayload([]byte(payload))
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func TestValidatePrincipal(t *testing.T) {
	idp, g, _ := setup(t, nil)
	tests := []struct {
		rule    string
		claims  guardtest.Claims
		version string
		scopes  []string
		roles   []string
		oid     string
	}{
		{"v2 delegated: ClientID from azp, scp split on spaces",
			func() guardtest.Claims {
				c := idp.V2Claims(resourceID)
				c["scp"] = "user_impersonation Studies.Read"
				return c
			}(), "2.0", []string{"user_impersonation", "Studies.Read"}, nil, guardtest.UserOID},
		{"v1 delegated: ClientID from appid", idp.V1Claims("api://" + resourceID), "1.0", []string{"user_impersonation"}, nil, guardtest.UserOID},
		{"v2 application: roles, no scp", idp.AppClaims(resourceID, "Reader", "Writer"), "2.0", nil, []string{"Reader", "Writer"}, guardtest.AppOID},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			p, err := g.Validate(context.Background(), idp.Mint(t, tt.claims))
			if err != nil {
				t.Fatal(err)
			}
			if p.ClientID != guardtest.ClientID || p.Version != tt.version || p.ObjectID != tt.oid ||
				!slices.Equal(p.Scopes, tt.scopes) || !slices.Equal(p.Roles, tt.roles) {
				t.Fatalf("principal %+v", p)
			}
			if !p.ExpiresAt.Equal(t0.Add(guardtest.Lifetime)) || !p.IssuedAt.Equal(t0) {
				t.Fatalf("times: iat %s exp %s", p.IssuedAt, p.ExpiresAt)
			}
			if p.IsApplication() != (tt.scopes == nil) {
				t.Fatalf("IsApplication = %v", p.IsApplication())
			}
		})
	}
}

// Audience equivalence: Entra puts api://{appId} in v1 tokens and {appId}
// in v2 tokens for the same resource; either configured form accepts both.
func TestAudienceForms(t *testing.T) {
	for _, configured := range []string{"api://" + resourceID, resourceID, strings.ToUpper(resourceID)} {
		idp, g, _ := setup(t, func(c *guard.Config) { c.Audiences = []string{configured} })
		for _, aud := range []string{resourceID, "api://" + resourceID} {
			if _, err := g.Validate(context.Background(), idp.Mint(t, idp.V2Claims(aud))); err != nil {
				t.Errorf("configured %s, token aud %s: %v", configured, aud, err)
			}
		}
		if _, err := g.Validate(context.Background(), idp.Mint(t, idp.V2Claims("api://other"))); reasonOf(err) != guard.ReasonAudience {
			t.Errorf("configured %s, aud api://other: %v", configured, err)
		}
	}
}

// A zero skew still accepts a token up to its exp; a negative one means
// no tolerance at all.
func TestClockSkew(t *testing.T) {
	idp, g, clk := setup(t, func(c *guard.Config) { c.ClockSkew = -1 })
	tok := idp.Mint(t, idp.V2Claims(resourceID))
	clk.Advance(guardtest.Lifetime - time.Second)
	if _, err := g.Validate(context.Background(), tok); err != nil {
		t.Fatalf("a second before exp: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := g.Validate(context.Background(), tok); reasonOf(err) != guard.ReasonExpired {
		t.Fatalf("at exp: %v", err)
	}
}

// Entra's multi-tenant discovery (/common) has issuer
// https://host/{tenantid}/v2.0; the template is filled with the token's tid.
func TestIssuerTemplate(t *testing.T) {
	idp, _, _ := setup(t, nil)
	clk := newClock()
	g, err := guard.New(context.Background(), guard.Config{
		Authority: idp.Base() + "/common/v2.0", Audiences: []string{resourceID},
		HTTPClient: idp.Client(), Logger: quiet, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.Validate(context.Background(), idp.Mint(t, idp.V2Claims(resourceID))); err != nil {
		t.Fatalf("home tenant: %v", err)
	}
	c := idp.V2Claims(resourceID)
	other := guardtest.NewGUID()
	idp.AddTenant(other) // the authority serves its revocation feed
	c["tid"], c["iss"] = other, idp.Base()+"/"+other+"/v2.0"
	if _, err := g.Validate(context.Background(), idp.Mint(t, c)); err != nil {
		t.Fatalf("other tenant: %v", err)
	}
	c["iss"] = idp.IssuerV2() // iss of one tenant, tid of another
	if _, err := g.Validate(context.Background(), idp.Mint(t, c)); reasonOf(err) != guard.ReasonIssuer {
		t.Fatalf("iss/tid mismatch: %v", err)
	}
}
