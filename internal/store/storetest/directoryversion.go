package storetest

import (
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
)

// testDirectoryVersion: every write to a table the directory cache serves
// moves the counter, and reads do not. A write that failed to move it would
// stay invisible to another instance's cache for ever.
func testDirectoryVersion(t *testing.T, s store.Store) {
	ctx := t.Context()
	last, err := s.DirectoryVersion(ctx)
	must(t, err)
	moved := func(what string) {
		t.Helper()
		v, err := s.DirectoryVersion(ctx)
		must(t, err)
		if v == last {
			t.Fatalf("%s did not move the directory version (%d)", what, v)
		}
		last = v
	}
	still := func(what string) {
		t.Helper()
		v, err := s.DirectoryVersion(ctx)
		must(t, err)
		if v != last {
			t.Fatalf("%s moved the directory version (%d → %d)", what, last, v)
		}
	}

	tn := addTenant(t, s, "t1")
	moved("CreateTenant")
	tn.DisplayName = "renamed"
	must(t, s.UpdateTenant(ctx, tn))
	moved("UpdateTenant")

	app := newApp("t1", "app-1", at(1), "api://one")
	must(t, s.CreateApplication(ctx, "t1", app))
	moved("CreateApplication")
	app.IdentifierURIs = []string{"api://two"}
	must(t, s.UpdateApplication(ctx, "t1", app))
	moved("UpdateApplication")
	must(t, s.CreateApplication(ctx, "t1", newApp("t1", "app-2", at(2))))
	moved("CreateApplication")

	sp := newSP("t1", "sp-1", "app-1", at(3))
	must(t, s.CreateServicePrincipal(ctx, "t1", sp))
	moved("CreateServicePrincipal")
	sp.Enabled = !sp.Enabled
	must(t, s.UpdateServicePrincipal(ctx, "t1", sp))
	moved("UpdateServicePrincipal")
	must(t, s.CreateServicePrincipal(ctx, "t1", newSP("t1", "sp-2", "app-2", at(4))))
	moved("CreateServicePrincipal")

	must(t, s.AddCredential(ctx, "t1", newSecret("t1", "app-1", "key-1", at(5))))
	moved("AddCredential")
	must(t, s.DeleteCredential(ctx, "t1", "app-1", "key-1"))
	moved("DeleteCredential")

	must(t, s.CreateRoleAssignment(ctx, "t1", newAssignment("t1", "ra-1", "sp-2", "sp-1", "role-1", at(6))))
	moved("CreateRoleAssignment")
	must(t, s.DeleteRoleAssignment(ctx, "t1", "ra-1"))
	moved("DeleteRoleAssignment")
	must(t, s.CreateRoleAssignment(ctx, "t1", newAssignment("t1", "ra-2", "sp-2", "sp-1", "role-1", at(7))))
	moved("CreateRoleAssignment")

	_, err = s.GetApplication(ctx, "t1", "app-1")
	must(t, err)
	_, err = s.ListCredentials(ctx, "t1", "app-1")
	must(t, err)
	_, err = s.ListRoleAssignmentsByPrincipal(ctx, "t1", "sp-2")
	must(t, err)
	_, err = s.GetTenantByDomain(ctx, tn.Domain)
	must(t, err)
	still("reads")

	must(t, s.DeleteServicePrincipal(ctx, "t1", "sp-1"))
	moved("DeleteServicePrincipal")
	must(t, s.DeleteApplication(ctx, "t1", "app-2"))
	moved("DeleteApplication")

	// Tenants are cached by domain too.
	must(t, s.AddTenantDomain(ctx, "t1", directory.TenantDomain{TenantID: "t1", Domain: "more.example", CreatedAt: at(8)}))
	moved("AddTenantDomain")
	_, err = s.ListTenantDomains(ctx, "t1")
	must(t, err)
	_, err = s.TenantOfApplication(ctx, "app-1")
	must(t, err)
	still("reads")
	must(t, s.DeleteTenantDomain(ctx, "t1", "more.example"))
	moved("DeleteTenantDomain")
}

// testDirectoryVersionUsers: enabling, disabling and deleting a user move
// the counter (the cache keeps whether a user is enabled, for the admin
// API's authority check); a sign-in failure, its reset and any other
// update of the user do not, or every wrong password on any instance
// would flush every instance's cache.
func testDirectoryVersionUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "t1")
	u := newUser("t1", "user-1", at(1))
	must(t, s.CreateUser(ctx, "t1", u))
	last, err := s.DirectoryVersion(ctx)
	must(t, err)
	check := func(what string, wantMoved bool) {
		t.Helper()
		v, err := s.DirectoryVersion(ctx)
		must(t, err)
		switch {
		case wantMoved && v == last:
			t.Fatalf("%s did not move the directory version (%d)", what, v)
		case !wantMoved && v != last:
			t.Fatalf("%s moved the directory version (%d → %d)", what, last, v)
		}
		last = v
	}

	_, err = s.RecordSignInFailure(ctx, "t1", "user-1", directory.SignInFailure{At: at(2), Threshold: 3, LockUntil: at(100)})
	must(t, err)
	check("RecordSignInFailure", false)
	must(t, s.ResetSignInFailures(ctx, "t1", "user-1"))
	check("ResetSignInFailures", false)
	u.DisplayName, u.PasswordHash, u.UpdatedAt = "Renamed", "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$rehashed", at(3)
	must(t, s.UpdateUser(ctx, "t1", u))
	check("UpdateUser of the name and password hash", false)
	_, err = s.GetUserEnabled(ctx, "t1", "user-1")
	must(t, err)
	check("GetUserEnabled", false)

	u.Enabled = false
	must(t, s.UpdateUser(ctx, "t1", u))
	check("UpdateUser disabling the user", true)
	u.DisplayName = "Renamed again"
	must(t, s.UpdateUser(ctx, "t1", u))
	check("UpdateUser of a disabled user's name", false)
	u.Enabled = true
	must(t, s.UpdateUser(ctx, "t1", u))
	check("UpdateUser enabling the user", true)
	must(t, s.DeleteUser(ctx, "t1", "user-1"))
	check("DeleteUser", true)
}
