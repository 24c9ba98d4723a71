package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const servicePrincipalColumns = `tenant_id, object_id, app_id, display_name, enabled,
	app_role_assignment_required, created_at`

func scanServicePrincipal(row pgx.Row) (directory.ServicePrincipal, error) {
	var sp directory.ServicePrincipal
	if err := row.Scan(&sp.TenantID, &sp.ObjectID, &sp.AppID, &sp.DisplayName, &sp.Enabled,
		&sp.AppRoleAssignmentRequired, &sp.CreatedAt); err != nil {
		return directory.ServicePrincipal{}, err
	}
	sp.CreatedAt = utc(sp.CreatedAt)
	return sp, nil
}

// CreateServicePrincipal stores a new service principal. A second one with
// the same object id, or for the same application, is
// directory.ErrConflict; the unique index decides, so of concurrent callers
// on any number of instances exactly one wins.
func (s *Store) CreateServicePrincipal(ctx context.Context, tenantID string, sp directory.ServicePrincipal) error {
	op := fmt.Sprintf("create service principal %s (app %s) in tenant %s", sp.ObjectID, sp.AppID, tenantID)
	if err := stored.CheckTenant(tenantID, sp.TenantID); err != nil {
		return wrap(op, err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO service_principals (`+servicePrincipalColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		tenantID, sp.ObjectID, sp.AppID, sp.DisplayName, sp.Enabled, sp.AppRoleAssignmentRequired, sp.CreatedAt)
	return wrap(op, err)
}

// UpdateServicePrincipal replaces every stored field of the service
// principal with sp.ObjectID.
func (s *Store) UpdateServicePrincipal(ctx context.Context, tenantID string, sp directory.ServicePrincipal) error {
	op := fmt.Sprintf("update service principal %s in tenant %s", sp.ObjectID, tenantID)
	if err := stored.CheckTenant(tenantID, sp.TenantID); err != nil {
		return wrap(op, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE service_principals SET app_id = $3, display_name = $4,
		enabled = $5, app_role_assignment_required = $6, created_at = $7
		WHERE tenant_id = $1 AND object_id = $2`,
		tenantID, sp.ObjectID, sp.AppID, sp.DisplayName, sp.Enabled, sp.AppRoleAssignmentRequired, sp.CreatedAt)
	if err == nil {
		err = affected(tag)
	}
	return wrap(op, err)
}

func (s *Store) GetServicePrincipal(ctx context.Context, tenantID, objectID string) (directory.ServicePrincipal, error) {
	sp, err := scanServicePrincipal(s.pool.QueryRow(ctx,
		`SELECT `+servicePrincipalColumns+` FROM service_principals WHERE tenant_id = $1 AND object_id = $2`,
		tenantID, objectID))
	return sp, wrap(fmt.Sprintf("get service principal %s in tenant %s", objectID, tenantID), err)
}

func (s *Store) GetServicePrincipalByAppID(ctx context.Context, tenantID, appID string) (directory.ServicePrincipal, error) {
	sp, err := scanServicePrincipal(s.pool.QueryRow(ctx,
		`SELECT `+servicePrincipalColumns+` FROM service_principals WHERE tenant_id = $1 AND app_id = $2`,
		tenantID, appID))
	return sp, wrap(fmt.Sprintf("get service principal of app %s in tenant %s", appID, tenantID), err)
}

func (s *Store) ListServicePrincipals(ctx context.Context, tenantID string) ([]directory.ServicePrincipal, error) {
	return queryList(ctx, s.pool, "list service principals in tenant "+tenantID, scanServicePrincipal,
		`SELECT `+servicePrincipalColumns+` FROM service_principals WHERE tenant_id = $1
		ORDER BY created_at, object_id`, tenantID)
}

// DeleteServicePrincipal removes the service principal and the role
// assignments naming it, as principal or as resource, in one transaction.
func (s *Store) DeleteServicePrincipal(ctx context.Context, tenantID, objectID string) error {
	return s.write(ctx, fmt.Sprintf("delete service principal %s in tenant %s", objectID, tenantID),
		func(tx pgx.Tx) error { return deleteServicePrincipal(ctx, tx, tenantID, objectID) })
}

// deleteServicePrincipal deletes the service principal before its
// assignments: parent before child, the lock order of the package.
func deleteServicePrincipal(ctx context.Context, tx pgx.Tx, tenantID, objectID string) error {
	tag, err := tx.Exec(ctx, `DELETE FROM service_principals WHERE tenant_id = $1 AND object_id = $2`,
		tenantID, objectID)
	if err != nil {
		return err
	}
	if err := affected(tag); err != nil {
		return err
	}
	return deleteAssignmentsNaming(ctx, tx, tenantID, objectID)
}

// deleteAssignmentsNaming deletes the role assignments naming a service
// principal, as principal or as resource.
func deleteAssignmentsNaming(ctx context.Context, tx pgx.Tx, tenantID, objectID string) error {
	_, err := tx.Exec(ctx, `DELETE FROM role_assignments WHERE tenant_id = $1 AND (principal_id = $2 OR resource_id = $2)`,
		tenantID, objectID)
	return err
}
