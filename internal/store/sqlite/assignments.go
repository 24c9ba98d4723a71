package sqlite

import (
	"context"
	"fmt"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const roleAssignmentColumns = `tenant_id, id, principal_id, principal_type, resource_id,
	resource_app_id, app_role_id, created_at`

func scanRoleAssignment(sc scanner) (directory.RoleAssignment, error) {
	var a directory.RoleAssignment
	var created int64
	if err := sc.Scan(&a.TenantID, &a.ID, &a.PrincipalID, &a.PrincipalType, &a.ResourceID,
		&a.ResourceAppID, &a.AppRoleID, &created); err != nil {
		return directory.RoleAssignment{}, err
	}
	a.CreatedAt = decTime(created)
	return a, nil
}

// CreateRoleAssignment stores a new role assignment: directory.ErrConflict
// if the id is taken or the principal already holds this role of this
// resource.
func (s *Store) CreateRoleAssignment(ctx context.Context, tenantID string, a directory.RoleAssignment) error {
	op := fmt.Sprintf("create role assignment %s in tenant %s", a.ID, tenantID)
	if err := stored.CheckTenant(tenantID, a.TenantID); err != nil {
		return wrap(op, err)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO role_assignments (`+roleAssignmentColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		tenantID, a.ID, a.PrincipalID, a.PrincipalType, a.ResourceID, a.ResourceAppID, a.AppRoleID,
		encTime(a.CreatedAt))
	return wrap(op, err)
}

func (s *Store) ListRoleAssignmentsByPrincipal(ctx context.Context, tenantID, principalID string) ([]directory.RoleAssignment, error) {
	return queryList(ctx, s, fmt.Sprintf("list role assignments of principal %s in tenant %s", principalID, tenantID),
		scanRoleAssignment,
		`SELECT `+roleAssignmentColumns+` FROM role_assignments WHERE tenant_id = ? AND principal_id = ?
		ORDER BY created_at, id`, tenantID, principalID)
}

func (s *Store) ListRoleAssignmentsByResource(ctx context.Context, tenantID, resourceID string) ([]directory.RoleAssignment, error) {
	return queryList(ctx, s, fmt.Sprintf("list role assignments of resource %s in tenant %s", resourceID, tenantID),
		scanRoleAssignment,
		`SELECT `+roleAssignmentColumns+` FROM role_assignments WHERE tenant_id = ? AND resource_id = ?
		ORDER BY created_at, id`, tenantID, resourceID)
}

func (s *Store) DeleteRoleAssignment(ctx context.Context, tenantID, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM role_assignments WHERE tenant_id = ? AND id = ?`, tenantID, id)
	if err == nil {
		err = affected(res)
	}
	return wrap(fmt.Sprintf("delete role assignment %s in tenant %s", id, tenantID), err)
}
