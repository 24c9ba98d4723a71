package adminapi

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

func i64(v int64) *int64 { return &v }

func TestTenantPolicy(t *testing.T) {
	e := newEnv(t)
	policy := tenantPath(e.contoso, "/policy")
	var api Application
	e.do("POST", tenantPath(e.contoso, "/applications"), tokAdminA, ApplicationCreate{DisplayName: "product", IdentifierURIs: []string{"api://product"}}).must(t, 201).json(t, &api)
	e.do("POST", tenantPath(e.contoso, "/servicePrincipals"), tokAdminA, directory.ServicePrincipalSpec{AppID: api.AppID}).must(t, 201)

	five := 5
	var got Tenant
	e.do("PUT", policy, tokAdminA, TenantPolicyUpdate{
		RefreshTokenInactivitySeconds: i64(30 * 86400),
		RefreshGraceSeconds:           i64(-1),
		PasswordGrantDisabled:         true,
		ProductLoginLifetimeSeconds:   i64(3600),
		ProductLoginResource:          "api://product",
		LockoutThreshold:              &five,
		SessionLifetimeSeconds:        i64(3600),
	}).must(t, 200).json(t, &got)
	want := TenantPolicy{RefreshTokenInactivitySeconds: 30 * 86400, RefreshTokenLifetimeSeconds: 365 * 86400, RefreshGraceSeconds: -1,
		PasswordGrantDisabled: true, ProductLoginLifetimeSeconds: 3600, ProductLoginResource: "api://product", ProductLoginResources: []string{},
		LockoutThreshold: 5, LockoutDurationSeconds: 900, SessionLifetimeSeconds: 3600}
	if !reflect.DeepEqual(got.Policy, want) || got.ID != e.contoso.ID {
		t.Fatalf("PUT answered %+v, want policy %+v", got, want)
	}
	// The domain holds what was asked: fields left out are the defaults
	// (zero), the grace window is off.
	stored, err := e.dir.ResolveTenant(t.Context(), e.contoso.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p := stored.Policy; p.RefreshGrace >= 0 || p.RefreshTokenLifetime != 0 || p.RefreshTokenInactivity != 30*24*time.Hour ||
		p.LockoutThreshold != 5 || p.ProductLoginResource != "api://product" || !p.PasswordGrantDisabled {
		t.Errorf("stored policy %+v", p)
	}
	e.do("GET", tenantPath(e.contoso, ""), tokAdminA, nil).must(t, 200).json(t, &got)
	if !reflect.DeepEqual(got.Policy, want) {
		t.Errorf("GET shows %+v", got.Policy)
	}

	// A GET's policy sent back changes nothing.
	back := TenantPolicyUpdate{RefreshTokenInactivitySeconds: &want.RefreshTokenInactivitySeconds, RefreshTokenLifetimeSeconds: &want.RefreshTokenLifetimeSeconds,
		RefreshGraceSeconds: &want.RefreshGraceSeconds, PasswordGrantDisabled: want.PasswordGrantDisabled, ProductLoginLifetimeSeconds: &want.ProductLoginLifetimeSeconds,
		ProductLoginResource: want.ProductLoginResource, LockoutThreshold: &want.LockoutThreshold, LockoutDurationSeconds: &want.LockoutDurationSeconds,
		SessionLifetimeSeconds: &want.SessionLifetimeSeconds}
	var again Tenant
	e.do("PUT", policy, tokAdminA, back).must(t, 200).json(t, &again)
	if !reflect.DeepEqual(again.Policy, want) {
		t.Errorf("round trip: %+v", again.Policy)
	}

	// PUT replaces the whole policy: an empty body is every default.
	e.do("PUT", policy, tokAdminA, TenantPolicyUpdate{}).must(t, 200).json(t, &got)
	if !reflect.DeepEqual(got.Policy, policyOut(directory.TenantPolicy{})) || got.Policy.RefreshGraceSeconds != 5 {
		t.Errorf("empty PUT: %+v", got.Policy)
	}
	// A grace window of 0 is no window: off, shown as -1.
	e.do("PUT", policy, tokAdminA, TenantPolicyUpdate{RefreshGraceSeconds: i64(0)}).must(t, 200).json(t, &got)
	if got.Policy.RefreshGraceSeconds != -1 {
		t.Errorf("grace 0: %d", got.Policy.RefreshGraceSeconds)
	}
	if !strings.Contains(e.log.String(), `"kind":"admin.tenant.setPolicy"`) {
		t.Error("the change is not in the audit log")
	}
	// Only the tenant named changed.
	var home Tenant
	e.do("GET", tenantPath(e.home, ""), tokSystem, nil).must(t, 200).json(t, &home)
	if !reflect.DeepEqual(home.Policy, policyOut(directory.TenantPolicy{})) {
		t.Errorf("the home tenant's policy changed: %+v", home.Policy)
	}
}

func TestTenantPolicyBadRequests(t *testing.T) {
	e := newEnv(t)
	policy := tenantPath(e.contoso, "/policy")
	zero := 0
	cases := []struct {
		rule string
		body any
		opts []reqOpt
		msg  string
	}{
		{"grace at most a minute", TenantPolicyUpdate{RefreshGraceSeconds: i64(61)}, nil, "at most 1m0s"},
		{"grace below -1", TenantPolicyUpdate{RefreshGraceSeconds: i64(-2)}, []reqOpt{invalidRequest}, "-1 (off) or more"},
		{"zero is not the default in disguise", TenantPolicyUpdate{SessionLifetimeSeconds: i64(0)}, []reqOpt{invalidRequest}, "sessionLifetimeSeconds must be at least 1"},
		{"no negative durations", TenantPolicyUpdate{LockoutDurationSeconds: i64(-5)}, []reqOpt{invalidRequest}, "lockoutDurationSeconds must be at least 1"},
		{"threshold at least 1", TenantPolicyUpdate{LockoutThreshold: &zero}, []reqOpt{invalidRequest}, "lockoutThreshold must be at least 1"},
		{"no overflow", TenantPolicyUpdate{RefreshTokenLifetimeSeconds: i64(1 << 62)}, nil, "at most"},
		{"inactivity within the lifetime", TenantPolicyUpdate{RefreshTokenInactivitySeconds: i64(400 * 86400)}, nil, "exceeds the absolute lifetime"},
		{"product-login lifetime range", TenantPolicyUpdate{ProductLoginLifetimeSeconds: i64(2 * 86400)}, nil, "at most 24h"},
		{"product-login resource must exist", TenantPolicyUpdate{ProductLoginResource: "api://nope"}, nil, `productLoginResource "api://nope" is no application`},
		{"every allowed product-login resource must exist", TenantPolicyUpdate{ProductLoginResources: []string{"api://nope"}}, nil, `productLoginResources "api://nope" is no application`},
		{"the allow-list is bounded", TenantPolicyUpdate{ProductLoginResources: func() []string {
			out := make([]string, directory.MaxProductLoginResources+1)
			for i := range out {
				out[i] = fmt.Sprintf("api://r%d", i)
			}
			return out
		}()}, []reqOpt{invalidRequest}, "productLoginResources may list at most 20"},
		{"unknown fields are refused", `{"refreshGrace":5}`, []reqOpt{invalidRequest, rawBody}, `unknown field "refreshGrace"`},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			b := e.do("PUT", policy, tokAdminA, c.body, c.opts...).must(t, 400).errorBody(t)
			if !strings.Contains(b.Message, c.msg) {
				t.Errorf("message %q, want %q", b.Message, c.msg)
			}
		})
	}
	// Nothing was stored by the refused requests.
	var got Tenant
	e.do("GET", tenantPath(e.contoso, ""), tokAdminA, nil).must(t, 200).json(t, &got)
	if !reflect.DeepEqual(got.Policy, policyOut(directory.TenantPolicy{})) {
		t.Errorf("policy after refused requests: %+v", got.Policy)
	}
}

