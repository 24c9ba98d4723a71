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
