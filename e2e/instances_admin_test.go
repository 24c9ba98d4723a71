package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/directory"
)

// TestInstancesAdminAuthorityFollowsTheDirectory: two instances on one
// PostgreSQL. An administrator's token works at both; at A its role
// assignment is removed (or, for a user, the user disabled); A refuses at
// once, and B, which answered from its directory cache a moment before,
// refuses as soon as it learns of the write — within its cache's
// staleness bound (a second), through the directory version. Before the
// fix both kept answering 200: the admin API read the token's roles.
func TestInstancesAdminAuthorityFollowsTheDirectory(t *testing.T) {
	c := startCluster(t, 2)
	a, b := via(c.nodes[0].addr), via(c.nodes[1].addr)
	home := c.adminToken(t)
	const users = "/tenants/default/users"

	// An admin client and an admin user, made through A's admin API.
	var app struct {
		AppID string `json:"appId"`
	}
	c.adminCall(t, a, home, "POST", "/tenants/default/applications", map[string]any{"displayName": "cluster admin"}, &app)
	c.adminCall(t, a, home, "POST", "/tenants/default/servicePrincipals", map[string]any{"appId": app.AppID}, nil)
	var cred struct {
		SecretText string `json:"secretText"`
	}
	c.adminCall(t, a, home, "POST", "/tenants/default/applications/"+app.AppID+"/credentials", map[string]any{"type": "secret"}, &cred)
	var ra struct {
		ID string `json:"id"`
	}
	role := map[string]any{"principal": app.AppID, "resource": directory.AdminAPIIdentifierURI, "role": directory.AdminRole}
	c.adminCall(t, a, home, "POST", "/tenants/default/roleAssignments", role, &ra)
	var user struct {
		ID string `json:"id"`
	}
	c.adminCall(t, a, home, "POST", "/tenants/default/users", map[string]any{"userPrincipalName": "cluster-admin", "password": alicePassword}, &user)
	role["principal"] = user.ID
	c.adminCall(t, a, home, "POST", "/tenants/default/roleAssignments", role, nil)

	appTok := c.clientCredentials(t, a, app.AppID, cred.SecretText, directory.AdminAPIIdentifierURI+"/.default")
	c.adminCall(t, a, home, "PUT", "/tenants/default/policy", adminapi.TenantPolicyUpdate{ProductLoginResource: directory.AdminAPIIdentifierURI}, nil)
	resp, err := a.Post(c.url+"/api/v1/users/login", "application/json",
		strings.NewReader(`{"username":"cluster-admin","password":"`+alicePassword+`","resource":"`+directory.AdminAPIIdentifierURI+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if login.AccessToken == "" {
		t.Fatalf("product login: %d", resp.StatusCode)
	}

	for _, tc := range []struct {
		name   string
		token  string
		change func()
		status int
	}{
		{"role assignment removed at A", appTok, func() {
			c.adminCall(t, a, home, "DELETE", "/tenants/default/roleAssignments/"+ra.ID, nil, nil)
		}, http.StatusForbidden},
		{"user disabled at A", login.AccessToken, func() {
			c.adminCall(t, a, home, "PATCH", "/tenants/default/users/"+user.ID, map[string]any{"accountEnabled": false}, nil)
		}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, hc := range []*http.Client{a, b, b} { // B twice: the second answer is from its cache
				if status := adminStatus(t, c, hc, tc.token, "GET", users); status != 200 {
					t.Fatalf("before the change: %d", status)
				}
			}
			tc.change()
			if status := adminStatus(t, c, a, tc.token, "GET", users); status != tc.status {
				t.Errorf("A, right after its own write: %d, want %d", status, tc.status)
			}
			start := time.Now()
			deadline := start.Add(10 * time.Second)
			for {
				status := adminStatus(t, c, b, tc.token, "GET", users)
				if status == tc.status {
					t.Logf("B refused %v after A's write", time.Since(start).Round(10*time.Millisecond))
					break
				}
				if status != 200 || time.Now().After(deadline) {
					t.Fatalf("B: %d %v after A's write, want %d", status, time.Since(start).Round(time.Millisecond), tc.status)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if status := adminStatus(t, c, b, tc.token, "POST", "/tenants/default/roleAssignments"); status != tc.status {
				t.Errorf("B, a write route: %d, want %d", status, tc.status)
			}
		})
	}
}

// adminStatus sends an admin API request through hc and returns its
// status (a write is sent with an empty object).
func adminStatus(t *testing.T, c *cluster, hc *http.Client, token, method, path string) int {
	t.Helper()
	var body io.Reader
	if method != "GET" {
		body = strings.NewReader(`{}`)
	}
	req, _ := http.NewRequest(method, c.url+"/admin/v1"+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
