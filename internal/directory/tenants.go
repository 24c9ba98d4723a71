package directory

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
)

// Reserved tenant names: path segments that mean something else in URLs
// (Entra's multi-tenant aliases, and tessera's own top-level paths).
var reservedDomains = map[string]bool{
	"common": true, "organizations": true, "consumers": true, "adfs": true,
	"admin": true, "healthz": true, "readyz": true, "metrics": true,
	"discovery": true, "oauth2": true, "v2.0": true, ".well-known": true,
}

// A domain is one or more DNS labels: it stands in URLs in place of the
// tenant id, so it must be a single path segment a person can type.
var domainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)

// TenantSpec is what a caller chooses about a new tenant.
type TenantSpec struct {
	Domain      string `json:"domain"`
	DisplayName string `json:"displayName"`
	// ID may be set to a GUID to choose the tenant id (for migrations);
	// empty means a new random one.
	ID string `json:"id,omitempty"`
}

// CreateTenant creates a tenant.
func (s *Service) CreateTenant(ctx context.Context, spec TenantSpec) (Tenant, error) {
	if strings.TrimSpace(spec.Domain) == "" {
		return Tenant{}, invalid("a tenant needs a domain name")
	}
	domain, err := normalizeDomain(spec.Domain)
	if err != nil {
		return Tenant{}, err
	}
	id := strings.ToLower(spec.ID)
	if id == "" {
		id = s.newID()
	} else if !IsGUID(id) {
		return Tenant{}, invalid("tenant id %q is not a GUID", spec.ID)
	}
	name := strings.TrimSpace(spec.DisplayName)
	if name == "" {
		name = domain
	}
	t := Tenant{ID: id, Domain: domain, DisplayName: name, CreatedAt: s.clock()}
	if err := s.repo.CreateTenant(ctx, t); err != nil {
		return Tenant{}, err
	}
	return t, nil
}

// ResolveTenant finds a tenant by its id (a GUID) or one of its domain
// names, the two forms a {tenant} URL segment may take.
func (s *Service) ResolveTenant(ctx context.Context, idOrDomain string) (Tenant, error) {
	if IsGUID(idOrDomain) {
		return s.repo.GetTenant(ctx, strings.ToLower(idOrDomain))
	}
	if idOrDomain == "" {
		return Tenant{}, ErrNotFound
	}
	t, err := s.repo.GetTenantByDomain(ctx, strings.ToLower(idOrDomain))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Tenant{}, err
	}
	return t, err
}

// ListTenants lists every tenant.
func (s *Service) ListTenants(ctx context.Context) ([]Tenant, error) {
	return s.repo.ListTenants(ctx)
}

// SetTenantPolicy replaces a tenant's sign-in and token policy.
func (s *Service) SetTenantPolicy(ctx context.Context, tenantID string, p TenantPolicy) (Tenant, error) {
	t, err := s.repo.GetTenant(ctx, tenantID)
	if err != nil {
		return Tenant{}, err
	}
	switch {
	case p.RefreshGrace > MaxRefreshGrace:
		return Tenant{}, invalid("the refresh grace window may be at most %v (negative turns it off)", MaxRefreshGrace)
	case p.RefreshTokenInactivity < 0 || p.RefreshTokenLifetime < 0 || p.SessionLifetime < 0 || p.ProductLoginLifetime < 0 || p.LockoutDuration < 0 || p.LockoutThreshold < 0:
		return Tenant{}, invalid("policy durations and thresholds must not be negative")
	case p.ProductLoginLifetime > MaxAccessTokenLifetime:
		return Tenant{}, invalid("product-login tokens may live at most %v", MaxAccessTokenLifetime)
	case p.ProductLoginLifetime != 0 && p.ProductLoginLifetime < MinAccessTokenLifetime:
		return Tenant{}, invalid("product-login tokens must live at least %v", MinAccessTokenLifetime)
	}
	p.ProductLoginResource = strings.TrimSpace(p.ProductLoginResource)
	var extra []string
	for _, r := range p.ProductLoginResources {
		if r = strings.TrimSpace(r); r != "" && !slices.Contains(extra, r) {
			extra = append(extra, r)
		}
	}
	p.ProductLoginResources = extra
	if err := s.checkProductLoginResources(ctx, tenantID, p); err != nil {
		return Tenant{}, err
	}
	e := p.Effective()
	if e.RefreshTokenInactivity > e.RefreshTokenLifetime {
		return Tenant{}, invalid("the refresh inactivity window (%v) exceeds the absolute lifetime (%v)", e.RefreshTokenInactivity, e.RefreshTokenLifetime)
	}
	t.Policy = p
	if err := s.repo.UpdateTenant(ctx, t); err != nil {
		return Tenant{}, err
	}
	return t, nil
}
