package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

const deviceCodeColumns = `tenant_id, hash, user_code_hash, client_id, scopes, resource, poll_interval,
	created_at, expires_at, last_polled_at, status, user_id, grant_id`

func scanDeviceCode(sc scanner) (session.DeviceCode, error) {
	var d session.DeviceCode
	var scopes string
	var interval, created, expires, polled int64
	if err := sc.Scan(&d.TenantID, &d.Hash, &d.UserCodeHash, &d.ClientID, &scopes, &d.Resource, &interval,
		&created, &expires, &polled, &d.Status, &d.UserID, &d.GrantID); err != nil {
		return session.DeviceCode{}, err
	}
	if err := decJSON(scopes, &d.Scopes); err != nil {
		return session.DeviceCode{}, fmt.Errorf("device code of client %s: decode scopes: %w", d.ClientID, err)
	}
	d.Hash, d.UserCodeHash, d.Scopes = nonNil(d.Hash), nonNil(d.UserCodeHash), nonNil(d.Scopes)
	d.Interval = time.Duration(interval)
	d.CreatedAt, d.ExpiresAt, d.LastPolledAt = decTime(created), decTime(expires), decTime(polled)
	return d, nil
}

// CreateDeviceCode stores a device authorization; an empty Status is
// stored as DevicePending. A user code is unique among the tenant's live
// device codes: one held by a device code expired at d.CreatedAt is taken
// over (that code is deleted), one still live is directory.ErrConflict, on
// which the caller draws another user code. session.ErrNotFound if the
// tenant does not exist.
//
// With maxPending > 0, a client that has maxPending pending device codes
// in the tenant expiring after d.CreatedAt gets a
// *session.PendingLimitError and nothing is stored. The count and the
// insert are one transaction on the single writer, so concurrent callers
// cannot both take the last place. Client ids are compared as the
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
	scopes, err := encJSON(nonNil(d.Scopes))
	if err != nil {
		return wrapSession(op, err)
	}
	return s.writeSession(ctx, op, func(tx *sql.Tx) error {
		if maxPending > 0 {
			// From the partial index device_codes_pending alone (0007).
			var n int
			var first sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT count(*), min(expires_at) FROM device_codes
				WHERE client_id = ? AND tenant_id = ? AND status = 'pending' AND expires_at > ?`,
				d.ClientID, tenantID, encTime(d.CreatedAt)).Scan(&n, &first); err != nil {
				return err
			}
			if n >= maxPending {
				return &session.PendingLimitError{Max: maxPending, FreeAt: decTime(first.Int64)}
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM device_codes
			WHERE tenant_id = ? AND user_code_hash = ? AND expires_at <= ?`,
			tenantID, d.UserCodeHash, encTime(d.CreatedAt)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO device_codes (`+deviceCodeColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			tenantID, d.Hash, d.UserCodeHash, d.ClientID, scopes, d.Resource, int64(d.Interval),
			encTime(d.CreatedAt), encTime(d.ExpiresAt), encTime(d.LastPolledAt), d.Status, d.UserID, d.GrantID)
		return err
	})
}

// GetDeviceCodeByUserCode returns the device code, whatever its state.
func (s *Store) GetDeviceCodeByUserCode(ctx context.Context, tenantID string, userCodeHash []byte) (session.DeviceCode, error) {
	d, err := scanDeviceCode(s.readRow(ctx, `SELECT `+deviceCodeColumns+` FROM device_codes
		WHERE tenant_id = ? AND user_code_hash = ?`, tenantID, userCodeHash))
	return d, wrapSession("get device code by user code in tenant "+tenantID, err)
}

// ApproveDeviceCode moves a pending device code to approved (userID and
// grantID set) or denied (userID and grantID ""), in one transaction, and
// returns it as it is now. An approval names a grant of the tenant made
// for that user and the device's client (session.ErrNotFound if there is
// none, an error if it belongs to another user or client; client ids are
// GUIDs, compared case-insensitively). A device code that is no
// longer pending is session.ErrUsed: the first decision stands. One expired
// (now at or after its ExpiresAt) is session.ErrExpired; an unknown one
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
	err := s.writeSession(ctx, op, func(tx *sql.Tx) error {
		d, err := scanDeviceCode(tx.QueryRowContext(ctx, `SELECT `+deviceCodeColumns+` FROM device_codes
			WHERE tenant_id = ? AND user_code_hash = ?`, tenantID, userCodeHash))
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
			if err := tx.QueryRowContext(ctx, `SELECT user_id, client_id FROM grants WHERE tenant_id = ? AND id = ?`,
				tenantID, grantID).Scan(&grantUser, &grantClient); err != nil {
				return fmt.Errorf("grant %s: %w", grantID, err)
			}
			if grantUser != userID || !strings.EqualFold(grantClient, d.ClientID) {
				return fmt.Errorf("grant %s is of user %s and client %s, not of user %s and client %s",
					grantID, grantUser, grantClient, userID, d.ClientID)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE device_codes SET status = ?, user_id = ?, grant_id = ?
			WHERE tenant_id = ? AND hash = ? AND status = 'pending'`,
			status, userID, grantID, tenantID, d.Hash); err != nil {
			return err
		}
		d.Status, d.UserID, d.GrantID = status, userID, grantID
		out = d
		return nil
	})
	return out, err
}

// PollDeviceCode records a poll at now and returns the device code as it
// was before it, in one transaction. If the code was approved, the poll
// also marks it redeemed, so exactly one poll returns DeviceApproved and
// gets the tokens. An expired device code (now at or after its
// ExpiresAt) is returned without error, as every other state is (the
// caller answers expired_token from it), but is not changed: an approval
// that came too late is never redeemed. An unknown one is
// session.ErrNotFound.
func (s *Store) PollDeviceCode(ctx context.Context, tenantID string, hash []byte, now time.Time) (session.DeviceCode, error) {
	var out session.DeviceCode
	err := s.writeSession(ctx, "poll device code in tenant "+tenantID, func(tx *sql.Tx) error {
		d, err := scanDeviceCode(tx.QueryRowContext(ctx, `SELECT `+deviceCodeColumns+` FROM device_codes
			WHERE tenant_id = ? AND hash = ?`, tenantID, hash))
		if err != nil {
			return err
		}
		out = d
		if !now.Before(d.ExpiresAt) {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE device_codes SET last_polled_at = ?,
			status = CASE status WHEN 'approved' THEN 'redeemed' ELSE status END
			WHERE tenant_id = ? AND hash = ?`, encTime(now), tenantID, hash)
		return err
	})
	if err != nil {
		return session.DeviceCode{}, err
	}
	return out, nil
}
