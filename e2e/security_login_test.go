package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// The trust boundaries of user tokens (issue 13, review findings L1, L3,
// L4): which resource a product login may mint for, who may hold a token
// of an application that requires assignment, which token may end a
// product login, and what a refresh token may still mint once a consent is
// withdrawn. Each test drives a real server on loopback, as the review's
// repro commands did.

// loginEnv is setupUserApps (api://studies, the native client, alice
// holding Reader) plus api://other (scope read, no assignment), api://locked
// (scope read, role Reader, assignment required) and users bob, carol and
// dave; bob and carol hold Reader on api://locked.
type loginEnv struct {
	h      *harness
	u      userApps
	tid    string
	adm    string
	other  directory.Application
	locked directory.Application
	users  map[string]directory.User
}

const lockedPassword = "correct horse battery staple"

func newLoginEnv(t *testing.T) *loginEnv {
	t.Helper()
	h := start(t)
	e := &loginEnv{h: h, u: setupUserApps(t, h), tid: h.tenant(), adm: h.adminToken(), users: map[string]directory.User{}}
	ctx := context.Background()
	d := h.srv.Directory
	app := func(spec directory.ApplicationSpec, required bool) directory.Application {
		a, err := d.CreateApplication(ctx, e.tid, spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreateServicePrincipal(ctx, e.tid, directory.ServicePrincipalSpec{AppID: a.AppID, AppRoleAssignmentRequired: required}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	e.other = app(directory.ApplicationSpec{DisplayName: "Other API", IdentifierURIs: []string{"api://other"},
		Scopes: []directory.Scope{{Value: "read", Enabled: true}}}, false)
	e.locked = app(directory.ApplicationSpec{DisplayName: "Locked API", IdentifierURIs: []string{"api://locked"},
		Scopes:   []directory.Scope{{Value: "read", Enabled: true}},
		AppRoles: []directory.AppRole{{Value: "Reader", Enabled: true, AllowedMemberTypes: []string{directory.MemberTypeUser}}}}, true)
	e.users["alice"] = e.u.alice
	for _, name := range []string{"bob", "carol", "dave"} {
		u, err := d.CreateUser(ctx, e.tid, directory.UserSpec{UserPrincipalName: name, DisplayName: name, Password: lockedPassword})
		if err != nil {
			t.Fatal(err)
		}
		e.users[name] = u
	}
	for _, name := range []string{"bob", "carol"} {
		if _, err := d.AssignRole(ctx, e.tid, directory.AssignmentSpec{Principal: e.users[name].ObjectID, Resource: e.locked.AppID, Role: "Reader"}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// password is alice's or another user's password.
func (e *loginEnv) password(user string) string {
	if user == "alice" {
		return alicePassword
	}
	return lockedPassword
}

func (e *loginEnv) tokenPath() string { return "/" + e.tid + "/oauth2/v2.0/token" }

// token posts a token request to the tenant's v2 endpoint.
func (e *loginEnv) token(form url.Values) (int, map[string]any) {
	e.h.t.Helper()
	status, body, _ := e.h.postForm(e.tokenPath(), form, "", "")
	return status, body
}

// passwordGrant asks a token of client for user with the password grant.
func (e *loginEnv) passwordGrant(client, user, scope string) (int, map[string]any) {
	return e.token(url.Values{"grant_type": {"password"}, "client_id": {client}, "username": {user},
		"password": {e.password(user)}, "scope": {scope}})
}

func (e *loginEnv) refresh(client, rt, scope string) (int, map[string]any) {
	f := url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {rt}}
	if scope != "" {
		f.Set("scope", scope)
	}
	return e.token(f)
}

// authorize runs the native client's authorization request for scope in a
// fresh browser, signing in as user and accepting consent; it returns the
// redirect to the client (its query holds a code or an error) or fails.
func (e *loginEnv) authorize(t *testing.T, user, scope string) url.Values {
	t.Helper()
	return e.authorizeAs(t, e.u.native.AppID, user, scope)
}

// authorizeAs is authorize for another public client with the same
// redirect URI.
func (e *loginEnv) authorizeAs(t *testing.T, client, user, scope string) url.Values {
	t.Helper()
	q := url.Values{"client_id": {client}, "redirect_uri": {e.u.redirect}, "response_type": {"code"},
		"scope": {scope}, "state": {"st"}, "code_challenge": {secChallenge}, "code_challenge_method": {"S256"}}
	back := e.h.authorizeWithPassword(t, e.h.srv.URL+"/"+e.tid+"/oauth2/v2.0/authorize?"+q.Encode(), user, e.password(user))
	return back.Query()
}

func (e *loginEnv) redeem(code string) (int, map[string]any) {
	return e.redeemAs(e.u.native.AppID, code)
}

func (e *loginEnv) redeemAs(client, code string) (int, map[string]any) {
	return e.token(url.Values{"grant_type": {"authorization_code"}, "client_id": {client}, "code": {code},
		"redirect_uri": {e.u.redirect}, "code_verifier": {secVerifier}})
}

// startDevice starts a device flow of client for scope and returns the
// device code and the user code.
func (e *loginEnv) startDevice(t *testing.T, client, scope string) (deviceCode, userCode string) {
	t.Helper()
	status, body, _ := e.h.postForm("/"+e.tid+"/oauth2/v2.0/devicecode", url.Values{"client_id": {client}, "scope": {scope}}, "", "")
	if status != 200 {
		t.Fatalf("device authorization: %d %v", status, body)
	}
	return body["device_code"].(string), body["user_code"].(string)
}

// approveDevicePage enters the user code, signs in as user and accepts,
// and returns the page the flow ends on.
func (e *loginEnv) approveDevicePage(t *testing.T, userCode, user string) page {
	t.Helper()
	b := e.h.newBrowser(t)
	p, next := b.get(e.h.srv.URL + "/" + e.tid + "/devicelogin")
	if next != nil {
		t.Fatalf("devicelogin redirected to %s", next)
	}
	p, next = b.submit(p.form(t, "device"), url.Values{"user_code": {userCode}}, "")
	p, next = b.walk(p, next, user, e.password(user))
	if next != nil {
		t.Fatalf("device approval redirected to %s", next)
	}
	return p
}

func (e *loginEnv) pollDevice(client, deviceCode string) (int, map[string]any) {
	return e.token(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {client}, "device_code": {deviceCode}})
}

// adminRun runs `tessera admin …` as the bootstrap administrator and fails
// the test if it fails; its output is not read.
func (e *loginEnv) adminRun(t *testing.T, args ...string) {
	t.Helper()
	full := append([]string{"admin"}, args...)
	full = append(full, "--server", e.h.srv.URL, "--token", e.adm, "--ca-file", e.h.srv.CAFile)
	if _, errOut, err := e.h.cli(full...); err != nil {
		t.Fatalf("tessera admin %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
}

// productLogin posts to /api/v1/users/login; resource "" leaves it out.
func (e *loginEnv) productLogin(t *testing.T, user, resource string) (int, map[string]any) {
	t.Helper()
	in := map[string]string{"username": user, "password": e.password(user), "tenant": "default"}
	if resource != "" {
		in["resource"] = resource
	}
	raw, _ := json.Marshal(in)
	req, _ := http.NewRequest("POST", e.h.srv.URL+"/api/v1/users/login", strings.NewReader(string(raw)))
	req.Header.Set("Content-Type", "application/json")
	status, body, _ := e.h.do(req)
	return status, body
}

func (e *loginEnv) productLogout(t *testing.T, token string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.h.srv.URL+"/api/v1/users/logout", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return e.h.do(req)
}

func (e *loginEnv) setPolicy(t *testing.T, p directory.TenantPolicy) {
	t.Helper()
	if _, err := e.h.srv.Directory.SetTenantPolicy(context.Background(), e.tid, p); err != nil {
		t.Fatal(err)
	}
}

// wantAADSTS fails unless the answer is the OAuth error with the AADSTS code.
func wantAADSTS(t *testing.T, status int, body map[string]any, code string, aadsts int) {
	t.Helper()
	codes, _ := body["error_codes"].([]any)
	if status != 400 || body["error"] != code || len(codes) != 1 || codes[0] != float64(aadsts) {
		t.Fatalf("got %d %s (codes %v), want 400 %s AADSTS%d", status, shortBody(body), body["error_codes"], code, aadsts)
	}
}

func audOf(t *testing.T, body map[string]any) string {
	t.Helper()
	tok, _ := body["access_token"].(string)
	if tok == "" {
		t.Fatalf("no access token: %s", shortBody(body))
	}
	aud, _ := claimsOf(t, tok)["aud"].(string)
	return aud
}

// TestSecurityProductLoginResource: review L1 (second half). The product
// login mints only for the resource the tenant's policy names
// (productLoginResource, or one of productLoginResources); with neither
// configured it issues nothing and says how to configure it.
func TestSecurityProductLoginResource(t *testing.T) {
	e := newLoginEnv(t)
	for _, tc := range []struct {
		name     string
		policy   directory.TenantPolicy
		resource string // named in the request
		status   int
		code     string
		describe string // in error_description
		aud      string // of the token, on success
	}{
		{"no policy: a request naming a resource is refused, saying how to configure",
			directory.TenantPolicy{}, "api://studies", 400, "invalid_request", "productLoginResource", ""},
		{"no policy, no resource named: refused, saying how to configure",
			directory.TenantPolicy{}, "", 400, "invalid_request", "productLoginResource", ""},
		{"policy names api://studies: a request naming api://other is refused",
			directory.TenantPolicy{ProductLoginResource: "api://studies"}, "api://other", 400, "invalid_request", "not allowed", ""},
		{"policy names api://studies: a request naming the admin API is refused",
			directory.TenantPolicy{ProductLoginResource: "api://studies"}, directory.AdminAPIIdentifierURI, 400, "invalid_request", "not allowed", ""},
		{"policy names api://studies: a request naming none gets it",
			directory.TenantPolicy{ProductLoginResource: "api://studies"}, "", 200, "", "", e.u.api.AppID},
		{"policy names api://studies: a request naming it by appId gets it",
			directory.TenantPolicy{ProductLoginResource: "api://studies"}, e.u.api.AppID, 200, "", "", e.u.api.AppID},
		{"allow-list names api://other: a request naming it gets it",
			directory.TenantPolicy{ProductLoginResource: "api://studies", ProductLoginResources: []string{"api://other"}}, "api://other", 200, "", "", e.other.AppID},
		{"allow-list only: a request naming none is refused",
			directory.TenantPolicy{ProductLoginResources: []string{"api://other"}}, "", 400, "invalid_request", "resource", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.setPolicy(t, tc.policy)
			status, body := e.productLogin(t, "alice", tc.resource)
			if status != tc.status {
				t.Fatalf("product login: %d %s, want %d", status, refusal(body), tc.status)
			}
			if tc.status != 200 {
				if body["error"] != tc.code || !strings.Contains(fmt.Sprint(body["error_description"]), tc.describe) || body["access_token"] != nil {
					t.Fatalf("product login: %s, want %s mentioning %q", refusal(body), tc.code, tc.describe)
				}
				return
			}
			if aud := audOf(t, body); aud != tc.aud {
				t.Errorf("token for %s, want %s", aud, tc.aud)
			}
		})
	}
}

// TestSecurityAssignmentRequiredForUsers: review L1 (second half). A
// resource whose service principal requires assignment gives no token to a
// user holding none of its roles, on every user grant (Entra's AADSTS50105),
// and the sign-in pages refuse before a code or a device approval; a user
// holding a role gets the token with it.
func TestSecurityAssignmentRequiredForUsers(t *testing.T) {
	e := newLoginEnv(t)
	native := e.u.native.AppID
	lockedScope := "openid profile offline_access api://locked/read"
	e.u.adminConsent(t, e.h, "openid profile offline_access api://locked/read api://studies/read")
	wantReader := func(t *testing.T, status int, body map[string]any) {
		t.Helper()
		wantTokens(t, status, body)
		at := claimsOf(t, body["access_token"].(string))
		if at["aud"] != e.locked.AppID || !slices.Contains(anyStrings(at["roles"]), "Reader") {
			t.Fatalf("token aud %v roles %v, want api://locked with Reader", at["aud"], at["roles"])
		}
	}

	t.Run("password grant: a user without a role is refused", func(t *testing.T) {
		status, body := e.passwordGrant(native, "alice", lockedScope)
		wantAADSTS(t, status, body, "invalid_grant", 50105)
		if d := fmt.Sprint(body["error_description"]); !strings.Contains(d, "alice@") || !strings.Contains(d, "not assigned to a role") {
			t.Errorf("description %q names neither the user nor the rule", d)
		}
		status, body = e.passwordGrant(native, "bob", lockedScope)
		wantReader(t, status, body)
	})
	t.Run("authorization endpoint: no code for a user without a role", func(t *testing.T) {
		back := e.authorize(t, "alice", lockedScope)
		if back.Get("code") != "" || back.Get("error") != "access_denied" || !strings.Contains(back.Get("error_description"), "AADSTS50105") {
			t.Fatalf("authorize as alice: code %t, error %q %q", back.Get("code") != "", back.Get("error"), back.Get("error_description"))
		}
		back = e.authorize(t, "bob", lockedScope)
		status, body := e.redeem(back.Get("code"))
		wantReader(t, status, body)
	})
	t.Run("device code: no approval for a user without a role", func(t *testing.T) {
		dc, uc := e.startDevice(t, native, lockedScope)
		p := e.approveDevicePage(t, uc, "alice")
		if p.kind != "error" || !strings.Contains(p.message(), "AADSTS50105") {
			t.Fatalf("device approval as alice ended on %q: %s", p.kind, p.message())
		}
		status, body := e.pollDevice(native, dc)
		if status != 400 || body["error"] != "access_denied" {
			t.Fatalf("poll after the refusal: %d %s, want access_denied", status, shortBody(body))
		}
		dc, uc = e.startDevice(t, native, lockedScope)
		if p := e.approveDevicePage(t, uc, "bob"); p.kind != "device_done" {
			t.Fatalf("device approval as bob ended on %q: %s", p.kind, p.message())
		}
		status, body = e.pollDevice(native, dc)
		wantReader(t, status, body)
	})
	t.Run("signing in to a client that requires assignment: no code without a role", func(t *testing.T) {
		// The token of openid profile is for the client itself, so the
		// client's own service principal decides, as Entra's does.
		ctx := context.Background()
		d := e.h.srv.Directory
		app, err := d.CreateApplication(ctx, e.tid, directory.ApplicationSpec{DisplayName: "Locked desktop", PublicClient: true,
			RedirectURIs: []string{e.u.redirect}, AppRoles: []directory.AppRole{{Value: "User", Enabled: true, AllowedMemberTypes: []string{directory.MemberTypeUser}}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreateServicePrincipal(ctx, e.tid, directory.ServicePrincipalSpec{AppID: app.AppID, AppRoleAssignmentRequired: true}); err != nil {
			t.Fatal(err)
		}
		e.adminRun(t, "consent", "grant", "--client", app.AppID, "--resource", "openid", "--scope", "openid", "--scope", "profile")
		e.adminRun(t, "role", "assign", "--assignee", "bob@default", "--resource", app.AppID, "--role", "User")
		back := e.authorizeAs(t, app.AppID, "alice", "openid profile")
		if back.Get("code") != "" || back.Get("error") != "access_denied" || !strings.Contains(back.Get("error_description"), "AADSTS50105") {
			t.Fatalf("authorize as alice: code %t, error %q %q", back.Get("code") != "", back.Get("error"), back.Get("error_description"))
		}
		status, body := e.redeemAs(app.AppID, e.authorizeAs(t, app.AppID, "bob", "openid profile").Get("code"))
		wantTokens(t, status, body)
		if at := claimsOf(t, body["access_token"].(string)); at["aud"] != app.AppID || !slices.Contains(anyStrings(at["roles"]), "User") {
			t.Errorf("bob's token: aud %v roles %v", at["aud"], at["roles"])
		}
	})
	t.Run("refresh token of another resource: no token for the locked one", func(t *testing.T) {
		status, body := e.passwordGrant(native, "alice", "openid offline_access api://studies/read")
		wantTokens(t, status, body)
		status, body = e.refresh(native, body["refresh_token"].(string), "api://locked/read")
		wantAADSTS(t, status, body, "invalid_grant", 50105)
	})
	t.Run("assignment removed after sign-in: code, device code and refresh token are refused", func(t *testing.T) {
		code := e.authorize(t, "carol", lockedScope).Get("code")
		dc, uc := e.startDevice(t, native, lockedScope)
		if p := e.approveDevicePage(t, uc, "carol"); p.kind != "device_done" {
			t.Fatalf("device approval as carol ended on %q: %s", p.kind, p.message())
		}
		status, body := e.passwordGrant(native, "carol", lockedScope)
		wantReader(t, status, body)
		rt := body["refresh_token"].(string)
		as, err := e.h.srv.Directory.ListRoleAssignments(context.Background(), e.tid, directory.AssignmentFilter{Principal: e.users["carol"].ObjectID})
		if err != nil || len(as) != 1 {
			t.Fatalf("carol's assignments: %v %v", as, err)
		}
		e.adminRun(t, "role", "remove", "--id", as[0].ID)

		status, body = e.redeem(code)
		wantAADSTS(t, status, body, "invalid_grant", 50105)
		status, body = e.pollDevice(native, dc)
		wantAADSTS(t, status, body, "invalid_grant", 50105)
		status, body = e.refresh(native, rt, "")
		wantAADSTS(t, status, body, "invalid_grant", 50105)
	})
	t.Run("product login: a user without a role is refused", func(t *testing.T) {
		e.setPolicy(t, directory.TenantPolicy{ProductLoginResource: "api://locked"})
		status, body := e.productLogin(t, "alice", "")
		if status != 403 || body["error"] != "not_assigned" || !strings.Contains(fmt.Sprint(body["error_description"]), "not assigned to a role") || body["access_token"] != nil {
			t.Fatalf("product login as alice: %d %s, want 403 not_assigned", status, refusal(body))
		}
		status, body = e.productLogin(t, "bob", "")
		if status != 200 {
			t.Fatalf("product login as bob: %d %s", status, refusal(body))
		}
		if at := claimsOf(t, body["access_token"].(string)); at["aud"] != e.locked.AppID || !slices.Contains(anyStrings(at["roles"]), "Reader") {
			t.Errorf("bob's product token: aud %v roles %v", at["aud"], at["roles"])
		}
	})
}

// TestSecurityProductLogout: review L3. /api/v1/users/logout ends only a
// product login: a token of another client, or one the CLI got through
// the device code or password grant as `az login` does, is refused and
// its sign-in keeps working; a product login's token ends that login only.
func TestSecurityProductLogout(t *testing.T) {
	e := newLoginEnv(t)
	e.u.adminConsent(t, e.h, "openid profile offline_access api://studies/read")
	e.setPolicy(t, directory.TenantPolicy{ProductLoginResource: "api://studies"})
	azScope := "https://management.core.windows.net//.default offline_access openid profile"
	for _, tc := range []struct {
		name   string
		client string
		issue  func(t *testing.T) (int, map[string]any)
	}{
		{"another client's token (authorization code)", e.u.native.AppID, func(t *testing.T) (int, map[string]any) {
			return e.redeem(e.authorize(t, "alice", "openid profile offline_access api://studies/read").Get("code"))
		}},
		{"the CLI's token from the password grant (az login --username)", directory.CLIClientID, func(t *testing.T) (int, map[string]any) {
			return e.passwordGrant(directory.CLIClientID, "alice", azScope)
		}},
		{"the CLI's token from the device code grant (az login --use-device-code)", directory.CLIClientID, func(t *testing.T) (int, map[string]any) {
			dc, uc := e.startDevice(t, directory.CLIClientID, azScope)
			if p := e.approveDevicePage(t, uc, "alice"); p.kind != "device_done" {
				t.Fatalf("device approval ended on %q: %s", p.kind, p.message())
			}
			return e.pollDevice(directory.CLIClientID, dc)
		}},
	} {
		t.Run(tc.name+" is refused and its sign-in lives on", func(t *testing.T) {
			status, body := tc.issue(t)
			wantTokens(t, status, body)
			at, rt := body["access_token"].(string), body["refresh_token"].(string)
			sid, _ := claimsOf(t, at)["sid"].(string)
			status, out, hdr := e.productLogout(t, at)
			if status != 401 || out["error"] != "invalid_token" || !strings.Contains(hdr.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("logout with it: %d %s, want 401 invalid_token", status, refusal(out))
			}
			if _, err := e.h.srv.Sessions.ActiveGrant(context.Background(), e.tid, sid); err != nil {
				t.Fatalf("its grant after the refused logout: %v", err)
			}
			status, body = e.refresh(tc.client, rt, "")
			wantTokens(t, status, body)
		})
	}
	t.Run("a product login's token ends that login only", func(t *testing.T) {
		_, first := e.productLogin(t, "alice", "")
		_, second := e.productLogin(t, "alice", "")
		tok, other := first["access_token"].(string), second["access_token"].(string)
		sid, _ := claimsOf(t, tok)["sid"].(string)
		otherSID, _ := claimsOf(t, other)["sid"].(string)
		if status, out, _ := e.productLogout(t, tok); status != 204 {
			t.Fatalf("logout: %d %s", status, refusal(out))
		}
		if _, err := e.h.srv.Sessions.ActiveGrant(context.Background(), e.tid, sid); err == nil {
			t.Error("the login's grant is active after logout")
		}
		if _, err := e.h.srv.Sessions.ActiveGrant(context.Background(), e.tid, otherSID); err != nil {
			t.Errorf("another login of the same user ended too: %v", err)
		}
		// Logging out twice is not an error: the login has ended.
		if status, out, _ := e.productLogout(t, tok); status != 204 {
			t.Errorf("second logout: %d %s", status, refusal(out))
		}
	})
}

// TestSecurityConsentRevocation: review L4. A refresh token mints only what
// the consents in force allow: once the consent that allowed a resource's
// scopes is withdrawn — the user's own (given on the consent page or by an
// administrator for the user), the admin consent for every user, or the
// resource's pre-authorization of the client — the refresh is refused for
// that resource (consent_required), and the same refresh token still
// serves the resources whose consent stands.
func TestSecurityConsentRevocation(t *testing.T) {
	e := newLoginEnv(t)
	native := e.u.native.AppID
	e.u.adminConsent(t, e.h, "openid profile offline_access")
	both := "openid profile offline_access api://studies/read api://other/read"
	for _, tc := range []struct {
		name  string
		user  string
		grant func(t *testing.T) // makes the consent to api://studies (and api://other)
		rt    func(t *testing.T) string
		drop  func(t *testing.T) // withdraws the consent to api://studies
	}{
		{"the user's consent on the consent page", "alice",
			func(t *testing.T) {},
			func(t *testing.T) string {
				status, body := e.redeem(e.authorize(t, "alice", both).Get("code"))
				wantTokens(t, status, body)
				return body["refresh_token"].(string)
			},
			func(t *testing.T) {
				e.adminRun(t, "consent", "revoke", "--client", native, "--resource", "api://studies", "--user", "alice")
			}},
		{"the user's consent given by an administrator", "bob",
			func(t *testing.T) {
				e.adminRun(t, "consent", "grant", "--client", native, "--resource", "api://studies", "--scope", "read", "--user", "bob")
				e.adminRun(t, "consent", "grant", "--client", native, "--resource", "api://other", "--scope", "read", "--user", "bob")
			}, nil,
			func(t *testing.T) {
				e.adminRun(t, "consent", "revoke", "--client", native, "--resource", "api://studies", "--user", "bob")
			}},
		{"the admin consent for every user", "carol",
			func(t *testing.T) {
				e.adminRun(t, "consent", "grant", "--client", native, "--resource", "api://studies", "--scope", "read")
				e.adminRun(t, "consent", "grant", "--client", native, "--resource", "api://other", "--scope", "read")
			}, nil,
			func(t *testing.T) {
				e.adminRun(t, "consent", "revoke", "--client", native, "--resource", "api://studies")
			}},
		{"the resource's pre-authorization of the client", "dave",
			func(t *testing.T) {
				e.adminRun(t, "app", "update", "--id", "api://studies", "--pre-authorize", native+"=read")
			}, nil,
			func(t *testing.T) {
				e.adminRun(t, "app", "update", "--id", "api://studies", "--pre-authorize", "")
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.grant(t)
			var rt string
			if tc.rt != nil {
				rt = tc.rt(t)
			} else {
				status, body := e.passwordGrant(native, tc.user, both)
				wantTokens(t, status, body)
				rt = body["refresh_token"].(string)
			}
			// Before: the refresh token serves both resources.
			status, body := e.refresh(native, rt, "api://studies/read")
			if wantTokens(t, status, body); audOf(t, body) != e.u.api.AppID {
				t.Fatalf("refresh for api://studies before the withdrawal: aud %s", audOf(t, body))
			}
			rt = body["refresh_token"].(string)
			tc.drop(t)
			for _, scope := range []string{"api://studies/read", "", "api://studies/.default"} {
				status, body = e.refresh(native, rt, scope)
				wantAADSTS(t, status, body, "invalid_grant", 65001)
				if body["suberror"] != "consent_required" {
					t.Errorf("refresh with scope %q: suberror %v, want consent_required", scope, body["suberror"])
				}
			}
			// The refusal spent nothing: the same refresh token still
			// serves the resource whose consent stands.
			status, body = e.refresh(native, rt, "api://other/read")
			if wantTokens(t, status, body); audOf(t, body) != e.other.AppID {
				t.Errorf("refresh for api://other: aud %s", audOf(t, body))
			}
		})
	}
}
