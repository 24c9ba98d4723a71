package guardtest

import (
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Claims are a token's claims, to adjust before minting.
type Claims map[string]any

// Clone returns a copy of c that can be changed independently.
func (c Claims) Clone() Claims { return maps.Clone(c) }

// Fixed ids of the parties in minted tokens.
const (
	ClientID  = "6731de76-14a6-49ae-97bc-6eba6914391e" // the calling application
	UserOID   = "0e9c3cbc-0c14-4c66-8c6d-8f2f1a1c2b3d" // the signed-in user
	AppOID    = "5b1c2c5e-7e10-4a8e-9f0e-0a1b2c3d4e5f" // the calling application's service principal
	UserSub   = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"
	SessionID = "9f3d6c1e-2b4a-4c8d-a1e7-5d0b3f9c7a21" // the user's sign-in (sid) in delegated tokens
	Lifetime  = time.Hour
	scopeUser = "user_impersonation"
)

// V2Claims are the claims of a v2 delegated access token of the home
// tenant for the resource audience (its app id), as tessera issues them:
// Entra's claims, idtyp "user", and sid, the sign-in the token comes from.
func (a *Authority) V2Claims(audience string) Claims {
	now := a.Now().Truncate(time.Second)
	return Claims{
		"aud": audience, "iss": a.IssuerV2(), "tid": a.TenantID,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(Lifetime).Unix(),
		"azp": ClientID, "azpacr": "1", "oid": UserOID, "sub": UserSub,
		"scp": scopeUser, "name": "Ada Lovelace", "preferred_username": "ada@contoso.example",
		"ver": "2.0", "uti": NewGUID()[:22], "jti": NewGUID(), "sid": SessionID, "idtyp": "user",
	}
}

// V1Claims are the v1 form of V2Claims: v1 issuer, appid for azp, and
// audience usually the identifier URI (api://{appId}).
func (a *Authority) V1Claims(audience string) Claims {
	c := a.V2Claims(audience)
	delete(c, "azp")
	delete(c, "azpacr")
	c["iss"] = a.IssuerV1()
	c["appid"] = ClientID
	c["appidacr"] = "1"
	c["ver"] = "1.0"
	return c
}

// AppClaims are the claims of a v2 application (client credentials) token:
// roles, no scp, no sid, and the application's own service principal as
// oid and sub.
func (a *Authority) AppClaims(audience string, roles ...string) Claims {
	c := a.V2Claims(audience)
	delete(c, "scp")
	delete(c, "name")
	delete(c, "preferred_username")
	delete(c, "sid")
	c["oid"], c["sub"] = AppOID, AppOID
	c["idtyp"] = "app"
	if roles != nil {
		c["roles"] = roles
	}
	return c
}

// MintOption changes how Mint signs.
type MintOption func(*mintOptions)

type mintOptions struct {
	key Key
}

// SignWith signs with k instead of a.RSA; k need not be published.
func SignWith(k Key) MintOption { return func(o *mintOptions) { o.key = k } }

// Mint signs claims as a compact JWS with header typ JWT and kid; it
// fails tb if it cannot.
func (a *Authority) Mint(tb testing.TB, claims Claims, opts ...MintOption) string {
	tb.Helper()
	tok, err := a.Sign(claims, opts...)
	if err != nil {
		tb.Fatalf("guardtest: %v", err)
	}
	return tok
}

// Sign is Mint for code without a testing.TB.
func (a *Authority) Sign(claims Claims, opts ...MintOption) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encode claims: %w", err)
	}
	return a.SignPayload(payload, opts...)
}

// SignPayload signs any payload, e.g. one that is not a JSON object.
func (a *Authority) SignPayload(payload []byte, opts ...MintOption) (string, error) {
	o := mintOptions{key: a.RSA}
	for _, opt := range opts {
		opt(&o)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: o.key.Algorithm, Key: jose.JSONWebKey{Key: o.key.Signer, KeyID: o.key.ID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("signer: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return jws.CompactSerialize()
}
