package adminapi

import (
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/token"
)

func TestTenants(t *testing.T) {
	e := newEnv(t)
	var ts List[Tenant]
	e.do("GET", "/admin/v1/tenants", tokSystem, nil).must(t, 200).json(t, &ts)
	// With the test's fixed clock both share one creation time, and the
	// store orders them by id: compare as a set.
	if len(ts.Value) != 2 || !slices.ContainsFunc(ts.Value, func(x Tenant) bool { return x.Domain == "default" }) ||
		!slices.ContainsFunc(ts.Value, func(x Tenant) bool { return x.Domain == "contoso.example" }) {
		t.Fatalf("tenants = %+v", ts.Value)
	}

	res := e.do("POST", "/admin/v1/tenants", tokSystem, map[string]any{"domain": "Fabrikam.example", "displayName": "Fabrikam"}).must(t, 201)
	var tn Tenant
	res.json(t, &tn)
	if tn.Domain != "fabrikam.example" || tn.DisplayName != "Fabrikam" || !directory.IsGUID(tn.ID) {
		t.Fatalf("created %+v", tn)
	}
	if loc := res.header.Get("Location"); loc != "/admin/v1/tenants/"+tn.ID {
		t.Errorf("Location %q", loc)
	}
	// The new tenant can be administered at once: it has its admin API.
	var sp directory.ServicePrincipal
	e.do("GET", "/admin/v1/tenants/fabrikam.example/servicePrincipals/api:%2F%2Ftessera-admin", tokSystem, nil).must(t, 200).json(t, &sp)
	if !sp.AppRoleAssignmentRequired {
		t.Error("admin API service principal must require assignment")
	}

	// A new tenant's policy is the defaults, shown as the numbers in force.
	want := TenantPolicy{RefreshTokenInactivitySeconds: 90 * 86400, RefreshTokenLifetimeSeconds: 365 * 86400, RefreshGraceSeconds: 5,
		ProductLoginLifetimeSeconds: 86400, ProductLoginResources: []string{}, LockoutThreshold: 10, LockoutDurationSeconds: 900, SessionLifetimeSeconds: 8 * 3600}
	if !reflect.DeepEqual(tn.Policy, want) {
		t.Errorf("policy %+v, want %+v", tn.Policy, want)
	}
	var got Tenant
	e.do("GET", "/admin/v1/tenants/"+tn.ID, tokSystem, nil).must(t, 200).json(t, &got)
	if !reflect.DeepEqual(got, tn) {
		t.Errorf("GET tenant = %+v, want %+v", got, tn)
	}
	e.do("GET", "/admin/v1/tenants/contoso.example", tokAdminA, nil).must(t, 200)
}

