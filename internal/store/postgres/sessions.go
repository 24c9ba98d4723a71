package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
)

// The session half of the store follows the SQLite engine method for
// method; what differs is how a race is decided. There one writer runs
// every write in turn; here several instances write at once, so each
// operation that must be exact locks the rows it decides on, parent before
// child (browser session, grant, then its codes and refresh tokens, and the
// revocation feed's counter last), so that two transactions queue rather
// than deadlock.
//
// A browser session has two identifiers, as in the SQLite engine: IDHash,
// the keyed hash of the cookie, by which it is found, and ID, the public id
// grants name, stored as is.

// notYet is the zero time.Time as SQL: the value of a time that has not
// happened yet (revoked_at, used_at, redeemed_at, …). Queries compare with
// it as a literal so that their text, and so their prepared statement,
// stays constant.
const notYet = `'0001-01-01 00:00:00+00'::timestamptz`

// micro is t as the store keeps it: UTC, to the microsecond (pgx drops
// the rest when it encodes a timestamptz). A value the store sets and
// returns without reading it back goes through it, so that it equals what
// a later read returns.
func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// statement runs fn, which sends one statement on q, outside any explicit
// transaction: the statement is its own transaction, one round trip where
// BEGIN … COMMIT would be three. Used where one statement decides
// everything (see redeemCode). Like inTx, it runs fn again on a
// serialization failure or deadlock.
func (s *Store) statement(ctx context.Context, fn func(q querier) error) error {
	var err error
	for range maxAttempts {
		err = fn(s.pool)
		if !retryable(err) {
			return err
		}
	}
	return err
}

const browserSessionColumns = `tenant_id, id, id_hash, user_id, auth_time, created_at, expires_at, revoked_at`

func scanBrowserSession(row pgx.Row) (session.BrowserSession, error) {
	var bs session.BrowserSession
	if err := row.Scan(&bs.TenantID, &bs.ID, &bs.IDHash, &bs.UserID, &bs.AuthTime, &bs.CreatedAt, &bs.ExpiresAt,
		&bs.RevokedAt); err != nil {
		return session.BrowserSession{}, err
	}
	bs.IDHash = stored.NonNil(bs.IDHash)
	bs.AuthTime, bs.CreatedAt = utc(bs.AuthTime), utc(bs.CreatedAt)
	bs.ExpiresAt, bs.RevokedAt = utc(bs.ExpiresAt), utc(bs.RevokedAt)
	return bs, nil
}

// CreateBrowserSession stores a session. Its ID and its IDHash are each
// unique in the tenant (directory.ErrConflict); session.ErrNotFound if the
// tenant does not exist.
func (s *Store) CreateBrowserSession(ctx context.Context, tenantID string, bs session.BrowserSession) error {
	op := fmt.Sprintf("create browser session of user %s in tenant %s", bs.UserID, tenantID)
	if err := stored.CheckBrowserSession(tenantID, bs); err != nil {
		return wrapSession(op, err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO browser_sessions (`+browserSessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		tenantID, bs.ID, bs.IDHash, bs.UserID, bs.AuthTime, bs.CreatedAt, bs.ExpiresAt, bs.RevokedAt)
	return wrapSession(op, err)
}

// GetBrowserSession returns the session with the id hash, revoked or
// expired ones included (the caller judges).
func (s *Store) GetBrowserSession(ctx context.Context, tenantID string, idHash []byte) (session.BrowserSession, error) {
	bs, err := scanBrowserSession(s.pool.QueryRow(ctx, `SELECT `+browserSessionColumns+` FROM browser_sessions
		WHERE tenant_id = $1 AND id_hash = $2`, tenantID, idHash))
	return bs, wrapSession("get browser session in tenant "+tenantID, err)
}

// RevokeBrowserSession ends the session and revokes its active grants,
// with a feed entry each, in one transaction, and returns the ids of the
// grants it revoked, in creation order. Revoking an ended session again
// keeps its first RevokedAt and returns no grant: its grants were revoked
// with it, and CreateGrant refuses a grant in an ended session.
// session.ErrNotFound if the session does not exist.
//
// The session's row is locked first (the UPDATE), so a CreateGrant in it
// (which holds a share lock on it until it commits) either commits before
// and its grant is found below, or waits and then sees the session ended.
func (s *Store) RevokeBrowserSession(ctx context.Context, tenantID string, idHash []byte, at, feedExpiry time.Time) ([]string, error) {
	op := "revoke browser session in tenant " + tenantID
	if at.IsZero() {
		return nil, wrapSession(op, errors.New("revocation time is the zero time"))
	}
	var revoked []string
	err := s.writeSession(ctx, op, func(tx pgx.Tx) error {
		var id string
		if err := tx.QueryRow(ctx, `UPDATE browser_sessions SET revoked_at = CASE
			WHEN revoked_at = `+notYet+` THEN $1 ELSE revoked_at END
			WHERE tenant_id = $2 AND id_hash = $3 RETURNING id`, at, tenantID, idHash).Scan(&id); err != nil {
			return err
		}
		var err error
		revoked, err = revokeGrants(ctx, tx, tenantID, at, feedExpiry, grantsOfSession, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}