// TestNewRoutesIsolateTenants: a tenant admin reaches users, consents and
// the policy of its own tenant only, and writes nothing elsewhere.
func TestNewRoutesIsolateTenants(t *testing.T) {
	e := newEnv(t)
	e.do("POST", tenantPath(e.home, "/users"), tokSystem, UserCreate{UserPrincipalName: "root"}).must(t, 201)
	home := func(rest string) string { return tenantPath(e.home, rest) }
	cases := []struct {
		method, path string
		body         any
	}{
		{"GET", home("/users"), nil},
		{"POST", home("/users"), UserCreate{UserPrincipalName: "mallory"}},
		{"GET", home("/users/root@default"), nil},
		{"PATCH", home("/users/root@default"), UserPatch{AccountEnabled: new(bool)}},
		{"DELETE", home("/users/root@default"), nil},
		{"POST", home("/users/root@default/password"), PasswordSet{Password: alicePassword}},
		{"GET", home("/consents?client=" + directory.CLIClientID), nil},
		{"POST", home("/consents"), ConsentCreate{ClientID: directory.CLIClientID, Resource: "openid", Scopes: []string{"email"}}},
		{"DELETE", home("/consents?client=" + directory.CLIClientID + "&resource=openid"), nil},
		{"PUT", home("/policy"), TenantPolicyUpdate{PasswordGrantDisabled: true}},
		{"GET", "/admin/v1/tenants/" + e.home.ID + "/users", nil},
		{"GET", "/admin/v1/tenants/nowhere/users", nil}, // no oracle for other tenants' names
	}
	for _, c := range cases {
		res := e.do(c.method, c.path, tokAdminA, c.body).must(t, 403)
		if b := res.errorBody(t); b.Code != "Forbidden" {
			t.Errorf("%s %s: %+v", c.method, c.path, b)
		}
	}
	// The home tenant is as it was.
	root, err := e.dir.GetUser(t.Context(), e.home.ID, "root@default")
	if err != nil || !root.Enabled || root.PasswordHash != "" {
		t.Errorf("root after the refused calls: %+v, %v", root, err)
	}
	users, _ := e.dir.ListUsers(t.Context(), e.home.ID)
	gs, _ := e.repo.ListConsents(t.Context(), e.home.ID, directory.CLIClientID, "")
	ht, _ := e.dir.ResolveTenant(t.Context(), e.home.ID)
	if len(users) != 1 || len(gs) != 1 || len(gs[0].Scopes) != 4 || !reflect.DeepEqual(ht.Policy, directory.TenantPolicy{}) {
		t.Errorf("home tenant changed: users %d, consents %+v, policy %+v", len(users), gs, ht.Policy)
	}
	// The system admin may do all of it in any tenant.
	e.do("GET", tenantPath(e.contoso, "/users"), tokSystem, nil).must(t, 200)
	e.do("PUT", tenantPath(e.contoso, "/policy"), tokSystem, TenantPolicyUpdate{}).must(t, 200)
}
