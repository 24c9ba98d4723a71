package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidScope: a requested scope is malformed, unknown, or not exposed
// by its resource.
var ErrInvalidScope = errors.New("invalid scope")

// OpenID Connect scopes (OIDC Core §5.4, §11). They name no resource: their
// consent is stored under the pseudo resource OIDCResource.
var oidcScopes = []string{"openid", "profile", "email", "offline_access"}

// OIDCResource is the ResourceAppID of consent to the OIDC scopes.
const OIDCResource = "openid"

// IsOIDCScope reports whether s is one of the OpenID Connect scopes.
func IsOIDCScope(s string) bool { return slices.Contains(oidcScopes, s) }

// ResourceScopes are the delegated scopes requested of one resource.
type ResourceScopes struct {
	Resource Resource
	// Prefix is the resource as the request named it (the part of a scope
	// before its last slash), used to render the scopes back.
	Prefix string
	// Values are scope values (never ".default").
	Values []string
	// Default: the request asked {resource}/.default.
	Default bool
}

// Full renders the scopes as full scope strings, e.g. api://x/read.
func (r ResourceScopes) Full() []string {
	out := make([]string, 0, len(r.Values))
	for _, v := range r.Values {
		out = append(out, r.Prefix+"/"+v)
	}
	return out
}

// ScopeRequest is a parsed scope parameter.
type ScopeRequest struct {
	OIDC []string
	// Resources in request order; the first is the audience of the access
	// token (Entra issues one access token per request, for one resource).
	Resources []ResourceScopes
}

// Strings renders the request as scope strings: OIDC scopes and full
// resource scopes.
func (q ScopeRequest) Strings() []string {
	out := slices.Clone(q.OIDC)
	for _, r := range q.Resources {
		out = append(out, r.Full()...)
	}
	return out
}

// Has reports whether the request names the OIDC scope s.
func (q ScopeRequest) Has(s string) bool { return slices.Contains(q.OIDC, s) }

// ParseScopes resolves a scope parameter (RFC 6749 §3.3, space separated)
// and, on the v1 endpoints, a resource parameter, against the tenant's
// applications.
func (s *Service) ParseScopes(ctx context.Context, tenantID, scope, resource string) (ScopeRequest, error) {
	var q ScopeRequest
	index := map[string]int{} // resource appId -> position in q.Resources
	add := func(prefix, value string) error {
		res, err := s.ResolveResource(ctx, tenantID, prefix)
		if err != nil {
			return err
		}
		i, ok := index[res.App.AppID]
		if !ok {
			i = len(q.Resources)
			index[res.App.AppID] = i
			// The prefix is kept as named: an identifier URI may end in a
			// slash (ARM's https://management.core.windows.net/), and its
			// scopes render back as the client wrote them, {uri}/{value}.
			q.Resources = append(q.Resources, ResourceScopes{Resource: res, Prefix: prefix})
		}
		r := &q.Resources[i]
		if value == ".default" {
			r.Default = true
			return nil
		}
		exposed := false
		for _, sc := range res.App.Scopes {
			if sc.Value == value && sc.Enabled {
				exposed = true
			}
		}
		if !exposed {
			return fmt.Errorf("%w: %s does not expose the scope %q", ErrInvalidScope, res.App.DisplayName, value)
		}
		if !slices.Contains(r.Values, value) {
			r.Values = append(r.Values, value)
		}
		return nil
	}
	for _, sc := range strings.Fields(scope) {
		if IsOIDCScope(sc) {
			if !slices.Contains(q.OIDC, sc) {
				q.OIDC = append(q.OIDC, sc)
			}
			continue
		}
		i := strings.LastIndex(sc, "/")
		if i <= 0 || i == len(sc)-1 {
			return ScopeRequest{}, fmt.Errorf("%w: %q names no resource (write {resource}/{scope}, e.g. api://my-api/read)", ErrInvalidScope, sc)
		}
		if err := add(sc[:i], sc[i+1:]); err != nil {
			return ScopeRequest{}, err
		}
	}
	if resource != "" {
		if err := add(resource, ".default"); err != nil {
			return ScopeRequest{}, err
		}
	}
	return q, nil
}

