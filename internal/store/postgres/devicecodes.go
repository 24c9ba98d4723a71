package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/session"
)

const deviceCodeColumns = `tenant_id, hash, user_code_hash, client_id, scopes, resource, poll_interval,
	created_at, expires_at, last_polled_at, status, user_id, grant_id`

func scanDeviceCode(row pgx.Row) (session.DeviceCode, error) {
	var d session.DeviceCode
	var interval int64
	if err := row.Scan(&d.TenantID, &d.Hash, &d.UserCodeHash, &d.ClientID, &d.Scopes, &d.Resource, &interval,
		&d.CreatedAt, &d.ExpiresAt, &d.LastPolledAt, &d.Status, &d.UserID, &d.GrantID); err != nil {
		return session.DeviceCode{}, err
	}
	d.Hash, d.UserCodeHash, d.Scopes = nonNil(d.Hash), nonNil(d.UserCodeHash), nonNil(d.Scopes)
	d.Interval = time.Duration(interval)
	d.CreatedAt, d.ExpiresAt, d.LastPolledAt = utc(d.CreatedAt), utc(d.ExpiresAt), utc(d.LastPolledAt)
	return d, nil
}

// CreateDeviceCode stores a device authorization (RFC 8628 §3.2); an empty
// Status is stored as DevicePending. A user code is unique among the
// tenant's live device codes: one held by a device code expired at
// d.CreatedAt is taken over (that code is deleted), one still live is
// directory.ErrConflict, on which the caller draws another user code.
// session.ErrNotFound if the tenant does not exist.
//
// With maxPending > 0, a client that has maxPending pending device codes
// in the tenant expiring after d.CreatedAt gets a
// *session.PendingLimitError and nothing is stored. Exact across
// instances: the transaction first takes an advisory lock on the tenant
// and client, so the count and the insert of concurrent callers run one
// after another, and under READ COMMITTED each count sees the inserts
// committed before it got the lock. Client ids are compared as the
// directory spells them (the caller passes the application's AppID).
func (s *Store) CreateDeviceCode(ctx context.Context, tenantID string, d session.DeviceCode, maxPending int) error {
	op := fmt.Sprintf("create device code of client %s in tenant %s", d.ClientID, tenantID)
	if err := errors.Join(checkTenant(tenantID, d.TenantID), checkHash("device code", d.Hash),
		checkHash("user code", d.UserCodeHash)); err != nil {
		return wrapSession(op, err)
	}
	if d.Status == "" {
		d.Status = session.DevicePending
	}
	// Two statements, not one with the delete in a WITH: the parts of one
	// statement run in no defined order, and the insert must come after.
	return s.writeSession(ctx, op, func(tx pgx.Tx) error {
		if maxPending > 0 {
			// The schema is in the key: tests run many schemas in one
			// database, and advisory locks span the database.
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('tessera.device_codes'),
				hashtext(current_schema() || '/' || $1 || '/' || $2))`, tenantID, d.ClientID); err != nil {
				return err
			}
			// From the partial index device_codes_pending alone (0007).
			var n int
			var first *time.Time
			if err := tx.QueryRow(ctx, `SELECT count(*), min(expires_at) FROM device_codes
				WHERE client_id = $1 AND tenant_id = $2 AND status = 'pending' AND expires_at > $3`,
				d.ClientID, tenantID, d.CreatedAt).Scan(&n, &first); err != nil {
				return err
			}
			if n >= maxPending {
				e := &session.PendingLimitError{Max: maxPending}
				if first != nil {
					e.FreeAt = utc(*first)
				}
				return e
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM device_codes
			WHERE tenant_id = $1 AND user_code_hash = $2 AND expires_at <= $3`,
			tenantID, d.UserCodeHash, d.CreatedAt); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO device_codes (`+deviceCodeColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			tenantID, d.Hash, d.UserCodeHash, d.ClientID, nonNil(d.Scopes), d.Resource, int64(d.Interval),
			d.CreatedAt, d.ExpiresAt, d.LastPolledAt, d.Status, d.UserID, d.GrantID)
		return err
	})
}

// GetDeviceCodeByUserCode returns the device code, whatever its state.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, tenantID string, userCodeHash []byte) (session.DeviceCode, error) {
	d, err := scanDeviceCode(s.pool.QueryRow(ctx, `SELECT `+deviceCodeColumns+` FROM device_codes
		WHERE tenant_id = $1 AND user_code_hash = $2`, tenantID, userCodeHash))
	return d, wrapSession("get device code by user code in tenant "+tenantID, err)
}

// ApproveDeviceCode moves a pending device code to approved (userID and
// grantID set) or denied (userID and grantID ""), in one transaction that
// first locks the device code, and returns it as it is now. An approval
// names a grant of the tenant made for that user and the device's client
// (session.ErrNotFound if there is none, an error if it belongs to another
// user or client; client ids are GUIDs, compared case-insensitively). A
// device code that is no longer pending is session.ErrUsed: the first
// decision stands, since concurrent decisions queue on the lock and each
// later one reads the code as the first left it. One expired (now at or
// after its ExpiresAt) is session.ErrExpired; an unknown one
// session.ErrNotFound.
func (s *Store) ApproveDeviceCode(ctx context.Context, tenantID string, userCodeHash []byte, userID, grantID string, now time.Time) (session.DeviceCode, error) {
	op := fmt.Sprintf("decide device code for user %q in tenant %s", userID, tenantID)
	status := session.DeviceApproved
	switch {
	case userID == "" && grantID != "":
		return session.DeviceCode{}, wrapSession(op, errors.New("a denial has no grant"))
	case userID == "":
		status = session.DeviceDenied
	case grantID == "":
		return session.DeviceCode{}, wrapSession(op, errors.New("an approval needs a grant"))
	}
	var out session.DeviceCode
	err := s.writeSession(ctx, op, func(tx pgx.Tx) error {
		d, err := scanDeviceCode(tx.QueryRow(ctx, `SELECT `+deviceCodeColumns+` FROM device_codes
			WHERE tenant_id = $1 AND user_code_hash = $2 FOR NO KEY UPDATE`, tenantID, userCodeHash))
		if err != nil {
			return err
		}
		switch {
		case d.Status != session.DevicePending:
			return fmt.Errorf("device code is %s: %w", d.Status, session.ErrUsed)
		case !now.Before(d.ExpiresAt):
			return fmt.Errorf("device code %w at %s", session.ErrExpired, d.ExpiresAt.Format(time.RFC3339Nano))
		}
		if status == session.DeviceApproved {
			var grantUser, grantClient string
			if err := tx.QueryRow(ctx, `SELECT user_id, client_id FROM grants WHERE tenant_id = $1 AND id = $2`,
				tenantID, grantID).Scan(&grantUser, &grantClient); err != nil {
				return fmt.Errorf("grant %s: %w", grantID, err)
			}
			if grantUser != userID || !strings.EqualFold(grantClient, d.ClientID) {
				return fmt.Errorf("grant %s is of user %s and client %s, not of user %s and client %s",
					grantID, grantUser, grantClient, userID, d.ClientID)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE device_codes SET status = $3, user_id = $4, grant_id = $5
			WHERE tenant_id = $1 AND hash = $2`, tenantID, d.Hash, status, userID, grantID); err != nil {
			return err
		}
		d.Status, d.UserID, d.GrantID = status, userID, grantID
		out = d
		return nil
	})
	return out, err
}

