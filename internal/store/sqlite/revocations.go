package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

const revocationColumns = `seq, tenant_id, kind, value, revoked_at, expires_at`

func scanRevocation(sc scanner) (session.Revocation, error) {
	var r session.Revocation
	var revoked, expires int64
	if err := sc.Scan(&r.Seq, &r.TenantID, &r.Kind, &r.Value, &revoked, &expires); err != nil {
		return session.Revocation{}, err
	}
	r.RevokedAt, r.ExpiresAt = decTime(revoked), decTime(expires)
	return r, nil
}

// appendRevocation adds a feed entry in tx. The table's CHECK refuses an
// unknown kind.
func appendRevocation(ctx context.Context, tx *sql.Tx, tenantID, kind, value string, at, expires time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO revocations (tenant_id, kind, value, revoked_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`, tenantID, kind, value, encTime(at), encTime(expires))
	return err
}

// AppendRevocation adds an entry to the tenant's feed; r.Seq is ignored,
// the store assigns the next one. session.ErrNotFound if the tenant does
// not exist.
func (s *Store) AppendRevocation(ctx context.Context, tenantID string, r session.Revocation) error {
	op := fmt.Sprintf("append revocation %s %s in tenant %s", r.Kind, r.Value, tenantID)
	if err := checkTenant(tenantID, r.TenantID); err != nil {
		return wrapSession(op, err)
	}
	return s.writeSession(ctx, op, func(tx *sql.Tx) error {
		return appendRevocation(ctx, tx, tenantID, r.Kind, r.Value, r.RevokedAt, r.ExpiresAt)
	})
}

// ListRevocations returns up to limit entries of the tenant's feed with
// Seq > after and ExpiresAt > now, in Seq order. limit must be positive.
//
// Sequence numbers are shared by all tenants, so a tenant's numbers have
// gaps; they only ever increase, and since every write is serial an entry
// is visible before any entry with a higher number, so a follower that
// keeps the last Seq it saw misses nothing.
func (s *Store) ListRevocations(ctx context.Context, tenantID string, after int64, now time.Time, limit int) ([]session.Revocation, error) {
	op := fmt.Sprintf("list revocations after %d in tenant %s", after, tenantID)
	if limit <= 0 {
		return nil, wrapSession(op, errors.New("limit must be positive"))
	}
	return queryList(ctx, s, op, scanRevocation, `SELECT `+revocationColumns+` FROM revocations
		WHERE tenant_id = ? AND seq > ? AND expires_at > ?
		ORDER BY seq LIMIT ?`, tenantID, after, encTime(now), limit)
}
