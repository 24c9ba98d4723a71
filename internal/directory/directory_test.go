package directory_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

type env struct {
	dir    *directory.Service
	now    time.Time
	tenant directory.Tenant
}

func newEnv(t *testing.T) *env { t.Helper(); return newEnvWith(t, nil) }

// newEnvWith is newEnv with edit applied to the service's options.
func newEnvWith(t *testing.T, edit func(*directory.Options)) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	master := make([]byte, 32)
	rand.Read(master)
	keys, _ := secrets.New(master)
	e := &env{now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	opts := directory.Options{Now: func() time.Time { return e.now }}
	if edit != nil {
		edit(&opts)
	}
	e.dir = directory.NewService(st, keys, opts)
	e.tenant, err = e.dir.CreateTenant(context.Background(), directory.TenantSpec{Domain: "contoso"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) app(t *testing.T, spec directory.ApplicationSpec, withSP bool) directory.Application {
	t.Helper()
	app, err := e.dir.CreateApplication(context.Background(), e.tenant.ID, spec)
	if err != nil {
		t.Fatal(err)
	}
	if withSP {
		if _, err := e.dir.CreateServicePrincipal(context.Background(), e.tenant.ID, directory.ServicePrincipalSpec{AppID: app.AppID}); err != nil {
			t.Fatal(err)
		}
	}
	return app
}

func TestTenantDomainRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		domain string
		want   error
	}{
		{"fabrikam.example", nil},
		{"Contoso", directory.ErrConflict}, // domains are case-insensitive
		{"common", directory.ErrInvalid},   // an Entra alias
		{"admin", directory.ErrInvalid},    // a tessera path
		{"has/slash", directory.ErrInvalid},
		{"", directory.ErrInvalid},
		{"8e1d3c4a-0000-4000-8000-000000000001", directory.ErrInvalid}, // would shadow a tenant id
	} {
		_, err := e.dir.CreateTenant(ctx, directory.TenantSpec{Domain: tc.domain})
		if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("CreateTenant(%q): %v, want %v", tc.domain, err, tc.want)
		}
	}
	for _, ref := range []string{"contoso", "CONTOSO", e.tenant.ID, strings.ToUpper(e.tenant.ID)} {
		got, err := e.dir.ResolveTenant(ctx, ref)
		if err != nil || got.ID != e.tenant.ID {
			t.Errorf("ResolveTenant(%q) = %v, %v", ref, got.ID, err)
		}
	}
}

func TestApplicationDefaultsAndValidation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := e.app(t, directory.ApplicationSpec{DisplayName: "Studies API",
		Scopes:   []directory.Scope{{Value: "user_impersonation", Enabled: true}},
		AppRoles: []directory.AppRole{{Value: "Reader", Enabled: true}}}, false)
	if len(app.IdentifierURIs) != 1 || app.IdentifierURIs[0] != "api://"+app.AppID {
		t.Errorf("identifier URIs %v, want [api://{appId}]", app.IdentifierURIs)
	}
	if app.AccessTokenAcceptedVersion != 2 || app.AccessTokenLifetime != time.Hour {
		t.Errorf("version %d lifetime %v, want 2 and 1h", app.AccessTokenAcceptedVersion, app.AccessTokenLifetime)
	}
	if !directory.IsGUID(app.Scopes[0].ID) || !directory.IsGUID(app.AppRoles[0].ID) || len(app.AppRoles[0].AllowedMemberTypes) != 2 {
		t.Errorf("scope and role ids and member types not filled: %+v %+v", app.Scopes, app.AppRoles)
	}
	bad := []struct {
		name string
		spec directory.ApplicationSpec
	}{
		{"no name", directory.ApplicationSpec{}},
		{"relative identifier URI", directory.ApplicationSpec{DisplayName: "x", IdentifierURIs: []string{"my-api"}}},
		{"identifier URI ending in /.default", directory.ApplicationSpec{DisplayName: "x", IdentifierURIs: []string{"api://x/.default"}}},
		{"redirect URI with fragment (RFC 6749 §3.1.2)", directory.ApplicationSpec{DisplayName: "x", RedirectURIs: []string{"https://app/cb#frag"}}},
		{"http redirect to a non-loopback host (RFC 8252 §7.3)", directory.ApplicationSpec{DisplayName: "x", RedirectURIs: []string{"http://app.example/cb"}}},
		{"wildcard redirect (RFC 9700 §4.1.3)", directory.ApplicationSpec{DisplayName: "x", RedirectURIs: []string{"https://*.example/cb"}}},
		{"version 3", directory.ApplicationSpec{DisplayName: "x", AccessTokenAcceptedVersion: 3}},
		{"lifetime 1m", directory.ApplicationSpec{DisplayName: "x", AccessTokenLifetime: time.Minute}},
		{"lifetime 2d", directory.ApplicationSpec{DisplayName: "x", AccessTokenLifetime: 48 * time.Hour}},
		{"scope openid", directory.ApplicationSpec{DisplayName: "x", Scopes: []directory.Scope{{Value: "openid"}}}},
		{"role with a space", directory.ApplicationSpec{DisplayName: "x", AppRoles: []directory.AppRole{{Value: "Read All"}}}},
		{"role member type", directory.ApplicationSpec{DisplayName: "x", AppRoles: []directory.AppRole{{Value: "R", AllowedMemberTypes: []string{"Group"}}}}},
		{"pre-authorized for an unexposed scope", directory.ApplicationSpec{DisplayName: "x",
			PreAuthorized: []directory.PreAuthorizedApplication{{AppID: app.AppID, Scopes: []string{"nope"}}}}},
	}
	for _, tc := range bad {
		if _, err := e.dir.CreateApplication(ctx, e.tenant.ID, tc.spec); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
	}
	if _, err := e.dir.CreateApplication(ctx, e.tenant.ID, directory.ApplicationSpec{DisplayName: "dup", IdentifierURIs: app.IdentifierURIs}); !errors.Is(err, directory.ErrConflict) {
		t.Errorf("second app with the same identifier URI: %v, want ErrConflict", err)
	}
	for _, ref := range []string{app.AppID, app.ObjectID, "api://" + app.AppID} {
		if got, err := e.dir.GetApplication(ctx, e.tenant.ID, ref); err != nil || got.AppID != app.AppID {
			t.Errorf("GetApplication(%q): %v", ref, err)
		}
	}
}

