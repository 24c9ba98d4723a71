package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/directory"
)

const nameFailureColumns = `failed_sign_ins, last_failure_at, locked_until, expires_at`

func scanNameFailures(row pgx.Row) (directory.NameFailures, error) {
	var f directory.NameFailures
	if err := row.Scan(&f.Failures, &f.LastFailureAt, &f.LockedUntil, &f.ExpiresAt); err != nil {
		return directory.NameFailures{}, err
	}
	f.LastFailureAt, f.LockedUntil, f.ExpiresAt = utc(f.LastFailureAt), utc(f.LockedUntil), utc(f.ExpiresAt)
	return f, nil
}

// RecordNameFailure counts a failure of a name no user has in one INSERT
// … ON CONFLICT DO UPDATE … RETURNING (atomic under READ COMMITTED, as
// RecordAddressFailure), by RecordSignInFailure's rule: the same
// nextFailureCount, so that a name's count, forgetting and lock behave
// as a user's.
func (s *Store) RecordNameFailure(ctx context.Context, tenantID string, key []byte, f directory.SignInFailure) (directory.NameFailures, error) {
	out, err := scanNameFailures(s.pool.QueryRow(ctx, `INSERT INTO name_failures AS f
		(tenant_id, name_key, failed_sign_ins, last_failure_at, locked_until, expires_at)
		VALUES ($1, $2, 1, $3, CASE WHEN $4::integer > 0 AND 1 >= $4::integer THEN $5::timestamptz ELSE $8::timestamptz END, $7)
		ON CONFLICT (tenant_id, name_key) DO UPDATE SET
			failed_sign_ins = `+nextFailureCount+`,
			last_failure_at = $3,
			locked_until = CASE WHEN $4::integer > 0 AND `+nextFailureCount+` >= $4::integer AND $5::timestamptz > f.locked_until
				THEN $5::timestamptz ELSE f.locked_until END,
			expires_at = GREATEST(f.expires_at, $7)
		RETURNING `+nameFailureColumns,
		tenantID, key, f.At, f.Threshold, f.LockUntil, f.ForgetBefore, f.ExpiresAt, time.Time{}))
	return out, wrap(fmt.Sprintf("record sign-in failure of a name in tenant %s", tenantID), err)
}

func (s *Store) GetNameFailures(ctx context.Context, tenantID string, key []byte) (directory.NameFailures, error) {
	f, err := scanNameFailures(s.pool.QueryRow(ctx, `SELECT `+nameFailureColumns+` FROM name_failures
		WHERE tenant_id = $1 AND name_key = $2`, tenantID, key))
	return f, wrap(fmt.Sprintf("get sign-in failures of a name in tenant %s", tenantID), err)
}
