package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const refreshTokenColumns = `tenant_id, hash, grant_id, client_id, created_at, expires_at, used_at,
	successor_hash, successor_sealed, access_tokens, access_token_expires_at, generation`

// refreshTokenColumnsOf is refreshTokenColumns qualified by the alias t.
const refreshTokenColumnsOf = `t.tenant_id, t.hash, t.grant_id, t.client_id, t.created_at, t.expires_at, t.used_at,
	t.successor_hash, t.successor_sealed, t.access_tokens, t.access_token_expires_at, t.generation`

// tokenAndGrant selects a refresh token (alias t) with its grant (g).
const tokenAndGrant = `SELECT ` + refreshTokenColumnsOf + `, ` + grantColumnsOf + `
	FROM refresh_tokens t JOIN grants g ON g.tenant_id = t.tenant_id AND g.id = t.grant_id
	WHERE t.tenant_id = $1 AND t.hash = $2`

// refreshTokenDest are the scan destinations of refreshTokenColumns;
// access_tokens goes to issued, in its stored form.
func refreshTokenDest(t *session.RefreshToken, issued *string) []any {
	return []any{&t.TenantID, &t.Hash, &t.GrantID, &t.ClientID, &t.CreatedAt, &t.ExpiresAt, &t.UsedAt,
		&t.SuccessorHash, &t.SuccessorSealed, issued, &t.AccessTokenExpiresAt, &t.Generation}
}

func decodeRefreshToken(t session.RefreshToken, issued string) session.RefreshToken {
	t.Hash, t.SuccessorHash, t.SuccessorSealed = stored.NonNil(t.Hash), stored.NonNil(t.SuccessorHash), stored.NonNil(t.SuccessorSealed)
	t.CreatedAt, t.ExpiresAt, t.UsedAt = utc(t.CreatedAt), utc(t.ExpiresAt), utc(t.UsedAt)
	t.AccessTokenExpiresAt = utc(t.AccessTokenExpiresAt)
	t.AccessTokens = session.ParseIssuedTokens(issued)
	return t
}

// scanTokenAndGrant scans a refresh token's columns, its grant's, then
// extra.
func scanTokenAndGrant(row pgx.Row, extra ...any) (session.RefreshToken, session.Grant, error) {
	var t session.RefreshToken
	var issued string
	var gr grantRow
	dest := append(refreshTokenDest(&t, &issued), gr.dest()...)
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return session.RefreshToken{}, session.Grant{}, err
	}
	return decodeRefreshToken(t, issued), gr.decode(), nil
}

// insertRefreshToken inserts the token $2 … (the parameters below) as a
// token of the grant whose id, client_id and expires_at the query it ends
// names as grant_id, grant_client_id and grant_expires_at: the token takes
// the grant's id and client, and its expiry is capped at the grant's, so
// that no token outlives its grant whatever the caller computed.
const insertRefreshToken = `INSERT INTO refresh_tokens (` + refreshTokenColumns + `)
	SELECT $1::text, $2::bytea, grant_id, grant_client_id, $3::timestamptz, LEAST($4::timestamptz, grant_expires_at),
		$5::timestamptz, $6::bytea, $7::bytea, $8::text, $9::timestamptz, $10::bigint`

// refreshTokenArgs are the parameters $1 … $10 of insertRefreshToken.
func refreshTokenArgs(tenantID string, t session.RefreshToken) []any {
	return []any{tenantID, t.Hash, t.CreatedAt, t.ExpiresAt, t.UsedAt, stored.NonNil(t.SuccessorHash),
		stored.NonNil(t.SuccessorSealed), t.AccessTokens.String(), t.AccessTokenExpiresAt, t.Generation}
}

// CreateRefreshToken stores the first refresh token of a grant, in one
// statement: session.ErrNotFound if the grant is not in the tenant. Its
// ExpiresAt is capped at the grant's ExpiresAt; an empty ClientID is the
// grant's, another one than the grant's is refused.
func (s *Store) CreateRefreshToken(ctx context.Context, tenantID string, t session.RefreshToken) error {
	op := fmt.Sprintf("create refresh token of grant %s in tenant %s", t.GrantID, tenantID)
	if err := stored.CheckRefreshToken(tenantID, t); err != nil {
		return wrapSession(op, err)
	}
	args := append(refreshTokenArgs(tenantID, t), t.GrantID, t.ClientID)
	tag, err := s.pool.Exec(ctx, insertRefreshToken+`
		FROM (SELECT id AS grant_id, client_id AS grant_client_id, expires_at AS grant_expires_at FROM grants
			WHERE tenant_id = $1 AND id = $11 AND ($12 = '' OR client_id = $12)) g`, args...)
	if err != nil || tag.RowsAffected() == 1 {
		return wrapSession(op, err)
	}
	// Nothing inserted: say why.
	var client string
	if err := s.pool.QueryRow(ctx, `SELECT client_id FROM grants WHERE tenant_id = $1 AND id = $2`,
		tenantID, t.GrantID).Scan(&client); err != nil {
		return wrapSession(op, fmt.Errorf("grant: %w", err))
	}
	return wrapSession(op, fmt.Errorf("refresh token for client %s does not belong to grant %s of client %s",
		t.ClientID, t.GrantID, client))
}