func TestApplicationLifecycle(t *testing.T) {
	e := newEnv(t)
	apps := tenantPath(e.contoso, "/applications")
	create := ApplicationCreate{
		DisplayName:                "orders api",
		IdentifierURIs:             []string{"api://orders"},
		Scopes:                     []Scope{{Value: "Orders.Read", AdminConsentDisplayName: "Read orders"}},
		AppRoles:                   []AppRole{{Value: "Reader"}, {Value: "Writer", AllowedMemberTypes: []string{"Application"}, IsEnabled: boolPtr(false)}},
		AccessTokenAcceptedVersion: 1,
		AccessTokenLifetimeSeconds: 1800,
		RedirectURIs:               []string{"http://localhost:8400/cb"},
		PreAuthorized:              []directory.PreAuthorizedApplication{{AppID: "11111111-2222-3333-4444-555555555555", Scopes: []string{"Orders.Read"}}},
	}
	res := e.do("POST", apps, tokAdminA, create).must(t, 201)
	var app Application
	res.json(t, &app)
	switch {
	case !directory.IsGUID(app.AppID), !directory.IsGUID(app.ObjectID), app.TenantID != e.contoso.ID:
		t.Fatalf("ids: %+v", app)
	case app.AccessTokenLifetimeSeconds != 1800, app.AccessTokenAcceptedVersion != 1:
		t.Errorf("token settings: %+v", app)
	case len(app.Scopes) != 1 || !*app.Scopes[0].IsEnabled || !directory.IsGUID(app.Scopes[0].ID):
		t.Errorf("scopes default to enabled with an id: %+v", app.Scopes)
	case len(app.AppRoles) != 2 || !*app.AppRoles[0].IsEnabled || *app.AppRoles[1].IsEnabled:
		t.Errorf("roles: %+v", app.AppRoles)
	case strings.Join(app.AppRoles[0].AllowedMemberTypes, ",") != "Application,User":
		t.Errorf("member types default to both: %v", app.AppRoles[0].AllowedMemberTypes)
	case len(app.PreAuthorized) != 1 || app.PreAuthorized[0].Scopes[0] != "Orders.Read":
		t.Errorf("pre-authorized: %+v", app.PreAuthorized)
	}
	if loc := res.header.Get("Location"); loc != apps+"/"+app.AppID {
		t.Errorf("Location %q", loc)
	}

	// Defaults: lifetime one hour, version 2, identifier URI api://{appId}.
	var plain Application
	e.do("POST", apps, tokAdminA, ApplicationCreate{DisplayName: "plain"}).must(t, 201).json(t, &plain)
	if plain.AccessTokenLifetimeSeconds != 3600 || plain.AccessTokenAcceptedVersion != 2 ||
		len(plain.IdentifierURIs) != 1 || plain.IdentifierURIs[0] != "api://"+plain.AppID {
		t.Errorf("defaults: %+v", plain)
	}

	// One application, three names for it.
	for _, ref := range []string{app.AppID, app.ObjectID, "api:%2F%2Forders"} {
		var got Application
		e.do("GET", apps+"/"+ref, tokAdminA, nil).must(t, 200).json(t, &got)
		if got.AppID != app.AppID {
			t.Errorf("GET %s = %s", ref, got.AppID)
		}
	}

	var listed List[Application]
	e.do("GET", apps, tokAdminA, nil).must(t, 200).json(t, &listed)
	var names []string
	for _, a := range listed.Value {
		names = append(names, a.DisplayName)
	}
	// With the test's fixed clock all share one creation time, and the
	// store orders them by id: compare as a set.
	slices.Sort(names)
	if strings.Join(names, ",") != "orders api,plain,tessera CLI,tessera admin API,tessera management" {
		t.Errorf("list = %v", names)
	}

	// PATCH replaces what it names and keeps the rest; a role sent back
	// with its id keeps that id.
	name, secs := "orders", int64(7200)
	roles := []AppRole{app.AppRoles[0]}
	var upd Application
	e.do("PATCH", apps+"/"+app.AppID, tokAdminA, ApplicationPatch{DisplayName: &name, AccessTokenLifetimeSeconds: &secs, AppRoles: &roles}).
		must(t, 200).json(t, &upd)
	if upd.DisplayName != "orders" || upd.AccessTokenLifetimeSeconds != 7200 || len(upd.AppRoles) != 1 ||
		upd.AppRoles[0].ID != app.AppRoles[0].ID || len(upd.Scopes) != 1 || upd.RedirectURIs[0] != "http://localhost:8400/cb" {
		t.Errorf("patched: %+v", upd)
	}

	e.do("DELETE", apps+"/api:%2F%2Forders", tokAdminA, nil).must(t, 204)
	e.do("GET", apps+"/"+app.AppID, tokAdminA, nil).must(t, 404)
}

func TestServicePrincipalLifecycle(t *testing.T) {
	e := newEnv(t)
	var app Application
	e.do("POST", tenantPath(e.contoso, "/applications"), tokAdminA, ApplicationCreate{DisplayName: "worker"}).must(t, 201).json(t, &app)

	sps := tenantPath(e.contoso, "/servicePrincipals")
	res := e.do("POST", sps, tokAdminA, directory.ServicePrincipalSpec{AppID: app.AppID, AppRoleAssignmentRequired: true}).must(t, 201)
	var sp directory.ServicePrincipal
	res.json(t, &sp)
	if sp.AppID != app.AppID || sp.DisplayName != "worker" || !sp.Enabled || !sp.AppRoleAssignmentRequired {
		t.Fatalf("created %+v", sp)
	}
	if loc := res.header.Get("Location"); loc != sps+"/"+sp.ObjectID {
		t.Errorf("Location %q", loc)
	}
	for _, ref := range []string{sp.ObjectID, app.AppID} {
		var got directory.ServicePrincipal
		e.do("GET", sps+"/"+ref, tokAdminA, nil).must(t, 200).json(t, &got)
		if got != sp {
			t.Errorf("GET %s = %+v", ref, got)
		}
	}
	var listed List[directory.ServicePrincipal]
	e.do("GET", sps, tokAdminA, nil).must(t, 200).json(t, &listed)
	if len(listed.Value) != 4 || !slices.ContainsFunc(listed.Value, func(x directory.ServicePrincipal) bool { return x == sp }) { // the admin API's, the CLI's, the management application's, ours
		t.Errorf("list = %+v", listed.Value)
	}

	var upd directory.ServicePrincipal
	e.do("PATCH", sps+"/"+app.AppID, tokAdminA, map[string]any{"accountEnabled": false}).must(t, 200).json(t, &upd)
	if upd.Enabled || !upd.AppRoleAssignmentRequired {
		t.Errorf("patched %+v", upd)
	}
	e.do("DELETE", sps+"/"+sp.ObjectID, tokAdminA, nil).must(t, 204)
	e.do("GET", sps+"/"+sp.ObjectID, tokAdminA, nil).must(t, 404)
	e.do("GET", tenantPath(e.contoso, "/applications/"+app.AppID), tokAdminA, nil).must(t, 200) // the application stays
}

