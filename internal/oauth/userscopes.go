package oauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
)

// parseScopes resolves a scope parameter (and a v1 resource) against the
// tenant's applications, with the client-visible errors of RFC 6749 §5.2.
func (h *Handler) parseScopes(ctx context.Context, tenantID, scope, resource string) (directory.ScopeRequest, *Error) {
	q, err := h.dir.ParseScopes(ctx, tenantID, scope, resource)
	switch {
	case err == nil:
		return q, nil
	case errors.Is(err, directory.ErrUnknownResource):
		param := "scope"
		if resource != "" && scope == "" {
			param = "resource"
		}
		return q, errUnknownResource(param, err)
	case errors.Is(err, directory.ErrInvalidScope):
		e := errInvalidScope("The provided value for scope '" + clip(scope) + "' is not valid: each scope is {resource}/{scope} of a scope the resource exposes, {resource}/.default, or an OpenID Connect scope.")
		e.Cause = err
		return q, e
	default:
		return q, errServer(err)
	}
}

// heldScopes are the scopes a grant holds, resolved: OIDC scopes and
// resources with their values, in the grant's order.
type heldScopes struct{ q directory.ScopeRequest }

func (s heldScopes) has(appID, value string) bool { return slices.Contains(s.values(appID), value) }

func (s heldScopes) values(appID string) []string {
	for _, r := range s.q.Resources {
		if r.Resource.App.AppID == appID {
			return r.Values
		}
	}
	return nil
}

// held reads a grant's scope strings. A scope whose resource has gone
// since is skipped rather than failing the whole grant.
func (h *Handler) held(ctx context.Context, tenantID string, scopes []string) heldScopes {
	if q, err := h.dir.ParseScopes(ctx, tenantID, strings.Join(scopes, " "), ""); err == nil {
		return heldScopes{q}
	}
	var out directory.ScopeRequest
	for _, sc := range scopes {
		q, err := h.dir.ParseScopes(ctx, tenantID, sc, "")
		if err != nil {
			continue
		}
		out.OIDC = append(out.OIDC, q.OIDC...)
		for _, r := range q.Resources {
			i := slices.IndexFunc(out.Resources, func(x directory.ResourceScopes) bool { return x.Resource.App.AppID == r.Resource.App.AppID })
			if i < 0 {
				out.Resources = append(out.Resources, r)
			} else {
				out.Resources[i].Values = append(out.Resources[i].Values, r.Values...)
			}
		}
	}
	return heldScopes{out}
}

// decideScopes decides which of the requested scopes the client gets for
// the user: a scope is granted when the grant already holds it (the user
// consented when signing in) or when it needs no consent (the client is
// pre-authorized, an admin consented for everyone, or the user consented
// before). A {resource}/.default request gets every such scope of the
// resource. Anything else needs the user's consent, which a grant
// without a user interface cannot ask: consent_required (Entra's
// AADSTS65001).
func (h *Handler) decideScopes(ctx context.Context, tenantID string, client directory.Application, userID string, q directory.ScopeRequest, held heldScopes) (directory.ScopeRequest, *Error) {
	granted, missing, err := h.dir.Permissions(ctx, tenantID, client, userID, q)
	if err != nil {
		return directory.ScopeRequest{}, errServer(err)
	}
	var refused []string
	out := directory.ScopeRequest{}
	for _, sc := range granted.OIDC {
		if slices.Contains(held.q.OIDC, sc) || !slices.Contains(missing.OIDC, sc) {
			out.OIDC = append(out.OIDC, sc)
		} else {
			refused = append(refused, sc)
		}
	}
	for i, r := range granted.Resources {
		app := r.Resource.App.AppID
		var miss []string
		for _, m := range missing.Resources {
			if m.Resource.App.AppID == app {
				miss = append(miss, m.Values...)
			}
		}
		def := i < len(q.Resources) && q.Resources[i].Default
		var values []string
		for _, v := range r.Values {
			switch {
			case held.has(app, v) || !slices.Contains(miss, v):
				values = append(values, v)
			case !def:
				refused = append(refused, r.Prefix+"/"+v)
			}
		}
		if def {
			for _, v := range held.values(app) {
				if !slices.Contains(values, v) && exposes(r.Resource, v) {
					values = append(values, v)
				}
			}
			// .default of a resource whose scopes the client may use none
			// of: Permissions offered them all for consent.
			if len(values) == 0 && len(r.Values) > 0 {
				refused = append(refused, r.Prefix+"/.default")
			}
		}
		r.Values, r.Default = values, def
		out.Resources = append(out.Resources, r)
	}
	if len(refused) > 0 {
		return directory.ScopeRequest{}, errConsentRequired(fmt.Errorf("client %s, user %s: no consent to %v", client.AppID, userID, refused))
	}
	return out, nil
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

func exposes(r directory.Resource, value string) bool {
	for _, sc := range r.App.Scopes {
		if sc.Value == value && sc.Enabled {
			return true
		}
	}
	return false
}
