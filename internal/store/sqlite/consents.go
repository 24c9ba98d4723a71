package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const consentColumns = `tenant_id, client_id, resource_app_id, principal_id, scopes, created_at, updated_at`

func scanConsent(sc scanner) (directory.ConsentGrant, error) {
	var g directory.ConsentGrant
	var scopes string
	var created, updated int64
	if err := sc.Scan(&g.TenantID, &g.ClientID, &g.ResourceAppID, &g.PrincipalID, &scopes,
		&created, &updated); err != nil {
		return directory.ConsentGrant{}, err
	}
	if err := stored.DecJSON(scopes, &g.Scopes); err != nil {
		return directory.ConsentGrant{}, fmt.Errorf("consent of client %s: decode scopes: %w", g.ClientID, err)
	}
	g.Scopes = stored.NonNil(g.Scopes)
	g.CreatedAt, g.UpdatedAt = decTime(created), decTime(updated)
	return g, nil
}

// PutConsent stores a consent grant, merged into an existing grant of the
// same client, resource and principal as stored.MergeScopes says. The read
// and the write are one transaction, so concurrent consents all count.
func (s *Store) PutConsent(ctx context.Context, tenantID string, g directory.ConsentGrant) error {
	op := fmt.Sprintf("put consent of %s to client %s for %s in tenant %s", g.PrincipalID, g.ClientID,
		g.ResourceAppID, tenantID)
	if err := stored.CheckTenant(tenantID, g.TenantID); err != nil {
		return wrap(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		old, err := scanConsent(tx.QueryRowContext(ctx, `SELECT `+consentColumns+` FROM consents
			WHERE tenant_id = ? AND client_id = ? AND resource_app_id = ? AND principal_id = ?`,
			tenantID, g.ClientID, g.ResourceAppID, g.PrincipalID))
		switch {
		case err == nil:
			g.Scopes, g.CreatedAt = stored.MergeScopes(old.Scopes, g.Scopes), old.CreatedAt
		case errors.Is(err, sql.ErrNoRows):
			g.Scopes = stored.MergeScopes(nil, g.Scopes)
		default:
			return err
		}
		scopes, err := stored.EncJSON(g.Scopes)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO consents (`+consentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (tenant_id, client_id, resource_app_id, principal_id)
			DO UPDATE SET scopes = excluded.scopes, updated_at = excluded.updated_at`,
			tenantID, g.ClientID, g.ResourceAppID, g.PrincipalID, scopes, encTime(g.CreatedAt), encTime(g.UpdatedAt))
		return err
	})
}

// ListConsents returns the consent grants of a client: with a principal,
// that principal's and the admin consents (AllPrincipals); with
// principalID "", every grant of the client. Ordered by creation time,
// then resource and principal.
func (s *Store) ListConsents(ctx context.Context, tenantID, clientID, principalID string) ([]directory.ConsentGrant, error) {
	op := fmt.Sprintf("list consents of %q to client %s in tenant %s", principalID, clientID, tenantID)
	if principalID == "" {
		return queryList(ctx, s, op, scanConsent, `SELECT `+consentColumns+` FROM consents
			WHERE tenant_id = ? AND client_id = ?
			ORDER BY created_at, resource_app_id, principal_id`, tenantID, clientID)
	}
	return queryList(ctx, s, op, scanConsent, `SELECT `+consentColumns+` FROM consents
		WHERE tenant_id = ? AND client_id = ? AND principal_id IN (?, ?)
		ORDER BY created_at, resource_app_id, principal_id`, tenantID, clientID, principalID, directory.AllPrincipals)
}

// DeleteConsent withdraws the whole grant of the principal to the client
// for the resource: directory.ErrNotFound if there is none.
func (s *Store) DeleteConsent(ctx context.Context, tenantID, clientID, resourceAppID, principalID string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM consents
		WHERE tenant_id = ? AND client_id = ? AND resource_app_id = ? AND principal_id = ?`,
		tenantID, clientID, resourceAppID, principalID)
	if err == nil {
		err = affected(res)
	}
	return wrap(fmt.Sprintf("delete consent of %s to client %s for %s in tenant %s", principalID, clientID,
		resourceAppID, tenantID), err)
}
