package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/oauth"
)

// tokenVerifier checks an access token of this server as introspection
// does, revocation included (oauth.Handler.VerifyAccessToken).
type tokenVerifier interface {
	VerifyAccessToken(ctx context.Context, raw string) (oauth.AccessToken, error)
}

// adminAuth authenticates callers of the admin API: the token must be one
// this server issued and nobody revoked (the protocol layer's check, the
// same introspection makes), for the admin API of its own tenant; then
// the directory decides, now, whether the principal it names may act:
// exists, is enabled, holds the admin role (directory.AdminAuthorityOf,
// through the directory cache). The token's roles claim is not read.
type adminAuth struct {
	tokens     tokenVerifier
	dir        *directory.Service
	homeTenant string
}

var _ adminapi.Authenticator = (*adminAuth)(nil)

func (a *adminAuth) Authenticate(r *http.Request) (adminapi.Caller, error) {
	ctx := r.Context()
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	raw = strings.TrimSpace(raw)
	if !ok || raw == "" {
		return adminapi.Caller{}, adminapi.Refuse(adminapi.ReasonNoToken, errors.New("no bearer token"))
	}
	at, err := a.tokens.VerifyAccessToken(ctx, raw)
	c := adminapi.Caller{TenantID: at.TenantID, Subject: at.ObjectID, ClientID: at.ClientID()}
	switch {
	case errors.Is(err, oauth.ErrTokenRevoked):
		return c, adminapi.Refuse(adminapi.ReasonRevoked, err)
	case errors.Is(err, oauth.ErrTokenInvalid):
		return adminapi.Caller{}, adminapi.Refuse(adminapi.ReasonInvalidToken, err)
	case err != nil:
		return adminapi.Caller{}, adminapi.CheckFailed(err)
	case !directory.IsGUID(at.TenantID):
		return adminapi.Caller{}, adminapi.Refuse(adminapi.ReasonInvalidToken, errors.New("token has no tenant"))
	}
	auth, err := a.dir.AdminAuthorityOf(ctx, directory.AdminCaller{TenantID: at.TenantID, ObjectID: at.ObjectID,
		ClientID: at.ClientID(), App: at.IDType == "app", Audience: at.Audience})
	switch {
	case err != nil:
		return adminapi.Caller{}, adminapi.CheckFailed(err)
	case auth.TokenInvalid():
		return c, adminapi.Refuse(auth.Refused, errors.New("the directory refuses the token's principal: "+auth.Refused))
	case auth.Held:
		c.Roles = []string{directory.AdminRole}
		c.SystemAdmin = at.TenantID == a.homeTenant
	}
	return c, nil
}
