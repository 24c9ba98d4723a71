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
		app, err = s.createApplication(ctx, tenantID, ApplicationSpec{
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
			AccessTokenLifetime:        MaxAdminTokenLifetime,
		}, true)
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
// application, the CLI's public client and the management application, so
// that the tenant can be administered and signed in to from the start,
// with tessera's CLI or with the Azure CLI.
func (s *Service) CreateTenantWithAdmin(ctx context.Context, spec TenantSpec) (Tenant, error) {
	t, err := s.CreateTenant(ctx, spec)
	if err != nil {
		return Tenant{}, err
	}
	if _, err := s.EnsureAdminApplication(ctx, t.ID); err != nil {
		return Tenant{}, err
	}
	if _, err := s.EnsureCLIApplication(ctx, t.ID); err != nil {
		return Tenant{}, err
	}
	if _, err := s.EnsureManagementApplication(ctx, t.ID); err != nil {
		return Tenant{}, err
	}
	return t, nil
}

// The CLI's public client. It has the Azure CLI's well-known application id,
// so that `tessera login` and `az login` both work against tessera with
// their default client, as they do against Entra.
const (
	CLIClientID    = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	CLIDisplayName = "tessera CLI"
)

// EnsureCLIApplication registers the CLI's public client in the tenant if
// it is missing: loopback redirects on any port (RFC 8252 §7.3), and admin
// consent to the OpenID Connect scopes so that signing in asks nothing.
// Access to an API still needs consent or pre-authorization by the API.
func (s *Service) EnsureCLIApplication(ctx context.Context, tenantID string) (Application, error) {
	app, err := s.repo.GetApplication(ctx, tenantID, CLIClientID)
	if errors.Is(err, ErrNotFound) {
		app, err = s.createApplication(ctx, tenantID, ApplicationSpec{
			AppID: CLIClientID, DisplayName: CLIDisplayName, PublicClient: true,
			IdentifierURIs: []string{}, RedirectURIs: []string{"http://localhost", "http://127.0.0.1"},
		}, true)
		if errors.Is(err, ErrConflict) {
			app, err = s.repo.GetApplication(ctx, tenantID, CLIClientID)
		}
	}
	if err != nil {
		return Application{}, err
	}
	if _, err := s.repo.GetServicePrincipalByAppID(ctx, tenantID, app.AppID); errors.Is(err, ErrNotFound) {
		if _, err := s.CreateServicePrincipal(ctx, tenantID, ServicePrincipalSpec{AppID: app.AppID}); err != nil && !errors.Is(err, ErrConflict) {
			return Application{}, err
		}
	} else if err != nil {
		return Application{}, err
	}
	if err := s.Consent(ctx, tenantID, app.AppID, AllPrincipals, ScopeRequest{OIDC: oidcScopes}); err != nil {
		return Application{}, err
	}
	return app, nil
}

// The management application stands for Azure Resource Manager, the
// resource the Azure CLI asks a token for at login: it has ARM's
// well-known application id ("Windows Azure Service Management API") and
// identifier URI, so that `az login` against tessera requests exactly what
// it requests against Entra (scope https://management.core.windows.net//.default).
const (
	ManagementAppID          = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
	ManagementIdentifierURI  = "https://management.core.windows.net/"
	ManagementDisplayName    = "tessera management"
	ManagementScope          = "user_impersonation"
	managementScopeAdminText = "Access the management endpoint as the signed-in user"
)

// EnsureManagementApplication registers the management application in the
// tenant if it is missing: ARM's identifier URI, the delegated scope
// user_impersonation with the CLI's client pre-authorized for it (so that
// `az login` asks no consent, as with Entra, where ARM pre-authorizes the
// Azure CLI), v1 access tokens (ARM's; aud is the identifier URI), and a
// service principal that requires no role assignment. An application that
// already answers to the identifier URI is kept as it is: an operator may
// have changed it.
func (s *Service) EnsureManagementApplication(ctx context.Context, tenantID string) (Resource, error) {
	app, err := s.repo.GetApplicationByIdentifierURI(ctx, tenantID, ManagementIdentifierURI)
	if errors.Is(err, ErrNotFound) {
		app, err = s.createApplication(ctx, tenantID, ApplicationSpec{
			AppID: ManagementAppID, DisplayName: ManagementDisplayName,
			IdentifierURIs: []string{ManagementIdentifierURI},
			Scopes: []Scope{{Value: ManagementScope, DisplayName: managementScopeAdminText,
				Description: managementScopeAdminText + " (the tenants and subscriptions the Azure CLI lists).", Enabled: true}},
			PreAuthorized:              []PreAuthorizedApplication{{AppID: CLIClientID, Scopes: []string{ManagementScope}}},
			AccessTokenAcceptedVersion: 1,
		}, true)
		if errors.Is(err, ErrConflict) { // created concurrently
			app, err = s.repo.GetApplicationByIdentifierURI(ctx, tenantID, ManagementIdentifierURI)
		}
	}
	if err != nil {
		return Resource{}, err
	}
	sp, err := s.repo.GetServicePrincipalByAppID(ctx, tenantID, app.AppID)
	if errors.Is(err, ErrNotFound) {
		sp, err = s.CreateServicePrincipal(ctx, tenantID, ServicePrincipalSpec{AppID: app.AppID})
		if errors.Is(err, ErrConflict) {
			sp, err = s.repo.GetServicePrincipalByAppID(ctx, tenantID, app.AppID)
		}
	}
	if err != nil {
		return Resource{}, err
	}
	return Resource{App: app, SP: sp, Requested: ManagementIdentifierURI}, nil
}