// pollDeviceCode is PollDeviceCode's one statement: d locks the device code
// and reads it as it is once locked; polled, which reads d (and so runs
// after it), records the poll and turns approved into redeemed, unless the
// code has expired. It returns d, the code as it was before this poll.
// Concurrent polls queue on the lock, and each re-reads the row the one
// before left, so exactly one poll sees the code approved.
const pollDeviceCode = `WITH d AS MATERIALIZED (
		SELECT ` + deviceCodeColumns + ` FROM device_codes WHERE tenant_id = $1 AND hash = $2
		FOR NO KEY UPDATE),
	polled AS (
		UPDATE device_codes c SET last_polled_at = $3,
			status = CASE c.status WHEN 'approved' THEN 'redeemed' ELSE c.status END
		FROM d WHERE c.tenant_id = $1 AND c.hash = $2 AND $3 < d.expires_at)
	SELECT * FROM d`

// PollDeviceCode records a poll at now and returns the device code as it
// was before it, in one statement (see pollDeviceCode). If the code was
// approved, the poll also marks it redeemed, so exactly one poll returns
// DeviceApproved and gets the tokens (RFC 8628 §3.5). An expired device
// code (now at or after its ExpiresAt) is returned without error, as every
// other state is (the caller answers expired_token from it), but is not
// changed: an approval that came too late is never redeemed. An unknown
// one is session.ErrNotFound.
func (s *Store) PollDeviceCode(ctx context.Context, tenantID string, hash []byte, now time.Time) (session.DeviceCode, error) {
	var d session.DeviceCode
	err := s.statement(ctx, func(q querier) error {
		var err error
		d, err = scanDeviceCode(q.QueryRow(ctx, pollDeviceCode, tenantID, hash, now))
		return err
	})
	if err != nil {
		return session.DeviceCode{}, wrapSession("poll device code in tenant "+tenantID, err)
	}
	return d, nil
}
