package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// Issue 13, items 2 and 4 (the review's H2 and M1): a tenant cannot
// impersonate another. The review's attack, through the admin API of a
// real server: tenant B's administrator registers tenant A's public
// client id and a user named alice@default (A's domain), then signs in
// through every path — authorization code at /adfs, /organizations,
// /common and B's own endpoint, device code, password grant, refresh,
// product login. No answer may carry a token that names A's client or a
// name of A's domain with B's tenant (nor the reverse), and the
// attacker's credentials must yield no token at all; A's and B's own
// users still sign in, each in its own tenant.

const namesRedirect = "http://localhost:8400/callback"

// namesEnv is the two tenants and what the test saw.
type namesEnv struct {
	t            *testing.T
	h            *harness
	sys, adminB  string // bearer tokens: the home tenant's admin, B's admin
	tidA, tidB   string
	pubA, apiA   string // A's public client and API (appIds)
	apiB         string
	tokens       []seenToken
	attackerPath []string // paths where the attacker's credentials got tokens
}

type seenToken struct{ path, raw string }

// adminCall sends one admin API request over HTTP.
func (n *namesEnv) adminCall(token, method, path string, in any) (int, map[string]any) {
	n.t.Helper()
	raw, _ := json.Marshal(in)
	req, _ := http.NewRequest(method, n.h.srv.URL+"/admin/v1"+path, bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	status, body, _ := n.h.do(req)
	return status, body
}

// mustAdmin is adminCall that must answer want.
func (n *namesEnv) mustAdmin(want int, token, method, path string, in any) map[string]any {
	n.t.Helper()
	status, body := n.adminCall(token, method, path, in)
	if status != want {
		n.t.Fatalf("%s %s: %d %v, want %d", method, path, status, body, want)
	}
	return body
}

// registerClient registers an application with its service principal
// and returns its appId.
func (n *namesEnv) registerClient(token, tenant string, app map[string]any) string {
	n.t.Helper()
	id := n.mustAdmin(201, token, "POST", "/tenants/"+tenant+"/applications", app)["appId"].(string)
	n.mustAdmin(201, token, "POST", "/tenants/"+tenant+"/servicePrincipals", map[string]any{"appId": id})
	return id
}

// consent gives client the OIDC scopes and the API's Read for every user.
func (n *namesEnv) consent(token, tenant, client, api string) {
	n.t.Helper()
	n.mustAdmin(200, token, "POST", "/tenants/"+tenant+"/consents", map[string]any{"clientId": client, "resource": "openid",
		"scopes": []string{"openid", "profile", "email", "offline_access"}})
	if api != "" {
		n.mustAdmin(200, token, "POST", "/tenants/"+tenant+"/consents", map[string]any{"clientId": client, "resource": api, "scopes": []string{"Read"}})
	}
}

func newNamesEnv(t *testing.T) *namesEnv {
	h := start(t)
	n := &namesEnv{t: t, h: h, sys: h.adminToken(), tidA: h.tenant()}
	api := func(uri string) map[string]any {
		return map[string]any{"displayName": uri, "identifierUris": []string{uri}, "scopes": []map[string]any{{"value": "Read"}}}
	}
	pub := map[string]any{"displayName": "Pub", "publicClient": true, "redirectUris": []string{namesRedirect}}
	n.apiA = n.registerClient(n.sys, "default", api("api://api-default"))
	n.pubA = n.registerClient(n.sys, "default", pub)
	n.consent(n.sys, "default", n.pubA, "api://api-default")
	n.mustAdmin(201, n.sys, "POST", "/tenants/default/users", map[string]any{"userPrincipalName": "alice", "password": alicePassword,
		"mail": "alice@default.example"})

	n.tidB = n.mustAdmin(201, n.sys, "POST", "/tenants", map[string]any{"domain": "fabrikam"})["id"].(string)
	n.apiB = n.registerClient(n.sys, "fabrikam", api("api://api-fabrikam"))
	n.mustAdmin(201, n.sys, "POST", "/tenants/fabrikam/users", map[string]any{"userPrincipalName": "bob", "password": alicePassword})
	// B's own administrator, as the review set it up: a client holding
	// Tessera.Admin on B's admin API.
	c2 := n.registerClient(n.sys, "fabrikam", map[string]any{"displayName": "B admin"})
	s2 := n.mustAdmin(201, n.sys, "POST", "/tenants/fabrikam/applications/"+c2+"/credentials", map[string]any{"type": "secret"})["secretText"].(string)
	n.mustAdmin(201, n.sys, "POST", "/tenants/fabrikam/roleAssignments", map[string]any{"principal": c2, "resource": directory.AdminAPIIdentifierURI, "role": directory.AdminRole})
	status, body, _ := h.postForm("/fabrikam/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {c2},
		"client_secret": {s2}, "scope": {directory.AdminAPIIdentifierURI + "/.default"}}, "", "")
	if status != 200 {
		t.Fatalf("B's admin token: %d %v", status, body)
	}
	n.adminB = body["access_token"].(string)
	// Each tenant's product login is for its own API.
	n.mustAdmin(200, n.sys, "PUT", "/tenants/default/policy", map[string]any{"productLoginResource": "api://api-default"})
	n.mustAdmin(200, n.sys, "PUT", "/tenants/fabrikam/policy", map[string]any{"productLoginResource": "api://api-fabrikam"})
	return n
}

