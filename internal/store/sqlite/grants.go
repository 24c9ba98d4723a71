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

// A grant's codes and refresh tokens are not changed when the grant is
// revoked: every use of one reads the grant in the same transaction and
// fails with session.ErrRevoked, so the grant's revoked_at is the one
// place that decides, and revoking costs one row however long the chain.
// Only the sealed responses of its refresh tokens are erased, since they
// carry usable tokens and no longer serve a retry.

const grantColumns = `tenant_id, id, user_id, client_id, browser_session_id, scopes, auth_time,
	created_at, expires_at, revoked_at, channel`

// grantColumnsOf is grantColumns qualified by the alias g, for joins.
const grantColumnsOf = `g.tenant_id, g.id, g.user_id, g.client_id, g.browser_session_id, g.scopes, g.auth_time,
	g.created_at, g.expires_at, g.revoked_at, g.channel`

// grantRow is a grant as its columns are scanned, before decoding; it
// lets a join scan a grant's columns next to another table's.
type grantRow struct {
	g                               session.Grant
	sessionID                       sql.NullString
	scopes                          string
	auth, created, expires, revoked int64
}

// dest are the scan destinations of grantColumns.
func (r *grantRow) dest() []any {
	return []any{&r.g.TenantID, &r.g.ID, &r.g.UserID, &r.g.ClientID, &r.sessionID, &r.scopes, &r.auth,
		&r.created, &r.expires, &r.revoked, &r.g.Channel}
}

func (r *grantRow) decode() (session.Grant, error) {
	g := r.g
	g.BrowserSessionID = r.sessionID.String
	if err := stored.DecJSON(r.scopes, &g.Scopes); err != nil {
		return session.Grant{}, fmt.Errorf("grant %s: decode scopes: %w", g.ID, err)
	}
	g.Scopes = stored.NonNil(g.Scopes)
	g.AuthTime, g.CreatedAt = decTime(r.auth), decTime(r.created)
	g.ExpiresAt, g.RevokedAt = decTime(r.expires), decTime(r.revoked)
	return g, nil
}

func scanGrant(sc scanner) (session.Grant, error) {
	var r grantRow
	if err := sc.Scan(r.dest()...); err != nil {
		return session.Grant{}, err
	}
	return r.decode()
}

// CreateGrant stores a grant. A grant made in a browser session is
// refused with session.ErrNotFound if the session is not in the tenant and
// with
// session.ErrRevoked if it has ended: the check and the insert are one
// transaction, so a grant either exists before a logout (which then
// revokes it) or is refused, never made in a session already logged out.
func (s *Store) CreateGrant(ctx context.Context, tenantID string, g session.Grant) error {
	op := fmt.Sprintf("create grant %s in tenant %s", g.ID, tenantID)
	if err := stored.CheckTenant(tenantID, g.TenantID); err != nil {
		return wrapSession(op, err)
	}
	var sessionID sql.NullString // NULL for no session: see the migration
	if g.BrowserSessionID != "" {
		sessionID = sql.NullString{String: g.BrowserSessionID, Valid: true}
	}
	scopes, err := stored.EncJSON(stored.NonNil(g.Scopes))
	if err != nil {
		return wrapSession(op, err)
	}
	return s.writeSession(ctx, op, func(tx *sql.Tx) error {
		if sessionID.Valid {
			var revoked int64
			if err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM browser_sessions
				WHERE tenant_id = ? AND id = ?`, tenantID, sessionID).Scan(&revoked); err != nil {
				return fmt.Errorf("browser session: %w", err)
			}
			if !decTime(revoked).IsZero() {
				return fmt.Errorf("browser session ended: %w", session.ErrRevoked)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO grants (`+grantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			tenantID, g.ID, g.UserID, g.ClientID, sessionID, scopes, encTime(g.AuthTime),
			encTime(g.CreatedAt), encTime(g.ExpiresAt), encTime(g.RevokedAt), g.Channel)
		return err
	})
}

// GetGrant returns the grant, revoked or expired ones included.
func (s *Store) GetGrant(ctx context.Context, tenantID, id string) (session.Grant, error) {
	g, err := scanGrant(s.readRow(ctx, `SELECT `+grantColumns+` FROM grants WHERE tenant_id = ? AND id = ?`,
		tenantID, id))
	return g, wrapSession(fmt.Sprintf("get grant %s in tenant %s", id, tenantID), err)
}

