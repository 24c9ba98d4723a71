package directory

import (
	"context"
	"strings"
)

// AssignmentSpec grants a principal an app role of a resource.
type AssignmentSpec struct {
	// Principal is a service principal's object id or its appId.
	Principal string `json:"principal"`
	// Resource is the resource's appId, an identifier URI, or its service
	// principal's object id.
	Resource string `json:"resource"`
	// Role is the app role's value (e.g. "Reader") or id.
	Role string `json:"role"`
}

// AssignRole grants an app role. The resource must have a service principal
// in the tenant, and the role must exist, be enabled, and allow the
// principal's member type.
func (s *Service) AssignRole(ctx context.Context, tenantID string, spec AssignmentSpec) (RoleAssignment, error) {
	principal, err := s.GetServicePrincipal(ctx, tenantID, spec.Principal)
	if err != nil {
		return RoleAssignment{}, err
	}
	resourceSP, err := s.GetServicePrincipal(ctx, tenantID, spec.Resource)
	if err != nil {
		return RoleAssignment{}, err
	}
	resource, err := s.repo.GetApplication(ctx, tenantID, resourceSP.AppID)
	if err != nil {
		return RoleAssignment{}, err
	}
	role, ok := resource.Role(spec.Role)
	if !ok {
		return RoleAssignment{}, invalid("application %q defines no app role %q", resource.DisplayName, spec.Role)
	}
	if !role.Enabled {
		return RoleAssignment{}, invalid("app role %q is disabled", role.Value)
	}
	if !role.AllowsMemberType(MemberTypeApplication) {
		return RoleAssignment{}, invalid("app role %q cannot be assigned to applications", role.Value)
	}
	a := RoleAssignment{
		TenantID:      tenantID,
		ID:            s.newID(),
		PrincipalID:   principal.ObjectID,
		PrincipalType: PrincipalServicePrincipal,
		ResourceID:    resourceSP.ObjectID,
		ResourceAppID: resourceSP.AppID,
		AppRoleID:     role.ID,
		CreatedAt:     s.clock(),
	}
	if err := s.repo.CreateRoleAssignment(ctx, tenantID, a); err != nil {
		return RoleAssignment{}, err
	}
	return a, nil
}

// AssignmentFilter selects assignments; empty fields match all. At least
// one of them must be set.
type AssignmentFilter struct {
	Principal string // object id or appId of the principal
	Resource  string // appId, identifier URI or object id of the resource
}

// ListRoleAssignments lists assignments by principal, by resource, or both.
func (s *Service) ListRoleAssignments(ctx context.Context, tenantID string, f AssignmentFilter) ([]RoleAssignment, error) {
	var principalID, resourceID string
	if f.Principal != "" {
		sp, err := s.GetServicePrincipal(ctx, tenantID, f.Principal)
		if err != nil {
			return nil, err
		}
		principalID = sp.ObjectID
	}
	if f.Resource != "" {
		sp, err := s.GetServicePrincipal(ctx, tenantID, f.Resource)
		if err != nil {
			return nil, err
		}
		resourceID = sp.ObjectID
	}
	switch {
	case principalID != "":
		all, err := s.repo.ListRoleAssignmentsByPrincipal(ctx, tenantID, principalID)
		if err != nil || resourceID == "" {
			return all, err
		}
		out := []RoleAssignment{}
		for _, a := range all {
			if a.ResourceID == resourceID {
				out = append(out, a)
			}
		}
		return out, nil
	case resourceID != "":
		return s.repo.ListRoleAssignmentsByResource(ctx, tenantID, resourceID)
	default:
		return nil, invalid("name a principal or a resource to list role assignments")
	}
}

// RemoveRoleAssignment deletes an assignment by id.
func (s *Service) RemoveRoleAssignment(ctx context.Context, tenantID, id string) error {
	return s.repo.DeleteRoleAssignment(ctx, tenantID, strings.ToLower(id))
}
