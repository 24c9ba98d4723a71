package web_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/session"
)

// TestDeviceLogin (RFC 8628 §3.3): the person enters the code, signs in,
// confirms on the consent page, and the device's next poll gets the grant.
func TestDeviceLogin(t *testing.T) {
	e := newEnv(t)
	dc, uc, _, err := e.sessions.StartDevice(e.ctx, e.tenant.ID, e.native.AppID, []string{"openid", "offline_access", "api://studies/Studies.Read"}, "")
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	a := b.get(e.ts.URL + "/" + e.tenant.ID + "/devicelogin?user_code=" + uc)
	if a.page != "device" || a.forms["device"].fields.Get("user_code") != uc {
		t.Fatalf("verification_uri_complete: page %q fields %v", a.page, a.forms["device"].fields)
	}
	if m := b.post(a, "device", map[string]string{"user_code": "BCDF-GHJK"}).message(); !strings.Contains(m, "not right or has expired") {
		t.Errorf("wrong code: %q", m)
	}
	if a := b.post(a, "device", map[string]string{"csrf_token": ""}); a.status != 403 {
		t.Errorf("device form without CSRF token: status %d", a.status)
	}
	// Typed in lower case without the dash: still the code (RFC 8628 §6.1).
	a = b.post(a, "device", map[string]string{"user_code": strings.ToLower(strings.ReplaceAll(uc, "-", ""))})
	a = b.signIn(a, "alice", password)
	if a.page != "consent" || !strings.Contains(a.body, "Are you trying to sign in to Studies Desktop") || !strings.Contains(a.body, "Read your studies") {
		t.Fatalf("device consent: page %q %q", a.page, a.message())
	}
	if _, _, err := e.sessions.PollDevice(e.ctx, e.tenant.ID, dc, e.native.AppID); !errors.Is(err, session.ErrAuthorizationPending) {
		t.Fatalf("poll before approval: %v", err)
	}
	a = b.post(a, "consent", map[string]string{"decision": "accept"})
	if a.page != "device_done" || !strings.Contains(a.body, "signed in to <strong>Studies Desktop</strong>") {
		t.Fatalf("after approval: page %q %q", a.page, a.message())
	}
	e.clock.Add(session.DeviceInterval)
	d, g, err := e.sessions.PollDevice(e.ctx, e.tenant.ID, dc, e.native.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if g.UserID != e.user.ObjectID || g.BrowserSessionID != "" || d.GrantID != g.ID || !strings.Contains(strings.Join(g.Scopes, " "), "api://studies/Studies.Read") {
		t.Errorf("device grant %+v", g)
	}
	// The code is spent.
	a = b.get(e.ts.URL + "/contoso/devicelogin")
	if m := b.post(a, "device", map[string]string{"user_code": uc}).message(); !strings.Contains(m, "not right or has expired") {
		t.Errorf("used code: %q", m)
	}
	// Logging the browser out (confirmed) does not end the device's grant.
	if a := b.post(b.get(e.ts.URL+"/contoso/oauth2/v2.0/logout"), "logout", map[string]string{"decision": "signout"}); a.page != "signed_out" {
		t.Fatalf("logout: page %q", a.page)
	}
	if _, err := e.sessions.ActiveGrant(e.ctx, e.tenant.ID, g.ID); err != nil {
		t.Errorf("device grant after browser logout: %v", err)
	}

	// Signed in already: straight to the confirmation; Cancel denies.
	dc2, uc2, _, err := e.sessions.StartDevice(e.ctx, e.tenant.ID, e.native.AppID, []string{"openid"}, "")
	if err != nil {
		t.Fatal(err)
	}
	b2, _, _ := e.signedIn()
	a = b2.get(e.ts.URL + "/contoso/devicelogin")
	a = b2.post(a, "device", map[string]string{"user_code": uc2})
	if a.page != "consent" {
		t.Fatalf("device with SSO: page %q", a.page)
	}
	a = b2.post(a, "consent", map[string]string{"decision": "deny"})
	if a.page != "device_done" || !strings.Contains(a.body, "declined") {
		t.Fatalf("deny: page %q", a.page)
	}
	e.clock.Add(session.DeviceInterval)
	if _, _, err := e.sessions.PollDevice(e.ctx, e.tenant.ID, dc2, e.native.AppID); !errors.Is(err, session.ErrAccessDenied) {
		t.Errorf("poll after deny: %v", err)
	}
	if a := e.browser().get(e.ts.URL + "/common/devicelogin"); a.status != 400 || a.page != "error" {
		t.Errorf("common devicelogin: status %d page %q", a.status, a.page)
	}
}
