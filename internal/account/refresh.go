package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// refreshShared gets a user's token for t by redeeming the refresh token,
// once however many callers want it at the same time. In this process,
// callers for the same token share one flight. Across processes, the
// refresh runs under the config directory's lock, and the cache is read
// again once the lock is held: a process that waited for another's refresh
// uses the token that one obtained, instead of presenting the refresh
// token it already rotated, which tessera would take for a replay (RFC 9700
// §4.14.2) and answer by revoking the sign-in.
func (c *Client) refreshShared(ctx context.Context, s *Store, p Profile, t Target) (Token, error) {
	key := s.Dir() + "\x00" + cacheKey(p, t)
	// The flight outlives a caller that gives up: others may be waiting on
	// it, and the HTTP client's timeout bounds it.
	fctx := context.WithoutCancel(ctx)
	ch := c.flight.DoChan(key, func() (any, error) { return c.refreshLocked(fctx, s, p, t) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return Token{}, r.Err
		}
		return r.Val.(Token), nil
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
}

func (c *Client) refreshLocked(ctx context.Context, s *Store, p Profile, t Target) (Token, error) {
	var tok Token
	err := s.update(func() error {
		doc, err := s.loadTokensDoc()
		if err != nil {
			return err
		}
		now := c.now()
		if cached, ok := doc.cached(p, t, now); ok {
			tok = cached
			return nil
		}
		rt, ok := doc.RefreshTokens[accountKey(p)]
		if !ok || rt.Secret == "" {
			return &LoginRequiredError{Username: p.Username, Cause: errors.New("no refresh token is stored for it")}
		}
		next, rotated, err := c.redeemRefreshToken(ctx, p, t, rt.Secret)
		var se *ServerError
		if errors.As(err, &se) && se.Code == "invalid_grant" {
			if se.ConsentRequired() {
				// Only this resource is refused; the refresh token is
				// good for the others.
				return &ConsentRequiredError{Target: t, Cause: se}
			}
			// Expired, revoked or reused: nothing cached for the
			// account can be trusted any more (RFC 6749 §5.2).
			if dropAccountTokens(doc, p) {
				if werr := s.saveTokensDoc(doc); werr != nil {
					return errors.Join(&LoginRequiredError{Username: p.Username, Cause: se}, werr)
				}
			}
			return &LoginRequiredError{Username: p.Username, Cause: se}
		}
		if err != nil {
			return err
		}
		// tessera rotates the refresh token on every use; Entra may
		// return a new one or none. The newest one is kept.
		if rotated != "" {
			rt.Secret = rotated
			doc.RefreshTokens[accountKey(p)] = rt
		}
		doc.put(p, t, next, now)
		tok = next
		if err := s.saveTokensDoc(doc); err != nil {
			return fmt.Errorf("got a token but cannot store the rotated refresh token in %s: %w", s.Dir(), err)
		}
		return nil
	})
	return tok, err
}

// redeemRefreshToken is the refresh token grant (RFC 6749 §6) for t: scope
// at the v2 endpoint, resource at the v1 endpoint, of the profile's tenant.
// It returns the access token and the rotated refresh token, if any.
func (c *Client) redeemRefreshToken(ctx context.Context, p Profile, t Target, refreshToken string) (Token, string, error) {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {p.ClientID},
		"refresh_token": {refreshToken},
		"client_info":   {"1"},
	}
	if t.V1() {
		form.Set("resource", strings.TrimSpace(t.Resource))
	} else {
		// As MSAL does, the login scopes ride along so that the answer
		// carries a refresh token again (offline_access).
		scopes := strings.Fields(t.Scope)
		for _, s := range loginScopes {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
		form.Set("scope", strings.Join(scopes, " "))
	}
	now := c.now()
	body, err := c.postForm(ctx, TokenEndpoint(p.Authority, p.TenantID, t.V1()), form, Secret(refreshToken))
	if err != nil {
		return Token{}, "", err
	}
	tok, err := parseTokenResponse(body, now)
	if err != nil {
		return Token{}, "", err
	}
	var r userTokenResponse
	_ = json.Unmarshal(body, &r) // parseTokenResponse proved it JSON
	return tok, r.RefreshToken, nil
}

// Logout revokes p's refresh token where the authority advertises a
// revocation endpoint (RFC 7009 §2.1: token, token_type_hint, and the
// public client's client_id), then removes p and everything cached for it.
// Entra advertises none; there logging out only forgets. The account is
// removed even when revocation fails: revokeErr says why it was not
// revoked, for the caller to warn about; err is a failure to remove it.
func (c *Client) Logout(ctx context.Context, s *Store, p Profile) (revoked bool, revokeErr, err error) {
	if p.Type == User {
		revoked, revokeErr = c.revoke(ctx, s, p)
	}
	if _, err := s.RemoveProfile(p); err != nil {
		return revoked, revokeErr, err
	}
	return revoked, revokeErr, nil
}

func (c *Client) revoke(ctx context.Context, s *Store, p Profile) (bool, error) {
	doc, err := s.loadTokensDoc()
	if err != nil {
		return false, err
	}
	rt, ok := doc.RefreshTokens[accountKey(p)]
	if !ok || rt.Secret == "" {
		return false, nil
	}
	d, err := c.Discover(ctx, p.Authority, p.TenantID)
	if err != nil {
		return false, fmt.Errorf("cannot find the revocation endpoint: %w", err)
	}
	if d.RevocationEndpoint == "" {
		return false, nil
	}
	form := url.Values{"token": {rt.Secret}, "token_type_hint": {"refresh_token"}, "client_id": {p.ClientID}}
	if _, err := c.postForm(ctx, d.RevocationEndpoint, form, Secret(rt.Secret)); err != nil {
		return false, fmt.Errorf("the server did not revoke the refresh token: %w", err)
	}
	return true, nil
}
