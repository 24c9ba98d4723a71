package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const codeColumns = `tenant_id, hash, grant_id, client_id, redirect_uri, scopes, resource, nonce,
	code_challenge, code_challenge_method, created_at, expires_at, redeemed_at`

// codeColumnsOf is codeColumns qualified by the table alias c, for joins.
const codeColumnsOf = `c.tenant_id, c.hash, c.grant_id, c.client_id, c.redirect_uri, c.scopes, c.resource,
	c.nonce, c.code_challenge, c.code_challenge_method, c.created_at, c.expires_at, c.redeemed_at`

// scanCode scans the columns of codeColumns, then extra.
func scanCode(sc scanner, extra ...any) (session.Code, error) {
	var c session.Code
	var scopes string
	var created, expires, redeemed int64
	if err := sc.Scan(append([]any{&c.TenantID, &c.Hash, &c.GrantID, &c.ClientID, &c.RedirectURI, &scopes,
		&c.Resource, &c.Nonce, &c.CodeChallenge, &c.CodeChallengeMethod, &created, &expires, &redeemed},
		extra...)...); err != nil {
		return session.Code{}, err
	}
	if err := stored.DecJSON(scopes, &c.Scopes); err != nil {
		return session.Code{}, fmt.Errorf("code of grant %s: decode scopes: %w", c.GrantID, err)
	}
	c.Hash, c.Scopes = stored.NonNil(c.Hash), stored.NonNil(c.Scopes)
	c.CreatedAt, c.ExpiresAt, c.RedeemedAt = decTime(created), decTime(expires), decTime(redeemed)
	return c, nil
}

// CreateCode stores an authorization code of an existing grant:
// session.ErrNotFound if the grant is not in the tenant.
func (s *Store) CreateCode(ctx context.Context, tenantID string, c session.Code) error {
	op := fmt.Sprintf("create code of grant %s in tenant %s", c.GrantID, tenantID)
	if err := stored.CheckCode(tenantID, c); err != nil {
		return wrapSession(op, err)
	}
	scopes, err := stored.EncJSON(stored.NonNil(c.Scopes))
	if err != nil {
		return wrapSession(op, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO codes (`+codeColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tenantID, c.Hash, c.GrantID, c.ClientID, c.RedirectURI, scopes, c.Resource, c.Nonce,
		c.CodeChallenge, c.CodeChallengeMethod, encTime(c.CreatedAt), encTime(c.ExpiresAt), encTime(c.RedeemedAt))
	return wrapSession(op, err)
}

// MarkCodeRedeemed is the compare-and-swap of a redemption, one write
// transaction: it reads the code with its grant and, if the code is
// unredeemed and the grant unrevoked (the state session.DecideRedemption
// decided to redeem on), marks the code redeemed at now. It decides
// nothing: it returns what it read, and whether it swapped. Writes run one
// after another on the single writer, so of concurrent redemptions
// exactly one swaps.
func (s *Store) MarkCodeRedeemed(ctx context.Context, tenantID string, hash []byte, now time.Time) (session.Code, session.Grant, bool, error) {
	op := "redeem code in tenant " + tenantID
	if err := stored.CheckRedemption(tenantID, hash, now); err != nil {
		return session.Code{}, session.Grant{}, false, wrapSession(op, err)
	}
	var (
		c       session.Code
		g       session.Grant
		swapped bool
	)
	err := s.writeSession(ctx, op, func(tx *sql.Tx) error {
		var gr grantRow
		var err error
		swapped = false
		if c, err = scanCode(tx.QueryRowContext(ctx, `SELECT `+codeColumnsOf+`, `+grantColumnsOf+`
			FROM codes c JOIN grants g ON g.tenant_id = c.tenant_id AND g.id = c.grant_id
			WHERE c.tenant_id = ? AND c.hash = ?`, tenantID, hash), gr.dest()...); err != nil {
			return err
		}
		if g, err = gr.decode(); err != nil {
			return err
		}
		if !c.RedeemedAt.IsZero() || !g.RevokedAt.IsZero() {
			return nil // not the state a redemption expects
		}
		res, err := tx.ExecContext(ctx, `UPDATE codes SET redeemed_at = ?
			WHERE tenant_id = ? AND hash = ? AND redeemed_at = `+unset, encTime(now), tenantID, hash)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		swapped = n == 1
		return err
	})
	if err != nil {
		return session.Code{}, session.Grant{}, false, err
	}
	return c, g, swapped, nil
}

// GetCodeAndGrant reads a code with its grant, in one statement, without
// changing either.
func (s *Store) GetCodeAndGrant(ctx context.Context, tenantID string, hash []byte) (session.Code, session.Grant, error) {
	op := "get code in tenant " + tenantID
	var gr grantRow
	c, err := scanCode(s.readRow(ctx, `SELECT `+codeColumnsOf+`, `+grantColumnsOf+`
		FROM codes c JOIN grants g ON g.tenant_id = c.tenant_id AND g.id = c.grant_id
		WHERE c.tenant_id = ? AND c.hash = ?`, tenantID, hash), gr.dest()...)
	if err != nil {
		return session.Code{}, session.Grant{}, wrapSession(op, err)
	}
	g, err := gr.decode()
	if err != nil {
		return session.Code{}, session.Grant{}, wrapSession(op, err)
	}
	return c, g, nil
}

// GetCode reads a code without changing it, so that the token endpoint can
// check the client, the redirect URI and PKCE before spending the code.
func (s *Store) GetCode(ctx context.Context, tenantID string, hash []byte) (session.Code, error) {
	op := "get code in tenant " + tenantID
	c, err := scanCode(s.readRow(ctx, `SELECT `+codeColumns+` FROM codes WHERE tenant_id = ? AND hash = ?`, tenantID, hash))
	if err != nil {
		return session.Code{}, wrapSession(op, err)
	}
	return c, nil
}
