package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// passwordGrant is the resource owner password credentials grant (RFC 6749
// §4.3, ROPC). RFC 9700 §2.4 says it MUST NOT be used; it stays for the
// scripts and test rigs that Entra-shaped deployments still run, and a
// tenant can turn it off (PasswordGrantDisabled). It asks no consent: a
// scope the user has not consented to fails with consent_required.
type passwordGrant struct{ h *Handler }

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

func (g passwordGrant) issue(ctx context.Context, req *tokenRequest, client directory.Client, clientAuth string) (any, *Error) {
	h := g.h
	policy := req.Tenant.Policy.Effective()
	if policy.PasswordGrantDisabled {
		return nil, errPasswordGrantDisabled()
	}
	switch {
	case req.Username == "":
		return nil, errMissingParameter("username")
	case req.Password == "":
		return nil, errMissingParameter("password")
	}
	resource := ""
	if req.Version == 1 {
		resource = req.Resource
	}
	// Scopes first: a bad scope is not a failed sign-in.
	q, oerr := h.parseScopes(ctx, req.TenantID, req.Scope, resource)
	if oerr != nil {
		return nil, oerr
	}
	user, err := h.dir.AuthenticateUserVia(ctx, req.TenantID, req.Username, req.Password,
		directory.SignInVia{Channel: "password_grant", ClientID: client.App.AppID, Address: req.clientAddr})
	if oerr := signInError(err); oerr != nil {
		return nil, oerr
	}
	scopes, oerr := h.decideScopes(ctx, req.TenantID, client.App, user.ObjectID, q)
	if oerr != nil {
		return nil, oerr
	}
	// Asked before the grant is made, so that a refused user leaves none;
	// mintUser asks again as every grant does.
	if _, oerr := h.userRoles(ctx, req.TenantID, user, scopes.Audience(client)); oerr != nil {
		return nil, oerr
	}
	now := h.now()
	gr, err := h.sessions.NewGrant(ctx, req.TenantID, session.GrantSpec{
		UserID: user.ObjectID, ClientID: client.App.AppID, Scopes: scopes.Strings(),
		AuthTime: now, Lifetime: policy.RefreshTokenLifetime,
	})
	if err != nil {
		return nil, errServer(err)
	}
	return h.issueWithRefresh(ctx, &issuance{
		issued: &req.issued, tenantID: req.TenantID, policy: policy, version: req.Version, client: client, clientAuth: clientAuth,
		user: user, grant: gr, scopes: scopes, v1Resource: resource, clientInfo: req.ClientInfo, idIssuer: req.IDIssuer,
	})
}

// signInError maps directory.AuthenticateUser's failures to the token
// endpoint's errors: an unknown user and a wrong password read the same.
func signInError(err error) *Error {
	var locked *directory.LockedError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, directory.ErrInvalidCredentials):
		return errBadCredentials(err)
	case errors.As(err, &locked):
		return errAccountLocked(locked, err)
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
