package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// refreshTokenGrant is the refresh token grant (RFC 6749 §6) with
// rotation: every use returns a new refresh token and retires the old one
// (RFC 9700 §4.14.2). A retry of the same token within the tenant's grace
// window gets the very same response; a reuse after it revokes the grant.
type refreshTokenGrant struct{ h *Handler }

// publicClients: public clients' refresh tokens are protected by
// rotation instead of client authentication (RFC 9700 §4.14.2).
func (refreshTokenGrant) publicClients() bool { return true }

func (refreshTokenGrant) tenantOf(req *tokenRequest) (string, *Error) {
	if req.RefreshToken == "" {
		return "", errMissingParameter("refresh_token")
	}
	tid, ok := session.TenantOf(req.RefreshToken)
	if !ok {
		return "", errBadRefreshToken(errors.New("the refresh token names no tenant"))
	}
	return tid, nil
}

func (g refreshTokenGrant) issue(ctx context.Context, req *tokenRequest, client directory.Client, clientAuth string) (any, *Error) {
	h := g.h
	if req.RefreshToken == "" {
		return nil, errMissingParameter("refresh_token")
	}
	policy := req.Tenant.Policy.Effective()
	scope, resource := req.Scope, ""
	if req.Version == 1 {
		// The v1 endpoint names the resource; a scope there is only ever
		// OIDC scopes.
		resource = req.Resource
	}
	// mint runs only when this request may win the rotation; it decides
	// the scopes against the grant as it is now. An *Error it returns
	// leaves the refresh token unused.
	mint := func(gr session.Grant, next string) (session.Minted, error) {
		user, oerr := h.activeUser(ctx, req.TenantID, gr.UserID)
		if oerr != nil {
			return session.Minted{}, oerr
		}
		q := h.held(ctx, req.TenantID, gr.Scopes)
		if strings.TrimSpace(scope) != "" || resource != "" {
			// One refresh token serves every resource the user consented
			// to (Entra's multi-resource refresh token): the requested
			// resource may differ from the one first asked for.
			if q, oerr = h.parseScopes(ctx, req.TenantID, scope, resource); oerr != nil {
				return session.Minted{}, oerr
			}
		}
		scopes, oerr := h.decideScopes(ctx, req.TenantID, client.App, user.ObjectID, q)
		if oerr != nil {
			return session.Minted{}, oerr
		}
		resp, oerr := h.mintUser(ctx, &issuance{
			issued: &req.issued, tenantID: req.TenantID, policy: policy, version: req.Version, client: client, clientAuth: clientAuth,
			user: user, grant: gr, scopes: scopes, v1Resource: resource, clientInfo: req.ClientInfo, idIssuer: req.IDIssuer,
		})
		if oerr != nil {
			return session.Minted{}, oerr
		}
		resp.refreshToken = next
		b, err := json.Marshal(resp.wire())
		if err != nil {
			return session.Minted{}, errServer(err)
		}
		return session.Minted{Response: b, AccessTokenID: resp.claims.JTI, AccessTokenExpiresAt: resp.accessTokenExpiry(),
			AccessTokenAudience: resp.claims.Audience, AccessTokenIssuedAt: time.Unix(resp.claims.IssuedAt, 0)}, nil
	}
	body, gr, err := h.sessions.Refresh(ctx, req.TenantID, req.RefreshToken, client.App.AppID,
		policy.RefreshTokenInactivity, policy.RefreshGrace, mint)
	var oerr *Error
	switch {
	case err == nil:
		if req.issued.subject == "" {
			// A retry within the grace window: the response minted for
			// the first try, again; mint did not run to say what it holds.
			req.issued = issuedToken{subject: gr.UserID, grantID: gr.ID, replay: true}
		}
		return rawJSON(body), nil
	case errors.As(err, &oerr):
		return nil, oerr
	case errors.Is(err, session.ErrWrongClient):
		// RFC 6749 §6: the token is bound to the client it was issued to.
		// Nothing changes: another client cannot revoke the owner's grant.
		return nil, errBadRefreshToken(err)
	case errors.Is(err, session.ErrReuse), errors.Is(err, session.ErrRevoked):
		return nil, errGrantRevoked(err)
	case errors.Is(err, session.ErrExpired):
		return nil, errRefreshExpired(err)
	case errors.Is(err, session.ErrNotFound):
		return nil, errBadRefreshToken(err)
	default:
		return nil, errServer(err)
	}
}
