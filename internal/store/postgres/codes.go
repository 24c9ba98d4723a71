package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const codeColumns = `tenant_id, hash, grant_id, client_id, redirect_uri, scopes, resource, nonce,
	code_challenge, code_challenge_method, created_at, expires_at, redeemed_at`

// codeColumnsOf is codeColumns qualified by the alias c, for joins.
const codeColumnsOf = `c.tenant_id, c.hash, c.grant_id, c.client_id, c.redirect_uri, c.scopes, c.resource,
	c.nonce, c.code_challenge, c.code_challenge_method, c.created_at, c.expires_at, c.redeemed_at`

// scanCode scans the columns of codeColumns, then extra.
func scanCode(row pgx.Row, extra ...any) (session.Code, error) {
	var c session.Code
	if err := row.Scan(append([]any{&c.TenantID, &c.Hash, &c.GrantID, &c.ClientID, &c.RedirectURI, &c.Scopes,
		&c.Resource, &c.Nonce, &c.CodeChallenge, &c.CodeChallengeMethod, &c.CreatedAt, &c.ExpiresAt, &c.RedeemedAt},
		extra...)...); err != nil {
		return session.Code{}, err
	}
	c.Hash, c.Scopes = stored.NonNil(c.Hash), stored.NonNil(c.Scopes)
	c.CreatedAt, c.ExpiresAt, c.RedeemedAt = utc(c.CreatedAt), utc(c.ExpiresAt), utc(c.RedeemedAt)
	return c, nil
}

// CreateCode stores an authorization code of an existing grant:
// session.ErrNotFound if the grant is not in the tenant (the foreign key).
func (s *Store) CreateCode(ctx context.Context, tenantID string, c session.Code) error {
	op := fmt.Sprintf("create code of grant %s in tenant %s", c.GrantID, tenantID)
	if err := stored.CheckCode(tenantID, c); err != nil {
		return wrapSession(op, err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO codes (`+codeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		tenantID, c.Hash, c.GrantID, c.ClientID, c.RedirectURI, stored.NonNil(c.Scopes), c.Resource, c.Nonce,
		c.CodeChallenge, c.CodeChallengeMethod, c.CreatedAt, c.ExpiresAt, c.RedeemedAt)
	return wrapSession(op, err)
}

// redeemCode is MarkCodeRedeemed's one statement. It locks the code's
// grant (a share lock: a revocation waits for it, and it for a
// revocation), then the code, reads both as they are once locked, and
// redeems the code only if it is in the state the redemption was decided
// on (unredeemed, its grant unrevoked), all in one implicit transaction.
// It returns the code as it was before, its grant, and whether it
// redeemed; no row if the code does not exist.
//
// The grant is locked before the code because c joins the materialised g:
// c's row lock is taken on rows the join has produced, after g's. Of
// concurrent redemptions one takes the code's lock first and redeems; the
// others wait, then see the code as that one left it (READ COMMITTED
// re-reads a row whose lock it waited for) and redeem nothing.
const redeemCode = `WITH g AS MATERIALIZED (
		SELECT ` + grantColumns + ` FROM grants
		WHERE tenant_id = $1 AND id = (SELECT grant_id FROM codes WHERE tenant_id = $1 AND hash = $2)
		FOR SHARE),
	c AS MATERIALIZED (
		SELECT ` + codeColumnsOf + `, ` + grantColumnsOf + `
		FROM codes c, g WHERE c.tenant_id = $1 AND c.hash = $2
		FOR NO KEY UPDATE OF c),
	redeemed AS (
		UPDATE codes SET redeemed_at = $3 FROM c
		WHERE codes.tenant_id = $1 AND codes.hash = $2 AND codes.redeemed_at = ` + notYet + `
		AND c.redeemed_at = ` + notYet + ` AND c.revoked_at = ` + notYet + `
		RETURNING 1)
	SELECT *, EXISTS (SELECT 1 FROM redeemed) FROM c`

// MarkCodeRedeemed is the compare-and-swap of a redemption, in one
// statement (one round trip: see redeemCode): of concurrent redemptions,
// on any number of instances, exactly one marks. It decides nothing: it
// returns the code and grant as the statement locked them.
func (s *Store) MarkCodeRedeemed(ctx context.Context, tenantID string, hash []byte, now time.Time) (session.Code, session.Grant, bool, error) {
	op := "redeem code in tenant " + tenantID
	if err := stored.CheckRedemption(tenantID, hash, now); err != nil {
		return session.Code{}, session.Grant{}, false, wrapSession(op, err)
	}
	now = micro(now)
	var (
		c        session.Code
		gr       grantRow
		redeemed bool
	)
	err := s.statement(ctx, func(q querier) error {
		var err error
		c, err = scanCode(q.QueryRow(ctx, redeemCode, tenantID, hash, now), append(gr.dest(), &redeemed)...)
		return err
	})
	if err != nil {
		return session.Code{}, session.Grant{}, false, wrapSession(op, err)
	}
	return c, gr.decode(), redeemed, nil
}

// GetCodeAndGrant reads a code with its grant, in one statement, without
// changing either.
func (s *Store) GetCodeAndGrant(ctx context.Context, tenantID string, hash []byte) (session.Code, session.Grant, error) {
	var gr grantRow
	c, err := scanCode(s.pool.QueryRow(ctx, `SELECT `+codeColumnsOf+`, `+grantColumnsOf+`
		FROM codes c JOIN grants g ON g.tenant_id = c.tenant_id AND g.id = c.grant_id
		WHERE c.tenant_id = $1 AND c.hash = $2`, tenantID, hash), gr.dest()...)
	if err != nil {
		return session.Code{}, session.Grant{}, wrapSession("get code in tenant "+tenantID, err)
	}
	return c, gr.decode(), nil
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
