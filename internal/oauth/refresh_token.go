package oauth

import (
	"context"
	"errors"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// refreshTokenGrant is the refresh token grant (RFC 6749 §6) with
// rotation: every use returns a new refresh token and retires the old one
// (RFC 9700 §4.14.2). A retry of the same token within the tenant's grace
// window gets the very same response; a reuse after it revokes the grant.
// The rotation itself is the issuance phase's (issuer.rotate); the grant
// decides what the grant, as the store holds it then, may still have.
type refreshTokenGrant struct {
	dir interface {
		AuthorizeUserToken(ctx context.Context, ask directory.UserTokenAsk) (directory.UserToken, error)
	}
}

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

func (g refreshTokenGrant) authorize(_ context.Context, req *tokenRequest, client directory.Client) (authorization, *Error) {
	if req.RefreshToken == "" {
		return authorization{}, errMissingParameter("refresh_token")
	}
	policy := req.Tenant.Policy.Effective()
	return authorization{refresh: &rotation{presented: req.RefreshToken, inactivity: policy.RefreshTokenInactivity, grace: policy.RefreshGrace,
		authorize: func(ctx context.Context, gr session.Grant) (*userAuthorization, *Error) {
			return g.decide(ctx, req, client, gr)
		}}}, nil
}

// decide runs only when this request may win the rotation: the user and
// the scopes are decided against the grant and the directory as they are
// now.
func (g refreshTokenGrant) decide(ctx context.Context, req *tokenRequest, client directory.Client, gr session.Grant) (*userAuthorization, *Error) {
	ask := directory.UserTokenAsk{Tenant: req.Tenant, Client: client, UserID: gr.UserID, Raw: true, Scope: req.Scope, Held: gr.Scopes}
	if req.Version == 1 {
		// The v1 endpoint names the resource; a scope there is only ever
		// OIDC scopes.
		ask.Resource = req.Resource
	}
	t, err := g.dir.AuthorizeUserToken(ctx, ask)
	if err != nil {
		return nil, userTokenError(ask, t, err)
	}
	return &userAuthorization{UserToken: t, grant: gr, v1Resource: ask.Resource}, nil
}
