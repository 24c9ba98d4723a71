package directory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// The built-in admin API application: only its display name and a
// lifetime up to an hour may change; nothing else of it, nor its service
// principal; it cannot be deleted, get credentials, or be impersonated by
// another application taking its identifier URI. Every refusal is
// ErrInvalid (the admin API's 400 with the message) and changes nothing.
func TestAdminApplicationIsBuiltIn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tid := e.tenant.ID
	admin, err := e.dir.EnsureAdminApplication(ctx, tid)
	if err != nil {
		t.Fatal(err)
	}
	if admin.App.AccessTokenLifetime != time.Hour {
		t.Fatalf("admin API tokens live %v by default, want 1h", admin.App.AccessTokenLifetime)
	}
	id := admin.App.AppID
	dur := func(d time.Duration) *time.Duration { return &d }
	strs := func(v ...string) *[]string { return &v }
	yes, no := true, false
	other := e.app(t, directory.ApplicationSpec{DisplayName: "other"}, true)
	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"lifetime raised to a day", func() error {
			_, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{AccessTokenLifetime: dur(24 * time.Hour)})
			return err
		}},
		{"lifetime raised to an hour and a second", func() error {
			_, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{AccessTokenLifetime: dur(time.Hour + time.Second)})
			return err
		}},
		{"identifier URI added", func() error {
			_, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{IdentifierURIs: strs(directory.AdminAPIIdentifierURI, "api://mine")})
			return err
		}},
		{"identifier URI removed", func() error {
			_, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{IdentifierURIs: strs("api://mine")})
			return err
		}},
		{"app role added", func() error {
			roles := append(admin.App.AppRoles, directory.AppRole{Value: "Tessera.Other", Enabled: true})
			_, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{AppRoles: &roles})
			return err
		}},
		{"admin role opened to another member type", func() error {
			roles := []directory.AppRole{admin.App.AppRoles[0]}
			roles[0].AllowedMemberTypes = []string{directory.MemberTypeUser}
			_, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{AppRoles: &roles})
			return err
		}},
		{"scope added", func() error {
			_, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{Scopes: &[]directory.Scope{{Value: "Admin.All", Enabled: true}}})
			return err
		}},
		{"client pre-authorized", func() error {
			_, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{
				Scopes:        &[]directory.Scope{{Value: "Admin.All", Enabled: true}},
				PreAuthorized: &[]directory.PreAuthorizedApplication{{AppID: other.AppID, Scopes: []string{"Admin.All"}}}})
			return err
		}},
		{"made a public client", func() error {
			_, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{PublicClient: &yes})
			return err
		}},
		{"redirect URI added", func() error {
			_, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{RedirectURIs: strs("http://localhost/cb")})
			return err
		}},
		{"token version changed", func() error {
			v := 1
			_, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{AccessTokenAcceptedVersion: &v})
			return err
		}},
		{"secret added", func() error {
			_, _, err := e.dir.AddSecret(ctx, tid, id, directory.SecretSpec{})
			return err
		}},
		{"deleted", func() error { return e.dir.DeleteApplication(ctx, tid, id) }},
		{"service principal disabled", func() error {
			_, err := e.dir.UpdateServicePrincipal(ctx, tid, id, directory.ServicePrincipalPatch{Enabled: &no})
			return err
		}},
		{"service principal made assignment-free", func() error {
			_, err := e.dir.UpdateServicePrincipal(ctx, tid, id, directory.ServicePrincipalPatch{AppRoleAssignmentRequired: &no})
			return err
		}},
		{"service principal deleted", func() error { return e.dir.DeleteServicePrincipal(ctx, tid, id) }},
		{"another application takes the identifier URI", func() error {
			_, err := e.dir.UpdateApplication(ctx, tid, other.AppID, directory.ApplicationPatch{IdentifierURIs: strs(directory.AdminAPIIdentifierURI)})
			return err
		}},
		{"a new application with the identifier URI", func() error {
			_, err := e.dir.CreateApplication(ctx, tid, directory.ApplicationSpec{DisplayName: "fake admin", IdentifierURIs: []string{directory.AdminAPIIdentifierURI}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, directory.ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
			now, err := e.dir.EnsureAdminApplication(ctx, tid)
			if err != nil {
				t.Fatal(err)
			}
			if !equalJSON(t, now, admin) {
				t.Fatalf("the refused change changed the admin API:\n%+v\nwas\n%+v", now, admin)
			}
			if creds, _ := e.dir.ListCredentials(ctx, tid, id); len(creds) != 0 {
				t.Fatalf("the admin API has %d credentials", len(creds))
			}
		})
	}

	// What may change: the display name, a lifetime up to an hour, and a
	// patch that repeats what is there.
	name := "Contoso administration"
	app, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{DisplayName: &name, AccessTokenLifetime: dur(20 * time.Minute),
		IdentifierURIs: strs(directory.AdminAPIIdentifierURI), AppRoles: &admin.App.AppRoles})
	if err != nil || app.DisplayName != name || app.AccessTokenLifetime != 20*time.Minute {
		t.Fatalf("allowed edit: %+v, %v", app, err)
	}
	if _, err := e.dir.UpdateApplication(ctx, tid, id, directory.ApplicationPatch{AccessTokenLifetime: dur(time.Hour)}); err != nil {
		t.Fatalf("lifetime of an hour: %v", err)
	}
	if _, err := e.dir.UpdateServicePrincipal(ctx, tid, id, directory.ServicePrincipalPatch{Enabled: &yes, AppRoleAssignmentRequired: &yes}); err != nil {
		t.Fatalf("a service principal patch that changes nothing: %v", err)
	}
}

// AccessTokenLifetime caps the admin API's tokens at an hour whatever the
// grant asks (product login's day) or the stored application says (a day,
// set before the cap), and leaves other applications alone.
func TestAccessTokenLifetime(t *testing.T) {
	admin := directory.Application{IdentifierURIs: []string{directory.AdminAPIIdentifierURI}, AccessTokenLifetime: time.Hour}
	api := directory.Application{IdentifierURIs: []string{"api://studies"}, AccessTokenLifetime: 2 * time.Hour}
	legacy := admin
	legacy.AccessTokenLifetime = 24 * time.Hour
	for _, tc := range []struct {
		name      string
		app       directory.Application
		requested time.Duration
		want      time.Duration
	}{
		{"admin API, the application's own", admin, 0, time.Hour},
		{"admin API, product login's day", admin, 24 * time.Hour, time.Hour},
		{"admin API, a day stored before the cap", legacy, 0, time.Hour},
		{"admin API, shorter asked", admin, 15 * time.Minute, 15 * time.Minute},
		{"other API, its own", api, 0, 2 * time.Hour},
		{"other API, product login's day", api, 24 * time.Hour, 24 * time.Hour},
		{"nothing set", directory.Application{}, 0, directory.DefaultAccessTokenLifetime},
	} {
		if got := directory.AccessTokenLifetime(tc.app, tc.requested); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
