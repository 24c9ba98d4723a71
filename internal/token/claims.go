// Package token shapes, signs and verifies tessera's tokens: access tokens
// as Entra issues them (v1 and v2 claims), the signing key ring with its
// rotation and JWKS.
package token

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"
)

// Client authentication methods as the azpacr (v2) and appidacr (v1) claims
// encode them.
const (
	AuthPublic      = "0"
	AuthSecret      = "1"
	AuthCertificate = "2"
)

// AccessClaims are the claims of an access token, named as Entra names
// them. Which of azp/appid appear depends on the version, as in Entra:
// https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
type AccessClaims struct {
	Audience  string `json:"aud"`
	Issuer    string `json:"iss"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expiry    int64  `json:"exp"`

	// v2 names of the client and how it authenticated.
	AuthorizedParty    string `json:"azp,omitempty"`
	AuthorizedPartyACR string `json:"azpacr,omitempty"`
	// v1 names of the same.
	AppID    string `json:"appid,omitempty"`
	AppIDACR string `json:"appidacr,omitempty"`
	IDP      string `json:"idp,omitempty"`

	// IDType is Entra's idtyp claim: "app" in app-only tokens, "user" in
	// delegated ones, as Entra writes it when an API asks for it. It is
	// how a resource server tells the two apart: tessera's user tokens
	// have sub equal to oid, the mark of an app-only token in Entra's.
	IDType string `json:"idtyp,omitempty"`

	ObjectID string   `json:"oid"`
	Roles    []string `json:"roles,omitempty"`
	Scope    string   `json:"scp,omitempty"`
	Subject  string   `json:"sub"`
	TenantID string   `json:"tid"`
	UTI      string   `json:"uti"`
	JTI      string   `json:"jti"`
	Version  string   `json:"ver"`
}

// Values of the idtyp claim.
const (
	IDTypeApp  = "app"
	IDTypeUser = "user"
)

// AppTokenParams describe an app-only access token (client credentials).
type AppTokenParams struct {
	// Version is the resource's accessTokenAcceptedVersion, 1 or 2.
	Version int
	// IssuerBase is the public base URL, e.g. https://id.example.com.
	IssuerBase string
	TenantID   string
	// Audience: for v2 the resource's appId; for v1 the resource as the
	// client named it (Entra does the same).
	Audience string
	// ClientID is the client's appId; ClientSP its service principal's
	// object id, which is the token's oid and sub.
	ClientID   string
	ClientSP   string
	ClientAuth string // AuthSecret or AuthCertificate
	Roles      []string
	IssuedAt   time.Time
	Lifetime   time.Duration
}

// Issuer returns the issuer of tokens of a version in a tenant: v2
// `{base}/{tid}/v2.0`, v1 `{base}/{tid}/`, the shapes Entra uses (with its
// own hosts) and clients compare byte for byte.
func Issuer(base, tenantID string, version int) string {
	base = strings.TrimSuffix(base, "/")
	if version == 1 {
		return base + "/" + tenantID + "/"
	}
	return base + "/" + tenantID + "/v2.0"
}

// AppTokenClaims builds the claims of an app-only access token.
func AppTokenClaims(p AppTokenParams) AccessClaims {
	iat := p.IssuedAt.Unix()
	id := NewTokenID()
	c := AccessClaims{
		Audience:  p.Audience,
		Issuer:    Issuer(p.IssuerBase, p.TenantID, p.Version),
		IssuedAt:  iat,
		NotBefore: iat,
		Expiry:    p.IssuedAt.Add(p.Lifetime).Unix(),
		IDType:    IDTypeApp,
		ObjectID:  p.ClientSP,
		Roles:     p.Roles,
		Subject:   p.ClientSP,
		TenantID:  p.TenantID,
		UTI:       id,
		JTI:       id,
	}
	if p.Version == 1 {
		c.AppID, c.AppIDACR, c.IDP, c.Version = p.ClientID, p.ClientAuth, c.Issuer, "1.0"
	} else {
		c.AuthorizedParty, c.AuthorizedPartyACR, c.Version = p.ClientID, p.ClientAuth, "2.0"
	}
	return c
}

// NewTokenID returns a random token identifier: 128 bits, base64url, the
// shape of Entra's uti.
func NewTokenID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
