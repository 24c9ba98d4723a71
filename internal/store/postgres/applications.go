package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const applicationColumns = `tenant_id, app_id, object_id, display_name, identifier_uris, scopes, app_roles,
	access_token_accepted_version, access_token_lifetime, redirect_uris, public_client, pre_authorized,
	created_at, updated_at`

// applicationColumnsOfA is applicationColumns of the table aliased a, for
// queries that join.
const applicationColumnsOfA = `a.tenant_id, a.app_id, a.object_id, a.display_name, a.identifier_uris, a.scopes,
	a.app_roles, a.access_token_accepted_version, a.access_token_lifetime, a.redirect_uris, a.public_client,
	a.pre_authorized, a.created_at, a.updated_at`

func scanApplication(row pgx.Row) (directory.Application, error) {
	var a directory.Application
	var scopes, roles, pre []byte
	var lifetime int64
	if err := row.Scan(&a.TenantID, &a.AppID, &a.ObjectID, &a.DisplayName, &a.IdentifierURIs, &scopes,
		&roles, &a.AccessTokenAcceptedVersion, &lifetime, &a.RedirectURIs, &a.PublicClient,
		&pre, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return directory.Application{}, err
	}
	a.AccessTokenLifetime = time.Duration(lifetime)
	a.CreatedAt, a.UpdatedAt = utc(a.CreatedAt), utc(a.UpdatedAt)

	if err := stored.DecodeApplication(&a, scopes, roles, pre); err != nil {
		return directory.Application{}, err
	}
	return a, nil
}

