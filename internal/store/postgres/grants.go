package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
)

// Revoking a grant changes only its row (and erases its refresh tokens'
// sealed responses), as in the SQLite engine, whose grants.go says why;
// here every use of a code or refresh token reads the grant under a lock.

const grantColumns = `tenant_id, id, user_id, client_id, browser_session_id, scopes, auth_time,
	created_at, expires_at, revoked_at, channel`

// grantColumnsOf is grantColumns qualified by the alias g, for joins.
const grantColumnsOf = `g.tenant_id, g.id, g.user_id, g.client_id, g.browser_session_id, g.scopes, g.auth_time,
	g.created_at, g.expires_at, g.revoked_at, g.channel`

// grantRow is a grant as its columns are scanned, so that a join can scan
// a grant's columns next to another table's.
type grantRow struct {
	g         session.Grant
	sessionID *string // NULL for a grant made outside a browser
}

// dest are the scan destinations of grantColumns.
func (r *grantRow) dest() []any {
	return []any{&r.g.TenantID, &r.g.ID, &r.g.UserID, &r.g.ClientID, &r.sessionID, &r.g.Scopes, &r.g.AuthTime,
		&r.g.CreatedAt, &r.g.ExpiresAt, &r.g.RevokedAt, &r.g.Channel}
}

func (r *grantRow) decode() session.Grant {
	g := r.g
	if r.sessionID != nil {
		g.BrowserSessionID = *r.sessionID
	}
	g.Scopes = stored.NonNil(g.Scopes)
	g.AuthTime, g.CreatedAt = utc(g.AuthTime), utc(g.CreatedAt)
	g.ExpiresAt, g.RevokedAt = utc(g.ExpiresAt), utc(g.RevokedAt)
	return g
}

func scanGrant(row pgx.Row) (session.Grant, error) {
	var r grantRow
	if err := row.Scan(r.dest()...); err != nil {
		return session.Grant{}, err
	}
	return r.decode(), nil
}

// CreateGrant stores a grant. A grant made in a browser session is refused
// with session.ErrNotFound if the session is not in the tenant and with
// session.ErrRevoked if it has ended. The session's row is share-locked
// until the insert commits, so a concurrent RevokeBrowserSession either
// ends the session first (and this sees it ended) or waits for the grant
// and revokes it too: a grant is never made in a session already logged
// out.
func (s *Store) CreateGrant(ctx context.Context, tenantID string, g session.Grant) error {
	op := fmt.Sprintf("create grant %s in tenant %s", g.ID, tenantID)
	if err := stored.CheckTenant(tenantID, g.TenantID); err != nil {
		return wrapSession(op, err)
	}
	var sessionID *string // NULL for no session: see the migration
	if g.BrowserSessionID != "" {
		sessionID = &g.BrowserSessionID
	}
	insert := func(q querier) error {
		_, err := q.Exec(ctx, `INSERT INTO grants (`+grantColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			tenantID, g.ID, g.UserID, g.ClientID, sessionID, stored.NonNil(g.Scopes), g.AuthTime,
			g.CreatedAt, g.ExpiresAt, g.RevokedAt, g.Channel)
		return err
	}
	if sessionID == nil {
		return wrapSession(op, insert(s.pool))
	}
	return s.writeSession(ctx, op, func(tx pgx.Tx) error {
		var revoked time.Time
		if err := tx.QueryRow(ctx, `SELECT revoked_at FROM browser_sessions
			WHERE tenant_id = $1 AND id = $2 FOR SHARE`, tenantID, *sessionID).Scan(&revoked); err != nil {
			return fmt.Errorf("browser session: %w", err)
		}
		if !revoked.IsZero() {
			return fmt.Errorf("browser session ended: %w", session.ErrRevoked)
		}
		return insert(tx)
	})
}

// GetGrant returns the grant, revoked or expired ones included.
func (s *Store) GetGrant(ctx context.Context, tenantID, id string) (session.Grant, error) {
	g, err := scanGrant(s.pool.QueryRow(ctx, `SELECT `+grantColumns+` FROM grants WHERE tenant_id = $1 AND id = $2`,
		tenantID, id))
	return g, wrapSession(fmt.Sprintf("get grant %s in tenant %s", id, tenantID), err)
}

// UpdateGrantScopes replaces the scopes of an active grant:
// session.ErrRevoked for a revoked one, whose scopes no longer matter and
// whose change would hide a caller racing a revocation. The update is
// conditional on the grant being active, so it cannot land after a
// revocation; only when it changed nothing is the grant read again, to
// say why (a revocation is final, so the answer cannot go stale).
func (s *Store) UpdateGrantScopes(ctx context.Context, tenantID, id string, scopes []string) error {
	op := fmt.Sprintf("update scopes of grant %s in tenant %s", id, tenantID)
	tag, err := s.pool.Exec(ctx, `UPDATE grants SET scopes = $3
		WHERE tenant_id = $1 AND id = $2 AND revoked_at = `+notYet, tenantID, id, stored.NonNil(scopes))
	if err != nil || tag.RowsAffected() == 1 {
		return wrapSession(op, err)
	}
	var revoked time.Time
	if err := s.pool.QueryRow(ctx, `SELECT revoked_at FROM grants WHERE tenant_id = $1 AND id = $2`,
		tenantID, id).Scan(&revoked); err != nil {
		return wrapSession(op, err)
	}
	return wrapSession(op, session.ErrRevoked)
}