// keep records the tokens of a token response; attacker says the
// credentials were the attacker's, which must never get one.
func (n *namesEnv) keep(path string, body map[string]any, attacker bool) (refresh string) {
	got := false
	for _, k := range []string{"access_token", "id_token"} {
		if raw, _ := body[k].(string); raw != "" {
			n.tokens = append(n.tokens, seenToken{path: path + " " + k, raw: raw})
			got = true
		}
	}
	if got && attacker {
		n.attackerPath = append(n.attackerPath, path)
	}
	rt, _ := body["refresh_token"].(string)
	return rt
}

// authorizeOnce opens an authorization request, signs in once with user
// and password (a refused sign-in is not retried), accepts what follows,
// and returns the code, or "".
func (n *namesEnv) authorizeOnce(authority string, q url.Values, user, password string) string {
	n.t.Helper()
	b := n.h.newBrowser(n.t)
	p, next := b.get(n.h.srv.URL + authority + "?" + q.Encode())
	signedIn := false
	for range 6 {
		if next != nil {
			return next.Query().Get("code")
		}
		switch {
		case p.kind == "signin" && !signedIn:
			signedIn = true
			p, next = b.submit(p.form(n.t, "signin"), url.Values{"username": {user}, "password": {password}}, "")
		case p.kind == "select_account":
			p, next = b.submit(p.form(n.t, "select_account"), nil, "account=continue")
		case p.kind == "consent":
			p, next = b.submit(p.form(n.t, "consent"), nil, "decision=accept")
		default:
			return ""
		}
	}
	return ""
}

// codeFlow runs the authorization code flow with PKCE at an authority
// ("/adfs/oauth2", "/organizations/oauth2/v2.0", …), redeems the code at
// the same authority, refreshes what it got there, and keeps the tokens.
func (n *namesEnv) codeFlow(authority, client, redirect, scope string, hint url.Values, user, password string, attacker bool) bool {
	n.t.Helper()
	q := url.Values{"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {scope},
		"state": {"s"}, "nonce": {"n"}, "code_challenge": {secChallenge}, "code_challenge_method": {"S256"}}
	for k, v := range hint {
		q[k] = v
	}
	code := n.authorizeOnce(authority+"/authorize", q, user, password)
	if code == "" {
		return false
	}
	path := "code " + authority + " " + user
	status, body, _ := n.h.postForm(authority+"/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {client},
		"code": {code}, "redirect_uri": {redirect}, "code_verifier": {secVerifier}}, "", "")
	if status != 200 {
		return false
	}
	if rt := n.keep(path, body, attacker); rt != "" {
		n.refresh(authority, client, rt, path, attacker)
	}
	return true
}

