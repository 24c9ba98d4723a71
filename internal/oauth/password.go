package oauth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// passwordGrant is the resource owner password credentials grant (RFC 6749
// §4.3, ROPC). RFC 9700 §2.4 says it MUST NOT be used; it stays for the
// scripts and test rigs that Entra-shaped deployments still run, and a
// tenant can turn it off (PasswordGrantDisabled). It asks no consent: a
// scope the user has not consented to fails with consent_required.
type passwordGrant struct {
	dir    signInDirectory
	grants grantMaker
	users  userFacts
	now    func() time.Time
}

// signInDirectory checks a person's password.
type signInDirectory interface {
	AuthenticateUserVia(ctx context.Context, tenantID, upn, password string, via directory.SignInVia) (directory.User, error)
}

// grantMaker records a new sign-in of a user to a client.
type grantMaker interface {
	NewGrant(ctx context.Context, tenantID string, g session.GrantSpec) (session.Grant, error)
}

func (passwordGrant) publicClients() bool { return true }

// tenantOf: at /organizations/ the tenant is the username's domain, as
// Entra finds a user's home tenant.
func (passwordGrant) tenantOf(req *tokenRequest) (string, *Error) {
	if req.Username == "" {
		return "", errMissingParameter("username")
	}
	_, domain, ok := strings.Cut(req.Username, "@")
	if !ok || domain == "" {
		return "", errMultiTenant(req.TenantRef, "the username must be name@domain to find its tenant, or use /{tenant id or domain}/oauth2/…")
	}
	return domain, nil
}

func (g passwordGrant) authorize(ctx context.Context, req *tokenRequest, client directory.Client) (authorization, *Error) {
	policy := req.Tenant.Policy.Effective()
	if policy.PasswordGrantDisabled {
		return authorization{}, errPasswordGrantDisabled()
	}
	switch {
	case req.Username == "":
		return authorization{}, errMissingParameter("username")
	case req.Password == "":
		return authorization{}, errMissingParameter("password")
	}
	resource := ""
	if req.Version == 1 {
		resource = req.Resource
	}
	// Scopes first: a bad scope is not a failed sign-in.
	q, oerr := g.users.parseScopes(ctx, req.TenantID, req.Scope, resource)
	if oerr != nil {
		return authorization{}, oerr
	}
	user, err := g.dir.AuthenticateUserVia(ctx, req.TenantID, req.Username, req.Password,
		directory.SignInVia{Channel: "password_grant", ClientID: client.App.AppID, Address: req.clientAddr})
	if oerr := signInError(err, g.now()); oerr != nil {
		return authorization{}, oerr
	}
	// Decided before the grant is made, so that a refused user leaves
	// none.
	ask := directory.UserTokenAsk{Tenant: req.Tenant, Client: client, User: &user, Scopes: q}
	t, err := g.users.dir.AuthorizeUserToken(ctx, ask)
	if err != nil {
		return authorization{}, userTokenError(ask, t, err)
	}
	gr, err := g.grants.NewGrant(ctx, req.TenantID, session.GrantSpec{
		UserID: user.ObjectID, ClientID: client.App.AppID, Scopes: t.Scopes.Strings(),
		AuthTime: g.now(), Lifetime: policy.RefreshTokenLifetime,
	})
	if err != nil {
		return authorization{}, errServer(err)
	}
	return authorization{user: &userAuthorization{UserToken: t, grant: gr, v1Resource: resource,
		refresh: true, inactivity: policy.RefreshTokenInactivity}}, nil
}

// signInError maps directory.AuthenticateUser's failures to the token
// endpoint's errors: an unknown user and a wrong password read the same.
func signInError(err error, now time.Time) *Error {
	var locked *directory.LockedError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, directory.ErrInvalidCredentials):
		return errBadCredentials(err)
	case errors.As(err, &locked):
		return errAccountLocked(locked, now, err)
	case errors.Is(err, directory.ErrNameNotBound):
		return errNameNotBound(err)
	case errors.Is(err, directory.ErrUserDisabled):
		return errUserDisabled(err)
	case errors.Is(err, directory.ErrBusy):
		return errBusy(err)
	default:
		return errServer(err)
	}
}
