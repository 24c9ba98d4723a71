package directory_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// adminFacts is a tenant whose admin API gives the role to one service
// principal (sp-1, of client app-1) and one user (user-1).
func adminFacts() (directory.AdminFacts, directory.AdminCaller, directory.AdminCaller) {
	const (
		appID    = "11111111-1111-4111-8111-111111111111"
		clientID = "22222222-2222-4222-8222-222222222222"
		spID     = "33333333-3333-4333-8333-333333333333"
		userID   = "44444444-4444-4444-8444-444444444444"
		adminSP  = "55555555-5555-4555-8555-555555555555"
		roleID   = "66666666-6666-4666-8666-666666666666"
	)
	admin := directory.Resource{
		App: directory.Application{AppID: appID, IdentifierURIs: []string{directory.AdminAPIIdentifierURI},
			AppRoles: []directory.AppRole{{ID: roleID, Value: directory.AdminRole, Enabled: true,
				AllowedMemberTypes: []string{directory.MemberTypeApplication, directory.MemberTypeUser}}}},
		SP: directory.ServicePrincipal{ObjectID: adminSP, AppID: appID, Enabled: true, AppRoleAssignmentRequired: true},
	}
	f := directory.AdminFacts{
		Admin:       admin,
		Client:      directory.ServicePrincipal{ObjectID: spID, AppID: clientID, Enabled: true},
		ClientFound: true,
		UserFound:   true, UserEnabled: true,
		Assignments: []directory.RoleAssignment{
			{ID: "ra-sp", PrincipalID: spID, ResourceID: adminSP, ResourceAppID: appID, AppRoleID: roleID},
			{ID: "ra-user", PrincipalID: userID, ResourceID: adminSP, ResourceAppID: appID, AppRoleID: roleID},
		},
	}
	app := directory.AdminCaller{TenantID: "t", ObjectID: spID, ClientID: clientID, App: true, Audience: appID}
	user := directory.AdminCaller{TenantID: "t", ObjectID: userID, ClientID: clientID, Audience: appID}
	return f, app, user
}

// DecideAdminAuthority: each row changes one fact of the directory (or of
// the token) and names the reason it must refuse for. The token's roles
// claim is no input at all: authority is what the directory holds now
// (STYLE: authority comes from the directory, now).
func TestDecideAdminAuthority(t *testing.T) {
	for _, tc := range []struct {
		name    string
		user    bool // the caller is the user's token, else the app's
		change  func(f *directory.AdminFacts, c *directory.AdminCaller)
		refused string
		invalid bool // 401 invalid_token rather than 403
	}{
		{"app holding the role", false, func(*directory.AdminFacts, *directory.AdminCaller) {}, "", false},
		{"user holding the role", true, func(*directory.AdminFacts, *directory.AdminCaller) {}, "", false},
		{"v1 audience: the identifier URI", false, func(_ *directory.AdminFacts, c *directory.AdminCaller) {
			c.Audience = directory.AdminAPIIdentifierURI + "/"
		}, "", false},
		{"v1 audience: api://{appId}", true, func(f *directory.AdminFacts, c *directory.AdminCaller) {
			c.Audience = "api://" + f.Admin.App.AppID
		}, "", false},
		{"token for another API", false, func(_ *directory.AdminFacts, c *directory.AdminCaller) {
			c.Audience = "api://studies"
		}, directory.AdminRefusedAudience, true},
		{"no audience", true, func(_ *directory.AdminFacts, c *directory.AdminCaller) { c.Audience = "" },
			directory.AdminRefusedAudience, true},
		{"service principal disabled", false, func(f *directory.AdminFacts, _ *directory.AdminCaller) { f.Client.Enabled = false },
			directory.AdminRefusedPrincipalDisabled, true},
		{"service principal deleted", false, func(f *directory.AdminFacts, _ *directory.AdminCaller) { f.ClientFound = false },
			directory.AdminRefusedPrincipalMissing, true},
		{"service principal deleted and created again", false, func(f *directory.AdminFacts, _ *directory.AdminCaller) {
			f.Client.ObjectID = "77777777-7777-4777-8777-777777777777"
			f.Assignments[0].PrincipalID = f.Client.ObjectID
		}, directory.AdminRefusedPrincipalMissing, true},
		{"app's role assignment removed", false, func(f *directory.AdminFacts, _ *directory.AdminCaller) { f.Assignments = f.Assignments[1:] },
			directory.AdminRefusedNotAdmin, false},
		{"user disabled", true, func(f *directory.AdminFacts, _ *directory.AdminCaller) { f.UserEnabled = false },
			directory.AdminRefusedPrincipalDisabled, true},
		{"user deleted", true, func(f *directory.AdminFacts, _ *directory.AdminCaller) { f.UserFound = false },
			directory.AdminRefusedPrincipalMissing, true},
		{"user's client disabled", true, func(f *directory.AdminFacts, _ *directory.AdminCaller) { f.Client.Enabled = false },
			directory.AdminRefusedClientDisabled, true},
		{"user's client deleted", true, func(f *directory.AdminFacts, _ *directory.AdminCaller) { f.ClientFound = false },
			directory.AdminRefusedClientMissing, true},
		{"user's role assignment removed", true, func(f *directory.AdminFacts, _ *directory.AdminCaller) { f.Assignments = f.Assignments[:1] },
			directory.AdminRefusedNotAdmin, false},
		{"another principal's assignment is not the caller's", true, func(f *directory.AdminFacts, c *directory.AdminCaller) {
			c.ObjectID = "88888888-8888-4888-8888-888888888888"
		}, directory.AdminRefusedNotAdmin, false},
		{"an assignment of another role of the admin API", false, func(f *directory.AdminFacts, _ *directory.AdminCaller) {
			f.Assignments[0].AppRoleID = "99999999-9999-4999-8999-999999999999"
		}, directory.AdminRefusedNotAdmin, false},
		{"an assignment on another resource", false, func(f *directory.AdminFacts, _ *directory.AdminCaller) {
			f.Assignments[0].ResourceID = "99999999-9999-4999-8999-999999999999"
		}, directory.AdminRefusedNotAdmin, false},
		{"admin role disabled", false, func(f *directory.AdminFacts, _ *directory.AdminCaller) { f.Admin.App.AppRoles[0].Enabled = false },
			directory.AdminRefusedNotAdmin, false},
		{"admin role not for users", true, func(f *directory.AdminFacts, _ *directory.AdminCaller) {
			f.Admin.App.AppRoles[0].AllowedMemberTypes = []string{directory.MemberTypeApplication}
		}, directory.AdminRefusedNotAdmin, false},
		{"admin API's service principal disabled", false, func(f *directory.AdminFacts, _ *directory.AdminCaller) { f.Admin.SP.Enabled = false },
			directory.AdminRefusedNotAdmin, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, app, user := adminFacts()
			c := app
			if tc.user {
				c = user
			}
			tc.change(&f, &c)
			got := directory.DecideAdminAuthority(c, f)
			if got.Held != (tc.refused == "") || got.Refused != tc.refused || got.TokenInvalid() != tc.invalid {
				t.Fatalf("got %+v (token invalid %v), want refused %q (token invalid %v)", got, got.TokenInvalid(), tc.refused, tc.invalid)
			}
		})
	}
}