// refresh redeems a refresh token at authority and at /adfs.
func (n *namesEnv) refresh(authority, client, rt, path string, attacker bool) {
	n.t.Helper()
	for _, at := range []string{authority, "/adfs/oauth2"} {
		status, body, _ := n.h.postForm(at+"/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {client},
			"refresh_token": {rt}, "scope": {"openid profile offline_access"}}, "", "")
		if status == 200 {
			rt = n.keep("refresh at "+at+" of "+path, body, attacker)
		}
	}
}

// password runs the password grant at authority.
func (n *namesEnv) password(authority, client, scope, user, password string, attacker bool) bool {
	n.t.Helper()
	path := "password " + authority + " " + user
	status, body, _ := n.h.postForm(authority+"/token", url.Values{"grant_type": {"password"}, "client_id": {client},
		"scope": {scope}, "username": {user}, "password": {password}}, "", "")
	if status != 200 {
		return false
	}
	if rt := n.keep(path, body, attacker); rt != "" {
		n.refresh(authority, client, rt, path, attacker)
	}
	return true
}

// device starts the device flow at authority, approves the user code at
// the page the answer names, and polls.
func (n *namesEnv) device(authority, client, scope, user, password string, attacker bool) bool {
	n.t.Helper()
	status, body, _ := n.h.postForm(authority+"/devicecode", url.Values{"client_id": {client}, "scope": {scope}}, "", "")
	if status != 200 {
		return false
	}
	b := n.h.newBrowser(n.t)
	p, next := b.get(body["verification_uri"].(string))
	if next != nil {
		return false
	}
	p, next = b.submit(p.form(n.t, "device"), url.Values{"user_code": {body["user_code"].(string)}}, "")
	for range 4 {
		if next != nil {
			return false
		}
		switch p.kind {
		case "signin":
			p, next = b.submit(p.form(n.t, "signin"), url.Values{"username": {user}, "password": {password}}, "")
			if p.kind == "signin" { // refused
				return false
			}
		case "select_account":
			p, next = b.submit(p.form(n.t, "select_account"), nil, "account=continue")
		case "consent":
			p, next = b.submit(p.form(n.t, "consent"), nil, "decision=accept")
		}
	}
	if p.kind != "device_done" {
		return false
	}
	status, tok, _ := n.h.postForm(authority+"/token", url.Values{"grant_type": {grantDeviceCode}, "client_id": {client},
		"device_code": {body["device_code"].(string)}}, "", "")
	if status != 200 {
		return false
	}
	path := "device " + authority + " " + user
	if rt := n.keep(path, tok, attacker); rt != "" {
		n.refresh(authority, client, rt, path, attacker)
	}
	return true
}

