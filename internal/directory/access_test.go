package directory_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestAuthorizeUser: the one rule every user grant mints through. A
// resource whose service principal requires assignment gives no token to a
// user holding none of its roles (Entra's AADSTS50105); a role that is
// disabled or not for users counts as none.
func TestAuthorizeUser(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tid := e.tenant.ID
	roles := []directory.AppRole{{Value: "Reader", Enabled: true, AllowedMemberTypes: []string{directory.MemberTypeUser}},
		{Value: "Writer", Enabled: true, AllowedMemberTypes: []string{directory.MemberTypeUser}}}
	open := e.app(t, directory.ApplicationSpec{DisplayName: "open", AppRoles: roles}, true)
	locked := e.app(t, directory.ApplicationSpec{DisplayName: "locked", AppRoles: roles}, false)
	if _, err := e.dir.CreateServicePrincipal(ctx, tid, directory.ServicePrincipalSpec{AppID: locked.AppID, AppRoleAssignmentRequired: true}); err != nil {
		t.Fatal(err)
	}
	user := func(name string) directory.User {
		u, err := e.dir.CreateUser(ctx, tid, directory.UserSpec{UserPrincipalName: name, Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	assigned, unassigned, writer := user("assigned"), user("unassigned"), user("writer")
	for _, a := range []directory.AssignmentSpec{
		{Principal: assigned.ObjectID, Resource: locked.AppID, Role: "Reader"},
		{Principal: assigned.ObjectID, Resource: open.AppID, Role: "Writer"},
		{Principal: writer.ObjectID, Resource: locked.AppID, Role: "Writer"},
	} {
		if _, err := e.dir.AssignRole(ctx, tid, a); err != nil {
			t.Fatal(err)
		}
	}
	resource := func(app directory.Application) directory.Resource {
		r, err := e.dir.ResolveResource(ctx, tid, app.AppID)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		name  string
		user  directory.User
		res   directory.Resource
		roles []string
		err   error
	}{
		{"assignment required, a role held: the token carries it", assigned, resource(locked), []string{"Reader"}, nil},
		{"assignment required, no role held: AADSTS50105", unassigned, resource(locked), nil, directory.ErrUserNotAssigned},
		{"assignment not required, no role held: a token without roles", unassigned, resource(open), nil, nil},
		{"assignment not required, a role held: the token carries it", assigned, resource(open), []string{"Writer"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.dir.AuthorizeUser(ctx, tid, tc.user.ObjectID, tc.res)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) || !slices.Equal(got, tc.roles) {
				t.Errorf("got %v, %v; want %v, %v", got, err, tc.roles, tc.err)
			}
		})
	}
	// A role disabled since it was assigned holds nothing.
	if _, err := e.dir.UpdateApplication(ctx, tid, locked.AppID, directory.ApplicationPatch{AppRoles: &[]directory.AppRole{
		roles[0], {ID: mustRole(t, locked, "Writer").ID, Value: "Writer", Enabled: false, AllowedMemberTypes: []string{directory.MemberTypeUser}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.AuthorizeUser(ctx, tid, writer.ObjectID, resource(locked)); !errors.Is(err, directory.ErrUserNotAssigned) {
		t.Errorf("only a disabled role held: %v, want ErrUserNotAssigned", err)
	}
}

func mustRole(t *testing.T, app directory.Application, value string) directory.AppRole {
	t.Helper()
	r, ok := app.Role(value)
	if !ok {
		t.Fatalf("%s has no role %s", app.DisplayName, value)
	}
	return r
}

// TestProductLoginResource: the product login mints only for a resource the
// tenant's policy names; what a request names is checked against it, and
// an unknown resource reads as one not allowed.
func TestProductLoginResource(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tid := e.tenant.ID
	studies := e.app(t, directory.ApplicationSpec{DisplayName: "studies", IdentifierURIs: []string{"api://studies"}}, true)
	other := e.app(t, directory.ApplicationSpec{DisplayName: "other", IdentifierURIs: []string{"api://other"}}, true)
	e.app(t, directory.ApplicationSpec{DisplayName: "third", IdentifierURIs: []string{"api://third"}}, true)
	def := directory.TenantPolicy{ProductLoginResource: "api://studies"}
	list := directory.TenantPolicy{ProductLoginResource: "api://studies", ProductLoginResources: []string{"api://other"}}
	onlyList := directory.TenantPolicy{ProductLoginResources: []string{"api://other"}}
	for _, tc := range []struct {
		name      string
		policy    directory.TenantPolicy
		requested string
		want      string // appId
		err       error
	}{
		{"no policy, nothing named: off", directory.TenantPolicy{}, "", "", directory.ErrProductLoginOff},
		{"no policy, a resource named: off", directory.TenantPolicy{}, "api://studies", "", directory.ErrProductLoginOff},
		{"default, nothing named: the default", def, "", studies.AppID, nil},
		{"default named by identifier URI", def, "api://studies", studies.AppID, nil},
		{"default named by appId", def, studies.AppID, studies.AppID, nil},
		{"default named as api://{appId}", def, "api://" + studies.AppID, studies.AppID, nil},
		{"another resource: not allowed", def, "api://third", "", directory.ErrResourceNotAllowed},
		{"an unknown resource: not allowed, as any other", def, "api://nothing", "", directory.ErrResourceNotAllowed},
		{"allow-list: the listed one", list, "api://other", other.AppID, nil},
		{"allow-list: the default still", list, "", studies.AppID, nil},
		{"allow-list: an unlisted one", list, "api://third", "", directory.ErrResourceNotAllowed},
		{"allow-list without a default, nothing named", onlyList, "", "", directory.ErrResourceNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.dir.ProductLoginResource(ctx, tid, tc.policy, tc.requested)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) || res.App.AppID != tc.want {
				t.Errorf("got %q, %v; want %q, %v", res.App.AppID, err, tc.want, tc.err)
			}
		})
	}

	// The policy is checked when it is set: every resource must resolve.
	for _, p := range []directory.TenantPolicy{
		{ProductLoginResource: "api://nothing"},
		{ProductLoginResources: []string{"api://other", "api://nothing"}},
	} {
		if _, err := e.dir.SetTenantPolicy(ctx, tid, p); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("policy %+v: %v, want ErrInvalid", p, err)
		}
	}
	got, err := e.dir.SetTenantPolicy(ctx, tid, directory.TenantPolicy{ProductLoginResources: []string{" api://other ", "", "api://other", "api://third"}})
	if err != nil || !slices.Equal(got.Policy.ProductLoginResources, []string{"api://other", "api://third"}) {
		t.Errorf("allow-list stored as %q, %v; want trimmed, without blanks or repeats", got.Policy.ProductLoginResources, err)
	}
}
