package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/directory"
)

const banColumns = `tenant_id, address, failures, first_failure_at, last_failure_at, banned_until`

func scanBan(row pgx.Row) (directory.AddressBan, error) {
	var b directory.AddressBan
	if err := row.Scan(&b.TenantID, &b.Address, &b.Failures, &b.FirstFailureAt, &b.LastFailureAt, &b.BannedUntil); err != nil {
		return directory.AddressBan{}, err
	}
	b.FirstFailureAt, b.LastFailureAt, b.BannedUntil = utc(b.FirstFailureAt), utc(b.LastFailureAt), utc(b.BannedUntil)
	return b, nil
}

// RecordAddressFailure counts a failure in one INSERT … ON CONFLICT DO
// UPDATE … RETURNING. PostgreSQL makes the upsert atomic under READ
// COMMITTED: of two instances inserting the first failure of an address at
// once, one inserts and the other's conflict becomes an update of the row
// it waited for, re-evaluated against the committed version, so every
// failure counts and each caller sees its own count. In DO UPDATE, f.x is
// the stored row's value before the update.
func (s *Store) RecordAddressFailure(ctx context.Context, tenantID, address string, f directory.AddressFailure) (directory.AddressBan, error) {
	b, err := scanBan(s.pool.QueryRow(ctx, `INSERT INTO address_failures AS f
		(tenant_id, address, failures, first_failure_at, last_failure_at, banned_until, expires_at)
		VALUES ($1, $2, 1, $3, $3, CASE WHEN $5::integer > 0 AND 1 >= $5::integer THEN $6::timestamptz ELSE $8::timestamptz END, $7)
		ON CONFLICT (tenant_id, address) DO UPDATE SET
			failures = CASE WHEN f.first_failure_at <= $4::timestamptz THEN 1 ELSE f.failures + 1 END,
			first_failure_at = CASE WHEN f.first_failure_at <= $4::timestamptz THEN $3 ELSE f.first_failure_at END,
			last_failure_at = $3,
			banned_until = CASE WHEN $5::integer > 0 AND $6::timestamptz > f.banned_until
				AND (CASE WHEN f.first_failure_at <= $4::timestamptz THEN 1 ELSE f.failures + 1 END) >= $5::integer
				THEN $6::timestamptz ELSE f.banned_until END,
			expires_at = GREATEST(f.expires_at, $7)
		RETURNING `+banColumns,
		tenantID, address, f.At, f.At.Add(-f.Window), f.Threshold, f.At.Add(f.BanFor),
		f.At.Add(max(f.Window, f.BanFor)), time.Time{}))
	return b, wrap(fmt.Sprintf("record sign-in failure from %s in tenant %s", address, tenantID), err)
}

func (s *Store) GetAddressBan(ctx context.Context, tenantID, address string) (directory.AddressBan, error) {
	b, err := scanBan(s.pool.QueryRow(ctx, `SELECT `+banColumns+` FROM address_failures
		WHERE tenant_id = $1 AND address = $2`, tenantID, address))
	return b, wrap(fmt.Sprintf("get failures from %s in tenant %s", address, tenantID), err)
}

func (s *Store) ListAddressBans(ctx context.Context, tenantID string, q directory.BanQuery) ([]directory.AddressBan, error) {
	return queryList(ctx, s.pool, "list address bans in tenant "+tenantID, scanBan,
		`SELECT `+banColumns+` FROM address_failures
		WHERE tenant_id = $1 AND banned_until > $2 AND address > $3 ORDER BY address LIMIT $4`,
		tenantID, q.At, q.After, q.Limit)
}

func (s *Store) DeleteAddressBan(ctx context.Context, tenantID, address string, at time.Time) (directory.AddressBan, error) {
	b, err := scanBan(s.pool.QueryRow(ctx, `DELETE FROM address_failures
		WHERE tenant_id = $1 AND address = $2 AND banned_until > $3 RETURNING `+banColumns,
		tenantID, address, at))
	return b, wrap(fmt.Sprintf("lift the ban of %s in tenant %s", address, tenantID), err)
}

// ListLockedUsers walks the tenant's users in primary-key order: an
// administrator's occasional list does not justify an index on
// locked_until that every failed sign-in would write.
func (s *Store) ListLockedUsers(ctx context.Context, tenantID string, q directory.BanQuery) ([]directory.User, error) {
	return queryList(ctx, s.pool, "list locked users in tenant "+tenantID, scanUser,
		`SELECT `+userColumns+` FROM users
		WHERE tenant_id = $1 AND locked_until > $2 AND object_id > $3 ORDER BY object_id LIMIT $4`,
		tenantID, q.At, q.After, q.Limit)
}
