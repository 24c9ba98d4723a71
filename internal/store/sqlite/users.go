package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const userColumns = `tenant_id, object_id, upn, display_name, mail, mail_verified, enabled, password_hash,
	failed_sign_ins, last_failure_at, locked_until, created_at, updated_at`

func scanUser(sc scanner) (directory.User, error) {
	var u directory.User
	var lastFailure, locked, created, updated int64
	if err := sc.Scan(&u.TenantID, &u.ObjectID, &u.UserPrincipalName, &u.DisplayName, &u.Mail, &u.MailVerified, &u.Enabled,
		&u.PasswordHash, &u.FailedSignIns, &lastFailure, &locked, &created, &updated); err != nil {
		return directory.User{}, err
	}
	u.LastFailureAt, u.LockedUntil = decTime(lastFailure), decTime(locked)
	u.CreatedAt, u.UpdatedAt = decTime(created), decTime(updated)
	return u, nil
}

// CreateUser stores a new user: directory.ErrConflict if the object id or
// the user principal name (in any letter case) is taken in the tenant,
// directory.ErrNotFound if the tenant does not exist.
func (s *Store) CreateUser(ctx context.Context, tenantID string, u directory.User) error {
	op := fmt.Sprintf("create user %s in tenant %s", u.ObjectID, tenantID)
	if err := stored.CheckTenant(tenantID, u.TenantID); err != nil {
		return wrap(op, err)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO users (tenant_id, object_id, upn, upn_key, display_name,
		mail, mail_verified, enabled, password_hash, failed_sign_ins, last_failure_at, locked_until, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tenantID, u.ObjectID, u.UserPrincipalName, stored.UPNKey(u.UserPrincipalName), u.DisplayName, u.Mail,
		encBool(u.MailVerified), encBool(u.Enabled), u.PasswordHash, u.FailedSignIns, encTime(u.LastFailureAt), encTime(u.LockedUntil),
		encTime(u.CreatedAt), encTime(u.UpdatedAt))
	return wrap(op, err)
}

func (s *Store) GetUser(ctx context.Context, tenantID, objectID string) (directory.User, error) {
	u, err := scanUser(s.readRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE tenant_id = ? AND object_id = ?`, tenantID, objectID))
	return u, wrap(fmt.Sprintf("get user %s in tenant %s", objectID, tenantID), err)
}

// GetUserByUPN matches the user principal name case-insensitively.
func (s *Store) GetUserByUPN(ctx context.Context, tenantID, upn string) (directory.User, error) {
	u, err := scanUser(s.readRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE tenant_id = ? AND upn_key = ?`, tenantID, stored.UPNKey(upn)))
	return u, wrap(fmt.Sprintf("get user by name %s in tenant %s", upn, tenantID), err)
}

// GetUserEnabled reads the enabled flag alone (see
// directory.Repository.GetUserEnabled).
func (s *Store) GetUserEnabled(ctx context.Context, tenantID, objectID string) (bool, error) {
	var enabled bool
	err := s.readRow(ctx, `SELECT enabled FROM users WHERE tenant_id = ? AND object_id = ?`, tenantID, objectID).Scan(&enabled)
	return enabled, wrap(fmt.Sprintf("get whether user %s in tenant %s is enabled", objectID, tenantID), err)
}

func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]directory.User, error) {
	return queryList(ctx, s, "list users in tenant "+tenantID, scanUser,
		`SELECT `+userColumns+` FROM users WHERE tenant_id = ? ORDER BY created_at, object_id`, tenantID)
}

