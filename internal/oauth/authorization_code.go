package oauth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// authorizationCode is the authorization code grant (RFC 6749 §4.1.3)
// with PKCE (RFC 7636). The code was issued by the authorization endpoint
// for a grant (a user's sign-in to the client); redeeming it yields that
// grant's tokens once.
type authorizationCode struct {
	codes interface {
		LookupCode(ctx context.Context, tenantID, code string) (session.Code, error)
		RedeemCode(ctx context.Context, tenantID, code string) (session.Code, session.Grant, error)
	}
	users userFacts
}

// publicClients: native and single-page applications redeem codes with
// PKCE instead of a secret (RFC 8252 §8.1).
func (authorizationCode) publicClients() bool { return true }

// tenantOf: a code names its tenant, so /common/ and /organizations/ can
// redeem it as Entra's do.
func (authorizationCode) tenantOf(req *tokenRequest) (string, *Error) {
	if req.Code == "" {
		return "", errMissingParameter("code")
	}
	tid, ok := session.TenantOf(req.Code)
	if !ok {
		return "", errBadCode(errors.New("the code names no tenant"))
	}
	return tid, nil
}

func (g authorizationCode) authorize(ctx context.Context, req *tokenRequest, client directory.Client) (authorization, *Error) {
	c, gr, oerr := g.redeem(ctx, req, client)
	if oerr != nil {
		return authorization{}, oerr
	}
	// v1 clients may name the resource at the token request instead of
	// the authorization request.
	resource := c.Resource
	if resource == "" && req.Version == 1 {
		resource = req.Resource
	}
	q, oerr := g.users.parseScopes(ctx, req.TenantID, strings.Join(c.Scopes, " "), resource)
	if oerr != nil {
		return authorization{}, oerr
	}
	askedDefault(&q, req.Scope)
	ask := directory.UserTokenAsk{Tenant: req.Tenant, Client: client, UserID: gr.UserID, Scopes: q}
	t, err := g.users.dir.AuthorizeUserToken(ctx, ask)
	if err != nil {
		return authorization{}, userTokenError(ask, t, err)
	}
	return authorization{user: &userAuthorization{UserToken: t, grant: gr, v1Resource: resource, nonce: c.Nonce,
		refresh: true, inactivity: req.Tenant.Policy.Effective().RefreshTokenInactivity}}, nil
}

// redeem checks the code against the request and redeems it, once.
func (g authorizationCode) redeem(ctx context.Context, req *tokenRequest, client directory.Client) (session.Code, session.Grant, *Error) {
	if req.Code == "" {
		return session.Code{}, session.Grant{}, errMissingParameter("code")
	}
	// Checked before the code is touched: a malformed verifier changes
	// nothing.
	if req.CodeVerifier != "" && !validVerifier(req.CodeVerifier) {
		return session.Code{}, session.Grant{}, errPKCE(errors.New("code_verifier is not 43-128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)"))
	}
	// Look before spending: a request from the wrong client, for another
	// redirect URI or with a wrong verifier is refused and the code stays
	// redeemable by its rightful client. A code already redeemed goes
	// straight to RedeemCode, which treats the replay (RFC 6749 §4.1.2).
	c, err := g.codes.LookupCode(ctx, req.TenantID, req.Code)
	if errors.Is(err, session.ErrNotFound) {
		return c, session.Grant{}, errBadCode(err)
	}
	if err != nil {
		return c, session.Grant{}, errServer(err)
	}
	if c.RedeemedAt.IsZero() {
		if oerr := checkCode(c, req, client); oerr != nil {
			return c, session.Grant{}, oerr
		}
	}
	c, gr, err := g.codes.RedeemCode(ctx, req.TenantID, req.Code)
	switch {
	case errors.Is(err, session.ErrUsed):
		// RFC 6749 §4.1.2: a code used twice revokes what was issued from
		// it; RedeemCode has revoked the grant.
		return c, gr, errCodeRedeemed(fmt.Errorf("code of grant %s redeemed again: %w", c.GrantID, err))
	case errors.Is(err, session.ErrExpired):
		return c, gr, errCodeExpired(err)
	case errors.Is(err, session.ErrRevoked):
		return c, gr, errGrantRevoked(err)
	case errors.Is(err, session.ErrNotFound):
		return c, gr, errBadCode(err)
	case err != nil:
		return c, gr, errServer(err)
	}
	return c, gr, nil
}

// checkCode: RFC 6749 §4.1.3, the code was issued to this client, for
// this redirect URI, with this verifier's challenge.
func checkCode(c session.Code, req *tokenRequest, client directory.Client) *Error {
	if !strings.EqualFold(c.ClientID, client.App.AppID) {
		return errBadCode(fmt.Errorf("code of client %s presented by client %s", c.ClientID, client.App.AppID))
	}
	if req.RedirectURI != c.RedirectURI {
		return errRedirectMismatch(fmt.Errorf("redirect_uri %q, code issued for %q", clip(req.RedirectURI), c.RedirectURI))
	}
	return checkPKCE(c, req.CodeVerifier)
}

// checkPKCE verifies the code_verifier against the code's challenge
// (RFC 7636 §4.6). Only S256 is offered (discovery says so); a verifier
// sent for a code issued without a challenge is refused too, as that is
// what a PKCE downgrade looks like (RFC 9700 §4.8.2).
func checkPKCE(c session.Code, verifier string) *Error {
	switch {
	case c.CodeChallenge == "" && verifier == "":
		return nil
	case c.CodeChallenge == "":
		return errPKCE(errors.New("code_verifier sent for a code issued without code_challenge"))
	case verifier == "":
		return errPKCE(errors.New("code_verifier missing; the code was issued with a code_challenge"))
	case c.CodeChallengeMethod != "S256":
		return errPKCE(fmt.Errorf("code_challenge_method %q is not supported", c.CodeChallengeMethod))
	}
	sum := sha256.Sum256([]byte(verifier))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.CodeChallenge)) != 1 {
		return errPKCE(errors.New("BASE64URL(SHA256(code_verifier)) differs from code_challenge"))
	}
	return nil
}

// validVerifier: code-verifier = 43*128unreserved, unreserved = ALPHA /
// DIGIT / "-" / "." / "_" / "~" (RFC 7636 §4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}
