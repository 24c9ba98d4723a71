package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

const refreshTokenColumns = `tenant_id, hash, grant_id, client_id, created_at, expires_at, used_at,
	successor_hash, successor_sealed, access_tokens, access_token_expires_at, generation`

// tokenAndGrant selects a refresh token (alias t) with its grant (g).
const tokenAndGrant = `SELECT t.tenant_id, t.hash, t.grant_id, t.client_id, t.created_at, t.expires_at,
	t.used_at, t.successor_hash, t.successor_sealed, t.access_tokens, t.access_token_expires_at, t.generation,
	g.tenant_id, g.id, g.user_id, g.client_id, g.browser_session_id, g.scopes, g.auth_time,
	g.created_at, g.expires_at, g.revoked_at, g.channel
	FROM refresh_tokens t JOIN grants g ON g.tenant_id = t.tenant_id AND g.id = t.grant_id
	WHERE t.tenant_id = ? AND t.hash = ?`

// markRefreshTokenUsed marks a refresh token used with its successor, if
// it is not used yet.
const markRefreshTokenUsed = `UPDATE refresh_tokens SET used_at = ?, successor_hash = ?,
	successor_sealed = ? WHERE tenant_id = ? AND hash = ? AND used_at = ` + unset

const insertRefreshTokenSQL = `INSERT INTO refresh_tokens (` + refreshTokenColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// refreshTokenRow is a refresh token as its columns are scanned (see
// grantRow).
type refreshTokenRow struct {
	t                                   session.RefreshToken
	created, expires, used, accessToken int64
	issued                              string // access_tokens, stored form
}

// dest are the scan destinations of refreshTokenColumns.
func (r *refreshTokenRow) dest() []any {
	return []any{&r.t.TenantID, &r.t.Hash, &r.t.GrantID, &r.t.ClientID, &r.created, &r.expires, &r.used,
		&r.t.SuccessorHash, &r.t.SuccessorSealed, &r.issued, &r.accessToken, &r.t.Generation}
}

func (r *refreshTokenRow) decode() session.RefreshToken {
	t := r.t
	t.Hash, t.SuccessorHash, t.SuccessorSealed = nonNil(t.Hash), nonNil(t.SuccessorHash), nonNil(t.SuccessorSealed)
	t.CreatedAt, t.ExpiresAt, t.UsedAt = decTime(r.created), decTime(r.expires), decTime(r.used)
	t.AccessTokenExpiresAt = decTime(r.accessToken)
	t.AccessTokens = session.ParseIssuedTokens(r.issued)
	return t
}

// scanTokenAndGrant scans a row of tokenAndGrant.
func scanTokenAndGrant(sc scanner) (session.RefreshToken, session.Grant, error) {
	var tr refreshTokenRow
	var gr grantRow
	if err := sc.Scan(append(tr.dest(), gr.dest()...)...); err != nil {
		return session.RefreshToken{}, session.Grant{}, err
	}
	g, err := gr.decode()
	if err != nil {
		return session.RefreshToken{}, session.Grant{}, err
	}
	return tr.decode(), g, nil
}

// CreateRefreshToken stores the first refresh token of a grant:
// session.ErrNotFound if the grant is not in the tenant. Its ExpiresAt is
// capped at the grant's ExpiresAt, so no token outlives its grant whatever
// the caller computed; an empty ClientID is the grant's, another one than
// the grant's is refused.
func (s *Store) CreateRefreshToken(ctx context.Context, tenantID string, t session.RefreshToken) error {
	op := fmt.Sprintf("create refresh token of grant %s in tenant %s", t.GrantID, tenantID)
	if err := errors.Join(checkTenant(tenantID, t.TenantID), checkHash("refresh token", t.Hash)); err != nil {
		return wrapSession(op, err)
	}
	return s.writeSession(ctx, op, func(tx *sql.Tx) error {
		g, err := scanGrant(tx.QueryRowContext(ctx, `SELECT `+grantColumns+` FROM grants
			WHERE tenant_id = ? AND id = ?`, tenantID, t.GrantID))
		if err != nil {
			return fmt.Errorf("grant: %w", err)
		}
		return s.insertRefreshToken(ctx, tx, tenantID, t, g)
	})
}

// insertRefreshToken stores t, a token of g, with the rules of
// CreateRefreshToken.
func (s *Store) insertRefreshToken(ctx context.Context, tx *sql.Tx, tenantID string, t session.RefreshToken, g session.Grant) error {
	if t.GrantID == "" {
		t.GrantID = g.ID
	}
	if t.ClientID == "" {
		t.ClientID = g.ClientID
	}
	if t.GrantID != g.ID || t.ClientID != g.ClientID {
		return fmt.Errorf("refresh token of grant %s for client %s does not belong to grant %s of client %s",
			t.GrantID, t.ClientID, g.ID, g.ClientID)
	}
	if t.ExpiresAt.After(g.ExpiresAt) {
		t.ExpiresAt = g.ExpiresAt
	}
	_, err := s.batch.exec(ctx, tx, insertRefreshTokenSQL,
		tenantID, t.Hash, t.GrantID, t.ClientID, encTime(t.CreatedAt), encTime(t.ExpiresAt),
		encTime(t.UsedAt), nonNil(t.SuccessorHash), nonNil(t.SuccessorSealed), t.AccessTokens.String(),
		encTime(t.AccessTokenExpiresAt), t.Generation)
	return err
}

