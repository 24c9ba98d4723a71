package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/internal/session"
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
	if err := decJSON(scopes, &c.Scopes); err != nil {
		return session.Code{}, fmt.Errorf("code of grant %s: decode scopes: %w", c.GrantID, err)
	}
	c.Hash, c.Scopes = nonNil(c.Hash), nonNil(c.Scopes)
	c.CreatedAt, c.ExpiresAt, c.RedeemedAt = decTime(created), decTime(expires), decTime(redeemed)
	return c, nil
}

// CreateCode stores an authorization code of an existing grant:
// session.ErrNotFound if the grant is not in the tenant.
func (s *Store) CreateCode(ctx context.Context, tenantID string, c session.Code) error {
	op := fmt.Sprintf("create code of grant %s in tenant %s", c.GrantID, tenantID)
	if err := errors.Join(checkTenant(tenantID, c.TenantID), checkHash("code", c.Hash)); err != nil {
		return wrapSession(op, err)
	}
	scopes, err := encJSON(nonNil(c.Scopes))
	if err != nil {
		return wrapSession(op, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO codes (`+codeColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		tenantID, c.Hash, c.GrantID, c.ClientID, c.RedirectURI, scopes, c.Resource, c.Nonce,
		c.CodeChallenge, c.CodeChallengeMethod, encTime(c.CreatedAt), encTime(c.ExpiresAt), encTime(c.RedeemedAt))
	return wrapSession(op, err)
}

// RedeemCode marks the code redeemed at now, in one transaction that
// reads the code with its grant and then redeems it only if it is still
// unredeemed (a conditional update): of concurrent redemptions exactly one
// succeeds. The checks run in this order:
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
	var code session.Code
	err := s.writeSession(ctx, op, func(tx *sql.Tx) error {
		var grantRevoked, grantExpires int64
		c, err := scanCode(tx.QueryRowContext(ctx, `SELECT `+codeColumnsOf+`, g.revoked_at, g.expires_at
			FROM codes c JOIN grants g ON g.tenant_id = c.tenant_id AND g.id = c.grant_id
			WHERE c.tenant_id = ? AND c.hash = ?`, tenantID, hash), &grantRevoked, &grantExpires)
		if err != nil {
			return err
		}
		switch {
		case !c.RedeemedAt.IsZero():
			code = c
			return session.ErrUsed
		case !decTime(grantRevoked).IsZero():
			return fmt.Errorf("grant %s: %w", c.GrantID, session.ErrRevoked)
		case !now.Before(c.ExpiresAt):
			return fmt.Errorf("code %w at %s", session.ErrExpired, c.ExpiresAt.Format(time.RFC3339Nano))
		case !now.Before(decTime(grantExpires)):
			return fmt.Errorf("grant %s: %w", c.GrantID, session.ErrExpired)
		}
		res, err := tx.ExecContext(ctx, `UPDATE codes SET redeemed_at = ?
			WHERE tenant_id = ? AND hash = ? AND redeemed_at = `+unset, encTime(now), tenantID, hash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return session.ErrUsed
		}
		c.RedeemedAt = decTime(encTime(now))
		code = c
		return nil
	})
	return code, err
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
