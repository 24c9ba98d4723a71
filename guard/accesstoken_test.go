package guard_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

// mintTyp signs claims with the authority's RSA key and header typ.
func mintTyp(t *testing.T, idp *guardtest.Authority, typ string, claims guardtest.Claims) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: idp.RSA.Signer, KeyID: idp.RSA.ID}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestOnlyAccessTokensAreAccepted: an ID token of a registration that is
// both client and API has the API's id as aud, and is signed by the same
// keys; the guard takes only tokens with an access token's marks (azp in
// v2, appid in v1, or typ at+jwt, RFC 9068 §2.1), which OpenID Connect ID
// tokens from tessera and Entra never carry.
func TestOnlyAccessTokensAreAccepted(t *testing.T) {
	idp, g, _ := setup(t, nil)
	// An ID token as tessera and Entra issue it (OIDC Core §2), to a
	// client whose id is the API's.
	idToken := func(version string) guardtest.Claims {
		c := idp.V2Claims(resourceID)
		for _, k := range []string{"azp", "azpacr", "scp", "jti", "idtyp"} {
			delete(c, k)
		}
		c["nonce"], c["auth_time"] = "n-0S6_WzA2Mj", c["iat"]
		if version == "1.0" {
			c["iss"], c["ver"], c["upn"] = idp.IssuerV1(), "1.0", "ada@contoso.example"
		}
		return c
	}
	rfc9068 := func() guardtest.Claims { // client_id instead of azp/appid
		c := idp.V2Claims(resourceID)
		delete(c, "azp")
		c["client_id"] = guardtest.ClientID
		return c
	}
	v1App := idp.AppClaims("api://"+resourceID, "Reader")
	delete(v1App, "azp")
	v1App["appid"], v1App["ver"], v1App["iss"] = guardtest.ClientID, "1.0", idp.IssuerV1()
	emptyAzp := idp.V2Claims(resourceID)
	emptyAzp["azp"] = ""

	for _, tc := range []struct {
		rule  string
		token string
		want  guard.Reason
	}{
		{"OIDC Core §2: v2 ID token (aud is the client, no azp)", idp.Mint(t, idToken("2.0")), guard.ReasonNotAccessToken},
		{"OIDC Core §2: v1 ID token (no appid)", idp.Mint(t, idToken("1.0")), guard.ReasonNotAccessToken},
		{"an ID token with typ JWT spelled otherwise", mintTyp(t, idp, "jwt", idToken("2.0")), guard.ReasonNotAccessToken},
		{"an empty azp is no mark", idp.Mint(t, emptyAzp), guard.ReasonNotAccessToken},
		{"Entra v2 delegated access token: azp", idp.Mint(t, idp.V2Claims(resourceID)), ""},
		{"Entra v1 delegated access token: appid", idp.Mint(t, idp.V1Claims("api://"+resourceID)), ""},
		{"Entra v2 app-only access token: azp", idp.Mint(t, idp.AppClaims(resourceID, "Reader")), ""},
		{"Entra v1 app-only access token: appid", idp.Mint(t, v1App), ""},
		{"RFC 9068 §2.1: typ at+jwt, client_id", mintTyp(t, idp, "at+jwt", rfc9068()), ""},
		{"RFC 9068 §2.1: typ application/at+jwt", mintTyp(t, idp, "application/at+JWT", rfc9068()), ""},
		{"RFC 9068 §4: typ at+jwt is no excuse for an expired token", mintTyp(t, idp, "at+jwt", func() guardtest.Claims {
			c := rfc9068()
			c["exp"] = t0.Add(-2 * time.Minute).Unix()
			return c
		}()), guard.ReasonExpired},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			_, err := g.Validate(context.Background(), tc.token)
			if got := reasonOf(err); got != tc.want {
				t.Fatalf("reason %q (%v), want %q", got, err, tc.want)
			}
			if tc.want == "" {
				return
			}
			var e *guard.Error
			if !errors.As(err, &e) || e.Status() != 401 || e.Code() != "invalid_token" {
				t.Fatalf("refusal %v: status %d code %q, want 401 invalid_token", err, e.Status(), e.Code())
			}
		})
	}
}