// parseHeld reads a grant's scope strings one by one: the OIDC scopes and
// resources it was made with, in the grant's order, which a refresh naming
// no scope asks for again, when they no longer parse together. A scope
// whose resource has gone since is skipped rather than failing the whole
// grant. What a grant holds is only ever asked
// for: DecideScopes checks it against the consents in force.
func (s *Service) parseHeld(ctx context.Context, tenantID string, scopes []string) ScopeRequest {
	var out ScopeRequest
	for _, sc := range scopes {
		q, err := s.ParseScopes(ctx, tenantID, sc, "")
		if err != nil {
			continue
		}
		out.OIDC = append(out.OIDC, q.OIDC...)
		for _, r := range q.Resources {
			i := slices.IndexFunc(out.Resources, func(x ResourceScopes) bool { return x.Resource.App.AppID == r.Resource.App.AppID })
			if i < 0 {
				out.Resources = append(out.Resources, r)
			} else {
				out.Resources[i].Values = append(out.Resources[i].Values, r.Values...)
			}
		}
	}
	return out
}

// ScopeDecision is DecideScopes' answer to one request.
type ScopeDecision struct {
	// Granted is what the client may have for the user once every
	// consent is given, {resource}/.default expanded.
	Granted ScopeRequest
	// Missing is what the user must still consent to: the pages ask for
	// it (or fail a prompt=none request).
	Missing ScopeRequest
	// Usable is what a grant that cannot ask the user (a token request)
	// may issue now; Refused, rendered as scope strings, is what such a
	// grant must refuse (consent_required), empty when nothing is.
	Usable  ScopeRequest
	Refused []string
}

// ScopeDecision loads the consents the client holds for the user and
// decides q with DecideScopes.
func (s *Service) ScopeDecision(ctx context.Context, tenantID string, client Application, userID string, q ScopeRequest) (ScopeDecision, error) {
	consents, err := s.repo.ListConsents(ctx, tenantID, client.AppID, userID)
	if err != nil {
		return ScopeDecision{}, err
	}
	return DecideScopes(q, client, userID, consents), nil
}

// Permissions splits a request into what the client may have for the
// user and what the user must still consent to (ScopeDecision's Granted
// and Missing).
func (s *Service) Permissions(ctx context.Context, tenantID string, client Application, userID string, q ScopeRequest) (granted, missing ScopeRequest, err error) {
	d, err := s.ScopeDecision(ctx, tenantID, client, userID, q)
	return d.Granted, d.Missing, err
}

// DecideScopes is the one reading of consent policy: the sign-in and
// consent pages, every grant of the token endpoint and the product login
// call it. It is a pure function of the request, the client, the user
// and the consents stored for them.
//
// A scope needs no user consent when the client is pre-authorized for it
// by the resource, when an admin consented for all users, or when this
// user consented before. {resource}/.default asks for every scope the
// client may already use, or, when it may use none, every scope the
// resource exposes, to consent to (Entra's rule).
//
// A grant that cannot ask the user uses only what needs no consent now:
// an explicitly named scope that needs consent is refused, and
// {resource}/.default keeps the resource's scopes that need none and is
// refused only when there is none. What a grant was made with is no
// reason to issue a scope again: RFC 6749 §6 bounds a refreshed token by
// what the resource owner granted, and a consent withdrawn (or a
// pre-authorization removed) since is no longer granted.
func DecideScopes(q ScopeRequest, client Application, userID string, consents []ConsentGrant) ScopeDecision {
	allowed := func(resourceAppID string) []string {
		var out []string
		for _, c := range consents {
			if c.ResourceAppID == resourceAppID && (c.PrincipalID == userID || c.PrincipalID == AllPrincipals) {
				out = append(out, c.Scopes...)
			}
		}
		return out
	}
	var d ScopeDecision
	oidcOK := allowed(OIDCResource)
	d.Granted.OIDC = q.OIDC
	for _, sc := range q.OIDC {
		if slices.Contains(oidcOK, sc) {
			d.Usable.OIDC = append(d.Usable.OIDC, sc)
		} else {
			d.Missing.OIDC = append(d.Missing.OIDC, sc)
			d.Refused = append(d.Refused, sc)
		}
	}
	for _, r := range q.Resources {
		ok := allowed(r.Resource.App.AppID)
		for _, p := range r.Resource.App.PreAuthorized {
			if p.AppID == client.AppID {
				ok = append(ok, p.Scopes...)
			}
		}
		granted, missing, usable := decideResource(r, ok)
		d.Granted.Resources = append(d.Granted.Resources, granted)
		if len(missing.Values) > 0 {
			d.Missing.Resources = append(d.Missing.Resources, missing)
		}
		d.Usable.Resources = append(d.Usable.Resources, usable)
		switch {
		case !r.Default:
			for _, v := range missing.Values {
				d.Refused = append(d.Refused, r.Prefix+"/"+v)
			}
		case len(usable.Values) == 0 && len(granted.Values) > 0:
			// .default of a resource whose scopes the client may use
			// none of: every scope was offered for consent.
			d.Refused = append(d.Refused, r.Prefix+"/.default")
		}
	}
	return d
}

