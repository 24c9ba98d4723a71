package oauth_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

func (f *fixture) login(body string, header http.Header) response {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/users/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	return f.do(req)
}

func (f *fixture) logout(tok string) response {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/users/logout", nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return f.do(req)
}

func TestProductLoginAndLogout(t *testing.T) {
	f := newFixture(t)
	f.setPolicy(directory.TenantPolicy{ProductLoginResource: "api://studies"})
	tenant := http.Header{"X-Tenant-Id": {"contoso"}}
	r := f.login(`{"username":"alice","password":"`+password+`"}`, tenant)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	tok := r.str("access_token")
	if r.header.Get("Authorization") != "Bearer "+tok || r.str("token_type") != "Bearer" || r.body["expires_in"] != float64(86400) {
		t.Errorf("login answer %v %s", r.header, r.raw)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	at := claims(t, tok)
	sid, _ := at["sid"].(string)
	if at["aud"] != f.api.AppID || at["azp"] != directory.CLIClientID || at["exp"].(float64)-at["iat"].(float64) != 86400 || !f.grantActive(sid) {
		t.Errorf("product token %v", at)
	}
	if roles, _ := at["roles"].([]any); len(roles) != 1 || roles[0] != "Reader" {
		t.Errorf("roles %v", at["roles"])
	}
	if r.str("refresh_token") != "" {
		t.Error("a product login returned a refresh token")
	}
	// One grant per login.
	second := f.login(`{"username":"alice@contoso","password":"`+password+`","tenant":"`+f.tenant.ID+`"}`, nil)
	if second.status != 200 || claims(t, second.str("access_token"))["sid"] == sid {
		t.Fatalf("second login: %d %s", second.status, second.raw)
	}

	if out := f.logout(tok); out.status != 204 {
		t.Fatalf("logout: %d %s", out.status, out.raw)
	}
	if f.grantActive(sid) {
		t.Error("logout left the grant active")
	}
	if !f.grantActive(claims(t, second.str("access_token"))["sid"].(string)) {
		t.Error("logout ended another login")
	}
	// Another sign-in's access token ends nothing (review L3): the
	// password grant's, for the same user.
	other := f.token(url.Values{"grant_type": {"password"}, "client_id": {f.public.AppID}, "username": {"alice"},
		"password": {password}, "scope": {"openid api://studies/read"}})
	if other.status != 200 {
		t.Fatalf("password grant: %d %s", other.status, other.raw)
	}
	otherSID, _ := claims(t, other.str("access_token"))["sid"].(string)
	if out := f.logout(other.str("access_token")); out.status != 401 || out.str("error") != "invalid_token" || !f.grantActive(otherSID) {
		t.Errorf("logout with a password grant's token: %d %s, grant active %v", out.status, out.raw, f.grantActive(otherSID))
	}
	for _, bad := range []string{"", "garbage", tok + "x"} {
		out := f.logout(bad)
		if out.status != 401 || out.str("error") != "invalid_token" || !strings.Contains(out.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("logout with %q: %d %s", bad, out.status, out.raw)
		}
	}
}

func TestProductLoginErrors(t *testing.T) {
	f := newFixture(t)
	tenant := http.Header{"X-Tenant-Id": {"contoso"}}
	// No resource in the policy: the product login is off, whatever the
	// request names, and the answer says how to turn it on.
	for _, body := range []string{`{"username":"alice","password":"` + password + `"}`, `{"username":"alice","password":"` + password + `","resource":"api://studies"}`} {
		r := f.login(body, tenant)
		if r.status != 400 || r.str("error") != "invalid_request" || !strings.Contains(r.str("error_description"), "productLoginResource") || r.str("access_token") != "" {
			t.Errorf("no policy, %s: %d %s", body, r.status, r.raw)
		}
	}
	// The policy's resource, named or not; another one is refused.
	policy := directory.TenantPolicy{ProductLoginResource: "api://studies"}
	f.setPolicy(policy)
	if r := f.login(`{"username":"alice","password":"`+password+`","resource":"api://studies"}`, tenant); r.status != 200 {
		t.Fatalf("the policy's resource in the body: %d %s", r.status, r.raw)
	}
	if r := f.login(`{"username":"alice","password":"`+password+`","resource":"api://nothing"}`, tenant); r.status != 400 || !strings.Contains(r.str("error_description"), "not allowed") {
		t.Errorf("a resource the policy does not name: %d %s", r.status, r.raw)
	}
	// No tenant anywhere (no home tenant configured).
	if r := f.login(`{"username":"alice","password":"`+password+`","resource":"api://studies"}`, nil); r.status != 400 {
		t.Errorf("no tenant: %d %s", r.status, r.raw)
	}
	// Bad credentials: one answer for an unknown user and a wrong password.
	wrong := f.login(`{"username":"alice","password":"not the password","resource":"api://studies"}`, tenant)
	unknown := f.login(`{"username":"mallory","password":"`+password+`","resource":"api://studies"}`, tenant)
	if wrong.status != 401 || unknown.status != 401 || string(wrong.raw) != string(unknown.raw) {
		t.Errorf("bad credentials: %d %s / %d %s", wrong.status, wrong.raw, unknown.status, unknown.raw)
	}
	for _, body := range []string{`{"username":"alice"}`, `not json`} {
		if r := f.login(body, tenant); r.status != 400 {
			t.Errorf("%s: %d", body, r.status)
		}
	}
	// Locked: 429 with Retry-After until the lock ends.
	policy.LockoutThreshold, policy.LockoutDuration = 2, 10*time.Minute
	f.setPolicy(policy)
	must(f.dir.CreateUser(f.ctx, f.tenant.ID, directory.UserSpec{UserPrincipalName: "dave", Password: password}))
	var locked response
	for range 2 {
		locked = f.login(`{"username":"dave","password":"wrong wrong wrong","resource":"api://studies"}`, tenant)
	}
	if locked.status != 429 || locked.str("error") != "too_many_attempts" {
		t.Fatalf("locked: %d %s", locked.status, locked.raw)
	}
	if s, err := strconv.Atoi(locked.header.Get("Retry-After")); err != nil || s != 600 {
		t.Errorf("Retry-After %q, want 600", locked.header.Get("Retry-After"))
	}
	// Disabled, with the right password.
	must(f.dir.CreateUser(f.ctx, f.tenant.ID, directory.UserSpec{UserPrincipalName: "erin", Password: password, Disabled: true}))
	if r := f.login(`{"username":"erin","password":"`+password+`","resource":"api://studies"}`, tenant); r.status != 403 {
		t.Errorf("disabled: %d %s", r.status, r.raw)
	}
}
