package oauth_test

import (
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

func (f *fixture) startDevice(scope string) response {
	f.t.Helper()
	r := f.post("/"+f.tenant.ID+"/oauth2/v2.0/devicecode", url.Values{"client_id": {f.public.AppID}, "scope": {scope}})
	if r.status != 200 {
		f.t.Fatalf("devicecode: %d %s", r.status, r.raw)
	}
	return r
}

func (f *fixture) poll(deviceCode string) response {
	f.t.Helper()
	return f.token(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {f.public.AppID}, "device_code": {deviceCode}})
}

// approve does what the device page does when alice approves.
func (f *fixture) approve(userCode, scope string) session.Grant {
	f.t.Helper()
	g := must(f.sess.NewGrant(f.ctx, f.tenant.ID, session.GrantSpec{UserID: f.user.ObjectID, ClientID: f.public.AppID,
		Scopes: strings.Fields(scope), AuthTime: f.clock.Now(), Lifetime: 24 * time.Hour}))
	must(f.sess.ApproveDevice(f.ctx, f.tenant.ID, userCode, f.user.ObjectID, g.ID))
	return g
}

func TestDeviceAuthorizationResponse(t *testing.T) {
	f := newFixture(t)
	r := f.startDevice(fullScope)
	uri := f.srv.URL + "/" + f.tenant.ID + "/devicelogin"
	code := r.str("user_code")
	if !strings.HasPrefix(r.str("device_code"), "tdc_") || code == "" || r.str("verification_uri") != uri ||
		r.str("verification_uri_complete") != uri+"?user_code="+url.QueryEscape(code) || r.body["verification_url"] != nil {
		t.Errorf("response %s", r.raw)
	}
	if r.body["expires_in"] != float64(900) || r.body["interval"] != float64(5) {
		t.Errorf("expires_in %v interval %v", r.body["expires_in"], r.body["interval"])
	}
	if want := "To sign in, use a web browser to open the page " + uri + " and enter the code " + code + " to authenticate."; r.str("message") != want {
		t.Errorf("message %q", r.str("message"))
	}
	// v1: resource, and ADAL's verification_url.
	v1 := f.post("/"+f.tenant.ID+"/oauth2/devicecode", url.Values{"client_id": {f.public.AppID}, "resource": {"https://legacy.example/api"}})
	if v1.status != 200 || v1.str("verification_url") != uri {
		t.Errorf("v1: %d %s", v1.status, v1.raw)
	}
	// RFC 8628 §3.2 errors: the scope is checked at once.
	r = f.post("/"+f.tenant.ID+"/oauth2/v2.0/devicecode", url.Values{"client_id": {f.public.AppID}, "scope": {"api://nothing/read"}})
	wantError(t, r, 400, "invalid_scope", 500011)
	r = f.post("/"+f.tenant.ID+"/oauth2/v2.0/devicecode", url.Values{"client_id": {f.conf.AppID}, "scope": {"openid"}})
	wantError(t, r, 401, "invalid_client", 7000218)
}

// TestDeviceFlow: RFC 8628 §3.4-3.5 — pending, slow_down when polled
// faster than the interval, the tokens once approved, then expired_token.
func TestDeviceFlow(t *testing.T) {
	f := newFixture(t)
	start := f.startDevice(fullScope)
	dc := start.str("device_code")
	wantError(t, f.poll(dc), 400, "authorization_pending", 70016)
	wantError(t, f.poll(dc), 400, "slow_down", 70016)
	f.clock.Advance(5 * time.Second)
	wantError(t, f.poll(dc), 400, "authorization_pending", 70016)

	g := f.approve(start.str("user_code"), fullScope)
	f.clock.Advance(5 * time.Second)
	r := f.poll(dc)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if at := claims(t, r.str("access_token")); at["sid"] != g.ID || at["scp"] != "read" || r.str("refresh_token") == "" || r.str("id_token") == "" {
		t.Errorf("device tokens: %s", r.raw)
	}
	f.clock.Advance(5 * time.Second)
	wantError(t, f.poll(dc), 400, "expired_token", 70019)
}

// A device polling until its user signs in writes nothing to the log at
// info (authorization_pending, slow_down are answers, not refusals); at
// debug each poll is a line.
func TestDevicePollingLogsAtDebugOnly(t *testing.T) {
	f := newFixture(t)
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		f.logLevel.Set(level)
		f.logs.Reset()
		dc := f.startDevice(fullScope).str("device_code")
		wantError(t, f.poll(dc), 400, "authorization_pending", 70016)
		wantError(t, f.poll(dc), 400, "slow_down", 70016)
		f.clock.Advance(10 * time.Second)
		logs := f.logs.String()
		pending, slow := strings.Contains(logs, "error=authorization_pending"), strings.Contains(logs, "error=slow_down")
		if level == slog.LevelInfo && (pending || slow) {
			t.Errorf("polling logged at info:\n%s", logs)
		}
		if level == slog.LevelDebug && (!pending || !slow) {
			t.Errorf("polling not logged at debug:\n%s", logs)
		}
	}
	// Other refusals of the token endpoint still are info lines.
	f.logLevel.Set(slog.LevelInfo)
	f.logs.Reset()
	wantError(t, f.poll("tdc_nothing"), 400, "invalid_grant", 0)
	if !strings.Contains(f.logs.String(), "level=INFO msg=\"oauth error\" error=invalid_grant") {
		t.Errorf("an unknown device code is not an info line:\n%s", f.logs.String())
	}
}

func TestDeviceFlowEnds(t *testing.T) {
	f := newFixture(t)
	t.Run("RFC 8628 §3.5: access_denied", func(t *testing.T) {
		start := f.startDevice("openid")
		check(t, f.sess.DenyDevice(f.ctx, f.tenant.ID, start.str("user_code")))
		wantError(t, f.poll(start.str("device_code")), 400, "access_denied", 0)
	})
	t.Run("RFC 8628 §3.5: expired_token", func(t *testing.T) {
		start := f.startDevice("openid")
		f.clock.Advance(16 * time.Minute)
		wantError(t, f.poll(start.str("device_code")), 400, "expired_token", 70019)
	})
	t.Run("RFC 8628 §3.4: the device code of another client", func(t *testing.T) {
		start := f.startDevice("openid")
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {f.conf.AppID},
			"client_secret": {f.confSecret}, "device_code": {start.str("device_code")}}
		wantError(t, f.token(form), 400, "invalid_grant", 70000)
	})
	t.Run("msal-node: grant_type device_code with code=, at /organizations/", func(t *testing.T) {
		start := f.startDevice(fullScope)
		f.approve(start.str("user_code"), fullScope)
		r := f.post("/organizations/oauth2/v2.0/token", url.Values{"grant_type": {"device_code"}, "client_id": {f.public.AppID}, "code": {start.str("device_code")}})
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}
