package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const credentialColumns = `tenant_id, app_id, key_id, type, display_name, hint, secret_hash,
	certificate_der, thumbprint, thumbprint_s256, starts_at, expires_at, created_at`

func scanCredential(row pgx.Row) (directory.Credential, error) {
	var c directory.Credential
	if err := row.Scan(&c.TenantID, &c.AppID, &c.KeyID, &c.Type, &c.DisplayName, &c.Hint, &c.SecretHash,
		&c.CertificateDER, &c.Thumbprint, &c.ThumbprintS256, &c.StartsAt, &c.ExpiresAt, &c.CreatedAt); err != nil {
		return directory.Credential{}, err
	}
	c.SecretHash, c.CertificateDER = stored.NonNil(c.SecretHash), stored.NonNil(c.CertificateDER)
	c.StartsAt, c.ExpiresAt, c.CreatedAt = utc(c.StartsAt), utc(c.ExpiresAt), utc(c.CreatedAt)
	return c, nil
}

// AddCredential stores a credential of an existing application:
// directory.ErrNotFound if the application is not in the tenant (the
// foreign key decides, so a credential cannot slip in beside a concurrent
// DeleteApplication), directory.ErrConflict if the application already has
// one with this key id.
func (s *Store) AddCredential(ctx context.Context, tenantID string, c directory.Credential) error {
	op := fmt.Sprintf("add credential %s of application %s in tenant %s", c.KeyID, c.AppID, tenantID)
	if err := stored.CheckTenant(tenantID, c.TenantID); err != nil {
		return wrap(op, err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO credentials (`+credentialColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		tenantID, c.AppID, c.KeyID, c.Type, c.DisplayName, c.Hint, stored.NonNil(c.SecretHash),
		stored.NonNil(c.CertificateDER), c.Thumbprint, c.ThumbprintS256, c.StartsAt, c.ExpiresAt, c.CreatedAt)
	return wrap(op, err)
}

func (s *Store) ListCredentials(ctx context.Context, tenantID, appID string) ([]directory.Credential, error) {
	return queryList(ctx, s.pool, fmt.Sprintf("list credentials of application %s in tenant %s", appID, tenantID),
		scanCredential,
		`SELECT `+credentialColumns+` FROM credentials WHERE tenant_id = $1 AND app_id = $2
		ORDER BY created_at, key_id`, tenantID, appID)
}

func (s *Store) DeleteCredential(ctx context.Context, tenantID, appID, keyID string) error {
	tag, err := s.pool.Exec(ctx,
		`DELETE FROM credentials WHERE tenant_id = $1 AND app_id = $2 AND key_id = $3`, tenantID, appID, keyID)
	if err == nil {
		err = affected(tag)
	}
	return wrap(fmt.Sprintf("delete credential %s of application %s in tenant %s", keyID, appID, tenantID), err)
}
