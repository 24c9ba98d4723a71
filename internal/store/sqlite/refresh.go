package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
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
	t.Hash, t.SuccessorHash, t.SuccessorSealed = stored.NonNil(t.Hash), stored.NonNil(t.SuccessorHash), stored.NonNil(t.SuccessorSealed)
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
	if err := stored.CheckRefreshToken(tenantID, t); err != nil {
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
		encTime(t.UsedAt), stored.NonNil(t.SuccessorHash), stored.NonNil(t.SuccessorSealed), t.AccessTokens.String(),
		encTime(t.AccessTokenExpiresAt), t.Generation)
	return err
}

// GetRefreshToken returns the refresh token with its grant, whatever their
// state.
func (s *Store) GetRefreshToken(ctx context.Context, tenantID string, hash []byte) (session.RefreshToken, session.Grant, error) {
	t, g, err := scanTokenAndGrant(s.readRow(ctx, tokenAndGrant, tenantID, hash))
	return t, g, wrapSession("get refresh token in tenant "+tenantID, err)
}

// MarkRefreshTokenUsed is the compare-and-swap of a rotation, one write
// transaction: it reads the presented token with its grant and, if the
// token is unused and the grant unrevoked (the state session.DecideRotation
// decided to rotate on), marks the token used at now with next's hash and
// sealed as successor, stores next as CreateRefreshToken does (same grant
// and client, ExpiresAt capped at the grant's) and appends superseded. It
// decides nothing: it returns what it read, and whether it swapped.
//
// Every write goes through the one writer (see batcher), which runs
// concurrent rotations one after another, each in its own savepoint of a
// group commit, and the mark is a conditional update: of concurrent
// rotations of one token exactly one swaps; the others read it used. The
// call returns after the commit that makes the successor durable.
func (s *Store) MarkRefreshTokenUsed(ctx context.Context, tenantID string, presented []byte, next session.RefreshToken, sealed []byte, superseded session.Revocation, now time.Time) (session.RefreshToken, session.Grant, bool, error) {
	op := "rotate refresh token in tenant " + tenantID
	if err := stored.CheckRotation(tenantID, next, superseded, now); err != nil {
		return session.RefreshToken{}, session.Grant{}, false, wrapSession(op, err)
	}
	var (
		t       session.RefreshToken
		g       session.Grant
		swapped bool
	)
	err := s.writeSession(ctx, op, func(tx *sql.Tx) error {
		var err error
		swapped = false
		if t, g, err = scanTokenAndGrant(s.batch.queryRow(ctx, tx, tokenAndGrant, tenantID, presented)); err != nil {
			return err
		}
		if !t.UsedAt.IsZero() || !g.RevokedAt.IsZero() {
			return nil // not the state the rotation expects
		}
		res, err := s.batch.exec(ctx, tx, markRefreshTokenUsed, encTime(now), next.Hash, stored.NonNil(sealed), tenantID, presented)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // n == 0 is unreachable with one writer
		}
		if err := s.insertRefreshToken(ctx, tx, tenantID, next, g); err != nil {
			return err
		}
		if superseded.Kind != "" {
			if err := s.appendSuperseded(ctx, tx, tenantID, superseded); err != nil {
				return err
			}
		}
		swapped = true
		return nil
	})
	if err != nil {
		return session.RefreshToken{}, session.Grant{}, false, err
	}
	return t, g, swapped, nil
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