// GetRefreshToken returns the refresh token with its grant, whatever their
// state.
func (s *Store) GetRefreshToken(ctx context.Context, tenantID string, hash []byte) (session.RefreshToken, session.Grant, error) {
	t, g, err := scanTokenAndGrant(s.readRow(ctx, tokenAndGrant, tenantID, hash))
	return t, g, wrapSession("get refresh token in tenant "+tenantID, err)
}

// RotateRefreshToken is one write transaction that reads the presented
// token with its grant and decides, in this order:
//
//  1. unknown: session.ErrNotFound.
//  2. already used (a used token is reported as used whatever else holds,
//     so that every replay is detected):
//     - within the grace window of an active grant: nothing changes; the
//     token, with its SuccessorSealed, and session.ErrUsed. If the sealed
//     response was already forgotten (ForgetSealed with a shorter window
//     than grace) SuccessorSealed is empty and the grant stays active.
//     - otherwise: the grant is revoked with its feed entry (a no-op for
//     a grant already revoked: one entry however many replays), and the
//     token with SuccessorSealed empty and session.ErrUsed. The revocation
//     is committed although an error is returned.
//     The window is grace > 0 and now - UsedAt <= grace. grace <= 0 is no
//     window at all, not a window of one instant: the policy turns the
//     grace off with a negative value that Effective makes 0, and a
//     replay in the very microsecond of the rotation is still a replay.
//  3. grant revoked: session.ErrRevoked.
//  4. token or grant expired (now at or after its ExpiresAt):
//     session.ErrExpired.
//  5. otherwise the rotation: the presented token is marked used at now
//     with next's hash and sealed as successor, and next is stored, as by
//     CreateRefreshToken (same grant and client, ExpiresAt capped at the
//     grant's: the store caps rather than trusting the caller, so the
//     grant's absolute expiry holds whatever the caller computed).
//
// Times are compared at the store's microsecond precision. Every write
// goes through the one writer (see batcher), which runs concurrent
// rotations one after another, each in its own savepoint of a group
// commit, and the mark is a conditional update: of concurrent rotations
// of one token exactly one stores a successor; the others see it used.
// The call returns after the commit that makes the successor durable.
func (s *Store) RotateRefreshToken(ctx context.Context, tenantID string, presented []byte, next session.RefreshToken, sealed []byte, now time.Time, grace time.Duration, feedExpiry time.Time) (session.RefreshToken, error) {
	op := "rotate refresh token in tenant " + tenantID
	if err := errors.Join(checkTenant(tenantID, next.TenantID), checkHash("next refresh token", next.Hash)); err != nil {
		return session.RefreshToken{}, wrapSession(op, err)
	}
	if now.IsZero() {
		return session.RefreshToken{}, wrapSession(op, errors.New("rotation time is the zero time"))
	}
	now = decTime(encTime(now))
	var out session.RefreshToken
	var outcome error // the contract's answer, when the transaction commits
	err := s.writeSession(ctx, op, func(tx *sql.Tx) error {
		t, g, err := scanTokenAndGrant(s.batch.queryRow(ctx, tx, tokenAndGrant, tenantID, presented))
		if err != nil {
			return err
		}
		if !t.UsedAt.IsZero() {
			if grace > 0 && now.Sub(t.UsedAt) <= grace && g.RevokedAt.IsZero() {
				out, outcome = t, fmt.Errorf("within the grace window: %w", session.ErrUsed)
				return nil
			}
			if _, err := revokeGrant(ctx, tx, tenantID, g.ID, now, feedExpiry); err != nil {
				return err
			}
			t.SuccessorSealed = []byte{}
			out, outcome = t, fmt.Errorf("replayed after the grace window, grant %s revoked: %w", g.ID, session.ErrUsed)
			return nil
		}
		switch {
		case !g.RevokedAt.IsZero():
			return fmt.Errorf("grant %s: %w", g.ID, session.ErrRevoked)
		case !now.Before(t.ExpiresAt):
			return fmt.Errorf("refresh token %w at %s", session.ErrExpired, t.ExpiresAt.Format(time.RFC3339Nano))
		case !now.Before(g.ExpiresAt):
			return fmt.Errorf("grant %s: %w", g.ID, session.ErrExpired)
		}
		res, err := s.batch.exec(ctx, tx, markRefreshTokenUsed,
			encTime(now), next.Hash, nonNil(sealed), tenantID, presented)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return session.ErrUsed // unreachable with one writer; kept for safety
		}
		return s.insertRefreshToken(ctx, tx, tenantID, next, g)
	})
	if err != nil {
		return session.RefreshToken{}, err
	}
	return out, wrapSession(op, outcome)
}

// ForgetSealed erases the sealed successor responses of the refresh
// tokens used before before, in every tenant: it is housekeeping, run by
// the server on a timer with before = now - the longest grace window, so
// that no usable token stays recoverable from the database for longer.
func (s *Store) ForgetSealed(ctx context.Context, before time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE refresh_tokens SET successor_sealed = X''
		WHERE length(successor_sealed) > 0 AND used_at <> `+unset+` AND used_at < ?`, encTime(before))
	return wrapSession("forget sealed refresh responses", err)
}
