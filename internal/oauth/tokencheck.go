package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/token"
)

// verifiedToken is an access token of ours whose signature, time window
// and issuer have been checked.
type verifiedToken struct {
	token.AccessClaims
	SessionID string `json:"sid"`
	// The user's sign-in name: preferred_username (v2), upn (v1).
	PreferredUsername string `json:"preferred_username"`
	UPN               string `json:"upn"`
}

// clientID is the client the token was issued to (azp in v2, appid in v1).
func (t verifiedToken) clientID() string {
	if t.AuthorizedParty != "" {
		return t.AuthorizedParty
	}
	return t.AppID
}

func (t verifiedToken) username() string {
	if t.PreferredUsername != "" {
		return t.PreferredUsername
	}
	return t.UPN
}

// verifyAccessToken checks a token this server signed: signature by a
// published key, exp/nbf with skew, and the issuer of its version for
// tenantID (any tenant when tenantID is empty: the token's tid then names
// it). It does not check revocation (see revoked).
func (h *Handler) verifyAccessToken(raw, tenantID string) (verifiedToken, error) {
	var vt verifiedToken
	c, err := h.keys.Verify(raw, h.now(), h.skew)
	if err != nil {
		return vt, err
	}
	// The signature is verified: the payload can be read for the claims
	// AccessClaims does not carry.
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return vt, token.ErrMalformed
	}
	if err := json.Unmarshal(payload, &vt); err != nil {
		return vt, token.ErrMalformed
	}
	vt.AccessClaims = c
	// An ID token is signed by the same keys and valid as long, but it is
	// not an access token: its audience is the client (OpenID Connect Core
	// §2) and it names no client it was issued to. Every access token of
	// this server names one, azp in v2 and appid in v1; the guard applies
	// the same mark (RFC 9068 §4).
	if vt.clientID() == "" {
		return vt, errNotAccessToken
	}
	if tenantID == "" {
		tenantID = c.TenantID
	}
	version := 2
	if c.Version == "1.0" {
		version = 1
	}
	if c.TenantID != tenantID || c.Issuer != token.Issuer(h.publicURL, tenantID, version) {
		return vt, fmt.Errorf("token of issuer %q, tenant %q: not this tenant's", c.Issuer, c.TenantID)
	}
	return vt, nil
}

// errNotAccessToken: a token of this server that is not an access token.
var errNotAccessToken = errors.New("token names no client (azp, appid): not an access token")

// revoked reports whether a verified token has been revoked: its grant
// (sid) is no longer active, or an entry of the tenant's revocation feed
// refuses it (session.Refuses: its jti, its user or client at or after it
// was issued, or a later refresh of its grant for the same audience). It
// reads the grant by id and only the feed entries that name one of the
// token's values, by index: what a guard following the feed would know,
// at a cost that does not grow with the feed.
func (h *Handler) revoked(ctx context.Context, tenantID string, t verifiedToken) (bool, error) {
	if t.SessionID != "" {
		_, err := h.sessions.ActiveGrant(ctx, tenantID, t.SessionID)
		switch {
		case errors.Is(err, session.ErrRevoked), errors.Is(err, session.ErrExpired), errors.Is(err, session.ErrNotFound):
			return true, nil
		case err != nil:
			return false, err
		}
	}
	return h.sessions.AccessTokenRevoked(ctx, tenantID, t.facts())
}

// facts are the claims of t that revocation decisions read.
func (t verifiedToken) facts() session.AccessToken {
	return session.AccessToken{SessionID: t.SessionID, JTI: t.JTI, UTI: t.UTI, ObjectID: t.ObjectID, ClientID: t.clientID(),
		Audience: t.Audience, IssuedAt: time.Unix(t.IssuedAt, 0)}
}
