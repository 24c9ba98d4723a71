package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestSecurityAdminApplicationIsBuiltIn: a tenant administrator cannot
// widen the trust its own admin API grants — raise its token lifetime (the
// review's PATCH to 86400 s), add identifier URIs, roles, scopes or
// pre-authorized clients, make it a client, give it a credential, free its
// service principal from assignment, or delete either. Each is a 400 that
// changes nothing; the display name and a shorter lifetime still change.
func TestSecurityAdminApplicationIsBuiltIn(t *testing.T) {
	e := newAdminEnv(t)
	B := e.b
	tb := "/tenants/" + B.ID
	admin, err := e.h.srv.Directory.EnsureAdminApplication(context.Background(), B.ID)
	if err != nil {
		t.Fatal(err)
	}
	appPath := tb + "/applications/" + admin.App.AppID
	spPath := tb + "/servicePrincipals/" + admin.App.AppID
	tenantAdmin := e.appToken(t, e.newAdminApp(t, B, "fabrikam admin"))
	other := e.newAdminApp(t, B, "other client")
	beforeApp := e.must2xx(t, e.home, "GET", appPath, nil)
	beforeSP := e.must2xx(t, e.home, "GET", spPath, nil)
	if beforeApp["accessTokenLifetimeSeconds"] != float64(3600) {
		t.Fatalf("the admin API's tokens live %v s, want 3600", beforeApp["accessTokenLifetimeSeconds"])
	}
	roles := append(beforeApp["appRoles"].([]any), map[string]any{"value": "Tessera.Shadow"})

	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"raise the token lifetime to a day", "PATCH", appPath, map[string]any{"accessTokenLifetimeSeconds": 86400}},
		{"raise the token lifetime past an hour", "PATCH", appPath, map[string]any{"accessTokenLifetimeSeconds": 3601}},
		{"add an identifier URI", "PATCH", appPath, map[string]any{"identifierUris": []string{directory.AdminAPIIdentifierURI, "api://shadow-admin"}}},
		{"add an app role", "PATCH", appPath, map[string]any{"appRoles": roles}},
		{"expose a scope and pre-authorize a client", "PATCH", appPath, map[string]any{"scopes": []any{map[string]any{"value": "Admin.All"}},
			"preAuthorizedApplications": []any{map[string]any{"appId": other.clientID, "scopes": []string{"Admin.All"}}}}},
		{"make it a public client", "PATCH", appPath, map[string]any{"publicClient": true}},
		{"give it a redirect URI", "PATCH", appPath, map[string]any{"redirectUris": []string{"https://evil.example/cb"}}},
		{"give it a secret", "POST", appPath + "/credentials", map[string]any{"type": "secret"}},
		{"delete it", "DELETE", appPath, nil},
		{"free its service principal from assignment", "PATCH", spPath, map[string]any{"appRoleAssignmentRequired": false}},
		{"disable its service principal", "PATCH", spPath, map[string]any{"accountEnabled": false}},
		{"delete its service principal", "DELETE", spPath, nil},
	} {
		for who, tok := range map[string]string{"tenant admin": tenantAdmin, "system admin": e.home} {
			t.Run(tc.name+" as "+who, func(t *testing.T) {
				status, body, _ := e.call(t, tok, tc.method, tc.path, tc.body)
				errBody, _ := body["error"].(map[string]any)
				if status != 400 || errBody["code"] != "BadRequest" || !strings.Contains(fmt.Sprint(errBody["message"]), "built in") {
					t.Errorf("got %d %v, want 400 BadRequest saying the admin API is built in", status, body)
				}
				if got := e.must2xx(t, e.home, "GET", appPath, nil); !sameJSON(got, beforeApp) {
					t.Errorf("the admin API application changed:\n%v\nwas\n%v", got, beforeApp)
				}
				if got := e.must2xx(t, e.home, "GET", spPath, nil); !sameJSON(got, beforeSP) {
					t.Errorf("its service principal changed:\n%v\nwas\n%v", got, beforeSP)
				}
				if creds := e.must2xx(t, e.home, "GET", appPath+"/credentials", nil)["value"].([]any); len(creds) != 0 {
					t.Errorf("the admin API has credentials: %v", creds)
				}
			})
		}
	}
	status, body, _ := e.call(t, tenantAdmin, "POST", tb+"/applications",
		map[string]any{"displayName": "fake admin", "identifierUris": []string{directory.AdminAPIIdentifierURI}})
	if status != 400 && status != 409 {
		t.Errorf("an application taking the admin API's identifier URI: %d %v", status, body)
	}

	// What may change: the name, and the lifetime within the hour.
	got := e.must2xx(t, tenantAdmin, "PATCH", appPath, map[string]any{"displayName": "Fabrikam admin API", "accessTokenLifetimeSeconds": 1800})
	if got["displayName"] != "Fabrikam admin API" || got["accessTokenLifetimeSeconds"] != float64(1800) {
		t.Errorf("allowed edit: %v", got)
	}
}

