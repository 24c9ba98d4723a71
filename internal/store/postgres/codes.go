package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/session"
)

const codeColumns = `tenant_id, hash, grant_id, client_id, redirect_uri, scopes, resource, nonce,
	code_challenge, code_challenge_method, created_at, expires_at, redeemed_at`

// scanCode scans the columns of codeColumns, then extra.
func scanCode(row pgx.Row, extra ...any) (session.Code, error) {
	var c session.Code
	if err := row.Scan(append([]any{&c.TenantID, &c.Hash, &c.GrantID, &c.ClientID, &c.RedirectURI, &c.Scopes,
		&c.Resource, &c.Nonce, &c.CodeChallenge, &c.CodeChallengeMethod, &c.CreatedAt, &c.ExpiresAt, &c.RedeemedAt},
		extra...)...); err != nil {
		return session.Code{}, err
	}
	c.Hash, c.Scopes = nonNil(c.Hash), nonNil(c.Scopes)
	c.CreatedAt, c.ExpiresAt, c.RedeemedAt = utc(c.CreatedAt), utc(c.ExpiresAt), utc(c.RedeemedAt)
	return c, nil
}

// CreateCode stores an authorization code of an existing grant:
// session.ErrNotFound if the grant is not in the tenant (the foreign key).
func (s *Store) CreateCode(ctx context.Context, tenantID string, c session.Code) error {
	op := fmt.Sprintf("create code of grant %s in tenant %s", c.GrantID, tenantID)
	if err := errors.Join(checkTenant(tenantID, c.TenantID), checkHash("code", c.Hash)); err != nil {
		return wrapSession(op, err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO codes (`+codeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		tenantID, c.Hash, c.GrantID, c.ClientID, c.RedirectURI, nonNil(c.Scopes), c.Resource, c.Nonce,
		c.CodeChallenge, c.CodeChallengeMethod, c.CreatedAt, c.ExpiresAt, c.RedeemedAt)
	return wrapSession(op, err)
}

// redeemCode is RedeemCode's one statement. It locks the code's grant (a
// share lock: a revocation waits for it, and it for a revocation), then the
// code, reads both as they are once locked, and redeems the code only if
// it is unredeemed, unexpired and its grant active, all in one implicit
// transaction. It returns the code as it was before, the grant's
// revoked_at and expires_at, and whether it redeemed; no row if the code
// does not exist.
//
// The grant is locked before the code because c joins the materialised g:
// c's row lock is taken on rows the join has produced, after g's. Of
// concurrent redemptions one takes the code's lock first and redeems; the
// others wait, then see the code as that one left it (READ COMMITTED
// re-reads a row whose lock it waited for) and redeem nothing.
const redeemCode = `WITH g AS MATERIALIZED (
		SELECT revoked_at AS grant_revoked_at, expires_at AS grant_expires_at FROM grants
		WHERE tenant_id = $1 AND id = (SELECT grant_id FROM codes WHERE tenant_id = $1 AND hash = $2)
		FOR SHARE),
	c AS MATERIALIZED (
		SELECT ` + codeColumns + `, grant_revoked_at, grant_expires_at
		FROM codes, g WHERE tenant_id = $1 AND hash = $2
		FOR NO KEY UPDATE OF codes),
	redeemed AS (
		UPDATE codes SET redeemed_at = $3 FROM c
		WHERE codes.tenant_id = $1 AND codes.hash = $2 AND codes.redeemed_at = ` + notYet + `
		AND c.redeemed_at = ` + notYet + ` AND c.grant_revoked_at = ` + notYet + `
		AND $3 < c.expires_at AND $3 < c.grant_expires_at
		RETURNING 1)
	SELECT ` + codeColumns + `, grant_revoked_at, grant_expires_at, EXISTS (SELECT 1 FROM redeemed) FROM c`

// RedeemCode marks the code redeemed at now, in one statement (one round
// trip: see redeemCode): of concurrent redemptions, on any number of
// instances, exactly one succeeds. The outcome is then named, in this
// order, from the code and grant as the statement locked them:
//   - unknown: session.ErrNotFound;
//   - redeemed before: the code and session.ErrUsed, whatever its grant's
//     state, so that the caller can revoke the grant (RFC 6749 §4.1.2);
//   - grant revoked: session.ErrRevoked;
//   - code expired (now at or after its ExpiresAt) or grant expired:
//     session.ErrExpired.
func (s *Store) RedeemCode(ctx context.Context, tenantID string, hash []byte, now time.Time) (session.Code, error) {
	op := "redeem code in tenant " + tenantID
	if now.IsZero() {
		return session.Code{}, wrapSession(op, errors.New("redemption time is the zero time"))
	}
	now = micro(now)
	var (
		c                          session.Code
		grantRevoked, grantExpires time.Time
		redeemed                   bool
	)
	err := s.statement(ctx, func(q querier) error {
		var err error
		c, err = scanCode(q.QueryRow(ctx, redeemCode, tenantID, hash, now), &grantRevoked, &grantExpires, &redeemed)
		return err
	})
	if err != nil {
		return session.Code{}, wrapSession(op, err)
	}
	switch {
	case !c.RedeemedAt.IsZero():
		return c, wrapSession(op, session.ErrUsed)
	case !grantRevoked.IsZero():
		return session.Code{}, wrapSession(op, fmt.Errorf("grant %s: %w", c.GrantID, session.ErrRevoked))
	case !now.Before(c.ExpiresAt):
		return session.Code{}, wrapSession(op, fmt.Errorf("code %w at %s", session.ErrExpired, c.ExpiresAt.Format(time.RFC3339Nano)))
	case !now.Before(grantExpires):
		return session.Code{}, wrapSession(op, fmt.Errorf("grant %s: %w", c.GrantID, session.ErrExpired))
	case !redeemed:
		// Unreachable: the statement's conditions are the ones above.
		return session.Code{}, wrapSession(op, errors.New("code not redeemed for no known reason"))
	}
	c.RedeemedAt = now
	return c, nil
}

// GetCode reads a code without changing it, so that the token endpoint can
// check the client, the redirect URI and PKCE before spending the code.
func (s *Store) GetCode(ctx context.Context, tenantID string, hash []byte) (session.Code, error) {
	c, err := scanCode(s.pool.QueryRow(ctx, `SELECT `+codeColumns+` FROM codes WHERE tenant_id = $1 AND hash = $2`,
		tenantID, hash))
	if err != nil {
		return session.Code{}, wrapSession("get code in tenant "+tenantID, err)
	}
	return c, nil
}