// productLogin is the product API's login.
func (n *namesEnv) productLogin(tenant, resource, user, password string, attacker bool) bool {
	n.t.Helper()
	raw, _ := json.Marshal(map[string]string{"username": user, "password": password, "tenant": tenant, "resource": resource})
	req, _ := http.NewRequest("POST", n.h.srv.URL+"/api/v1/users/login", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	status, body, _ := n.h.do(req)
	if status != 200 {
		return false
	}
	n.keep("product login "+tenant+" "+user, body, attacker)
	return true
}

// checkTokens holds every token seen to the rule: a token naming A's
// client or API, or a user of A's domain, is A's; one naming a user of
// B's domain is B's.
func (n *namesEnv) checkTokens() {
	t := n.t
	t.Helper()
	if len(n.tokens) == 0 {
		t.Fatal("no token was issued at all")
	}
	t.Logf("%d tokens checked", len(n.tokens))
	for _, tok := range n.tokens {
		c := claimsOf(t, tok.raw)
		tid, _ := c["tid"].(string)
		for _, k := range []string{"aud", "azp", "appid"} {
			if v, _ := c[k].(string); (v == n.pubA || v == n.apiA) && tid != n.tidA {
				t.Errorf("%s: %s %s is tenant A's client, but tid is %s (iss %v, preferred_username %v)", tok.path, k, v, tid, c["iss"], c["preferred_username"])
			}
		}
		for _, k := range []string{"preferred_username", "upn", "unique_name", "email"} {
			v, _ := c[k].(string)
			switch d := directory.UPNDomain(v); {
			case d == "default" && tid != n.tidA:
				t.Errorf("%s: %s %s is in tenant A's domain, but tid is %s (aud %v)", tok.path, k, v, tid, c["aud"])
			case d == "fabrikam" && tid != n.tidB:
				t.Errorf("%s: %s %s is in tenant B's domain, but tid is %s (aud %v)", tok.path, k, v, tid, c["aud"])
			}
		}
	}
	if len(n.attackerPath) > 0 {
		t.Errorf("tenant B's user alice@default got tokens through: %s", strings.Join(n.attackerPath, "; "))
	}
}

func TestSecurityTenantsCannotImpersonateEachOther(t *testing.T) {
	n := newNamesEnv(t)
	const evil = "Evil-Password-123"

	// The attack's setup, each step through B's own admin API token.
	t.Run("B's admin cannot register A's client id", func(t *testing.T) {
		status, body := n.adminCall(n.adminB, "POST", "/tenants/fabrikam/applications",
			map[string]any{"appId": n.pubA, "displayName": "Pub default", "publicClient": true, "redirectUris": []string{namesRedirect}})
		if status != http.StatusForbidden {
			t.Errorf("B's admin registering A's public client id: %d %v, want 403", status, body)
			if status == 201 { // the hole: finish the squat as the review did
				n.mustAdmin(201, n.adminB, "POST", "/tenants/fabrikam/servicePrincipals", map[string]any{"appId": n.pubA})
				n.consent(n.adminB, "fabrikam", n.pubA, "api://api-fabrikam")
			}
		}
		if status, body := n.adminCall(n.adminB, "POST", "/tenants/fabrikam/applications", map[string]any{"appId": directory.CLIClientID, "displayName": "not the CLI"}); status != http.StatusForbidden {
			t.Errorf("B's admin registering the CLI's id: %d %v, want 403", status, body)
		}
	})
	t.Run("not even the operator can give B an id of A's", func(t *testing.T) {
		if status, body := n.adminCall(n.sys, "POST", "/tenants/fabrikam/applications", map[string]any{"appId": n.apiA, "displayName": "API default"}); status != http.StatusConflict {
			t.Errorf("registering A's API id in B: %d %v, want 409", status, body)
		}
		if status, body := n.adminCall(n.sys, "POST", "/tenants/fabrikam/applications", map[string]any{"appId": directory.ManagementAppID, "displayName": "ARM"}); status != http.StatusBadRequest {
			t.Errorf("registering the management application's id: %d %v, want 400", status, body)
		}
	})
	t.Run("B's admin cannot name a user in A's domain", func(t *testing.T) {
		status, body := n.adminCall(n.adminB, "POST", "/tenants/fabrikam/users",
			map[string]any{"userPrincipalName": "alice@default", "mail": "alice@default.example", "password": evil})
		if status != http.StatusBadRequest || !strings.Contains(body["error"].(map[string]any)["message"].(string), "not a domain of this tenant") {
			t.Errorf("B's admin creating alice@default: %d %v, want 400", status, body)
		}
		if status, body := n.adminCall(n.adminB, "POST", "/tenants/fabrikam/domains", map[string]any{"domain": "default"}); status != http.StatusForbidden {
			t.Errorf("B's admin adding a domain: %d %v, want 403", status, body)
		}
		if status, body := n.adminCall(n.sys, "POST", "/tenants/fabrikam/domains", map[string]any{"domain": "default"}); status != http.StatusConflict {
			t.Errorf("giving B tenant A's domain: %d %v, want 409", status, body)
		}
	})

	scope := "openid profile email offline_access"
	// The rightful users, each in its own tenant; first, since the
	// attacker's wrong passwords for alice@default count against A's alice.
	for _, l := range []struct {
		name string
		run  func() bool
	}{
		{"A's alice, authorization code at /adfs", func() bool {
			return n.codeFlow("/adfs/oauth2", n.pubA, namesRedirect, scope+" api://api-default/Read", nil, "alice@default", alicePassword, false)
		}},
		{"A's alice, authorization code at /organizations", func() bool {
			return n.codeFlow("/organizations/oauth2/v2.0", n.pubA, namesRedirect, scope, nil, "alice@default", alicePassword, false)
		}},
		{"A's alice, authorization code at /common", func() bool {
			return n.codeFlow("/common/oauth2/v2.0", n.pubA, namesRedirect, scope, nil, "alice@default", alicePassword, false)
		}},
		{"A's alice, device code at /adfs", func() bool { return n.device("/adfs/oauth2", n.pubA, scope, "alice@default", alicePassword, false) }},
		{"A's alice, password at /adfs", func() bool { return n.password("/adfs/oauth2", n.pubA, scope, "alice@default", alicePassword, false) }},
		{"A's alice, product login", func() bool { return n.productLogin("default", "api://api-default", "alice", alicePassword, false) }},
		{"B's bob, the CLI's client at /adfs by his domain", func() bool {
			return n.codeFlow("/adfs/oauth2", directory.CLIClientID, "http://localhost:8400", "openid profile offline_access", nil, "bob@fabrikam", alicePassword, false)
		}},
		{"B's bob, password at /adfs with the CLI's client", func() bool {
			return n.password("/adfs/oauth2", directory.CLIClientID, "openid profile offline_access", "bob@fabrikam", alicePassword, false)
		}},
		{"B's bob, password at /organizations with the CLI's client", func() bool {
			return n.password("/organizations/oauth2/v2.0", directory.CLIClientID, "openid profile offline_access", "bob@fabrikam", alicePassword, false)
		}},
		{"B's bob, product login", func() bool { return n.productLogin("fabrikam", "api://api-fabrikam", "bob", alicePassword, false) }},
	} {
		t.Run("rightful: "+l.name, func(t *testing.T) {
			if !l.run() {
				t.Errorf("no tokens")
			}
		})
	}
	// The attacker's sign-ins, as B's alice@default, every way there is.
	hintB := url.Values{"domain_hint": {"fabrikam"}}
	for _, a := range []struct {
		name string
		run  func() bool
	}{
		{"authorization code at /adfs, domain_hint B", func() bool {
			return n.codeFlow("/adfs/oauth2", n.pubA, namesRedirect, scope, hintB, "alice@default", evil, true)
		}},
		{"authorization code at /organizations, domain_hint B", func() bool {
			return n.codeFlow("/organizations/oauth2/v2.0", n.pubA, namesRedirect, scope, hintB, "alice@default", evil, true)
		}},
		{"authorization code at /common, domain_hint B", func() bool {
			return n.codeFlow("/common/oauth2/v2.0", n.pubA, namesRedirect, scope, hintB, "alice@default", evil, true)
		}},
		{"authorization code at B", func() bool {
			return n.codeFlow("/fabrikam/oauth2/v2.0", n.pubA, namesRedirect, scope, nil, "alice@default", evil, true)
		}},
		{"device code at B", func() bool {
			return n.device("/fabrikam/oauth2/v2.0", n.pubA, scope, "alice@default", evil, true)
		}},
		{"device code at /adfs", func() bool { return n.device("/adfs/oauth2", n.pubA, scope, "alice@default", evil, true) }},
		{"password at B", func() bool {
			return n.password("/fabrikam/oauth2/v2.0", n.pubA, scope, "alice@default", evil, true)
		}},
		{"password at /adfs", func() bool { return n.password("/adfs/oauth2", n.pubA, scope, "alice@default", evil, true) }},
		{"password at /organizations", func() bool {
			return n.password("/organizations/oauth2/v2.0", n.pubA, scope, "alice@default", evil, true)
		}},
		{"password at /adfs with the CLI's client", func() bool {
			return n.password("/adfs/oauth2", directory.CLIClientID, scope, "alice@default", evil, true)
		}},
		{"product login at B", func() bool { return n.productLogin("fabrikam", "api://api-fabrikam", "alice@default", evil, true) }},
	} {
		t.Run("attacker: "+a.name, func(t *testing.T) {
			if a.run() {
				t.Errorf("B's alice@default got tokens")
			}
		})
	}

	t.Run("every token names its own tenant's clients and users", func(t *testing.T) { n.checkTokens() })
}