// UpdateUser replaces every stored field of the user with u.ObjectID but
// the brute-force state, which only RecordSignInFailure and
// ResetSignInFailures change: a failure counted between the caller's read
// and this write stays counted.
func (s *Store) UpdateUser(ctx context.Context, tenantID string, u directory.User) error {
	op := fmt.Sprintf("update user %s in tenant %s", u.ObjectID, tenantID)
	if err := stored.CheckTenant(tenantID, u.TenantID); err != nil {
		return wrap(op, err)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE users SET upn = ?, upn_key = ?, display_name = ?, mail = ?,
		mail_verified = ?, enabled = ?, password_hash = ?, created_at = ?, updated_at = ?
		WHERE tenant_id = ? AND object_id = ?`,
		u.UserPrincipalName, stored.UPNKey(u.UserPrincipalName), u.DisplayName, u.Mail, encBool(u.MailVerified), encBool(u.Enabled),
		u.PasswordHash, encTime(u.CreatedAt), encTime(u.UpdatedAt), tenantID, u.ObjectID)
	if err == nil {
		err = affected(res)
	}
	return wrap(op, err)
}

// DeleteUser removes the user, the role assignments it holds and the
// consents it gave, in one transaction. The user's grants are left to the
// caller to revoke (RevokeGrantsOf): revoking needs the feed's expiry,
// which this call is not given.
func (s *Store) DeleteUser(ctx context.Context, tenantID, objectID string) error {
	return s.write(ctx, fmt.Sprintf("delete user %s in tenant %s", objectID, tenantID), func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM role_assignments WHERE tenant_id = ? AND principal_id = ?`,
			`DELETE FROM consents WHERE tenant_id = ? AND principal_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, tenantID, objectID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE tenant_id = ? AND object_id = ?`,
			tenantID, objectID)
		if err != nil {
			return err
		}
		return affected(res)
	})
}

// RecordSignInFailure counts a failed sign-in in one UPDATE … RETURNING:
// the increment happens in SQL on the row, never as a read-modify-write in
// Go, so concurrent failures from any number of instances all count.
//
// A count whose last failure is at or before f.ForgetBefore starts again
// at 1. The lock is set whenever the new count is at or above the
// threshold, not only when it first equals it: once a lock has run out,
// the next failure locks again at once instead of allowing threshold more
// guesses. A lock is only ever extended (a LockUntil before the current
// one keeps the current one). A threshold <= 0 never locks: there is no
// sensible lock after zero failures.
func (s *Store) RecordSignInFailure(ctx context.Context, tenantID, objectID string, f directory.SignInFailure) (directory.User, error) {
	u, err := scanUser(s.w.QueryRowContext(ctx, `UPDATE users SET
		failed_sign_ins = `+nextFailureCount+`,
		last_failure_at = ?1,
		locked_until = CASE WHEN ?2 > 0 AND `+nextFailureCount+` >= ?2 AND ?3 > locked_until
			THEN ?3 ELSE locked_until END
		WHERE tenant_id = ?5 AND object_id = ?6
		RETURNING `+userColumns,
		encTime(f.At), f.Threshold, encTime(f.LockUntil), encTime(f.ForgetBefore), tenantID, objectID))
	return u, wrap(fmt.Sprintf("record sign-in failure of user %s in tenant %s", objectID, tenantID), err)
}

// nextFailureCount is the count after one more failure, forgetting a
// count whose last failure is at or before ?4 (the row's values before the
// update, in UPDATE's SET and in upsert's DO UPDATE alike).
const nextFailureCount = `(CASE WHEN last_failure_at <= ?4 THEN 1 ELSE failed_sign_ins + 1 END)`

// ResetSignInFailures sets the failure count to zero and lifts the lock.
// LastFailureAt is kept: it records when the last failure was, and with a
// count of zero no delay is derived from it.
func (s *Store) ResetSignInFailures(ctx context.Context, tenantID, objectID string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET failed_sign_ins = 0, locked_until = `+unset+`
		WHERE tenant_id = ? AND object_id = ?`, tenantID, objectID)
	if err == nil {
		err = affected(res)
	}
	return wrap(fmt.Sprintf("reset sign-in failures of user %s in tenant %s", objectID, tenantID), err)
}
