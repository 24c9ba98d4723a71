package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/tessera-id/tessera/internal/token"
)

// Errors of VerifyAccessToken.
var (
	// ErrTokenInvalid: the value is not an access token this server signed
	// that is valid now (signature, time window, issuer of its tenant).
	ErrTokenInvalid = errors.New("access token invalid")
	// ErrTokenRevoked: a valid token that was revoked.
	ErrTokenRevoked = errors.New("access token revoked")
)

// AccessToken is an access token of this server, verified and not
// revoked: its claims and the grant it came from (sid), if any.
type AccessToken struct {
	token.AccessClaims
	SessionID string
}

// ClientID is the client the token was issued to (azp in v2, appid in v1).
func (t AccessToken) ClientID() string {
	if t.AuthorizedParty != "" {
		return t.AuthorizedParty
	}
	return t.AppID
}

// VerifyAccessToken checks a bearer token presented to an API of this
// server itself (the admin API) exactly as introspection decides "active"
// (RFC 7662 §2.2): signed by a published key, within its time window,
// issued by its own tenant's issuer, and not revoked — its grant (sid)
// still active, and the tenant's revocation feed naming neither its jti
// nor, since it was issued, its user or client (RFC 7009 revocation,
// sign-out, a user or client disabled or deleted, a credential removed).
//
// It fails with ErrTokenInvalid, or with ErrTokenRevoked and the token's
// claims (they are this server's, verified: who presented a revoked token
// is worth recording); any other error is a failure to check, never a
// reason to accept.
func (h *Handler) VerifyAccessToken(ctx context.Context, raw string) (AccessToken, error) {
	vt, err := h.verifyAccessToken(raw, "")
	if err != nil {
		return AccessToken{}, fmt.Errorf("%w: %w", ErrTokenInvalid, err)
	}
	if h.sessions == nil {
		return AccessToken{}, errors.New("oauth: no session store to check revocation against")
	}
	at := AccessToken{AccessClaims: vt.AccessClaims, SessionID: vt.SessionID}
	revoked, err := h.revoked(ctx, vt.TenantID, vt)
	if err != nil {
		return AccessToken{}, fmt.Errorf("oauth: check revocation: %w", err)
	}
	if revoked {
		return at, ErrTokenRevoked
	}
	return at, nil
}