// UpdateGrantScopes replaces the scopes of an active grant:
// session.ErrRevoked for a revoked one, whose scopes no longer matter and
// whose change would hide a caller racing a revocation.
func (s *Store) UpdateGrantScopes(ctx context.Context, tenantID, id string, scopes []string) error {
	op := fmt.Sprintf("update scopes of grant %s in tenant %s", id, tenantID)
	text, err := stored.EncJSON(stored.NonNil(scopes))
	if err != nil {
		return wrapSession(op, err)
	}
	return s.writeSession(ctx, op, func(tx *sql.Tx) error {
		var revoked int64
		if err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM grants WHERE tenant_id = ? AND id = ?`,
			tenantID, id).Scan(&revoked); err != nil {
			return err
		}
		if !decTime(revoked).IsZero() {
			return session.ErrRevoked
		}
		_, err := tx.ExecContext(ctx, `UPDATE grants SET scopes = ? WHERE tenant_id = ? AND id = ?`,
			text, tenantID, id)
		return err
	})
}

// RevokeGrant revokes the grant (and so its codes and refresh tokens) and
// appends its feed entry, in one transaction. A revoked grant stays as it
// was (its RevokedAt is the first revocation's) and gets no second entry.
func (s *Store) RevokeGrant(ctx context.Context, tenantID, id string, at, feedExpiry time.Time) error {
	return s.writeSession(ctx, fmt.Sprintf("revoke grant %s in tenant %s", id, tenantID), func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM grants WHERE tenant_id = ? AND id = ?)`,
			tenantID, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return session.ErrNotFound
		}
		_, err := revokeGrant(ctx, tx, tenantID, id, at, feedExpiry)
		return err
	})
}

// RevokeGrantsOf revokes, in one transaction, every active grant of a user
// (userID != "") or of a client (clientID != ""), each with its feed
// entry, and appends one RevokeSubject or RevokeClient entry (even when no
// grant was active: the client's tokens without a grant, from client
// credentials, are covered by it).
//
// The contract leaves both set open. Both set here means the grants of
// that user with that client (a user withdrawing one application), and
// only their own entries are appended: a subject or client entry would end
// tokens of other clients or other users too. Neither set is an error.
func (s *Store) RevokeGrantsOf(ctx context.Context, tenantID, userID, clientID string, at, feedExpiry time.Time) error {
	op := fmt.Sprintf("revoke grants of user %q and client %q in tenant %s", userID, clientID, tenantID)
	kind, value, err := stored.GrantsOfEntry(userID, clientID)
	if err != nil {
		return wrapSession(op, err)
	}
	return s.writeSession(ctx, op, func(tx *sql.Tx) error {
		ids, err := txStrings(ctx, tx, `SELECT id FROM grants
			WHERE tenant_id = ?1 AND revoked_at = `+unset+`
			AND (?2 = '' OR user_id = ?2) AND (?3 = '' OR client_id = ?3)
			ORDER BY created_at, id`, tenantID, userID, clientID)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := revokeGrant(ctx, tx, tenantID, id, at, feedExpiry); err != nil {
				return err
			}
		}
		if kind == "" {
			return nil
		}
		return appendRevocation(ctx, tx, tenantID, kind, value, at, feedExpiry)
	})
}

// revokeGrant revokes the grant if it is active: it sets revoked_at,
// erases the sealed responses of its refresh tokens and appends the
// RevokeGrant feed entry. It reports whether the grant was active; a
// missing or revoked grant changes nothing.
func revokeGrant(ctx context.Context, tx *sql.Tx, tenantID, id string, at, feedExpiry time.Time) (bool, error) {
	if at.IsZero() {
		// The zero time is what "not revoked" is stored as.
		return false, errors.New("revocation time is the zero time")
	}
	res, err := tx.ExecContext(ctx, `UPDATE grants SET revoked_at = ?
		WHERE tenant_id = ? AND id = ? AND revoked_at = `+unset, encTime(at), tenantID, id)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET successor_sealed = X''
		WHERE tenant_id = ? AND grant_id = ? AND length(successor_sealed) > 0`, tenantID, id); err != nil {
		return false, err
	}
	return true, appendRevocation(ctx, tx, tenantID, session.RevokeGrant, id, at, feedExpiry)
}
