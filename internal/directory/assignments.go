package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// AssignmentSpec grants a principal an app role of a resource.
type AssignmentSpec struct {
	// Principal is a service principal (object id or appId) or a user
	// (object id or user principal name).
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
	principalID, principalType, memberType, err := s.resolvePrincipal(ctx, tenantID, spec.Principal)
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
	if !role.AllowsMemberType(memberType) {
		return RoleAssignment{}, invalid("app role %q cannot be assigned to a %s", role.Value, strings.ToLower(memberType))
	}
	a := RoleAssignment{
		TenantID:      tenantID,
		ID:            s.newID(),
		PrincipalID:   principalID,
		PrincipalType: principalType,
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
		id, _, _, err := s.resolvePrincipal(ctx, tenantID, f.Principal)
		if err != nil {
			return nil, err
		}
		principalID = id
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

// resolvePrincipal finds the principal of an assignment: a service
// principal first, else a user.
func (s *Service) resolvePrincipal(ctx context.Context, tenantID, ref string) (id, principalType, memberType string, err error) {
	sp, err := s.GetServicePrincipal(ctx, tenantID, ref)
	if err == nil {
		return sp.ObjectID, PrincipalServicePrincipal, MemberTypeApplication, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return "", "", "", err
	}
	u, uerr := s.GetUser(ctx, tenantID, ref)
	if uerr == nil {
		return u.ObjectID, PrincipalUser, MemberTypeUser, nil
	}
	if !errors.Is(uerr, ErrNotFound) {
		return "", "", "", uerr
	}
	return "", "", "", fmt.Errorf("%w: no service principal or user %q", ErrNotFound, ref)
}
