package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const roleAssignmentColumns = `tenant_id, id, principal_id, principal_type, resource_id,
	resource_app_id, app_role_id, created_at`

func scanRoleAssignment(row pgx.Row) (directory.RoleAssignment, error) {
	var a directory.RoleAssignment
	if err := row.Scan(&a.TenantID, &a.ID, &a.PrincipalID, &a.PrincipalType, &a.ResourceID,
		&a.ResourceAppID, &a.AppRoleID, &a.CreatedAt); err != nil {
		return directory.RoleAssignment{}, err
	}
	a.CreatedAt = utc(a.CreatedAt)
	return a, nil
}

// CreateRoleAssignment stores a new role assignment: directory.ErrConflict
// if the id is taken or the principal already holds this role of this
// resource (a unique index, so concurrent duplicates conflict too),
// directory.ErrNotFound if the tenant does not exist.
func (s *Store) CreateRoleAssignment(ctx context.Context, tenantID string, a directory.RoleAssignment) error {
	op := fmt.Sprintf("create role assignment %s in tenant %s", a.ID, tenantID)
	if err := stored.CheckTenant(tenantID, a.TenantID); err != nil {
		return wrap(op, err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO role_assignments (`+roleAssignmentColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		tenantID, a.ID, a.PrincipalID, a.PrincipalType, a.ResourceID, a.ResourceAppID, a.AppRoleID, a.CreatedAt)
	return wrap(op, err)
}

func (s *Store) ListRoleAssignmentsByPrincipal(ctx context.Context, tenantID, principalID string) ([]directory.RoleAssignment, error) {
	return queryList(ctx, s.pool, fmt.Sprintf("list role assignments of principal %s in tenant %s", principalID, tenantID),
		scanRoleAssignment,
		`SELECT `+roleAssignmentColumns+` FROM role_assignments WHERE tenant_id = $1 AND principal_id = $2
		ORDER BY created_at, id`, tenantID, principalID)
}

func (s *Store) ListRoleAssignmentsByResource(ctx context.Context, tenantID, resourceID string) ([]directory.RoleAssignment, error) {
	return queryList(ctx, s.pool, fmt.Sprintf("list role assignments of resource %s in tenant %s", resourceID, tenantID),
		scanRoleAssignment,
		`SELECT `+roleAssignmentColumns+` FROM role_assignments WHERE tenant_id = $1 AND resource_id = $2
		ORDER BY created_at, id`, tenantID, resourceID)
}

func (s *Store) DeleteRoleAssignment(ctx context.Context, tenantID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM role_assignments WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err == nil {
		err = affected(tag)
	}
	return wrap(fmt.Sprintf("delete role assignment %s in tenant %s", id, tenantID), err)
}
