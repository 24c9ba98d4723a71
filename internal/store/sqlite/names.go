package sqlite

import (
	"context"
	"fmt"

	"github.com/tessera-id/tessera/internal/directory"
)

const nameFailureColumns = `failed_sign_ins, last_failure_at, locked_until, expires_at`

func scanNameFailures(sc scanner) (directory.NameFailures, error) {
	var f directory.NameFailures
	var last, locked, expires int64
	if err := sc.Scan(&f.Failures, &last, &locked, &expires); err != nil {
		return directory.NameFailures{}, err
	}
	f.LastFailureAt, f.LockedUntil, f.ExpiresAt = decTime(last), decTime(locked), decTime(expires)
	return f, nil
}

// RecordNameFailure counts a failure of a name no user has in one upsert
// … RETURNING on the writer connection, by RecordSignInFailure's rule (the
// same nextFailureCount): a name's count, forgetting and lock behave as a
// user's. The column is named failed_sign_ins here as in users, so that
// nextFailureCount reads the same in both.
func (s *Store) RecordNameFailure(ctx context.Context, tenantID string, key []byte, f directory.SignInFailure) (directory.NameFailures, error) {
	out, err := scanNameFailures(s.w.QueryRowContext(ctx, `INSERT INTO name_failures
		(tenant_id, name_key, failed_sign_ins, last_failure_at, locked_until, expires_at)
		VALUES (?5, ?6, 1, ?1, CASE WHEN ?2 > 0 AND 1 >= ?2 THEN ?3 ELSE `+unset+` END, ?7)
		ON CONFLICT (tenant_id, name_key) DO UPDATE SET
			failed_sign_ins = `+nextFailureCount+`,
			last_failure_at = ?1,
			locked_until = CASE WHEN ?2 > 0 AND `+nextFailureCount+` >= ?2 AND ?3 > locked_until
				THEN ?3 ELSE locked_until END,
			expires_at = max(expires_at, ?7)
		RETURNING `+nameFailureColumns,
		encTime(f.At), f.Threshold, encTime(f.LockUntil), encTime(f.ForgetBefore), tenantID, key, encTime(f.ExpiresAt)))
	return out, wrap(fmt.Sprintf("record sign-in failure of a name in tenant %s", tenantID), err)
}

func (s *Store) GetNameFailures(ctx context.Context, tenantID string, key []byte) (directory.NameFailures, error) {
	f, err := scanNameFailures(s.readRow(ctx, `SELECT `+nameFailureColumns+` FROM name_failures
		WHERE tenant_id = ? AND name_key = ?`, tenantID, key))
	return f, wrap(fmt.Sprintf("get sign-in failures of a name in tenant %s", tenantID), err)
}
