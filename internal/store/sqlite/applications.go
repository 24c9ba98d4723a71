package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/stored"
)

// applicationRow is an application's JSON columns as text: the ones
// SQLite stores as JSON (the lists of URIs) and the stored formats of
// package stored.
type applicationRow struct {
	identifierURIs, redirectURIs string
	stored.ApplicationDocs
}

// encodeApplication is stored.PrepareApplication (which normalises *a)
// with the URI lists encoded too.
func encodeApplication(tenantID string, a *directory.Application) (applicationRow, error) {
	var row applicationRow
	var err error
	*a, row.ApplicationDocs, err = stored.PrepareApplication(tenantID, *a)
	if err == nil {
		row.identifierURIs, err = stored.EncJSON(a.IdentifierURIs)
	}
	if err == nil {
		row.redirectURIs, err = stored.EncJSON(a.RedirectURIs)
	}
	return row, err
}

const applicationColumns = `tenant_id, app_id, object_id, display_name, identifier_uris, scopes, app_roles,
	access_token_accepted_version, access_token_lifetime, redirect_uris, public_client, pre_authorized,
	created_at, updated_at`

func scanApplication(sc scanner) (directory.Application, error) {
	var a directory.Application
	var row applicationRow
	var lifetime, created, updated int64
	if err := sc.Scan(&a.TenantID, &a.AppID, &a.ObjectID, &a.DisplayName, &row.identifierURIs, &row.Scopes,
		&row.AppRoles, &a.AccessTokenAcceptedVersion, &lifetime, &row.redirectURIs, &a.PublicClient,
		&row.PreAuthorized, &created, &updated); err != nil {
		return directory.Application{}, err
	}
	a.AccessTokenLifetime = time.Duration(lifetime)
	a.CreatedAt, a.UpdatedAt = decTime(created), decTime(updated)

	for _, c := range []struct {
		text string
		dst  *[]string
	}{{row.identifierURIs, &a.IdentifierURIs}, {row.redirectURIs, &a.RedirectURIs}} {
		if err := stored.DecJSON(c.text, c.dst); err != nil {
			return directory.Application{}, fmt.Errorf("application %s: decode column: %w", a.AppID, err)
		}
	}
	if err := stored.DecodeApplication(&a, row.Scopes, row.AppRoles, row.PreAuthorized); err != nil {
		return directory.Application{}, err
	}
	return a, nil
}

