package sqlite

import (
	"context"
	"fmt"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const credentialColumns = `tenant_id, app_id, key_id, type, display_name, hint, secret_hash,
	certificate_der, thumbprint, thumbprint_s256, starts_at, expires_at, created_at`

func scanCredential(sc scanner) (directory.Credential, error) {
	var c directory.Credential
	var starts, expires, created int64
	if err := sc.Scan(&c.TenantID, &c.AppID, &c.KeyID, &c.Type, &c.DisplayName, &c.Hint, &c.SecretHash,
		&c.CertificateDER, &c.Thumbprint, &c.ThumbprintS256, &starts, &expires, &created); err != nil {
		return directory.Credential{}, err
	}
	c.SecretHash, c.CertificateDER = stored.NonNil(c.SecretHash), stored.NonNil(c.CertificateDER)
	c.StartsAt, c.ExpiresAt, c.CreatedAt = decTime(starts), decTime(expires), decTime(created)
	return c, nil
}

// AddCredential stores a credential of an existing application:
// directory.ErrNotFound if the application is not in the tenant,
// directory.ErrConflict if the application already has one with this key
// id.
func (s *Store) AddCredential(ctx context.Context, tenantID string, c directory.Credential) error {
	op := fmt.Sprintf("add credential %s of application %s in tenant %s", c.KeyID, c.AppID, tenantID)
	if err := stored.CheckTenant(tenantID, c.TenantID); err != nil {
		return wrap(op, err)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO credentials (`+credentialColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tenantID, c.AppID, c.KeyID, c.Type, c.DisplayName, c.Hint, stored.NonNil(c.SecretHash),
		stored.NonNil(c.CertificateDER), c.Thumbprint, c.ThumbprintS256,
		encTime(c.StartsAt), encTime(c.ExpiresAt), encTime(c.CreatedAt))
	return wrap(op, err)
}

func (s *Store) ListCredentials(ctx context.Context, tenantID, appID string) ([]directory.Credential, error) {
	return queryList(ctx, s, fmt.Sprintf("list credentials of application %s in tenant %s", appID, tenantID),
		scanCredential,
		`SELECT `+credentialColumns+` FROM credentials WHERE tenant_id = ? AND app_id = ?
		ORDER BY created_at, key_id`, tenantID, appID)
}

func (s *Store) DeleteCredential(ctx context.Context, tenantID, appID, keyID string) error {
	res, err := s.w.ExecContext(ctx,
		`DELETE FROM credentials WHERE tenant_id = ? AND app_id = ? AND key_id = ?`, tenantID, appID, keyID)
	if err == nil {
		err = affected(res)
	}
	return wrap(fmt.Sprintf("delete credential %s of application %s in tenant %s", keyID, appID, tenantID), err)
}