// RevokeGrant revokes the grant (and so its codes and refresh tokens) and
// appends its feed entry, in one transaction. A revoked grant stays as it
// was (its RevokedAt is the first revocation's) and gets no second entry:
// of concurrent revocations the first to lock the row revokes, and the
// others, re-reading it when the lock is released, find it revoked.
func (s *Store) RevokeGrant(ctx context.Context, tenantID, id string, at, feedExpiry time.Time) error {
	op := fmt.Sprintf("revoke grant %s in tenant %s", id, tenantID)
	if at.IsZero() {
		return wrapSession(op, errors.New("revocation time is the zero time"))
	}
	return s.writeSession(ctx, op, func(tx pgx.Tx) error {
		revoked, err := revokeGrants(ctx, tx, tenantID, at, feedExpiry, grantByID, id)
		if err != nil || len(revoked) > 0 {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM grants WHERE tenant_id = $1 AND id = $2)`,
			tenantID, id).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return session.ErrNotFound
		}
		return nil
	})
}

// RevokeGrantsOf revokes, in one transaction, every active grant of a user
// (userID != "") or of a client (clientID != ""), each with its feed
// entry, and appends one RevokeSubject or RevokeClient entry (even when no
// grant was active: the client's tokens without a grant, from client
// credentials, are covered by it).
//
// As in the SQLite engine, both set means the grants of that user with
// that client (a user withdrawing one application), and only their own
// entries are appended: a subject or client entry would end tokens of
// other clients or other users too. Neither set is an error.
func (s *Store) RevokeGrantsOf(ctx context.Context, tenantID, userID, clientID string, at, feedExpiry time.Time) error {
	op := fmt.Sprintf("revoke grants of user %q and client %q in tenant %s", userID, clientID, tenantID)
	kind, value, err := stored.GrantsOfEntry(userID, clientID)
	if err != nil {
		return wrapSession(op, err)
	}
	var extra []feedEntry
	if kind != "" {
		extra = []feedEntry{{kind, value}}
	}
	var which string
	var params []string
	switch {
	case userID != "" && clientID != "":
		which, params = grantsOfUserAndClient, []string{userID, clientID}
	case userID != "":
		which, params = grantsOfUser, []string{userID}
	default:
		which, params = grantsOfClient, []string{clientID}
	}
	if at.IsZero() {
		return wrapSession(op, errors.New("revocation time is the zero time"))
	}
	return s.writeSession(ctx, op, func(tx pgx.Tx) error {
		if _, err := revokeGrants(ctx, tx, tenantID, at, feedExpiry, which, params...); err != nil {
			return err
		}
		if len(extra) == 0 {
			return nil
		}
		return appendRevocations(ctx, tx, tenantID, extra, at, feedExpiry)
	})
}

// The selections of revokeGrants: conditions on grants whose parameters
// are $3 and $4. Constant texts rather than one query with optional
// conditions, so that each prepared statement has a plan that uses its
// index.
const (
	grantByID             = `id = $3`
	grantsOfSession       = `browser_session_id = $3`
	grantsOfUser          = `user_id = $3`
	grantsOfClient        = `client_id = $3`
	grantsOfUserAndClient = `user_id = $3 AND client_id = $4`
)

// revokeGrants revokes the tenant's active grants selected by which (one
// of the constants above, with params as its parameters), erases the
// sealed responses of their refresh tokens and appends a RevokeGrant feed
// entry for each, in tx. It returns the ids of the grants it revoked, in
// creation order; a missing or revoked grant changes nothing.
//
// The grants are locked in id order, so that two revocations of
// overlapping sets queue instead of deadlocking. The sealed responses are
// erased by a second statement: its snapshot is taken once the grants'
// locks are held, so it sees every rotation that committed before them (a
// rotation holds a share lock on its grant's row until it commits, which
// the UPDATE waits for), and no later rotation of these grants can store
// one.
func revokeGrants(ctx context.Context, tx pgx.Tx, tenantID string, at, feedExpiry time.Time, which string, params ...string) ([]string, error) {
	if at.IsZero() {
		// The zero time is what "not revoked" is stored as.
		return nil, errors.New("revocation time is the zero time")
	}
	args := []any{at, tenantID}
	for _, p := range params {
		args = append(args, p)
	}
	rows, err := tx.Query(ctx, `UPDATE grants SET revoked_at = $1
		WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM grants
			WHERE tenant_id = $2 AND revoked_at = `+notYet+` AND `+which+`
			ORDER BY id FOR NO KEY UPDATE)
		AND revoked_at = `+notYet+`
		RETURNING id, created_at`, args...)
	if err != nil {
		return nil, err
	}
	type revoked struct {
		id      string
		created time.Time
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (revoked, error) {
		var r revoked
		err := row.Scan(&r.id, &r.created)
		return r, err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(x, y revoked) int {
		if c := x.created.Compare(y.created); c != 0 {
			return c
		}
		return strings.Compare(x.id, y.id)
	})
	ids := make([]string, len(list))
	for i, r := range list {
		ids[i] = r.id
	}
	if len(ids) == 0 {
		return ids, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET successor_sealed = ''::bytea
		WHERE tenant_id = $1 AND grant_id = ANY ($2) AND length(successor_sealed) > 0`, tenantID, ids); err != nil {
		return nil, err
	}
	entries := make([]feedEntry, len(ids))
	for i, id := range ids {
		entries[i] = feedEntry{session.RevokeGrant, id}
	}
	return ids, appendRevocations(ctx, tx, tenantID, entries, at, feedExpiry)
}