// CreateApplication stores a new application and claims its identifier
// URIs in the tenant, in one transaction: on directory.ErrConflict nothing
// is stored.
func (s *Store) CreateApplication(ctx context.Context, tenantID string, app directory.Application) error {
	op := fmt.Sprintf("create application %s in tenant %s", app.AppID, tenantID)
	row, err := encodeApplication(tenantID, &app)
	if err != nil {
		return wrap(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO applications (`+applicationColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			tenantID, app.AppID, app.ObjectID, app.DisplayName, row.identifierURIs, row.Scopes, row.AppRoles,
			app.AccessTokenAcceptedVersion, int64(app.AccessTokenLifetime), row.redirectURIs,
			encBool(app.PublicClient), row.PreAuthorized, encTime(app.CreatedAt), encTime(app.UpdatedAt)); err != nil {
			return err
		}
		return claimIdentifierURIs(ctx, tx, tenantID, app.AppID, app.IdentifierURIs)
	})
}

// claimIdentifierURIs records that uris belong to appID. The primary key
// (tenant_id, uri) turns a URI held by another application, or listed
// twice, into a uniqueness error.
func claimIdentifierURIs(ctx context.Context, tx *sql.Tx, tenantID, appID string, uris []string) error {
	for _, u := range uris {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO application_identifier_uris (tenant_id, uri, app_id) VALUES (?, ?, ?)`,
			tenantID, u, appID); err != nil {
			return err
		}
	}
	return nil
}

// UpdateApplication replaces every stored field of the application with
// app.AppID, CreatedAt included: the caller reads, changes and writes back.
func (s *Store) UpdateApplication(ctx context.Context, tenantID string, app directory.Application) error {
	op := fmt.Sprintf("update application %s in tenant %s", app.AppID, tenantID)
	row, err := encodeApplication(tenantID, &app)
	if err != nil {
		return wrap(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE applications SET object_id = ?, display_name = ?,
			identifier_uris = ?, scopes = ?, app_roles = ?, access_token_accepted_version = ?,
			access_token_lifetime = ?, redirect_uris = ?, public_client = ?, pre_authorized = ?,
			created_at = ?, updated_at = ?
			WHERE tenant_id = ? AND app_id = ?`,
			app.ObjectID, app.DisplayName, row.identifierURIs, row.Scopes, row.AppRoles,
			app.AccessTokenAcceptedVersion, int64(app.AccessTokenLifetime), row.redirectURIs,
			encBool(app.PublicClient), row.PreAuthorized, encTime(app.CreatedAt), encTime(app.UpdatedAt),
			tenantID, app.AppID)
		if err != nil {
			return err
		}
		if err := affected(res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`DELETE FROM application_identifier_uris WHERE tenant_id = ? AND app_id = ?`,
			tenantID, app.AppID); err != nil {
			return err
		}
		return claimIdentifierURIs(ctx, tx, tenantID, app.AppID, app.IdentifierURIs)
	})
}

// TenantOfApplication finds the one tenant registering a non-well-known
// application id through 0006's unique index, whose condition the query
// repeats word for word so that SQLite may use the partial index.
func (s *Store) TenantOfApplication(ctx context.Context, appID string) (string, error) {
	var id string
	err := s.readRow(ctx, `SELECT tenant_id FROM applications WHERE app_id = ?
		AND `+store.NotWellKnownAppID, appID).Scan(&id)
	return id, wrap("find the tenant of application "+appID, err)
}

func (s *Store) GetApplication(ctx context.Context, tenantID, appID string) (directory.Application, error) {
	a, err := scanApplication(s.readRow(ctx,
		`SELECT `+applicationColumns+` FROM applications WHERE tenant_id = ? AND app_id = ?`,
		tenantID, appID))
	return a, wrap(fmt.Sprintf("get application %s in tenant %s", appID, tenantID), err)
}

func (s *Store) GetApplicationByIdentifierURI(ctx context.Context, tenantID, uri string) (directory.Application, error) {
	a, err := scanApplication(s.readRow(ctx,
		`SELECT `+applicationColumns+` FROM applications WHERE tenant_id = ? AND app_id = (
			SELECT app_id FROM application_identifier_uris WHERE tenant_id = ? AND uri = ?)`,
		tenantID, tenantID, uri))
	return a, wrap(fmt.Sprintf("get application by identifier URI %s in tenant %s", uri, tenantID), err)
}

func (s *Store) ListApplications(ctx context.Context, tenantID string) ([]directory.Application, error) {
	return queryList(ctx, s, "list applications in tenant "+tenantID, scanApplication,
		`SELECT `+applicationColumns+` FROM applications WHERE tenant_id = ? ORDER BY created_at, app_id`,
		tenantID)
}

// DeleteApplication removes the application, its identifier URIs, its
// credentials, its service principal and every role assignment naming that
// service principal, in one transaction.
func (s *Store) DeleteApplication(ctx context.Context, tenantID, appID string) error {
	op := fmt.Sprintf("delete application %s in tenant %s", appID, tenantID)
	return s.write(ctx, op, func(tx *sql.Tx) error {
		var spID string
		err := tx.QueryRowContext(ctx,
			`SELECT object_id FROM service_principals WHERE tenant_id = ? AND app_id = ?`,
			tenantID, appID).Scan(&spID)
		switch {
		case err == nil:
			if err := deleteServicePrincipal(ctx, tx, tenantID, spID); err != nil {
				return err
			}
		case err != sql.ErrNoRows:
			return err
		}
		for _, q := range []string{
			`DELETE FROM credentials WHERE tenant_id = ?1 AND app_id = ?2`,
			`DELETE FROM application_identifier_uris WHERE tenant_id = ?1 AND app_id = ?2`,
			// Consents it gave as a client or received as a resource: a
			// later application reusing the appId must not inherit them.
			`DELETE FROM consents WHERE tenant_id = ?1 AND (client_id = ?2 OR resource_app_id = ?2)`,
		} {
			if _, err := tx.ExecContext(ctx, q, tenantID, appID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx,
			`DELETE FROM applications WHERE tenant_id = ? AND app_id = ?`, tenantID, appID)
		if err != nil {
			return err
		}
		return affected(res)
	})
}