func TestSecretShownOnce(t *testing.T) {
	e := newEnv(t)
	var app Application
	e.do("POST", tenantPath(e.contoso, "/applications"), tokAdminA, ApplicationCreate{DisplayName: "client"}).must(t, 201).json(t, &app)
	creds := tenantPath(e.contoso, "/applications/"+app.AppID+"/credentials")

	end := testNow.Add(30 * 24 * time.Hour)
	res := e.do("POST", creds, tokAdminA, map[string]any{"type": "secret", "displayName": "ci", "endDateTime": end}).must(t, 201)
	var sc SecretCredential
	res.json(t, &sc)
	if !strings.HasPrefix(sc.SecretText, directory.SecretPrefix) || len(sc.SecretText) < 40 {
		t.Fatalf("secretText %q", sc.SecretText)
	}
	if sc.Type != "secret" || sc.DisplayName != "ci" || !sc.ExpiresAt.Equal(end) || sc.Hint != sc.SecretText[4:7] {
		t.Errorf("credential %+v", sc.Credential)
	}
	// It works: the directory accepts it as the client's secret.
	e.do("POST", tenantPath(e.contoso, "/servicePrincipals"), tokAdminA, directory.ServicePrincipalSpec{AppID: app.AppID}).must(t, 201)
	if _, err := e.dir.AuthenticateSecret(t.Context(), e.contoso.ID, app.AppID, sc.SecretText); err != nil {
		t.Fatalf("the new secret does not authenticate: %v", err)
	}

	list := e.do("GET", creds, tokAdminA, nil).must(t, 200)
	if strings.Contains(string(list.body), sc.SecretText) || strings.Contains(string(list.body), "secretText") ||
		strings.Contains(strings.ToLower(string(list.body)), "hash") {
		t.Fatalf("a listed credential shows its secret or hash: %s", list.body)
	}
	var got List[directory.Credential]
	list.json(t, &got)
	if len(got.Value) != 1 || got.Value[0].KeyID != sc.KeyID || got.Value[0].Hint != sc.Hint {
		t.Fatalf("list = %+v", got.Value)
	}
	if strings.Contains(e.log.String(), sc.SecretText) {
		t.Fatal("the secret is in the log")
	}

	e.do("DELETE", creds+"/"+sc.KeyID, tokAdminA, nil).must(t, 204)
	e.do("GET", creds, tokAdminA, nil).must(t, 200).json(t, &got)
	if len(got.Value) != 0 {
		t.Errorf("after remove: %+v", got.Value)
	}
	e.do("DELETE", creds+"/"+sc.KeyID, tokAdminA, nil).must(t, 404)
}