// TestSecurityAdminTokensLiveAtMostAnHour: every grant that can reach the
// admin API issues tokens of at most an hour — product login included,
// whose tenant policy is a day by default (the review's 24 h admin token),
// and an admin API application stored with a day's lifetime (a database
// from before the cap).
func TestSecurityAdminTokensLiveAtMostAnHour(t *testing.T) {
	e := newAdminEnv(t)
	B := e.b
	ctx := context.Background()
	app := e.newAdminApp(t, B, "lifetime admin")
	user := e.newAdminUser(t, B, "lifetime-admin")

	grants := func(t *testing.T) {
		v2 := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.clientID}, "client_secret": {app.secret},
			"scope": {directory.AdminAPIIdentifierURI + "/.default"}}
		status, body, _ := e.h.postForm("/"+B.ID+"/oauth2/v2.0/token", v2, "", "")
		wantShortAdminToken(t, "client credentials (v2)", status, body)

		v1 := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.clientID}, "client_secret": {app.secret},
			"resource": {directory.AdminAPIIdentifierURI}}
		status, body, _ = e.h.postForm("/"+B.ID+"/oauth2/token", v1, "", "")
		wantShortAdminToken(t, "client credentials (v1)", status, body)

		_, body = e.loginToken(t, user)
		wantShortAdminToken(t, "product login (policy: a day)", 200, body)

		ropc := url.Values{"grant_type": {"password"}, "client_id": {directory.CLIClientID}, "username": {user.upn},
			"password": {user.password}, "scope": {directory.AdminAPIIdentifierURI + "/.default offline_access"}}
		status, body, _ = e.h.postForm("/"+B.ID+"/oauth2/v2.0/token", ropc, "", "")
		wantShortAdminToken(t, "password grant", status, body)
		if rt, ok := body["refresh_token"].(string); ok {
			status, body, _ = e.h.postForm("/"+B.ID+"/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"},
				"client_id": {directory.CLIClientID}, "refresh_token": {rt}, "scope": {directory.AdminAPIIdentifierURI + "/.default"}}, "", "")
			wantShortAdminToken(t, "refresh token", status, body)
		} else {
			t.Error("the password grant with offline_access returned no refresh token")
		}
	}
	t.Run("as registered", grants)

	// The application as a database from before the cap may hold it: a
	// day, written past the directory's rules.
	admin, err := e.h.srv.Directory.EnsureAdminApplication(ctx, B.ID)
	if err != nil {
		t.Fatal(err)
	}
	legacy := admin.App
	legacy.AccessTokenLifetime = 24 * time.Hour
	if err := e.h.srv.Store().UpdateApplication(ctx, B.ID, legacy); err != nil {
		t.Fatal(err)
	}
	t.Run("stored with a day's lifetime", grants)
}

// wantShortAdminToken checks a token answer for the admin API: expires_in
// (a number on v2, a string on v1) and the token's own exp - iat are at
// most an hour.
func wantShortAdminToken(t *testing.T, grant string, status int, body map[string]any) {
	t.Helper()
	tok, _ := body["access_token"].(string)
	if status != 200 || tok == "" {
		t.Errorf("%s: %d %s, want a token", grant, status, shortBody(body))
		return
	}
	var secs float64
	switch v := body["expires_in"].(type) {
	case float64:
		secs = v
	case string:
		secs, _ = strconv.ParseFloat(v, 64)
	}
	c := claimsOf(t, tok)
	life := c["exp"].(float64) - c["iat"].(float64)
	if secs <= 0 || secs > 3600 || life > 3600 {
		t.Errorf("%s: expires_in %v, exp-iat %v s, want at most 3600 (aud %v)", grant, body["expires_in"], life, c["aud"])
	}
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
