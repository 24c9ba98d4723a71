package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
)

// A browser session has two identifiers. IDHash is the keyed hash of the
// cookie, the only form of the cookie the store sees; the session is found
// by it. ID is a public id (the session service makes it a UUID, unrelated
// to the cookie) that grants name in BrowserSessionID; it is stored as is.
// (The contract's comment on ID says the cookie carries it: were ID the
// cookie value, storing it would defeat IDHash. The service does not do
// that, and the store relies on it not doing so.)

const browserSessionColumns = `tenant_id, id, id_hash, user_id, auth_time, created_at, expires_at, revoked_at`

func scanBrowserSession(sc scanner) (session.BrowserSession, error) {
	var bs session.BrowserSession
	var auth, created, expires, revoked int64
	if err := sc.Scan(&bs.TenantID, &bs.ID, &bs.IDHash, &bs.UserID, &auth, &created, &expires, &revoked); err != nil {
		return session.BrowserSession{}, err
	}
	bs.AuthTime, bs.CreatedAt = decTime(auth), decTime(created)
	bs.ExpiresAt, bs.RevokedAt = decTime(expires), decTime(revoked)
	return bs, nil
}

// CreateBrowserSession stores a session. Its ID and its IDHash are each
// unique in the tenant (directory.ErrConflict); session.ErrNotFound if
// the tenant does not exist.
func (s *Store) CreateBrowserSession(ctx context.Context, tenantID string, bs session.BrowserSession) error {
	op := fmt.Sprintf("create browser session of user %s in tenant %s", bs.UserID, tenantID)
	if err := stored.CheckBrowserSession(tenantID, bs); err != nil {
		return wrapSession(op, err)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO browser_sessions (`+browserSessionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		tenantID, bs.ID, bs.IDHash, bs.UserID, encTime(bs.AuthTime), encTime(bs.CreatedAt), encTime(bs.ExpiresAt),
		encTime(bs.RevokedAt))
	return wrapSession(op, err)
}

// GetBrowserSession returns the session with the id hash, revoked or
// expired ones included (the caller judges).
func (s *Store) GetBrowserSession(ctx context.Context, tenantID string, idHash []byte) (session.BrowserSession, error) {
	bs, err := scanBrowserSession(s.readRow(ctx, `SELECT `+browserSessionColumns+` FROM browser_sessions
		WHERE tenant_id = ? AND id_hash = ?`, tenantID, idHash))
	return bs, wrapSession("get browser session in tenant "+tenantID, err)
}

// RevokeBrowserSession ends the session and revokes its active grants,
// with a feed entry each, in one transaction, and returns the ids of the
// grants it revoked, in creation order. Revoking an ended session again
// keeps its first RevokedAt and returns no grant: its grants were revoked
// with it, and CreateGrant refuses a grant in an ended session.
// session.ErrNotFound if the session does not exist.
func (s *Store) RevokeBrowserSession(ctx context.Context, tenantID string, idHash []byte, at, feedExpiry time.Time) ([]string, error) {
	revoked := []string{}
	err := s.writeSession(ctx, "revoke browser session in tenant "+tenantID, func(tx *sql.Tx) error {
		if at.IsZero() {
			return errors.New("revocation time is the zero time")
		}
		var id string
		if err := tx.QueryRowContext(ctx, `UPDATE browser_sessions SET revoked_at = CASE
			WHEN revoked_at = `+unset+` THEN ? ELSE revoked_at END
			WHERE tenant_id = ? AND id_hash = ? RETURNING id`, encTime(at), tenantID, idHash).Scan(&id); err != nil {
			return err
		}
		ids, err := txStrings(ctx, tx, `SELECT id FROM grants
			WHERE tenant_id = ? AND browser_session_id = ? AND revoked_at = `+unset+`
			ORDER BY created_at, id`, tenantID, id)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := revokeGrant(ctx, tx, tenantID, id, at, feedExpiry); err != nil {
				return err
			}
		}
		revoked = ids
		return nil
	})
	if err != nil {
		return nil, err
	}
	return revoked, nil
}

// txStrings returns the single string column of a query in a transaction,
// never nil.
func txStrings(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