// GetRefreshToken returns the refresh token with its grant, whatever their
// state.
func (s *Store) GetRefreshToken(ctx context.Context, tenantID string, hash []byte) (session.RefreshToken, session.Grant, error) {
	t, g, err := scanTokenAndGrant(s.pool.QueryRow(ctx, tokenAndGrant, tenantID, hash))
	return t, g, wrapSession("get refresh token in tenant "+tenantID, err)
}

// rotateRefreshToken is the rotation's compare-and-swap, in one statement
// and so in one round trip (the hot write path of the server):
//
//   - g locks the presented token's grant with a share lock (a revocation
//     of the grant waits for it, and it for a revocation, which therefore
//     cannot commit between the check below and the rotation);
//   - t locks the presented token, after g (t joins the materialised g, and
//     a row is locked once the join has produced it), and reads it with
//     its grant as they are once locked;
//   - marked marks the token used with its successor, only if it is in the
//     state the rotation was decided on (unused, its grant unrevoked) and
//     the successor names the same grant and client (or none);
//   - stored inserts the successor if marked did (insertRefreshToken).
//
// It returns the presented token and its grant as t read them (before the
// mark), and whether it rotated; no row if the token does not exist.
//
// Concurrent rotations of one token queue on t's lock; the first marks the
// token, and each of the others, when the lock is released, re-reads the
// row (READ COMMITTED does so for a row whose lock it waited for), finds
// it used and changes nothing.
const rotateRefreshToken = `WITH g AS MATERIALIZED (
		SELECT tenant_id AS g_tenant_id, id AS g_id, user_id AS g_user_id, client_id AS g_client_id,
			browser_session_id AS g_browser_session_id, scopes AS g_scopes, auth_time AS g_auth_time,
			created_at AS g_created_at, expires_at AS g_expires_at, revoked_at AS g_revoked_at, channel AS g_channel
		FROM grants
		WHERE tenant_id = $1 AND id = (SELECT grant_id FROM refresh_tokens WHERE tenant_id = $1 AND hash = $11)
		FOR SHARE),
	t AS MATERIALIZED (
		SELECT ` + refreshTokenColumnsOf + `, g.* FROM refresh_tokens t, g
		WHERE t.tenant_id = $1 AND t.hash = $11
		FOR NO KEY UPDATE OF t),
	marked AS (
		UPDATE refresh_tokens r SET used_at = $12, successor_hash = $2, successor_sealed = $13
		FROM t
		WHERE r.tenant_id = $1 AND r.hash = $11 AND r.used_at = ` + notYet + `
		AND t.used_at = ` + notYet + ` AND t.g_revoked_at = ` + notYet + `
		AND ($14 = '' OR $14 = t.grant_id) AND ($15 = '' OR $15 = t.g_client_id)
		RETURNING t.grant_id, t.g_client_id AS grant_client_id, t.g_expires_at AS grant_expires_at),
	stored AS (` + insertRefreshToken + ` FROM marked RETURNING 1)
	SELECT *, EXISTS (SELECT 1 FROM stored) FROM t`

// MarkRefreshTokenUsed is the compare-and-swap of a rotation (RFC 9700
// §4.14.2), in one statement (rotateRefreshToken) that rotates if the
// presented token is in the state session.DecideRotation decided to rotate
// on, and returns the token and its grant as it found them. It decides
// nothing. A successor naming another grant or client than the presented
// token's is an error and changes nothing.
//
// The statement runs in a group with this process's other rotations and
// feed appends, one transaction and one round trip (see feedWriter), and
// the superseded entry is appended in that transaction if the rotation
// won: one atomic, durable write. The call returns after its commit.
func (s *Store) MarkRefreshTokenUsed(ctx context.Context, tenantID string, presented []byte, next session.RefreshToken, sealed []byte, superseded session.Revocation, now time.Time) (session.RefreshToken, session.Grant, bool, error) {
	op := "rotate refresh token in tenant " + tenantID
	if err := stored.CheckRotation(tenantID, next, superseded, now); err != nil {
		return session.RefreshToken{}, session.Grant{}, false, wrapSession(op, err)
	}
	now = micro(now)
	rot := &rotation{grantID: next.GrantID, presented: presented, successor: next.Hash,
		args: append(refreshTokenArgs(tenantID, next), presented, now, stored.NonNil(sealed), next.GrantID, next.ClientID)}
	if err := s.rotations.rotate(ctx, tenantID, rot, superseded); err != nil {
		return session.RefreshToken{}, session.Grant{}, false, wrapSession(op, err)
	}
	t, g := rot.t, rot.g
	switch {
	case rot.err != nil:
		return session.RefreshToken{}, session.Grant{}, false, wrapSession(op, rot.err)
	case !rot.rotated && t.UsedAt.IsZero() && g.RevokedAt.IsZero():
		return session.RefreshToken{}, session.Grant{}, false, wrapSession(op, fmt.Errorf(
			"refresh token of grant %s for client %s does not belong to grant %s of client %s",
			next.GrantID, next.ClientID, g.ID, g.ClientID))
	}
	return t, g, rot.rotated, nil
}

// ForgetSealed erases the sealed successor responses of the refresh
// tokens used before before, in every tenant: it is housekeeping, run by
// the server on a timer with before = now - the longest grace window, so
// that no usable token stays recoverable from the database for longer.
func (s *Store) ForgetSealed(ctx context.Context, before time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE refresh_tokens SET successor_sealed = ''::bytea
		WHERE length(successor_sealed) > 0 AND used_at <> `+notYet+` AND used_at < $1`, before)
	return wrapSession("forget sealed refresh responses", err)
}