func TestSecretIsShownOnceAndStoredHashed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := e.app(t, directory.ApplicationSpec{DisplayName: "client"}, true)
	cred, secret, err := e.dir.AddSecret(ctx, e.tenant.ID, app.AppID, directory.SecretSpec{DisplayName: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, directory.SecretPrefix) || len(secret) < len(directory.SecretPrefix)+43 {
		t.Errorf("secret %d chars: want the prefix and 256 bits", len(secret))
	}
	if cred.ExpiresAt.Sub(e.now) != directory.DefaultSecretLifetime || cred.Hint != secret[4:7] {
		t.Errorf("credential %+v", cred)
	}
	list, _ := e.dir.ListCredentials(ctx, e.tenant.ID, app.AppID)
	if len(list) != 1 || string(list[0].SecretHash) == secret || strings.Contains(string(list[0].SecretHash), secret) {
		t.Fatalf("stored credential holds the secret in plain text")
	}
	if _, _, err := e.dir.AddSecret(ctx, e.tenant.ID, app.AppID, directory.SecretSpec{ExpiresAt: e.now.Add(3 * 365 * 24 * time.Hour)}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("a three-year secret: %v, want ErrInvalid", err)
	}
}

func TestAuthenticateSecret(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	app := e.app(t, directory.ApplicationSpec{DisplayName: "client"}, true)
	noSP := e.app(t, directory.ApplicationSpec{DisplayName: "no sp"}, false)
	cred, secret, _ := e.dir.AddSecret(ctx, e.tenant.ID, app.AppID, directory.SecretSpec{ExpiresAt: e.now.Add(24 * time.Hour)})
	_, noSPSecret, _ := e.dir.AddSecret(ctx, e.tenant.ID, noSP.AppID, directory.SecretSpec{})

	c, err := e.dir.AuthenticateSecret(ctx, e.tenant.ID, strings.ToUpper(app.AppID), secret)
	if err != nil || c.SP.AppID != app.AppID || c.Credential.KeyID != cred.KeyID {
		t.Fatalf("right secret: %+v, %v", c, err)
	}
	other, _ := e.dir.CreateTenant(ctx, directory.TenantSpec{Domain: "fabrikam"})
	cases := []struct {
		name, tenant, client, secret string
		want                         error
	}{
		{"wrong secret", e.tenant.ID, app.AppID, secret + "x", directory.ErrInvalidClient},
		{"unknown client", e.tenant.ID, "00000000-0000-4000-8000-000000000000", secret, directory.ErrInvalidClient},
		{"not a GUID", e.tenant.ID, "client", secret, directory.ErrInvalidClient},
		{"right secret, other tenant", other.ID, app.AppID, secret, directory.ErrInvalidClient},
		{"no service principal", e.tenant.ID, noSP.AppID, noSPSecret, directory.ErrClientDisabled},
	}
	for _, tc := range cases {
		if _, err := e.dir.AuthenticateSecret(ctx, tc.tenant, tc.client, tc.secret); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}

	f := false
	e.dir.UpdateServicePrincipal(ctx, e.tenant.ID, app.AppID, directory.ServicePrincipalPatch{Enabled: &f})
	if _, err := e.dir.AuthenticateSecret(ctx, e.tenant.ID, app.AppID, secret); !errors.Is(err, directory.ErrClientDisabled) {
		t.Errorf("disabled service principal: %v", err)
	}
	tr := true
	e.dir.UpdateServicePrincipal(ctx, e.tenant.ID, app.AppID, directory.ServicePrincipalPatch{Enabled: &tr})

	e.now = e.now.Add(25 * time.Hour)
	if _, err := e.dir.AuthenticateSecret(ctx, e.tenant.ID, app.AppID, secret); !errors.Is(err, directory.ErrInvalidClient) {
		t.Errorf("expired secret: %v", err)
	}
	e.now = e.now.Add(-25 * time.Hour)
	if err := e.dir.RemoveCredential(ctx, e.tenant.ID, app.AppID, cred.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.AuthenticateSecret(ctx, e.tenant.ID, app.AppID, secret); !errors.Is(err, directory.ErrInvalidClient) {
		t.Errorf("removed secret: %v", err)
	}
}

func TestClientCredentialsDecision(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	api := e.app(t, directory.ApplicationSpec{DisplayName: "api", IdentifierURIs: []string{"https://api.contoso.example"},
		AppRoles: []directory.AppRole{{Value: "Reader", Enabled: true}, {Value: "Writer", Enabled: true}, {Value: "UserOnly", Enabled: true, AllowedMemberTypes: []string{"User"}}}}, true)
	client := e.app(t, directory.ApplicationSpec{DisplayName: "client"}, true)
	_, secret, _ := e.dir.AddSecret(ctx, e.tenant.ID, client.AppID, directory.SecretSpec{})
	c, err := e.dir.AuthenticateSecret(ctx, e.tenant.ID, client.AppID, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.AssignRole(ctx, e.tenant.ID, directory.AssignmentSpec{Principal: client.AppID, Resource: api.AppID, Role: "Reader"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.AssignRole(ctx, e.tenant.ID, directory.AssignmentSpec{Principal: client.AppID, Resource: api.AppID, Role: "Reader"}); !errors.Is(err, directory.ErrConflict) {
		t.Errorf("duplicate assignment: %v", err)
	}
	if _, err := e.dir.AssignRole(ctx, e.tenant.ID, directory.AssignmentSpec{Principal: client.AppID, Resource: api.AppID, Role: "UserOnly"}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("assigning a user-only role to an application: %v", err)
	}
	for _, ref := range []string{"https://api.contoso.example", "https://api.contoso.example/", api.AppID, "api://" + api.AppID} {
		g, err := e.dir.AuthorizeClientCredentials(ctx, e.tenant.ID, c, ref)
		if err != nil || g.Resource.App.AppID != api.AppID || len(g.Roles) != 1 || g.Roles[0] != "Reader" || g.Resource.Requested != ref {
			t.Errorf("resource %q: %+v, %v", ref, g, err)
		}
	}
	if _, err := e.dir.AuthorizeClientCredentials(ctx, e.tenant.ID, c, "api://unknown"); !errors.Is(err, directory.ErrUnknownResource) {
		t.Errorf("unknown resource: %v", err)
	}
	noSP := e.app(t, directory.ApplicationSpec{DisplayName: "no sp api"}, false)
	if _, err := e.dir.AuthorizeClientCredentials(ctx, e.tenant.ID, c, noSP.AppID); !errors.Is(err, directory.ErrUnknownResource) {
		t.Errorf("resource without service principal: %v", err)
	}

	locked := e.app(t, directory.ApplicationSpec{DisplayName: "locked", AppRoles: []directory.AppRole{{Value: "Reader", Enabled: true}}}, false)
	e.dir.CreateServicePrincipal(ctx, e.tenant.ID, directory.ServicePrincipalSpec{AppID: locked.AppID, AppRoleAssignmentRequired: true})
	if _, err := e.dir.AuthorizeClientCredentials(ctx, e.tenant.ID, c, locked.AppID); !errors.Is(err, directory.ErrNotAssigned) {
		t.Errorf("assignment required, none held: %v", err)
	}
	g, err := e.dir.AuthorizeClientCredentials(ctx, e.tenant.ID, c, client.AppID)
	if err != nil || len(g.Roles) != 0 {
		t.Errorf("token for itself: %+v, %v", g, err)
	}

	// A role still assigned cannot be dropped from the application.
	if _, err := e.dir.UpdateApplication(ctx, e.tenant.ID, api.AppID, directory.ApplicationPatch{AppRoles: &[]directory.AppRole{}}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("dropping an assigned role: %v", err)
	}
	// Deleting the resource removes its assignments with it.
	if err := e.dir.DeleteApplication(ctx, e.tenant.ID, api.AppID); err != nil {
		t.Fatal(err)
	}
	if list, err := e.dir.ListRoleAssignments(ctx, e.tenant.ID, directory.AssignmentFilter{Principal: client.AppID}); err != nil || len(list) != 0 {
		t.Errorf("assignments after deleting the resource: %v, %v", list, err)
	}
}

func TestEnsureAdminApplicationIsIdempotent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.dir.EnsureAdminApplication(ctx, e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.dir.EnsureAdminApplication(ctx, e.tenant.ID)
	if err != nil || a.App.AppID != b.App.AppID || a.SP.ObjectID != b.SP.ObjectID || !a.SP.AppRoleAssignmentRequired {
		t.Errorf("second call: %+v %v", b, err)
	}
	if _, ok := a.App.Role(directory.AdminRole); !ok {
		t.Error("admin application has no admin role")
	}
}
