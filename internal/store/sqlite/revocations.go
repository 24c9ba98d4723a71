package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const revocationColumns = `seq, tenant_id, kind, value, revoked_at, expires_at, aud, prior_jti, generation`

func scanRevocation(sc scanner) (session.Revocation, error) {
	var r session.Revocation
	var revoked, expires int64
	if err := sc.Scan(&r.Seq, &r.TenantID, &r.Kind, &r.Value, &revoked, &expires, &r.Audience, &r.Prior, &r.Generation); err != nil {
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

// dropSuperseded deletes the superseded entry of a grant ($1) and audience
// ($2) in tenant $3 if it is of an earlier generation than $4;
// insertSuperseded then stores the new one unless an entry of that grant
// and audience is still there (of the same or a later generation). The
// new row takes the next seq (AUTOINCREMENT), so a follower reading by
// cursor sees it; both run in one transaction, so none sees the grant
// and audience without an entry. Every refresh runs them: they are
// prepared with the rotation's statements (hotStatements).
const (
	dropSuperseded = `DELETE FROM revocations
		WHERE value = ?1 AND aud = ?2 AND tenant_id = ?3 AND kind = 'superseded' AND generation < ?4`
	insertSuperseded = `INSERT INTO revocations (tenant_id, kind, value, aud, prior_jti, generation, revoked_at, expires_at)
		VALUES (?3, 'superseded', ?1, ?2, ?5, ?4, ?6, ?7)
		ON CONFLICT (value, aud, tenant_id) WHERE kind = 'superseded' DO NOTHING`
)

// appendSuperseded stores a session.RevokeSuperseded entry in tx in the
// place of its grant and audience's earlier one (see dropSuperseded).
func (s *Store) appendSuperseded(ctx context.Context, tx *sql.Tx, tenantID string, r session.Revocation) error {
	if _, err := s.batch.exec(ctx, tx, dropSuperseded, r.Value, r.Audience, tenantID, r.Generation); err != nil {
		return err
	}
	_, err := s.batch.exec(ctx, tx, insertSuperseded, r.Value, r.Audience, tenantID, r.Generation, r.Prior,
		encTime(r.RevokedAt), encTime(r.ExpiresAt))
	return err
}

// AppendRevocation adds an entry to the tenant's feed; r.Seq is ignored,
// the store assigns the next one. A session.RevokeSuperseded entry takes
// the place of its grant and audience's entry of an earlier generation
// (see dropSuperseded). session.ErrNotFound if the tenant does not exist.
func (s *Store) AppendRevocation(ctx context.Context, tenantID string, r session.Revocation) error {
	op := fmt.Sprintf("append revocation %s %s in tenant %s", r.Kind, r.Value, tenantID)
	if err := stored.CheckTenant(tenantID, r.TenantID); err != nil {
		return wrapSession(op, err)
	}
	return s.writeSession(ctx, op, func(tx *sql.Tx) error {
		if r.Kind == session.RevokeSuperseded {
			return s.appendSuperseded(ctx, tx, tenantID, r)
		}
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

// maxLookupValues bounds LookupRevocations' list: a token names a handful
// of values (sid, jti, uti, oid, client).
const maxLookupValues = 16

// lookupRevocations is LookupRevocations' query for n values: one probe
// of revocations_by_value per value (see TestLookupRevocationsUsesTheIndex).
func lookupRevocations(n int) string {
	return `SELECT ` + revocationColumns + ` FROM revocations
		WHERE value IN (?` + strings.Repeat(", ?", n-1) + `) AND tenant_id = ? AND expires_at > ?`
}

// LookupRevocations returns the tenant's live entries (ExpiresAt > now)
// whose Value is one of values, through the index on value: as many rows
// as name these values, whatever the length of the feed.
func (s *Store) LookupRevocations(ctx context.Context, tenantID string, values []string, now time.Time) ([]session.Revocation, error) {
	op := fmt.Sprintf("look up revocations in tenant %s", tenantID)
	if len(values) == 0 || len(values) > maxLookupValues {
		return nil, wrapSession(op, fmt.Errorf("%d values: want 1 to %d", len(values), maxLookupValues))
	}
	args := make([]any, 0, len(values)+2)
	for _, v := range values {
		args = append(args, v)
	}
	args = append(args, tenantID, encTime(now))
	return queryList(ctx, s, op, scanRevocation, lookupRevocations(len(values)), args...)
}
