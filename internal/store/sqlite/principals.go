package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const servicePrincipalColumns = `tenant_id, object_id, app_id, display_name, enabled,
	app_role_assignment_required, created_at`

func scanServicePrincipal(sc scanner) (directory.ServicePrincipal, error) {
	var sp directory.ServicePrincipal
	var created int64
	if err := sc.Scan(&sp.TenantID, &sp.ObjectID, &sp.AppID, &sp.DisplayName, &sp.Enabled,
		&sp.AppRoleAssignmentRequired, &created); err != nil {
		return directory.ServicePrincipal{}, err
	}
	sp.CreatedAt = decTime(created)
	return sp, nil
}

// CreateServicePrincipal stores a new service principal. A second one with
// the same object id, or for the same application, is
// directory.ErrConflict; the unique index decides, so of concurrent
// callers exactly one wins.
func (s *Store) CreateServicePrincipal(ctx context.Context, tenantID string, sp directory.ServicePrincipal) error {
	op := fmt.Sprintf("create service principal %s (app %s) in tenant %s", sp.ObjectID, sp.AppID, tenantID)
	if err := stored.CheckTenant(tenantID, sp.TenantID); err != nil {
		return wrap(op, err)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO service_principals (`+servicePrincipalColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		tenantID, sp.ObjectID, sp.AppID, sp.DisplayName, encBool(sp.Enabled),
		encBool(sp.AppRoleAssignmentRequired), encTime(sp.CreatedAt))
	return wrap(op, err)
}

// UpdateServicePrincipal replaces every stored field of the service
// principal with sp.ObjectID.
func (s *Store) UpdateServicePrincipal(ctx context.Context, tenantID string, sp directory.ServicePrincipal) error {
	op := fmt.Sprintf("update service principal %s in tenant %s", sp.ObjectID, tenantID)
	if err := stored.CheckTenant(tenantID, sp.TenantID); err != nil {
		return wrap(op, err)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE service_principals SET app_id = ?, display_name = ?,
		enabled = ?, app_role_assignment_required = ?, created_at = ?
		WHERE tenant_id = ? AND object_id = ?`,
		sp.AppID, sp.DisplayName, encBool(sp.Enabled), encBool(sp.AppRoleAssignmentRequired),
		encTime(sp.CreatedAt), tenantID, sp.ObjectID)
	if err == nil {
		err = affected(res)
	}
	return wrap(op, err)
}

func (s *Store) GetServicePrincipal(ctx context.Context, tenantID, objectID string) (directory.ServicePrincipal, error) {
	sp, err := scanServicePrincipal(s.readRow(ctx,
		`SELECT `+servicePrincipalColumns+` FROM service_principals WHERE tenant_id = ? AND object_id = ?`,
		tenantID, objectID))
	return sp, wrap(fmt.Sprintf("get service principal %s in tenant %s", objectID, tenantID), err)
}

func (s *Store) GetServicePrincipalByAppID(ctx context.Context, tenantID, appID string) (directory.ServicePrincipal, error) {
	sp, err := scanServicePrincipal(s.readRow(ctx,
		`SELECT `+servicePrincipalColumns+` FROM service_principals WHERE tenant_id = ? AND app_id = ?`,
		tenantID, appID))
	return sp, wrap(fmt.Sprintf("get service principal of app %s in tenant %s", appID, tenantID), err)
}

func (s *Store) ListServicePrincipals(ctx context.Context, tenantID string) ([]directory.ServicePrincipal, error) {
	return queryList(ctx, s, "list service principals in tenant "+tenantID, scanServicePrincipal,
		`SELECT `+servicePrincipalColumns+` FROM service_principals WHERE tenant_id = ?
		ORDER BY created_at, object_id`, tenantID)
}

// DeleteServicePrincipal removes the service principal and the role
// assignments naming it, as principal or as resource, in one transaction.
func (s *Store) DeleteServicePrincipal(ctx context.Context, tenantID, objectID string) error {
	return s.write(ctx, fmt.Sprintf("delete service principal %s in tenant %s", objectID, tenantID),
		func(tx *sql.Tx) error { return deleteServicePrincipal(ctx, tx, tenantID, objectID) })
}

func deleteServicePrincipal(ctx context.Context, tx *sql.Tx, tenantID, objectID string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM role_assignments
		WHERE tenant_id = ? AND (principal_id = ? OR resource_id = ?)`,
		tenantID, objectID, objectID); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx,
		`DELETE FROM service_principals WHERE tenant_id = ? AND object_id = ?`, tenantID, objectID)
	if err != nil {
		return err
	}
	return affected(res)
}