// CreateApplication stores a new application and claims its identifier
// URIs in the tenant, in one transaction: on directory.ErrConflict nothing
// is stored.
func (s *Store) CreateApplication(ctx context.Context, tenantID string, app directory.Application) error {
	op := fmt.Sprintf("create application %s in tenant %s", app.AppID, tenantID)
	app, docs, err := stored.PrepareApplication(tenantID, app)
	if err != nil {
		return wrap(op, err)
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO applications (`+applicationColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			tenantID, app.AppID, app.ObjectID, app.DisplayName, app.IdentifierURIs, docs.Scopes, docs.AppRoles,
			app.AccessTokenAcceptedVersion, int64(app.AccessTokenLifetime), app.RedirectURIs,
			app.PublicClient, docs.PreAuthorized, app.CreatedAt, app.UpdatedAt); err != nil {
			return err
		}
		return claimIdentifierURIs(ctx, tx, tenantID, app.AppID, app.IdentifierURIs)
	})
}

// claimIdentifierURIs records that uris belong to appID, in one statement.
// The primary key (tenant_id, uri) turns a URI held by another application,
// or listed twice, into a uniqueness error.
func claimIdentifierURIs(ctx context.Context, tx pgx.Tx, tenantID, appID string, uris []string) error {
	if len(uris) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO application_identifier_uris (tenant_id, uri, app_id)
		SELECT $1, uri, $2 FROM unnest($3::text[]) AS uri`,
		tenantID, appID, uris)
	return err
}

// UpdateApplication replaces every stored field of the application with
// app.AppID, CreatedAt included (the caller reads, changes and writes
// back), and moves its identifier URIs, in one transaction: on
// directory.ErrConflict nothing changes.
func (s *Store) UpdateApplication(ctx context.Context, tenantID string, app directory.Application) error {
	op := fmt.Sprintf("update application %s in tenant %s", app.AppID, tenantID)
	app, docs, err := stored.PrepareApplication(tenantID, app)
	if err != nil {
		return wrap(op, err)
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE applications SET object_id = $3, display_name = $4,
			identifier_uris = $5, scopes = $6, app_roles = $7, access_token_accepted_version = $8,
			access_token_lifetime = $9, redirect_uris = $10, public_client = $11, pre_authorized = $12,
			created_at = $13, updated_at = $14
			WHERE tenant_id = $1 AND app_id = $2`,
			tenantID, app.AppID, app.ObjectID, app.DisplayName, app.IdentifierURIs, docs.Scopes, docs.AppRoles,
			app.AccessTokenAcceptedVersion, int64(app.AccessTokenLifetime), app.RedirectURIs,
			app.PublicClient, docs.PreAuthorized, app.CreatedAt, app.UpdatedAt)
		if err != nil {
			return err
		}
		if err := affected(tag); err != nil {
			return err
		}
		// Release every URI before claiming the new list, so that a URI
		// the application keeps is not a conflict with itself.
		if _, err := tx.Exec(ctx,
			`DELETE FROM application_identifier_uris WHERE tenant_id = $1 AND app_id = $2`,
			tenantID, app.AppID); err != nil {
			return err
		}
		return claimIdentifierURIs(ctx, tx, tenantID, app.AppID, app.IdentifierURIs)
	})
}

// TenantOfApplication finds the one tenant registering a non-well-known
// application id through 0006's partial unique index, whose condition the
// query repeats so that the planner may prove it and use the index.
func (s *Store) TenantOfApplication(ctx context.Context, appID string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT tenant_id FROM applications WHERE app_id = $1
		AND `+store.NotWellKnownAppID, appID).Scan(&id)
	return id, wrap("find the tenant of application "+appID, err)
}

func (s *Store) GetApplication(ctx context.Context, tenantID, appID string) (directory.Application, error) {
	a, err := scanApplication(s.pool.QueryRow(ctx,
		`SELECT `+applicationColumns+` FROM applications WHERE tenant_id = $1 AND app_id = $2`,
		tenantID, appID))
	return a, wrap(fmt.Sprintf("get application %s in tenant %s", appID, tenantID), err)
}

func (s *Store) GetApplicationByIdentifierURI(ctx context.Context, tenantID, uri string) (directory.Application, error) {
	a, err := scanApplication(s.pool.QueryRow(ctx, `SELECT `+applicationColumnsOfA+`
		FROM application_identifier_uris u
		JOIN applications a ON a.tenant_id = u.tenant_id AND a.app_id = u.app_id
		WHERE u.tenant_id = $1 AND u.uri = $2`,
		tenantID, uri))
	return a, wrap(fmt.Sprintf("get application by identifier URI %s in tenant %s", uri, tenantID), err)
}

func (s *Store) ListApplications(ctx context.Context, tenantID string) ([]directory.Application, error) {
	return queryList(ctx, s.pool, "list applications in tenant "+tenantID, scanApplication,
		`SELECT `+applicationColumns+` FROM applications WHERE tenant_id = $1 ORDER BY created_at, app_id`,
		tenantID)
}

// DeleteApplication removes the application with its identifier URIs and
// credentials (by the foreign keys' cascade), its service principal and
// every role assignment naming that service principal, and the consents
// naming the application, in one transaction. The application row goes
// first: parent before child, the lock order of the package.
func (s *Store) DeleteApplication(ctx context.Context, tenantID, appID string) error {
	op := fmt.Sprintf("delete application %s in tenant %s", appID, tenantID)
	return s.write(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM applications WHERE tenant_id = $1 AND app_id = $2`, tenantID, appID)
		if err != nil {
			return err
		}
		if err := affected(tag); err != nil {
			return err
		}
		var spID string
		err = tx.QueryRow(ctx, `DELETE FROM service_principals WHERE tenant_id = $1 AND app_id = $2 RETURNING object_id`,
			tenantID, appID).Scan(&spID)
		switch {
		case err == nil:
			if err := deleteAssignmentsNaming(ctx, tx, tenantID, spID); err != nil {
				return err
			}
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		// Consents it gave as a client or received as a resource: a later
		// application reusing the appId must not inherit them.
		_, err = tx.Exec(ctx, `DELETE FROM consents WHERE tenant_id = $1 AND (client_id = $2 OR resource_app_id = $2)`,
			tenantID, appID)
		return err
	})
}