// AdminAuthorityOf reads the facts from the directory.
func TestAdminAuthorityOf(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tid := e.tenant.ID
	admin, err := e.dir.EnsureAdminApplication(ctx, tid)
	if err != nil {
		t.Fatal(err)
	}
	client := e.app(t, directory.ApplicationSpec{DisplayName: "ops"}, true)
	sp, _ := e.dir.GetServicePrincipal(ctx, tid, client.AppID)
	u, err := e.dir.CreateUser(ctx, tid, directory.UserSpec{UserPrincipalName: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	app := directory.AdminCaller{TenantID: tid, ObjectID: sp.ObjectID, ClientID: client.AppID, App: true, Audience: admin.App.AppID}
	user := directory.AdminCaller{TenantID: tid, ObjectID: strings.ToUpper(u.ObjectID), ClientID: client.AppID, Audience: admin.App.AppID}
	want := func(c directory.AdminCaller, refused string) {
		t.Helper()
		got, err := e.dir.AdminAuthorityOf(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if got.Refused != refused || got.Held != (refused == "") {
			t.Fatalf("got %+v, want refused %q", got, refused)
		}
	}
	want(app, directory.AdminRefusedNotAdmin)
	want(user, directory.AdminRefusedNotAdmin)
	for _, p := range []string{client.AppID, u.ObjectID} {
		if _, err := e.dir.AssignRole(ctx, tid, directory.AssignmentSpec{Principal: p, Resource: directory.AdminAPIIdentifierURI, Role: directory.AdminRole}); err != nil {
			t.Fatal(err)
		}
	}
	want(app, "")
	want(user, "")
	bad := user
	bad.ObjectID = "not a guid"
	want(bad, directory.AdminRefusedPrincipalMissing)
	if _, err := e.dir.SetUserEnabled(ctx, tid, u.ObjectID, false); err != nil {
		t.Fatal(err)
	}
	want(user, directory.AdminRefusedPrincipalDisabled)
	if err := e.dir.DeleteUser(ctx, tid, u.ObjectID); err != nil {
		t.Fatal(err)
	}
	want(user, directory.AdminRefusedPrincipalMissing)
	if err := e.dir.DeleteServicePrincipal(ctx, tid, client.AppID); err != nil {
		t.Fatal(err)
	}
	want(app, directory.AdminRefusedPrincipalMissing)
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}
