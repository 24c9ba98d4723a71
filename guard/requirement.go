package guard

import "slices"

// Requirement is a condition on the caller's roles and delegated scopes
// that the middleware checks after the token is valid. The zero value and
// a requirement built from nothing (RequireRoles() with no roles) are never
// satisfied: an empty list of acceptable privileges grants none.
type Requirement struct {
	roles  []string
	scopes []string
	anyOf  []Requirement
}

// RequireRoles is satisfied by a token carrying any of the application
// roles (the roles claim: app roles assigned to the user or application).
func RequireRoles(roles ...string) Requirement {
	return Requirement{roles: slices.Clone(roles)}
}

// RequireScopes is satisfied by a token carrying any of the delegated
// scopes (the scp claim of user tokens).
func RequireScopes(scopes ...string) Requirement {
	return Requirement{scopes: slices.Clone(scopes)}
}

// AnyOf is satisfied when any of reqs is, e.g. an application with role
// Reader or a user who delegated user_impersonation:
//
//	AnyOf(RequireRoles("Reader"), RequireScopes("user_impersonation"))
func AnyOf(reqs ...Requirement) Requirement {
	return Requirement{anyOf: slices.Clone(reqs)}
}

// Allows reports whether p satisfies r.
func (r Requirement) Allows(p *Principal) bool {
	if p == nil {
		return false
	}
	if slices.ContainsFunc(r.roles, p.HasRole) || slices.ContainsFunc(r.scopes, p.HasScope) {
		return true
	}
	for _, sub := range r.anyOf {
		if sub.Allows(p) {
			return true
		}
	}
	return false
}

// refusal describes an unmet requirement: which of roles and scopes it
// asks for, and the scopes for the RFC 6750 §3 scope attribute.
func (r Requirement) refusal() *Error {
	var hasRoles bool
	var scopes []string
	var walk func(Requirement)
	walk = func(r Requirement) {
		hasRoles = hasRoles || len(r.roles) > 0
		scopes = append(scopes, r.scopes...)
		for _, sub := range r.anyOf {
			walk(sub)
		}
	}
	walk(r)
	reason := ReasonMissingRoleScope
	switch {
	case hasRoles && len(scopes) == 0:
		reason = ReasonMissingRole
	case !hasRoles && len(scopes) > 0:
		reason = ReasonMissingScope
	}
	return &Error{Reason: reason, Scope: scopes}
}
