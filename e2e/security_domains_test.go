package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/directory"
)

// Issue 13, item 4: domains bind user names to tenants. --domain gives the
// home tenant a further domain, which then names it in URLs and in its
// users' names, and which no other tenant can take; a user from before
// the rule, named in a domain its tenant does not own, signs in nowhere
// and gets no token until renamed.
func TestSecurityDomainsBindNames(t *testing.T) {
	h := startWith(t, t.TempDir(), freeAddr(t), func(c *config.Config) { c.Domain = "contoso.example" })
	n := &namesEnv{t: t, h: h, sys: h.adminToken(), tidA: h.tenant()}
	ctx := context.Background()

	var domains struct {
		Value []struct {
			Domain  string `json:"domain"`
			Primary bool   `json:"primary"`
		} `json:"value"`
	}
	raw, _ := json.Marshal(n.mustAdmin(200, n.sys, "GET", "/tenants/default/domains", nil))
	json.Unmarshal(raw, &domains)
	if len(domains.Value) != 2 || domains.Value[0].Domain != "default" || !domains.Value[0].Primary || domains.Value[1].Domain != "contoso.example" {
		t.Fatalf("the home tenant's domains: %s", raw)
	}
	n.mustAdmin(201, n.sys, "POST", "/tenants/default/users", map[string]any{"userPrincipalName": "alice@contoso.example", "password": alicePassword})
	// The added domain names the tenant in URLs too.
	status, body, _ := h.postForm("/contoso.example/oauth2/v2.0/token", url.Values{"grant_type": {"password"}, "client_id": {directory.CLIClientID},
		"username": {"alice@contoso.example"}, "password": {alicePassword}, "scope": {"openid profile"}}, "", "")
	if status != 200 {
		t.Fatalf("password grant at /contoso.example: %d %v", status, body)
	}
	if id := claimsOf(t, body["id_token"].(string)); id["tid"] != h.tenant() || id["preferred_username"] != "alice@contoso.example" {
		t.Errorf("id token %v", id)
	}

	n.tidB = n.mustAdmin(201, n.sys, "POST", "/tenants", map[string]any{"domain": "fabrikam"})["id"].(string)
	for _, d := range []string{"contoso.example", "Default"} {
		if status, body := n.adminCall(n.sys, "POST", "/tenants/fabrikam/domains", map[string]any{"domain": d}); status != http.StatusConflict {
			t.Errorf("giving fabrikam %s: %d %v, want 409", d, status, body)
		}
	}
	if status, body := n.adminCall(n.sys, "POST", "/tenants", map[string]any{"domain": "contoso.example"}); status != http.StatusConflict {
		t.Errorf("a tenant named contoso.example: %d %v, want 409", status, body)
	}

	// carol, from a database older than the rule: tenant fabrikam named
	// her in the home tenant's domain.
	carol := directory.User{TenantID: n.tidB, ObjectID: "c0c0c0c0-0000-4000-8000-00000000000c", UserPrincipalName: "carol@contoso.example",
		DisplayName: "Carol", Enabled: true, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	carol.UpdatedAt = carol.CreatedAt
	var err error
	if carol.PasswordHash, err = directory.HashPassword(rand.Reader, alicePassword, directory.DefaultPasswordParams); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Store().CreateUser(ctx, n.tidB, carol); err != nil {
		t.Fatal(err)
	}
	grant := func(user, password string) (int, map[string]any) {
		status, body, _ := h.postForm("/fabrikam/oauth2/v2.0/token", url.Values{"grant_type": {"password"}, "client_id": {directory.CLIClientID},
			"username": {user}, "password": {password}, "scope": {"openid profile"}}, "", "")
		return status, body
	}
	status, body = grant("carol@contoso.example", alicePassword)
	if status != 400 || body["error"] != "invalid_grant" || !strings.Contains(body["error_description"].(string), "not in a domain of its tenant") {
		t.Errorf("carol's password grant: %d %s", status, refusal(body))
	}
	// A wrong password says no more than for any name.
	_, wrong := grant("carol@contoso.example", "not the password")
	_, unknown := grant("nobody@fabrikam", "not the password")
	if wrong["error_codes"] == nil || !equalJSON(wrong["error_codes"], unknown["error_codes"]) {
		t.Errorf("carol with a wrong password: %s; an unknown name: %s", refusal(wrong), refusal(unknown))
	}
	fab, err := h.srv.Directory.ResolveTenant(t.Context(), "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.Directory.SetTenantPolicy(t.Context(), fab.ID, directory.TenantPolicy{ProductLoginResource: directory.ManagementIdentifierURI}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/users/login", strings.NewReader(`{"username":"carol@contoso.example","password":"`+alicePassword+`","tenant":"fabrikam","resource":"`+directory.ManagementIdentifierURI+`"}`))
	req.Header.Set("Content-Type", "application/json")
	if status, body, _ := h.do(req); status != 403 || !strings.Contains(body["error_description"].(string), "not in a domain of its tenant") {
		t.Errorf("carol's product login: %d %v", status, body)
	}

	// Renamed into her tenant's domain, she signs in.
	n.mustAdmin(200, n.sys, "PATCH", "/tenants/fabrikam/users/carol@contoso.example", map[string]any{"userPrincipalName": "carol"})
	status, body = grant("carol@fabrikam", alicePassword)
	if status != 200 {
		t.Fatalf("carol renamed: %d %s", status, refusal(body))
	}
	if id := claimsOf(t, body["id_token"].(string)); id["tid"] != n.tidB || id["preferred_username"] != "carol@fabrikam" || id["oid"] != carol.ObjectID {
		t.Errorf("carol's id token %v", id)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
