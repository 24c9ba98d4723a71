package directory

import (
	"context"
	"errors"
)

// The admin API is itself a resource application in every tenant: an
// administrator is a principal holding its AdminRole, and the admin API
// accepts only tokens issued for it. A principal holding the role in the
// home tenant (the one created at first start) administers every tenant.
const (
	AdminAPIIdentifierURI = "api://tessera-admin"
	AdminAPIDisplayName   = "tessera admin API"
	AdminRole             = "Tessera.Admin"
)

// EnsureAdminApplication creates the admin API application and its service
// principal in the tenant if they do not exist yet, and returns them.
func (s *Service) EnsureAdminApplication(ctx context.Context, tenantID string) (Resource, error) {
	app, err := s.repo.GetApplicationByIdentifierURI(ctx, tenantID, AdminAPIIdentifierURI)
	if errors.Is(err, ErrNotFound) {
		app, err = s.CreateApplication(ctx, tenantID, ApplicationSpec{
			DisplayName:    AdminAPIDisplayName,
			IdentifierURIs: []string{AdminAPIIdentifierURI},
			AppRoles: []AppRole{{
				Value:              AdminRole,
				DisplayName:        "tessera administrator",
				Description:        "Manage the tenant's directory through the admin API",
				AllowedMemberTypes: []string{MemberTypeApplication, MemberTypeUser},
				Enabled:            true,
			}},
			AccessTokenAcceptedVersion: 2,
		})
		if errors.Is(err, ErrConflict) { // created concurrently
			app, err = s.repo.GetApplicationByIdentifierURI(ctx, tenantID, AdminAPIIdentifierURI)
		}
	}
	if err != nil {
		return Resource{}, err
	}
	sp, err := s.repo.GetServicePrincipalByAppID(ctx, tenantID, app.AppID)
	if errors.Is(err, ErrNotFound) {
		sp, err = s.CreateServicePrincipal(ctx, tenantID, ServicePrincipalSpec{AppID: app.AppID, AppRoleAssignmentRequired: true})
		if errors.Is(err, ErrConflict) {
			sp, err = s.repo.GetServicePrincipalByAppID(ctx, tenantID, app.AppID)
		}
	}
	if err != nil {
		return Resource{}, err
	}
	return Resource{App: app, SP: sp, Requested: AdminAPIIdentifierURI}, nil
}

// CreateTenantWithAdmin creates a tenant together with its admin API
// application, so that the tenant can be administered from the start.
func (s *Service) CreateTenantWithAdmin(ctx context.Context, spec TenantSpec) (Tenant, error) {
	t, err := s.CreateTenant(ctx, spec)
	if err != nil {
		return Tenant{}, err
	}
	if _, err := s.EnsureAdminApplication(ctx, t.ID); err != nil {
		return Tenant{}, err
	}
	return t, nil
}
