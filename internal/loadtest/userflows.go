package loadtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

func (t Target) userScope() string {
	if t.UserScope == "" {
		return "openid profile offline_access"
	}
	return "openid offline_access " + t.UserScope
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// refreshChain is one virtual user's rotation chain: it signs in once with
// the password grant and offline_access, then every request presents the
// latest refresh token it received (RFC 9700 §4.14.2). Users never share
// a chain, so an invalid_grant is a lost rotation, never a race between
// users, and counts as an error; the user then signs in again, untimed.
type refreshChain struct {
	t  Target
	hc *http.Client
	rt string
}

func (r *refreshChain) Ready(ctx context.Context) error {
	if r.rt != "" {
		return nil
	}
	tr, err := postForm(ctx, r.hc, r.t.endpoint("/oauth2/v2.0/token"), url.Values{
		"grant_type": {"password"}, "client_id": {r.t.PublicClientID},
		"username": {r.t.User}, "password": {r.t.Password}, "scope": {r.t.userScope()},
	}, [2]string{})
	if err != nil {
		return err
	}
	r.t.observe("access_token", tr.AccessToken)
	r.t.observe("refresh_token", tr.RefreshToken)
	if tr.RefreshToken == "" {
		return failf("no_refresh_token", "the password grant gave no refresh token (is offline_access allowed?)")
	}
	r.rt = tr.RefreshToken
	return nil
}

// Verify presents the last refresh token the chain was answered with: it
// must still rotate. After a crash or failover, a token whose rotation the
// server committed but never answered is retried here within the grace
// window and gets the successor the dead instance recorded.
func (r *refreshChain) Verify(ctx context.Context) error {
	if r.rt == "" {
		return ErrNothingToVerify
	}
	return r.Do(ctx, nil)
}

func (r *refreshChain) Do(ctx context.Context, _ *Recorder) error {
	tr, err := postForm(ctx, r.hc, r.t.endpoint("/oauth2/v2.0/token"), url.Values{
		"grant_type": {"refresh_token"}, "client_id": {r.t.PublicClientID},
		"refresh_token": {r.rt}, "scope": {r.t.userScope()},
	}, [2]string{})
	var f *Failure
	if errors.As(err, &f) && f.Kind == "invalid_grant" {
		r.rt = "" // the chain is gone: log in again before the next request
	}
	if err != nil {
		return err
	}
	if tr.RefreshToken == "" || tr.AccessToken == "" {
		r.rt = ""
		return failf("no_refresh_token", "the refresh answer lacks a token")
	}
	r.t.observe("access_token", tr.AccessToken)
	r.t.observe("refresh_token", tr.RefreshToken)
	r.rt = tr.RefreshToken
	return nil
}

// authCode is one whole authorization code flow with PKCE (RFC 7636, S256)
// per Do, in a fresh cookie jar so that every flow signs in with the
// password rather than riding a single sign-on session.
type authCode struct{ t Target }

func (a *authCode) Do(ctx context.Context, rec *Recorder) error {
	verifier, state, nonce := randomToken(), randomToken(), randomToken()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {a.t.PublicClientID}, "response_type": {"code"}, "redirect_uri": {a.t.RedirectURI},
		"scope": {a.t.userScope()}, "state": {state}, "nonce": {nonce}, "response_mode": {"query"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	b := newBrowser(a.t)
	p, next, err := b.get(ctx, a.t.endpoint("/oauth2/v2.0/authorize")+"?"+q.Encode())
	if err != nil {
		return err
	}
	p, next, err = b.walk(ctx, p, next, a.t.User, a.t.Password, rec)
	if err != nil {
		return err
	}
	if next == nil {
		return failf("unexpected_page", "authorize ended on the %q page (status %d), not at the redirect URI", p.kind, p.status)
	}
	back := next.Query()
	if e := back.Get("error"); e != "" {
		return failf(e, "the authorization response is an error")
	}
	if !strings.HasPrefix(next.String(), a.t.RedirectURI) || back.Get("state") != state || back.Get("code") == "" {
		return failf("bad_authorization_response", "redirect to %s", next.Redacted())
	}
	a.t.observe("code", back.Get("code"))
	tr, err := postForm(ctx, b.c, a.t.endpoint("/oauth2/v2.0/token"), url.Values{
		"grant_type": {"authorization_code"}, "client_id": {a.t.PublicClientID}, "code": {back.Get("code")},
		"redirect_uri": {a.t.RedirectURI}, "code_verifier": {verifier},
	}, [2]string{})
	if err != nil {
		return err
	}
	if tr.AccessToken == "" {
		return failf("no_access_token", "the code was redeemed for no access token")
	}
	a.t.observe("access_token", tr.AccessToken)
	a.t.observe("refresh_token", tr.RefreshToken)
	return nil
}

// deviceCode is one whole device authorization flow (RFC 8628) per Do: the
// device starts it and polls the token endpoint while the person enters
// the code at /{tenant}/devicelogin, signs in and approves. Polling
// honours interval and slow_down (§3.5), so a flow takes at least one
// interval: the scenario measures flows per second, bound by that wait,
// not the server's capacity.
type deviceCode struct {
	t  Target
	hc *http.Client
}

func (d *deviceCode) Do(ctx context.Context, rec *Recorder) error {
	tokenURL := d.t.endpoint("/oauth2/v2.0/token")
	start, err := postForm(ctx, d.hc, d.t.endpoint("/oauth2/v2.0/devicecode"), url.Values{
		"client_id": {d.t.PublicClientID}, "scope": {d.t.userScope()},
	}, [2]string{})
	if err != nil {
		return err
	}
	if start.DeviceCode == "" || start.UserCode == "" {
		return failf("bad_device_response", "no device_code or user_code")
	}
	pctx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	polled := make(chan error, 1)
	go func() { polled <- d.poll(pctx, tokenURL, start) }()

	if err := d.approve(ctx, start.UserCode, rec); err != nil {
		return err
	}
	return <-polled
}

func (d *deviceCode) poll(ctx context.Context, tokenURL string, start tokenResponse) error {
	interval := time.Duration(max(int64(start.Interval), 1)) * time.Second
	expires := time.Duration(max(int64(start.ExpiresIn), 60)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, expires)
	defer cancel()
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {d.t.PublicClientID}, "device_code": {start.DeviceCode}}
	for {
		tr, err := postForm(ctx, d.hc, tokenURL, form, [2]string{})
		var f *Failure
		switch {
		case err == nil && tr.AccessToken != "":
			return nil
		case err == nil:
			return failf("no_access_token", "the device was granted no access token")
		case errors.As(err, &f) && f.Kind == "authorization_pending":
		case errors.As(err, &f) && f.Kind == "slow_down":
			interval += 5 * time.Second // RFC 8628 §3.5
		default:
			return err
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (d *deviceCode) approve(ctx context.Context, userCode string, rec *Recorder) error {
	b := newBrowser(d.t)
	p, next, err := b.get(ctx, d.t.endpoint("/devicelogin"))
	if err != nil {
		return err
	}
	if next != nil {
		return failf("unexpected_page", "devicelogin redirected to %s", next.Redacted())
	}
	f, err := p.form("device")
	if err != nil {
		return err
	}
	if p, next, err = b.submit(ctx, p, f, url.Values{"user_code": {userCode}}); err != nil {
		return err
	}
	if p, next, err = b.walk(ctx, p, next, d.t.User, d.t.Password, rec); err != nil {
		return err
	}
	if next != nil || p.kind != "device_done" {
		return failf("unexpected_page", "the device approval ended on the %q page (status %d)", p.kind, p.status)
	}
	return nil
}
