package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
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
	d.Hash, d.UserCodeHash, d.Scopes = stored.NonNil(d.Hash), stored.NonNil(d.UserCodeHash), stored.NonNil(d.Scopes)
	d.Interval = time.Duration(interval)
	d.CreatedAt, d.ExpiresAt, d.LastPolledAt = utc(d.CreatedAt), utc(d.ExpiresAt), utc(d.LastPolledAt)
	return d, nil
}

// CreateDeviceCode stores a device authorization as stored.DeviceCode says
// (the user code's uniqueness, the pending limit). Here the pending limit
// is exact across instances: the transaction first takes an advisory lock
// on the tenant and client, so the count and the insert of concurrent
// callers run one after another, and under READ COMMITTED each count sees
// the inserts committed before it got the lock.
func (s *Store) CreateDeviceCode(ctx context.Context, tenantID string, d session.DeviceCode, maxPending int) error {
	op := fmt.Sprintf("create device code of client %s in tenant %s", d.ClientID, tenantID)
	d, err := stored.DeviceCode(tenantID, d)
	if err != nil {
		return wrapSession(op, err)
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
			tenantID, d.Hash, d.UserCodeHash, d.ClientID, stored.NonNil(d.Scopes), d.Resource, int64(d.Interval),
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

// GetDeviceCode returns the device code, whatever its state.
func (s *Store) GetDeviceCode(ctx context.Context, tenantID string, hash []byte) (session.DeviceCode, error) {
	d, err := scanDeviceCode(s.pool.QueryRow(ctx, `SELECT `+deviceCodeColumns+` FROM device_codes
		WHERE tenant_id = $1 AND hash = $2`, tenantID, hash))
	return d, wrapSession("get device code in tenant "+tenantID, err)
}

// swapDeviceCode writes the new state ($3 … $6) of the device code $2 if it
// still has the status $7 and last poll $8. The UPDATE re-reads the row
// once it holds its lock (READ COMMITTED), so of concurrent swaps from one
// state exactly one changes a row.
const swapDeviceCode = `UPDATE device_codes SET status = $3, user_id = $4, grant_id = $5, last_polled_at = $6
	WHERE tenant_id = $1 AND hash = $2 AND status = $7 AND last_polled_at = $8`

// SwapDeviceCode is the compare-and-swap of a device code: it writes to's
// state if the code still has from's status and last poll (one conditional
// UPDATE, swapDeviceCode), and otherwise returns the code as it is now. An
// approval first checks, in the same transaction, that its grant was made
// for its user and the code's client. It decides nothing.
func (s *Store) SwapDeviceCode(ctx context.Context, tenantID string, from, to session.DeviceCode) (session.DeviceCode, bool, error) {
	op := fmt.Sprintf("update device code of client %s in tenant %s", from.ClientID, tenantID)
	if err := stored.CheckDeviceSwap(tenantID, from, to); err != nil {
		return session.DeviceCode{}, false, wrapSession(op, err)
	}
	args := []any{tenantID, from.Hash, to.Status, to.UserID, to.GrantID, to.LastPolledAt, from.Status, from.LastPolledAt}
	swapped := false
	swap := func(q querier) error {
		tag, err := q.Exec(ctx, swapDeviceCode, args...)
		swapped = err == nil && tag.RowsAffected() == 1
		return err
	}
	var err error
	if to.Status == session.DeviceApproved && from.Status != session.DeviceApproved {
		err = s.writeSession(ctx, op, func(tx pgx.Tx) error {
			var grantUser, grantClient string
			if err := tx.QueryRow(ctx, `SELECT user_id, client_id FROM grants WHERE tenant_id = $1 AND id = $2`,
				tenantID, to.GrantID).Scan(&grantUser, &grantClient); err != nil {
				return fmt.Errorf("grant %s: %w", to.GrantID, err)
			}
			if err := stored.CheckApprovalGrant(to.GrantID, grantUser, grantClient, from, to); err != nil {
				return err
			}
			return swap(tx)
		})
	} else {
		// A poll, the frequent case: the one statement.
		err = wrapSession(op, s.statement(ctx, swap))
	}
	if err != nil {
		return session.DeviceCode{}, false, err
	}
	if swapped {
		return to, true, nil
	}
	cur, err := s.GetDeviceCode(ctx, tenantID, from.Hash)
	return cur, false, err
}
