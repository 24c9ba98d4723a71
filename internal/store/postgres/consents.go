package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const consentColumns = `tenant_id, client_id, resource_app_id, principal_id, scopes, created_at, updated_at`

func scanConsent(row pgx.Row) (directory.ConsentGrant, error) {
	var g directory.ConsentGrant
	if err := row.Scan(&g.TenantID, &g.ClientID, &g.ResourceAppID, &g.PrincipalID, &g.Scopes,
		&g.CreatedAt, &g.UpdatedAt); err != nil {
		return directory.ConsentGrant{}, err
	}
	g.Scopes = stored.NonNil(g.Scopes)
	g.CreatedAt, g.UpdatedAt = utc(g.CreatedAt), utc(g.UpdatedAt)
	return g, nil
}

// PutConsent stores a consent grant, merged into an existing grant of the
// same client, resource and principal as stored.MergeScopes says.
//
// It is one INSERT … ON CONFLICT DO UPDATE whose merge is computed in SQL
// on the locked existing row: a read in Go followed by a write would let
// two first consents of one principal, on two instances, both see no row
// and the second overwrite the first's scopes. Here concurrent consents
// queue on the row and all count.
func (s *Store) PutConsent(ctx context.Context, tenantID string, g directory.ConsentGrant) error {
	op := fmt.Sprintf("put consent of %s to client %s for %s in tenant %s", g.PrincipalID, g.ClientID,
		g.ResourceAppID, tenantID)
	if err := stored.CheckTenant(tenantID, g.TenantID); err != nil {
		return wrap(op, err)
	}
	// GROUP BY compares with the column's deterministic collation, which
	// tells apart any two different strings, so case-sensitively as
	// stored.MergeScopes; min(n) keeps each scope at its first place.
	_, err := s.pool.Exec(ctx, `INSERT INTO consents (`+consentColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (tenant_id, client_id, resource_app_id, principal_id) DO UPDATE SET
			scopes = ARRAY(
				SELECT scope FROM unnest(consents.scopes || excluded.scopes) WITH ORDINALITY AS s (scope, n)
				GROUP BY scope ORDER BY min(n)),
			updated_at = excluded.updated_at`,
		tenantID, g.ClientID, g.ResourceAppID, g.PrincipalID, stored.MergeScopes(nil, g.Scopes), g.CreatedAt, g.UpdatedAt)
	return wrap(op, err)
}

// ListConsents returns the consent grants of a client: with a principal,
// that principal's and the admin consents (AllPrincipals); with principalID
// "", every grant of the client. Ordered by creation time, then resource
// and principal.
func (s *Store) ListConsents(ctx context.Context, tenantID, clientID, principalID string) ([]directory.ConsentGrant, error) {
	op := fmt.Sprintf("list consents of %q to client %s in tenant %s", principalID, clientID, tenantID)
	if principalID == "" {
		return queryList(ctx, s.pool, op, scanConsent, `SELECT `+consentColumns+` FROM consents
			WHERE tenant_id = $1 AND client_id = $2
			ORDER BY created_at, resource_app_id, principal_id`, tenantID, clientID)
	}
	return queryList(ctx, s.pool, op, scanConsent, `SELECT `+consentColumns+` FROM consents
		WHERE tenant_id = $1 AND client_id = $2 AND principal_id IN ($3, $4)
		ORDER BY created_at, resource_app_id, principal_id`, tenantID, clientID, principalID, directory.AllPrincipals)
}

// DeleteConsent withdraws the whole grant of the principal to the client
// for the resource: directory.ErrNotFound if there is none.
func (s *Store) DeleteConsent(ctx context.Context, tenantID, clientID, resourceAppID, principalID string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM consents
		WHERE tenant_id = $1 AND client_id = $2 AND resource_app_id = $3 AND principal_id = $4`,
		tenantID, clientID, resourceAppID, principalID)
	if err == nil {
		err = affected(tag)
	}
	return wrap(fmt.Sprintf("delete consent of %s to client %s for %s in tenant %s", principalID, clientID,
		resourceAppID, tenantID), err)
}
