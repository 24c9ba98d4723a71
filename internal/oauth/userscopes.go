package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
)

// userDirectory is what the user grants ask the directory: the user a
// grant is for, and the scopes it may have.
type userDirectory interface {
	ParseScopes(ctx context.Context, tenantID, scope, resource string) (directory.ScopeRequest, error)
	AuthorizeUserToken(ctx context.Context, ask directory.UserTokenAsk) (directory.UserToken, error)
}

// userFacts are the user grants' shared questions, with the token
// endpoint's errors.
type userFacts struct{ dir userDirectory }

// parseScopes resolves a scope parameter (and a v1 resource) against the
// tenant's applications, with the client-visible errors of RFC 6749 §5.2.
func (u userFacts) parseScopes(ctx context.Context, tenantID, scope, resource string) (directory.ScopeRequest, *Error) {
	q, err := u.dir.ParseScopes(ctx, tenantID, scope, resource)
	if err != nil {
		return q, scopeError(scope, resource, err)
	}
	return q, nil
}

// scopeError maps a failure to resolve scope (and a v1 resource); an error
// of another kind is a server error.
func scopeError(scope, resource string, err error) *Error {
	switch {
	case errors.Is(err, directory.ErrUnknownResource):
		param := "scope"
		if resource != "" && scope == "" {
			param = "resource"
		}
		return errUnknownResource(param, err)
	case errors.Is(err, directory.ErrInvalidScope):
		e := errInvalidScope("The provided value for scope '" + clip(scope) + "' is not valid: each scope is {resource}/{scope} of a scope the resource exposes, {resource}/.default, or an OpenID Connect scope.")
		e.Cause = err
		return e
	default:
		return errServer(err)
	}
}

// userTokenError maps the directory's refusals of a user token
// (directory.AuthorizeUserToken).
func userTokenError(ask directory.UserTokenAsk, t directory.UserToken, err error) *Error {
	switch {
	case errors.Is(err, directory.ErrNotFound) && t.User.ObjectID == "":
		// A user gone since the grant was made ends it (the directory
		// also revokes it then).
		return errGrantRevoked(err)
	case errors.Is(err, directory.ErrNameNotBound):
		return errNameNotBound(err)
	case errors.Is(err, directory.ErrUserDisabled):
		return errUserDisabled(err)
	case errors.Is(err, directory.ErrConsentRequired):
		// A scope that needs the user's consent cannot be asked for by a
		// grant without a user interface (Entra's AADSTS65001).
		return errConsentRequired(err)
	case errors.Is(err, directory.ErrUserNotAssigned):
		return errUserNotAssigned(t.User, t.Audience, err)
	case errors.Is(err, directory.ErrUnknownResource), errors.Is(err, directory.ErrInvalidScope):
		return scopeError(ask.Scope, ask.Resource, err)
	default:
		return errServer(err)
	}
}

// askedDefault marks the resources that a token request's scope names as
// {resource}/.default. A code holds the scopes granted, not how they were
// asked for; MSAL sends the same scope again when it redeems the code, and
// expects {resource}/.default back in the answer (see mintUser).
func askedDefault(q *directory.ScopeRequest, scope string) {
	for _, sc := range strings.Fields(scope) {
		prefix, ok := strings.CutSuffix(sc, "/.default")
		if !ok {
			continue
		}
		for i := range q.Resources {
			if strings.EqualFold(q.Resources[i].Prefix, prefix) {
				q.Resources[i].Default = true
			}
		}
	}
}
