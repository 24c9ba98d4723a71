package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const userColumns = `tenant_id, object_id, upn, display_name, mail, mail_verified, enabled, password_hash,
	failed_sign_ins, last_failure_at, locked_until, created_at, updated_at`

func scanUser(row pgx.Row) (directory.User, error) {
	var u directory.User
	if err := row.Scan(&u.TenantID, &u.ObjectID, &u.UserPrincipalName, &u.DisplayName, &u.Mail, &u.MailVerified, &u.Enabled,
		&u.PasswordHash, &u.FailedSignIns, &u.LastFailureAt, &u.LockedUntil, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return directory.User{}, err
	}
	u.LastFailureAt, u.LockedUntil = utc(u.LastFailureAt), utc(u.LockedUntil)
	u.CreatedAt, u.UpdatedAt = utc(u.CreatedAt), utc(u.UpdatedAt)
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
	_, err := s.pool.Exec(ctx, `INSERT INTO users (tenant_id, object_id, upn, upn_key, display_name,
		mail, mail_verified, enabled, password_hash, failed_sign_ins, last_failure_at, locked_until, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		tenantID, u.ObjectID, u.UserPrincipalName, stored.UPNKey(u.UserPrincipalName), u.DisplayName, u.Mail,
		u.MailVerified, u.Enabled, u.PasswordHash, u.FailedSignIns, u.LastFailureAt, u.LockedUntil, u.CreatedAt, u.UpdatedAt)
	return wrap(op, err)
}

func (s *Store) GetUser(ctx context.Context, tenantID, objectID string) (directory.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND object_id = $2`, tenantID, objectID))
	return u, wrap(fmt.Sprintf("get user %s in tenant %s", objectID, tenantID), err)
}

// GetUserByUPN matches the user principal name case-insensitively.
func (s *Store) GetUserByUPN(ctx context.Context, tenantID, upn string) (directory.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND upn_key = $2`, tenantID, stored.UPNKey(upn)))
	return u, wrap(fmt.Sprintf("get user by name %s in tenant %s", upn, tenantID), err)
}

// GetUserEnabled reads the enabled flag alone (see
// directory.Repository.GetUserEnabled).
func (s *Store) GetUserEnabled(ctx context.Context, tenantID, objectID string) (bool, error) {
	var enabled bool
	err := s.pool.QueryRow(ctx, `SELECT enabled FROM users WHERE tenant_id = $1 AND object_id = $2`, tenantID, objectID).Scan(&enabled)
	return enabled, wrap(fmt.Sprintf("get whether user %s in tenant %s is enabled", objectID, tenantID), err)
}

func (s *Store) ListUsers(ctx context.Context, tenantID string) ([]directory.User, error) {
	return queryList(ctx, s.pool, "list users in tenant "+tenantID, scanUser,
		`SELECT `+userColumns+` FROM users WHERE tenant_id = $1 ORDER BY created_at, object_id`, tenantID)
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
	tag, err := s.pool.Exec(ctx, `UPDATE users SET upn = $3, upn_key = $4, display_name = $5, mail = $6,
		enabled = $7, password_hash = $8, created_at = $9, updated_at = $10, mail_verified = $11
		WHERE tenant_id = $1 AND object_id = $2`,
		tenantID, u.ObjectID, u.UserPrincipalName, stored.UPNKey(u.UserPrincipalName), u.DisplayName, u.Mail,
		u.Enabled, u.PasswordHash, u.CreatedAt, u.UpdatedAt, u.MailVerified)
	if err == nil {
		err = affected(tag)
	}
	return wrap(op, err)
}

// DeleteUser removes the user, the role assignments it holds and the
// consents it gave, in one transaction, the user first (parent before
// child). The user's grants are left to the caller to revoke
// (RevokeGrantsOf): revoking needs the feed's expiry, which this call is
// not given.
func (s *Store) DeleteUser(ctx context.Context, tenantID, objectID string) error {
	return s.write(ctx, fmt.Sprintf("delete user %s in tenant %s", objectID, tenantID), func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE tenant_id = $1 AND object_id = $2`, tenantID, objectID)
		if err != nil {
			return err
		}
		if err := affected(tag); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM role_assignments WHERE tenant_id = $1 AND principal_id = $2`,
			`DELETE FROM consents WHERE tenant_id = $1 AND principal_id = $2`,
		} {
			if _, err := tx.Exec(ctx, q, tenantID, objectID); err != nil {
				return err
			}
		}
		return nil
	})
}

// RecordSignInFailure counts a failed sign-in in one UPDATE … RETURNING.
// The increment is computed on the row by the database: concurrent
// updates of one row queue on its lock, and each re-reads the row the one
// before it committed (READ COMMITTED re-evaluates an UPDATE against the
// newest version), so failures from any number of instances all count, and
// each caller sees its own count.
//
// A count whose last failure is at or before f.ForgetBefore starts again
// at 1. The lock is set whenever the new count is at or above the
// threshold, not only when it first equals it: once a lock has run out,
// the next failure locks again at once instead of allowing threshold more
// guesses. A lock is only ever extended (a LockUntil before the current
// one keeps the current one). A threshold <= 0 never locks: there is no
// sensible lock after zero failures.
func (s *Store) RecordSignInFailure(ctx context.Context, tenantID, objectID string, f directory.SignInFailure) (directory.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `UPDATE users AS f SET
		failed_sign_ins = `+nextFailureCount+`,
		last_failure_at = $3,
		locked_until = CASE WHEN $4::integer > 0 AND `+nextFailureCount+` >= $4::integer AND $5::timestamptz > f.locked_until
			THEN $5::timestamptz ELSE f.locked_until END
		WHERE tenant_id = $1 AND object_id = $2
		RETURNING `+userColumns,
		tenantID, objectID, f.At, f.Threshold, f.LockUntil, f.ForgetBefore))
	return u, wrap(fmt.Sprintf("record sign-in failure of user %s in tenant %s", objectID, tenantID), err)
}

// nextFailureCount is the count of the row f after one more failure,
// forgetting a count whose last failure is at or before $6 (the row's
// values before the update, in UPDATE's SET and in upsert's DO UPDATE
// alike).
const nextFailureCount = `(CASE WHEN f.last_failure_at <= $6::timestamptz THEN 1 ELSE f.failed_sign_ins + 1 END)`

// ResetSignInFailures sets the failure count to zero and lifts the lock
// (the zero time, the schema's "not yet"). LastFailureAt is kept: it
// records when the last failure was, and with a count of zero no delay is
// derived from it.
func (s *Store) ResetSignInFailures(ctx context.Context, tenantID, objectID string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET failed_sign_ins = 0, locked_until = $3
		WHERE tenant_id = $1 AND object_id = $2`, tenantID, objectID, time.Time{})
	if err == nil {
		err = affected(tag)
	}
	return wrap(fmt.Sprintf("reset sign-in failures of user %s in tenant %s", objectID, tenantID), err)
}
