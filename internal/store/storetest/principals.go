package storetest

import (
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
)

func testServicePrincipalRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	// Listed by creation time, then object id, whatever the insertion order.
	late := newSP("a", "sp-a", "app-3", at(2))
	b := newSP("a", "sp-b", "app-1", at(1))
	a := newSP("a", "sp-a2", "app-2", at(1))
	for _, sp := range []directory.ServicePrincipal{late, b, a} {
		must(t, s.CreateServicePrincipal(ctx, "a", sp))
	}
	list, err := s.ListServicePrincipals(ctx, "a")
	must(t, err)
	wantEqual(t, list, []directory.ServicePrincipal{a, b, late})

	got, err := s.GetServicePrincipal(ctx, "a", "sp-b")
	must(t, err)
	wantEqual(t, got, b)
	got, err = s.GetServicePrincipalByAppID(ctx, "a", "app-1")
	must(t, err)
	wantEqual(t, got, b)

	b.DisplayName = "renamed"
	b.Enabled = false
	b.AppRoleAssignmentRequired = false
	must(t, s.UpdateServicePrincipal(ctx, "a", b))
	got, err = s.GetServicePrincipal(ctx, "a", "sp-b")
	must(t, err)
	wantEqual(t, got, b)
}

func testServicePrincipalErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	sp := newSP("a", "sp-1", "app-1", t0)
	must(t, s.CreateServicePrincipal(ctx, "a", sp))
	must(t, s.CreateServicePrincipal(ctx, "a", newSP("a", "sp-2", "app-2", t0)))

	// A second service principal for the application, or with the object id.
	wantErr(t, s.CreateServicePrincipal(ctx, "a", newSP("a", "sp-3", "app-1", t0)), directory.ErrConflict)
	wantErr(t, s.CreateServicePrincipal(ctx, "a", newSP("a", "sp-1", "app-3", t0)), directory.ErrConflict)
	// An update may not move it onto an application that has one.
	moved := sp
	moved.AppID = "app-2"
	wantErr(t, s.UpdateServicePrincipal(ctx, "a", moved), directory.ErrConflict)
	got, err := s.GetServicePrincipal(ctx, "a", "sp-1")
	must(t, err)
	wantEqual(t, got, sp)

	_, err = s.GetServicePrincipal(ctx, "a", "missing")
	wantErr(t, err, directory.ErrNotFound)
	_, err = s.GetServicePrincipalByAppID(ctx, "a", "missing")
	wantErr(t, err, directory.ErrNotFound)
	wantErr(t, s.UpdateServicePrincipal(ctx, "a", newSP("a", "missing", "app-9", t0)), directory.ErrNotFound)
	wantErr(t, s.DeleteServicePrincipal(ctx, "a", "missing"), directory.ErrNotFound)

	must(t, s.DeleteServicePrincipal(ctx, "a", "sp-1"))
	wantErr(t, s.DeleteServicePrincipal(ctx, "a", "sp-1"), directory.ErrNotFound)
	// With it gone, the application may have a new one.
	must(t, s.CreateServicePrincipal(ctx, "a", newSP("a", "sp-3", "app-1", t0)))
}

// DeleteServicePrincipal removes the assignments naming it, as principal or
// as resource, and leaves its application and other assignments alone.
func testDeleteServicePrincipalCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	app := newApp("a", "app-1", t0)
	must(t, s.CreateApplication(ctx, "a", app))
	must(t, s.CreateServicePrincipal(ctx, "a", newSP("a", "sp-1", "app-1", t0)))
	must(t, s.CreateServicePrincipal(ctx, "a", newSP("a", "sp-2", "app-2", t0)))
	unrelated := newAssignment("a", "ra-3", "sp-2", "sp-2", "role-1", at(3))
	for _, ra := range []directory.RoleAssignment{
		newAssignment("a", "ra-1", "sp-1", "sp-2", "role-1", at(1)),
		newAssignment("a", "ra-2", "sp-2", "sp-1", "role-1", at(2)),
		unrelated,
	} {
		must(t, s.CreateRoleAssignment(ctx, "a", ra))
	}

	must(t, s.DeleteServicePrincipal(ctx, "a", "sp-1"))

	for _, list := range []func() ([]directory.RoleAssignment, error){
		func() ([]directory.RoleAssignment, error) { return s.ListRoleAssignmentsByPrincipal(ctx, "a", "sp-1") },
		func() ([]directory.RoleAssignment, error) { return s.ListRoleAssignmentsByResource(ctx, "a", "sp-1") },
	} {
		got, err := list()
		must(t, err)
		wantEqual(t, got, []directory.RoleAssignment{})
	}
	got, err := s.ListRoleAssignmentsByPrincipal(ctx, "a", "sp-2")
	must(t, err)
	wantEqual(t, got, []directory.RoleAssignment{unrelated})
	stillThere, err := s.GetApplication(ctx, "a", "app-1")
	must(t, err)
	wantEqual(t, stillThere, app)
}
