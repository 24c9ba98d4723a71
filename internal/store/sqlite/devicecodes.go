package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
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
	if err := stored.DecJSON(scopes, &d.Scopes); err != nil {
		return session.DeviceCode{}, fmt.Errorf("device code of client %s: decode scopes: %w", d.ClientID, err)
	}
	d.Hash, d.UserCodeHash, d.Scopes = stored.NonNil(d.Hash), stored.NonNil(d.UserCodeHash), stored.NonNil(d.Scopes)
	d.Interval = time.Duration(interval)
	d.CreatedAt, d.ExpiresAt, d.LastPolledAt = decTime(created), decTime(expires), decTime(polled)
	return d, nil
}

// CreateDeviceCode stores a device authorization as stored.DeviceCode says
// (the user code's uniqueness, the pending limit). Here the pending limit's
// count and the insert are one transaction on the single writer, so
// concurrent callers cannot both take the last place.
func (s *Store) CreateDeviceCode(ctx context.Context, tenantID string, d session.DeviceCode, maxPending int) error {
	op := fmt.Sprintf("create device code of client %s in tenant %s", d.ClientID, tenantID)
	d, err := stored.DeviceCode(tenantID, d)
	if err != nil {
		return wrapSession(op, err)
	}
	scopes, err := stored.EncJSON(stored.NonNil(d.Scopes))
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

// GetDeviceCode returns the device code, whatever its state.
func (s *Store) GetDeviceCode(ctx context.Context, tenantID string, hash []byte) (session.DeviceCode, error) {
	d, err := scanDeviceCode(s.readRow(ctx, `SELECT `+deviceCodeColumns+` FROM device_codes
		WHERE tenant_id = ? AND hash = ?`, tenantID, hash))
	return d, wrapSession("get device code in tenant "+tenantID, err)
}

// SwapDeviceCode is the compare-and-swap of a device code, one write
// transaction: it reads the code and, if it still has from's status and
// last poll, writes to's, after checking that an approval's grant was made
// for its user and the code's client. It decides nothing: on a miss it
// returns the code as it read it. Writes run one after another on the
// single writer, so of concurrent swaps from one state exactly one wins.
func (s *Store) SwapDeviceCode(ctx context.Context, tenantID string, from, to session.DeviceCode) (session.DeviceCode, bool, error) {
	op := fmt.Sprintf("update device code of client %s in tenant %s", from.ClientID, tenantID)
	if err := stored.CheckDeviceSwap(tenantID, from, to); err != nil {
		return session.DeviceCode{}, false, wrapSession(op, err)
	}
	var (
		cur     session.DeviceCode
		swapped bool
	)
	err := s.writeSession(ctx, op, func(tx *sql.Tx) error {
		var err error
		swapped = false
		if cur, err = scanDeviceCode(tx.QueryRowContext(ctx, `SELECT `+deviceCodeColumns+` FROM device_codes
			WHERE tenant_id = ? AND hash = ?`, tenantID, from.Hash)); err != nil {
			return err
		}
		if cur.Status != from.Status || !cur.LastPolledAt.Equal(from.LastPolledAt) {
			return nil
		}
		if to.Status == session.DeviceApproved && cur.Status != session.DeviceApproved {
			var grantUser, grantClient string
			if err := tx.QueryRowContext(ctx, `SELECT user_id, client_id FROM grants WHERE tenant_id = ? AND id = ?`,
				tenantID, to.GrantID).Scan(&grantUser, &grantClient); err != nil {
				return fmt.Errorf("grant %s: %w", to.GrantID, err)
			}
			if err := stored.CheckApprovalGrant(to.GrantID, grantUser, grantClient, cur, to); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE device_codes SET status = ?, user_id = ?, grant_id = ?, last_polled_at = ?
			WHERE tenant_id = ? AND hash = ?`,
			to.Status, to.UserID, to.GrantID, encTime(to.LastPolledAt), tenantID, from.Hash); err != nil {
			return err
		}
		swapped = true
		return nil
	})
	if err != nil {
		return session.DeviceCode{}, false, err
	}
	if swapped {
		return to, true, nil
	}
	return cur, false, nil
}
