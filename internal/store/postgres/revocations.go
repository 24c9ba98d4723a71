package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
)

// revocationColumns are what a feed entry is read as; revocationInsert
// what appendRevocations writes (the other columns are a superseded
// entry's and keep their defaults).
const (
	revocationColumns = `seq, tenant_id, kind, value, revoked_at, expires_at, aud, prior_jti, generation`
	revocationInsert  = `seq, tenant_id, kind, value, revoked_at, expires_at`
)

func scanRevocation(row pgx.Row) (session.Revocation, error) {
	var r session.Revocation
	if err := row.Scan(&r.Seq, &r.TenantID, &r.Kind, &r.Value, &r.RevokedAt, &r.ExpiresAt, &r.Audience, &r.Prior, &r.Generation); err != nil {
		return session.Revocation{}, err
	}
	r.RevokedAt, r.ExpiresAt = utc(r.RevokedAt), utc(r.ExpiresAt)
	return r, nil
}

// feedEntry is what varies between the entries one call appends.
type feedEntry struct{ kind, value string }

// appendRevocations adds entries to the tenant's feed in tx, in the order
// given, all revoked at at and expiring at expires. The table's CHECK
// refuses an unknown kind; its foreign key an unknown tenant.
//
// Sequence numbers are visible in commit order, so that a follower
// reading "entries after N" never moves past an entry still in flight.
// They are taken from the one-row counter revocation_seq, in the same
// statement that inserts the entries: the counter's row stays locked until
// tx ends, so the next transaction that appends waits here, and gets higher
// numbers, only once this one has committed (its entries visible) or rolled
// back (its numbers given back). Appends are thereby serialised; the feed
// affords it because its one frequent caller, AppendRevocation (every
// refresh supersedes its grant's earlier access tokens for the resource),
// groups the appends of a process into one transaction (feedWriter). Callers append last, after every
// other row they lock, so a transaction holding the counter never waits
// for another lock and the queue on it stays short and free of deadlocks.
func appendRevocations(ctx context.Context, tx pgx.Tx, tenantID string, entries []feedEntry, at, expires time.Time) error {
	if len(entries) == 0 {
		return nil
	}
	kinds := make([]string, len(entries))
	values := make([]string, len(entries))
	for i, e := range entries {
		kinds[i], values[i] = e.kind, e.value
	}
	_, err := tx.Exec(ctx, `WITH counter AS (
			UPDATE revocation_seq SET last_seq = last_seq + cardinality($2::text[])
			WHERE id = 1 RETURNING last_seq - cardinality($2::text[]) AS base)
		INSERT INTO revocations (`+revocationInsert+`)
		SELECT counter.base + e.n, $1::text, e.kind, e.value, $4::timestamptz, $5::timestamptz
		FROM counter, unnest($2::text[], $3::text[]) WITH ORDINALITY AS e (kind, value, n)`,
		tenantID, kinds, values, at, expires)
	return err
}

// AppendRevocation adds an entry to the tenant's feed; r.Seq is ignored,
// the store assigns the next one (see appendRevocations). A
// session.RevokeSuperseded entry takes the place of its grant and
// audience's entry of an earlier generation (see appendFeedRows).
// session.ErrNotFound if the tenant does not exist.
func (s *Store) AppendRevocation(ctx context.Context, tenantID string, r session.Revocation) error {
	op := fmt.Sprintf("append revocation %s %s in tenant %s", r.Kind, r.Value, tenantID)
	if err := stored.CheckTenant(tenantID, r.TenantID); err != nil {
		return wrapSession(op, err)
	}
	// Grouped with this process's other appends: see feedWriter.
	return wrapSession(op, s.feed.append(ctx, tenantID, r))
}

// ListRevocations returns up to limit entries of the tenant's feed with
// Seq > after and ExpiresAt > now, in Seq order. limit must be positive.
//
// Sequence numbers are shared by all tenants, so a tenant's numbers have
// gaps; they only ever increase, and an entry is visible before any entry
// with a higher number (see appendRevocations), so a follower that keeps
// the last Seq it saw misses nothing.
func (s *Store) ListRevocations(ctx context.Context, tenantID string, after int64, now time.Time, limit int) ([]session.Revocation, error) {
	op := fmt.Sprintf("list revocations after %d in tenant %s", after, tenantID)
	if limit <= 0 {
		return nil, wrapSession(op, errors.New("limit must be positive"))
	}
	return queryList(ctx, s.pool, op, scanRevocation, `SELECT `+revocationColumns+` FROM revocations
		WHERE tenant_id = $1 AND seq > $2 AND expires_at > $3
		ORDER BY seq LIMIT $4`, tenantID, after, now, limit)
}

// maxLookupValues bounds LookupRevocations' list: a token names a handful
// of values (sid, jti, uti, oid, client).
const maxLookupValues = 16

// lookupRevocations reads the live entries naming one of the values $2
// through revocations_by_value, one index probe per value (checked in
// TestRevocationLookupUsesTheValueIndex).
const lookupRevocations = `SELECT ` + revocationColumns + ` FROM revocations
	WHERE value = ANY ($2::text[]) AND tenant_id = $1 AND expires_at > $3`

// LookupRevocations returns the tenant's live entries (ExpiresAt > now)
// whose Value is one of values, through the index on value: as many rows
// as name these values, whatever the length of the feed.
func (s *Store) LookupRevocations(ctx context.Context, tenantID string, values []string, now time.Time) ([]session.Revocation, error) {
	op := fmt.Sprintf("look up revocations in tenant %s", tenantID)
	if len(values) == 0 || len(values) > maxLookupValues {
		return nil, wrapSession(op, fmt.Errorf("%d values: want 1 to %d", len(values), maxLookupValues))
	}
	return queryList(ctx, s.pool, op, scanRevocation, lookupRevocations, tenantID, values, now)
}
