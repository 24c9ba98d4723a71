package directory

import (
	"context"
	"errors"
	"strings"
)

// ServicePrincipalSpec is what a caller chooses about a new service
// principal.
type ServicePrincipalSpec struct {
	AppID                     string `json:"appId"`
	AppRoleAssignmentRequired bool   `json:"appRoleAssignmentRequired,omitempty"`
}

// ServicePrincipalPatch changes some fields; nil fields stay.
type ServicePrincipalPatch struct {
	Enabled                   *bool `json:"accountEnabled,omitempty"`
	AppRoleAssignmentRequired *bool `json:"appRoleAssignmentRequired,omitempty"`
}

// CreateServicePrincipal creates the service principal of an application in
// the tenant (one per application per tenant).
func (s *Service) CreateServicePrincipal(ctx context.Context, tenantID string, spec ServicePrincipalSpec) (ServicePrincipal, error) {
	app, err := s.GetApplication(ctx, tenantID, spec.AppID)
	if err != nil {
		return ServicePrincipal{}, err
	}
	sp := ServicePrincipal{
		TenantID:                  tenantID,
		ObjectID:                  s.newID(),
		AppID:                     app.AppID,
		DisplayName:               app.DisplayName,
		Enabled:                   true,
		AppRoleAssignmentRequired: spec.AppRoleAssignmentRequired,
		CreatedAt:                 s.clock(),
	}
	if err := s.repo.CreateServicePrincipal(ctx, tenantID, sp); err != nil {
		return ServicePrincipal{}, err
	}
	return sp, nil
}

// GetServicePrincipal finds a service principal by its object id, its
// application's appId, or an identifier URI of its application.
func (s *Service) GetServicePrincipal(ctx context.Context, tenantID, ref string) (ServicePrincipal, error) {
	if IsGUID(ref) {
		ref = strings.ToLower(ref)
		sp, err := s.repo.GetServicePrincipal(ctx, tenantID, ref)
		if !errors.Is(err, ErrNotFound) {
			return sp, err
		}
		return s.repo.GetServicePrincipalByAppID(ctx, tenantID, ref)
	}
	app, err := s.repo.GetApplicationByIdentifierURI(ctx, tenantID, ref)
	if err != nil {
		return ServicePrincipal{}, err
	}
	return s.repo.GetServicePrincipalByAppID(ctx, tenantID, app.AppID)
}

// ListServicePrincipals lists a tenant's service principals.
func (s *Service) ListServicePrincipals(ctx context.Context, tenantID string) ([]ServicePrincipal, error) {
	return s.repo.ListServicePrincipals(ctx, tenantID)
}

// UpdateServicePrincipal applies a patch.
func (s *Service) UpdateServicePrincipal(ctx context.Context, tenantID, ref string, p ServicePrincipalPatch) (ServicePrincipal, error) {
	sp, err := s.GetServicePrincipal(ctx, tenantID, ref)
	if err != nil {
		return ServicePrincipal{}, err
	}
	changes := p.Enabled != nil && *p.Enabled != sp.Enabled ||
		p.AppRoleAssignmentRequired != nil && *p.AppRoleAssignmentRequired != sp.AppRoleAssignmentRequired
	if builtIn, err := s.builtInAdminApp(ctx, tenantID, sp.AppID); err != nil {
		return ServicePrincipal{}, err
	} else if builtIn && changes {
		return ServicePrincipal{}, errBuiltIn("its service principal stays enabled and requires role assignment")
	}
	if p.Enabled != nil {
		sp.Enabled = *p.Enabled
	}
	if p.AppRoleAssignmentRequired != nil {
		sp.AppRoleAssignmentRequired = *p.AppRoleAssignmentRequired
	}
	if err := s.repo.UpdateServicePrincipal(ctx, tenantID, sp); err != nil {
		return ServicePrincipal{}, err
	}
	if p.Enabled != nil && !*p.Enabled {
		if err := s.revokeClient(ctx, tenantID, sp.AppID); err != nil {
			return ServicePrincipal{}, err
		}
	}
	return sp, nil
}

// DeleteServicePrincipal removes a service principal and its role
// assignments; the application stays.
func (s *Service) DeleteServicePrincipal(ctx context.Context, tenantID, ref string) error {
	sp, err := s.GetServicePrincipal(ctx, tenantID, ref)
	if err != nil {
		return err
	}
	if builtIn, err := s.builtInAdminApp(ctx, tenantID, sp.AppID); err != nil {
		return err
	} else if builtIn {
		return errBuiltIn("its service principal cannot be deleted (remove role assignments to take an administrator's rights away)")
	}
	if err := s.repo.DeleteServicePrincipal(ctx, tenantID, sp.ObjectID); err != nil {
		return err
	}
	return s.revokeClient(ctx, tenantID, sp.AppID)
}