func TestCertificateCredential(t *testing.T) {
	e := newEnv(t)
	pem, err := os.ReadFile("testdata/client-cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	var app Application
	e.do("POST", tenantPath(e.home, "/applications"), tokSystem, ApplicationCreate{DisplayName: "signer"}).must(t, 201).json(t, &app)
	creds := tenantPath(e.home, "/applications/"+app.AppID+"/credentials")
	var c directory.Credential
	e.do("POST", creds, tokSystem, CredentialCreate{Type: "certificate", Certificate: string(pem)}).must(t, 201).json(t, &c)
	if c.Type != "certificate" || c.DisplayName != "CN=tessera test client" || len(c.Thumbprint) != 40 || c.ThumbprintS256 == "" {
		t.Fatalf("certificate credential %+v", c)
	}
	var got List[directory.Credential]
	e.do("GET", creds, tokSystem, nil).must(t, 200).json(t, &got)
	if len(got.Value) != 1 || got.Value[0].Thumbprint != c.Thumbprint {
		t.Errorf("list = %+v", got.Value)
	}
}

func TestRoleAssignments(t *testing.T) {
	e := newEnv(t)
	apps, sps := tenantPath(e.contoso, "/applications"), tenantPath(e.contoso, "/servicePrincipals")
	var api, client Application
	e.do("POST", apps, tokAdminA, ApplicationCreate{DisplayName: "api", IdentifierURIs: []string{"api://orders"}, AppRoles: []AppRole{{Value: "Reader"}}}).must(t, 201).json(t, &api)
	e.do("POST", apps, tokAdminA, ApplicationCreate{DisplayName: "client"}).must(t, 201).json(t, &client)
	var apiSP, clientSP directory.ServicePrincipal
	e.do("POST", sps, tokAdminA, directory.ServicePrincipalSpec{AppID: api.AppID}).must(t, 201).json(t, &apiSP)
	e.do("POST", sps, tokAdminA, directory.ServicePrincipalSpec{AppID: client.AppID}).must(t, 201).json(t, &clientSP)

	ras := tenantPath(e.contoso, "/roleAssignments")
	var ra directory.RoleAssignment
	e.do("POST", ras, tokAdminA, directory.AssignmentSpec{Principal: client.AppID, Resource: "api://orders", Role: "Reader"}).must(t, 201).json(t, &ra)
	if ra.PrincipalID != clientSP.ObjectID || ra.ResourceID != apiSP.ObjectID || ra.ResourceAppID != api.AppID ||
		ra.AppRoleID != api.AppRoles[0].ID || ra.PrincipalType != "ServicePrincipal" {
		t.Fatalf("assignment %+v", ra)
	}
	for _, q := range []string{"?principal=" + client.AppID, "?resource=api://orders", "?principal=" + clientSP.ObjectID + "&resource=" + api.AppID} {
		var got List[directory.RoleAssignment]
		e.do("GET", ras+q, tokAdminA, nil).must(t, 200).json(t, &got)
		if len(got.Value) != 1 || got.Value[0].ID != ra.ID {
			t.Errorf("list %s = %+v", q, got.Value)
		}
	}
	e.do("POST", ras, tokAdminA, directory.AssignmentSpec{Principal: client.AppID, Resource: api.AppID, Role: "Reader"}).must(t, 409)
	e.do("GET", ras, tokAdminA, nil).must(t, 400) // neither filter

	e.do("DELETE", ras+"/"+ra.ID, tokAdminA, nil).must(t, 204)
	var got List[directory.RoleAssignment]
	e.do("GET", ras+"?resource="+api.AppID, tokAdminA, nil).must(t, 200).json(t, &got)
	if len(got.Value) != 0 {
		t.Errorf("after remove: %+v", got.Value)
	}
	e.do("DELETE", ras+"/"+ra.ID, tokAdminA, nil).must(t, 404)
}

func TestKeys(t *testing.T) {
	e := newEnv(t)
	var ks List[token.KeyInfo]
	e.do("GET", "/admin/v1/keys", tokSystem, nil).must(t, 200).json(t, &ks)
	if len(ks.Value) != 2 || ks.Value[1].State != token.KeyActive {
		t.Fatalf("keys = %+v", ks.Value)
	}
	e.do("POST", "/admin/v1/keys/rotate", tokSystem, nil).must(t, 200).json(t, &ks)
	if len(ks.Value) != 3 || ks.Value[1].ID != "k2" || ks.Value[1].State != token.KeyActive || ks.Value[2].State != token.KeyRetired {
		t.Fatalf("after rotation = %+v", ks.Value)
	}
	e.keys.err = token.ErrKeysChanged
	e.do("POST", "/admin/v1/keys/rotate", tokSystem, nil).must(t, 409)
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	res := e.do("GET", "/admin/v1/openapi.yaml", "", nil).must(t, http.StatusOK)
	if res.header.Get("Content-Type") != "application/yaml" || !strings.HasPrefix(string(res.body), "openapi: 3.0.3") {
		t.Fatalf("%v %.40s", res.header, res.body)
	}
}
