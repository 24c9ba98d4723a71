package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

const banColumns = `tenant_id, address, failures, first_failure_at, last_failure_at, banned_until`

func scanBan(sc scanner) (directory.AddressBan, error) {
	var b directory.AddressBan
	var first, last, until int64
	if err := sc.Scan(&b.TenantID, &b.Address, &b.Failures, &first, &last, &until); err != nil {
		return directory.AddressBan{}, err
	}
	b.FirstFailureAt, b.LastFailureAt, b.BannedUntil = decTime(first), decTime(last), decTime(until)
	return b, nil
}

// RecordAddressFailure counts a failure in one upsert … RETURNING, on the
// writer connection: the count is computed in SQL on the stored row, never
// read into Go and written back, so no failure is lost to a concurrent one.
// In DO UPDATE, a bare column is the stored row's value before the update.
func (s *Store) RecordAddressFailure(ctx context.Context, tenantID, address string, f directory.AddressFailure) (directory.AddressBan, error) {
	at := encTime(f.At)
	windowStart := encTime(f.At.Add(-f.Window))
	banUntil := encTime(f.At.Add(f.BanFor))
	expires := encTime(f.At.Add(max(f.Window, f.BanFor)))
	b, err := scanBan(s.w.QueryRowContext(ctx, `INSERT INTO address_failures
		(tenant_id, address, failures, first_failure_at, last_failure_at, banned_until, expires_at)
		VALUES (?1, ?2, 1, ?3, ?3, CASE WHEN ?5 > 0 AND 1 >= ?5 THEN ?6 ELSE `+unset+` END, ?7)
		ON CONFLICT (tenant_id, address) DO UPDATE SET
			failures = CASE WHEN first_failure_at <= ?4 THEN 1 ELSE failures + 1 END,
			first_failure_at = CASE WHEN first_failure_at <= ?4 THEN ?3 ELSE first_failure_at END,
			last_failure_at = ?3,
			banned_until = CASE WHEN ?5 > 0 AND ?6 > banned_until
				AND (CASE WHEN first_failure_at <= ?4 THEN 1 ELSE failures + 1 END) >= ?5
				THEN ?6 ELSE banned_until END,
			expires_at = max(expires_at, ?7)
		RETURNING `+banColumns,
		tenantID, address, at, windowStart, f.Threshold, banUntil, expires))
	return b, wrap(fmt.Sprintf("record sign-in failure from %s in tenant %s", address, tenantID), err)
}

func (s *Store) GetAddressBan(ctx context.Context, tenantID, address string) (directory.AddressBan, error) {
	b, err := scanBan(s.readRow(ctx, `SELECT `+banColumns+` FROM address_failures
		WHERE tenant_id = ? AND address = ?`, tenantID, address))
	return b, wrap(fmt.Sprintf("get failures from %s in tenant %s", address, tenantID), err)
}

func (s *Store) ListAddressBans(ctx context.Context, tenantID string, q directory.BanQuery) ([]directory.AddressBan, error) {
	return queryList(ctx, s, "list address bans in tenant "+tenantID, scanBan,
		`SELECT `+banColumns+` FROM address_failures
		WHERE tenant_id = ? AND banned_until > ? AND address > ? ORDER BY address LIMIT ?`,
		tenantID, encTime(q.At), q.After, q.Limit)
}

func (s *Store) DeleteAddressBan(ctx context.Context, tenantID, address string, at time.Time) (directory.AddressBan, error) {
	b, err := scanBan(s.w.QueryRowContext(ctx, `DELETE FROM address_failures
		WHERE tenant_id = ? AND address = ? AND banned_until > ? RETURNING `+banColumns,
		tenantID, address, encTime(at)))
	return b, wrap(fmt.Sprintf("lift the ban of %s in tenant %s", address, tenantID), err)
}

// ListLockedUsers walks the tenant's users in primary-key order: an
// administrator's occasional list does not justify an index on
// locked_until that every failed sign-in would write.
func (s *Store) ListLockedUsers(ctx context.Context, tenantID string, q directory.BanQuery) ([]directory.User, error) {
	return queryList(ctx, s, "list locked users in tenant "+tenantID, scanUser,
		`SELECT `+userColumns+` FROM users
		WHERE tenant_id = ? AND locked_until > ? AND object_id > ? ORDER BY object_id LIMIT ?`,
		tenantID, encTime(q.At), q.After, q.Limit)
}
