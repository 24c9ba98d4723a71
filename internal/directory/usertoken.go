package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrConsentRequired: a grant that cannot ask the user asked for a scope
// that needs the user's consent (DecideScopes' Refused).
var ErrConsentRequired = errors.New("consent required")

// UserTokenAsk is what a grant asks of a token about a user.
type UserTokenAsk struct {
	// Tenant is the user's tenant as the caller has just read it.
	Tenant Tenant
	Client Client
	// User is the user when the grant has just authenticated them (a
	// password); otherwise UserID, the user of a grant made earlier, is
	// loaded now.
	User   *User
	UserID string
	// Scopes are the scopes asked for, parsed (ParseScopes). A refresh
	// names them raw instead, to be read with the user: Scope and
	// Resource, a request's parameters (ErrInvalidScope,
	// ErrUnknownResource), or, when both are empty, Held, the scope
	// strings its grant was made with (RFC 6749 §6: "if omitted, treated
	// as equal to the scope originally granted").
	Scopes          ScopeRequest
	Raw             bool
	Scope, Resource string
	Held            []string
	// DropUnconsented leaves out what needs consent instead of refusing
	// it (the product login asks none, and its token carries the user's
	// roles regardless).
	DropUnconsented bool
}

// UserToken is the directory's decision on a token about a user, as it
// stands at this moment: the user, the scopes they may have, the
// resource the token is for and their app roles there.
type UserToken struct {
	User     User
	Scopes   ScopeRequest
	Audience Resource
	Roles    []string
}

// AuthorizeUserToken decides whether a user may have a token for a client
// now, and with what. It is every user grant's one question to the domain
// before minting, so that no grant can forget a rule:
//   - a user gone (ErrNotFound) or disabled (ErrUserDisabled) since the
//     grant was made gets nothing;
//   - the scopes are those DecideScopes allows without asking
//     (ErrConsentRequired names the rest, RFC 6749 §6 for a refresh);
//   - no token names a user outside the domains of their tenant, which
//     another tenant may own (ErrNameNotBound);
//   - a resource requiring assignment accepts only a user holding one of
//     its roles (ErrUserNotAssigned, AuthorizeUser); the value returned
//     with it names the user and the resource, for the refusal's words.
func (s *Service) AuthorizeUserToken(ctx context.Context, ask UserTokenAsk) (UserToken, error) {
	tenantID := ask.Tenant.ID
	var user User
	if ask.User != nil {
		user = *ask.User
	} else {
		var err error
		if user, err = s.repo.GetUser(ctx, tenantID, strings.ToLower(ask.UserID)); err != nil {
			return UserToken{}, err
		}
		if !user.Enabled {
			return UserToken{}, fmt.Errorf("%w: user %s is disabled", ErrUserDisabled, user.ObjectID)
		}
	}
	switch {
	case !ask.Raw:
	case strings.TrimSpace(ask.Scope) == "" && ask.Resource == "":
		var err error
		if ask.Scopes, err = s.ParseScopes(ctx, tenantID, strings.Join(ask.Held, " "), ""); err != nil {
			// A resource of the grant has gone since: what remains.
			ask.Scopes = s.parseHeld(ctx, tenantID, ask.Held)
		}
	default:
		// One refresh token serves every resource the user consented to
		// (Entra's multi-resource refresh token): the requested resource
		// may differ from the one first asked for.
		var err error
		if ask.Scopes, err = s.ParseScopes(ctx, tenantID, ask.Scope, ask.Resource); err != nil {
			return UserToken{User: user}, err
		}
	}
	consents, err := s.repo.ListConsents(ctx, tenantID, ask.Client.App.AppID, user.ObjectID)
	if err != nil {
		return UserToken{}, err
	}
	d := DecideScopes(ask.Scopes, ask.Client.App, user.ObjectID, consents)
	if len(d.Refused) > 0 && !ask.DropUnconsented {
		return UserToken{}, fmt.Errorf("%w: client %s, user %s: no consent to %v", ErrConsentRequired, ask.Client.App.AppID, user.ObjectID, d.Refused)
	}
	// A name in the tenant's own domain, which it cannot give up
	// (RemoveTenantDomain), is bound without a second read.
	if !strings.EqualFold(UPNDomain(user.UserPrincipalName), ask.Tenant.Domain) || ask.Tenant.Domain == "" {
		if err := s.CheckNameBound(ctx, user); err != nil {
			return UserToken{}, err
		}
	}
	aud := d.Usable.Audience(ask.Client)
	roles, err := s.AuthorizeUser(ctx, tenantID, user.ObjectID, aud)
	return UserToken{User: user, Scopes: d.Usable, Audience: aud, Roles: roles}, err
}