// decideResource splits one resource's requested scopes by ok, the
// scopes the client may use without asking.
func decideResource(r ResourceScopes, ok []string) (granted, missing, usable ResourceScopes) {
	want := slices.Clone(r.Values)
	if r.Default {
		for _, v := range ok {
			if !slices.Contains(want, v) && r.Resource.exposes(v) {
				want = append(want, v)
			}
		}
		if len(want) == 0 {
			for _, sc := range r.Resource.App.Scopes {
				if sc.Enabled {
					want = append(want, sc.Value)
				}
			}
		}
	}
	granted, missing, usable = r, r, r
	granted.Values, granted.Default = want, false
	missing.Values, missing.Default = nil, false
	usable.Values = nil
	for _, v := range want {
		if slices.Contains(ok, v) {
			usable.Values = append(usable.Values, v)
		} else {
			missing.Values = append(missing.Values, v)
		}
	}
	return granted, missing, usable
}

func (r Resource) exposes(value string) bool {
	for _, sc := range r.App.Scopes {
		if sc.Value == value && sc.Enabled {
			return true
		}
	}
	return false
}

// Empty reports whether the request names nothing.
func (q ScopeRequest) Empty() bool { return len(q.OIDC) == 0 && len(q.Resources) == 0 }

// Consent records that principalID (a user's object id, or AllPrincipals
// for an admin) consents to q for the client.
func (s *Service) Consent(ctx context.Context, tenantID, clientID, principalID string, q ScopeRequest) error {
	now := s.clock()
	if len(q.OIDC) > 0 {
		if err := s.repo.PutConsent(ctx, tenantID, ConsentGrant{TenantID: tenantID, ClientID: clientID, ResourceAppID: OIDCResource,
			PrincipalID: principalID, Scopes: q.OIDC, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
	}
	for _, r := range q.Resources {
		if len(r.Values) == 0 {
			continue
		}
		if err := s.repo.PutConsent(ctx, tenantID, ConsentGrant{TenantID: tenantID, ClientID: clientID, ResourceAppID: r.Resource.App.AppID,
			PrincipalID: principalID, Scopes: r.Values, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// ListConsents lists the consents to a client ("" for every client) by a
// principal ("" for every principal, AllPrincipals for the admin ones).
func (s *Service) ListConsents(ctx context.Context, tenantID, clientID, principalID string) ([]ConsentGrant, error) {
	return s.repo.ListConsents(ctx, tenantID, clientID, principalID)
}

// RevokeConsent deletes a principal's consent to a client for a resource.
func (s *Service) RevokeConsent(ctx context.Context, tenantID, clientID, resourceAppID, principalID string) error {
	return s.repo.DeleteConsent(ctx, tenantID, clientID, resourceAppID, principalID)
}

// Audience is the resource a user token for q is issued for: the first
// resource q names (Entra issues one access token per request, for one
// resource), or the client itself when q names none (a token for
// openid profile offline_access).
func (q ScopeRequest) Audience(client Client) Resource {
	if len(q.Resources) > 0 {
		return q.Resources[0].Resource
	}
	return Resource{App: client.App, SP: client.SP, Requested: client.App.AppID}
}

// AuthorizeUser decides whether the user may get a token for resource, and
// returns the values of the resource's app roles the user holds, in the
// order the resource defines them, for the token's roles claim. A resource
// whose service principal requires assignment gives no token to a user
// holding none of its roles: ErrUserNotAssigned (Entra's AADSTS50105).
//
// It is the one reader of the rule for users: every user grant mints
// through it, and the sign-in pages and the grants that create a sign-in
// (password, product login) ask it first, so that a refused user leaves
// no code, approval or grant behind.
func (s *Service) AuthorizeUser(ctx context.Context, tenantID, userID string, resource Resource) ([]string, error) {
	roles, err := s.rolesOf(ctx, tenantID, userID, resource, MemberTypeUser)
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 && resource.SP.AppRoleAssignmentRequired {
		return nil, fmt.Errorf("%w: user %s holds no role of %s", ErrUserNotAssigned, userID, resource.App.AppID)
	}
	return roles, nil
}
