package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Domains bind names to tenants. A user principal name (alice@contoso.example)
// is what ID and access tokens carry as preferred_username and upn, and
// what relying parties show and often key accounts on; if any tenant could
// name its users in any domain, tenant B could create alice@default and
// sign in as "alice of tenant default" wherever only the name is checked
// (the "nOAuth" class). So a tenant owns domains, each owned by one tenant
// only, and a user's name must end in one of its tenant's: the name then
// says which tenant vouches for it, as a verified domain does in Entra.
//
// Domains are a server-wide namespace: tessera does not prove ownership by
// DNS, so only a system administrator adds or removes one (the admin API
// enforces that); the tenant's own domain, chosen when it was created,
// is its first.

// ErrNameNotBound: the user's name does not end in a domain of its
// tenant (a user created before domains were bound to tenants). The user
// may not sign in, and no token is issued that would carry the name,
// until an administrator renames the user or adds the domain to the
// tenant. It is a kind of ErrUserDisabled, returned only after the right
// password, so it tells nothing to someone who does not know it.
var ErrNameNotBound = fmt.Errorf("%w: the user principal name is not in a domain of its tenant", ErrUserDisabled)

// CheckDomain reports whether s may be a tenant's domain (DNS labels, not
// reserved, not a GUID), for configuration checked before any tenant is
// touched.
func CheckDomain(s string) error {
	_, err := normalizeDomain(s)
	return err
}

// normalizeDomain checks a domain a caller chose (a tenant's own, or one
// added to it) and returns its canonical form.
func normalizeDomain(raw string) (string, error) {
	domain := strings.ToLower(strings.TrimSpace(raw))
	switch {
	case domain == "":
		return "", invalid("a domain name is required")
	case len(domain) > 253 || !domainRE.MatchString(domain):
		return "", invalid("domain %q must be DNS labels of a-z, 0-9 and -", raw)
	case reservedDomains[domain]:
		return "", invalid("domain %q is reserved", domain)
	case IsGUID(domain):
		return "", invalid("a domain must not be a GUID")
	}
	return domain, nil
}

// UPNDomain returns the domain of a user principal name: what follows its
// last @, lower-cased ("" when there is none).
func UPNDomain(upn string) string {
	i := strings.LastIndexByte(upn, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(upn[i+1:])
}

// AddTenantDomain gives the tenant another domain. ErrConflict when any
// tenant holds it already.
func (s *Service) AddTenantDomain(ctx context.Context, tenantID, domain string) (TenantDomain, error) {
	d, err := normalizeDomain(domain)
	if err != nil {
		return TenantDomain{}, err
	}
	td := TenantDomain{TenantID: tenantID, Domain: d, CreatedAt: s.clock()}
	if err := s.repo.AddTenantDomain(ctx, tenantID, td); err != nil {
		return TenantDomain{}, err
	}
	return td, nil
}

// ListTenantDomains lists the tenant's domains, its own first.
func (s *Service) ListTenantDomains(ctx context.Context, tenantID string) ([]TenantDomain, error) {
	return s.repo.ListTenantDomains(ctx, tenantID)
}

// RemoveTenantDomain takes a domain from the tenant. Refused for the
// tenant's own domain, and while users of the tenant are named in it:
// their names would stop being bound and they could no longer sign in
// (rename them first).
func (s *Service) RemoveTenantDomain(ctx context.Context, tenantID, domain string) error {
	t, err := s.repo.GetTenant(ctx, tenantID)
	if err != nil {
		return err
	}
	d := strings.ToLower(strings.TrimSpace(domain))
	if d == strings.ToLower(t.Domain) {
		return invalid("%s is the tenant's own domain, which stands for it in URLs; it cannot be removed", d)
	}
	users, err := s.repo.ListUsers(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, u := range users {
		if UPNDomain(u.UserPrincipalName) == d {
			return invalid("users are still named in %s (%s, …): rename them into another domain of the tenant first", d, u.UserPrincipalName)
		}
	}
	return s.repo.DeleteTenantDomain(ctx, tenantID, d)
}

// ownsDomain reports whether the tenant holds the domain.
func (s *Service) ownsDomain(ctx context.Context, tenantID, domain string) (bool, error) {
	if domain == "" {
		return false, nil
	}
	t, err := s.repo.GetTenantByDomain(ctx, domain)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return t.ID == tenantID, nil
}

// checkUPNDomain refuses a user principal name whose domain is not the
// tenant's, naming the domains it has.
func (s *Service) checkUPNDomain(ctx context.Context, tenantID, upn string) error {
	domain := UPNDomain(upn)
	ok, err := s.ownsDomain(ctx, tenantID, domain)
	if err != nil || ok {
		return err
	}
	ds, err := s.repo.ListTenantDomains(ctx, tenantID)
	if err != nil {
		return err
	}
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Domain
	}
	return invalid("user principal name %q: %q is not a domain of this tenant (its domains: %s); a system administrator can add one (tessera admin tenant domain add)",
		upn, domain, strings.Join(names, ", "))
}

// CheckNameBound returns ErrNameNotBound unless the user's name is in a
// domain of its tenant. Every token carrying a user's name is issued only
// after it (AuthorizeUserToken), so that no token names a user in a
// domain another tenant may own.
func (s *Service) CheckNameBound(ctx context.Context, u User) error {
	ok, err := s.ownsDomain(ctx, u.TenantID, UPNDomain(u.UserPrincipalName))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: user %s", ErrNameNotBound, u.ObjectID)
	}
	return nil
}
