package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// DeviceCodeGrantType is the grant type of the device code poll (RFC 8628
// §3.4).
const DeviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// Device flow timing: RFC 8628 §3.2's default interval, §3.5's slow_down
// increment, and Entra's 15-minute code lifetime when the server names none.
const (
	defaultDeviceInterval = 5 * time.Second
	slowDownStep          = 5 * time.Second
	defaultDeviceLifetime = 15 * time.Minute
)

// deviceAuthorization is the device authorization response (RFC 8628
// §3.2). Entra's v1 endpoint spells verification_url; its numbers may come
// as strings.
type deviceAuthorization struct {
	DeviceCode      string  `json:"device_code"`
	UserCode        string  `json:"user_code"`
	VerificationURI string  `json:"verification_uri"`
	VerificationURL string  `json:"verification_url"`
	ExpiresIn       flexInt `json:"expires_in"`
	Interval        flexInt `json:"interval"`
	Message         string  `json:"message"`
}

// LoginDeviceCode signs a person in with the device authorization grant
// (RFC 8628), for a machine without a browser: the server's message (where
// to go, which code to type) goes to Status, as az prints it on stderr,
// and the token endpoint is polled until the person has signed in,
// declined, or the code expired, or ctx ends.
func (c *Client) LoginDeviceCode(ctx context.Context, s *Store, l UserLogin) (Profile, error) {
	si, err := c.beginSignIn(ctx, l)
	if err != nil {
		return Profile{}, err
	}
	devEndpoint := endpoint(si.d.DeviceAuthorizationEndpoint,
		si.l.Authority+"/"+url.PathEscape(si.tenantPath())+"/oauth2/v2.0/devicecode", si.l.Tenant)
	body, err := c.postForm(ctx, devEndpoint, url.Values{"client_id": {si.l.ClientID}, "scope": {si.l.scope()}}, "")
	if err != nil {
		return Profile{}, err
	}
	var da deviceAuthorization
	if err := json.Unmarshal(body, &da); err != nil || da.DeviceCode == "" || da.UserCode == "" {
		return Profile{}, fmt.Errorf("%s did not answer with a device code (RFC 8628 §3.2): check --authority", devEndpoint)
	}
	msg := da.Message
	if msg == "" {
		uri := da.VerificationURI
		if uri == "" {
			uri = da.VerificationURL
		}
		// Entra's wording, so instructions read the same everywhere.
		msg = fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", uri, da.UserCode)
	}
	fmt.Fprintln(c.status(), msg)

	interval := defaultDeviceInterval
	if da.Interval.set && da.Interval.v > 0 && da.Interval.v < 3600 {
		interval = time.Duration(da.Interval.v) * time.Second
	}
	lifetime := defaultDeviceLifetime
	if da.ExpiresIn.set && da.ExpiresIn.v > 0 && da.ExpiresIn.v < maxLifetime {
		lifetime = time.Duration(da.ExpiresIn.v) * time.Second
	}
	deadline := c.now().Add(lifetime)
	form := url.Values{
		"grant_type":  {DeviceCodeGrantType},
		"client_id":   {si.l.ClientID},
		"device_code": {da.DeviceCode},
		"client_info": {"1"},
	}
	progress := false
	defer func() {
		if progress {
			fmt.Fprintln(c.status())
		}
	}()
	for {
		if err := c.sleep(ctx, interval); err != nil {
			return Profile{}, fmt.Errorf("stopped waiting for the sign-in: %w", err)
		}
		now := c.now()
		body, err := c.postForm(ctx, si.tokenEndpoint(), form, "")
		var se *ServerError
		switch {
		case err == nil:
			return c.completeSignIn(ctx, s, si, body, now)
		case !errors.As(err, &se):
			return Profile{}, err
		}
		switch se.Code {
		case "authorization_pending":
		case "slow_down":
			// RFC 8628 §3.5: this and every later poll wait 5 s longer.
			interval += slowDownStep
		case "expired_token", "code_expired":
			return Profile{}, fmt.Errorf("the code %s expired before the sign-in completed: run tessera login again", da.UserCode)
		case "access_denied", "authorization_declined":
			return Profile{}, fmt.Errorf("the sign-in with code %s was declined: %w", da.UserCode, se)
		default:
			return Profile{}, se
		}
		if !now.Before(deadline) {
			return Profile{}, fmt.Errorf("the code %s expired before the sign-in completed: run tessera login again", da.UserCode)
		}
		// A dot per poll: the wait is alive.
		fmt.Fprint(c.status(), ".")
		progress = true
	}
}
