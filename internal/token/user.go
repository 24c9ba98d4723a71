package token

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// UserClaims are the claims a delegated (user) access token adds to
// AccessClaims, as Entra names them.
type UserClaims struct {
	AccessClaims
	Name              string   `json:"name,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"` // v2
	UPN               string   `json:"upn,omitempty"`                // v1
	UniqueName        string   `json:"unique_name,omitempty"`        // v1
	AMR               []string `json:"amr,omitempty"`                // v1
	SessionID         string   `json:"sid,omitempty"`
}

// UserTokenParams describe a delegated access token.
type UserTokenParams struct {
	Version    int // the resource's accepted version
	IssuerBase string
	TenantID   string
	Audience   string
	ClientID   string
	ClientAuth string // AuthPublic, AuthSecret or AuthCertificate
	UserID     string // object id: oid and sub
	UPN        string
	Name       string
	Scopes     []string // scope values of the audience, for scp
	Roles      []string // the user's app roles on the audience
	GrantID    string   // sid: revoking the grant revokes the token
	IssuedAt   time.Time
	Lifetime   time.Duration
}

// UserTokenClaims builds the claims of a delegated access token. sub is
// the user's object id (tessera's subjects are public, not pairwise).
func UserTokenClaims(p UserTokenParams) UserClaims {
	iat := p.IssuedAt.Unix()
	id := NewTokenID()
	c := UserClaims{AccessClaims: AccessClaims{
		Audience: p.Audience, Issuer: Issuer(p.IssuerBase, p.TenantID, p.Version),
		IssuedAt: iat, NotBefore: iat, Expiry: p.IssuedAt.Add(p.Lifetime).Unix(),
		IDType: IDTypeUser, ObjectID: p.UserID, Subject: p.UserID, TenantID: p.TenantID, Roles: p.Roles,
		Scope: strings.Join(p.Scopes, " "), UTI: id, JTI: id,
	}, Name: p.Name, SessionID: p.GrantID}
	if p.Version == 1 {
		c.AppID, c.AppIDACR, c.Version = p.ClientID, p.ClientAuth, "1.0"
		c.UPN, c.UniqueName, c.AMR = p.UPN, p.UPN, []string{"pwd"}
	} else {
		c.AuthorizedParty, c.AuthorizedPartyACR, c.Version = p.ClientID, p.ClientAuth, "2.0"
		c.PreferredUsername = p.UPN
	}
	return c
}

// IDClaims are the claims of an ID token (OpenID Connect Core §2) in
// Entra's shape.
type IDClaims struct {
	Audience          string `json:"aud"`
	Issuer            string `json:"iss"`
	IssuedAt          int64  `json:"iat"`
	NotBefore         int64  `json:"nbf"`
	Expiry            int64  `json:"exp"`
	AuthTime          int64  `json:"auth_time,omitempty"`
	Name              string `json:"name,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Email             string `json:"email,omitempty"`
	Nonce             string `json:"nonce,omitempty"`
	ObjectID          string `json:"oid"`
	SessionID         string `json:"sid,omitempty"`
	Subject           string `json:"sub"`
	TenantID          string `json:"tid"`
	UPN               string `json:"upn,omitempty"`         // v1
	UniqueName        string `json:"unique_name,omitempty"` // v1
	UTI               string `json:"uti"`
	Version           string `json:"ver"`
}

// IDTokenParams describe an ID token.
type IDTokenParams struct {
	Version    int // 2 for the v2 endpoints, 1 for v1
	IssuerBase string
	TenantID   string
	ClientID   string
	UserID     string
	UPN        string
	Name       string
	Email      string // only with the email scope
	Nonce      string // from the authorize request, verbatim (OIDC Core §3.1.3.7)
	GrantID    string
	AuthTime   time.Time
	IssuedAt   time.Time
	Lifetime   time.Duration
}

// IDTokenClaims builds an ID token's claims: aud is the client.
func IDTokenClaims(p IDTokenParams) IDClaims {
	iat := p.IssuedAt.Unix()
	c := IDClaims{Audience: p.ClientID, Issuer: Issuer(p.IssuerBase, p.TenantID, p.Version), IssuedAt: iat, NotBefore: iat,
		Expiry: p.IssuedAt.Add(p.Lifetime).Unix(), Name: p.Name, Nonce: p.Nonce, ObjectID: p.UserID, SessionID: p.GrantID,
		Subject: p.UserID, TenantID: p.TenantID, UTI: NewTokenID(), Email: p.Email}
	if !p.AuthTime.IsZero() {
		c.AuthTime = p.AuthTime.Unix()
	}
	if p.Version == 1 {
		c.Version, c.UPN, c.UniqueName = "1.0", p.UPN, p.UPN
	} else {
		c.Version, c.PreferredUsername = "2.0", p.UPN
	}
	return c
}

// ClientInfo is Microsoft's client_info response parameter: base64url of
// {"uid": object id, "utid": tenant id}; MSAL requires it to build its
// account cache key.
func ClientInfo(userID, tenantID string) string {
	b, _ := json.Marshal(map[string]string{"uid": userID, "utid": tenantID})
	return base64.RawURLEncoding.EncodeToString(b)
}
