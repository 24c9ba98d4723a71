package storetest

import (
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
)

func testRoleAssignmentRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	// Listed by creation time, then id, whatever the insertion order.
	r1Late := newAssignment("a", "ra-1", "client-1", "api-1", "role-1", at(3))
	r2 := newAssignment("a", "ra-2", "client-1", "api-1", "role-2", at(1))
	r0 := newAssignment("a", "ra-0", "client-1", "api-2", "role-1", at(1))
	r3 := newAssignment("a", "ra-3", "client-2", "api-1", "role-1", at(2))
	r3.PrincipalType = directory.PrincipalUser
	for _, ra := range []directory.RoleAssignment{r1Late, r2, r0, r3} {
		must(t, s.CreateRoleAssignment(ctx, "a", ra))
	}

	for _, tc := range []struct {
		name string
		list func() ([]directory.RoleAssignment, error)
		want []directory.RoleAssignment
	}{
		{"by principal client-1",
			func() ([]directory.RoleAssignment, error) {
				return s.ListRoleAssignmentsByPrincipal(ctx, "a", "client-1")
			},
			[]directory.RoleAssignment{r0, r2, r1Late}},
		{"by principal client-2",
			func() ([]directory.RoleAssignment, error) {
				return s.ListRoleAssignmentsByPrincipal(ctx, "a", "client-2")
			},
			[]directory.RoleAssignment{r3}},
		{"by resource api-1",
			func() ([]directory.RoleAssignment, error) { return s.ListRoleAssignmentsByResource(ctx, "a", "api-1") },
			[]directory.RoleAssignment{r2, r3, r1Late}},
		{"by resource api-2",
			func() ([]directory.RoleAssignment, error) { return s.ListRoleAssignmentsByResource(ctx, "a", "api-2") },
			[]directory.RoleAssignment{r0}},
		{"by unknown principal",
			func() ([]directory.RoleAssignment, error) { return s.ListRoleAssignmentsByPrincipal(ctx, "a", "api-1") },
			[]directory.RoleAssignment{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.list()
			must(t, err)
			wantEqual(t, got, tc.want)
		})
	}

	must(t, s.DeleteRoleAssignment(ctx, "a", "ra-2"))
	got, err := s.ListRoleAssignmentsByResource(ctx, "a", "api-1")
	must(t, err)
	wantEqual(t, got, []directory.RoleAssignment{r3, r1Late})
}

func testRoleAssignmentErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	ra := newAssignment("a", "ra-1", "client-1", "api-1", "role-1", t0)
	must(t, s.CreateRoleAssignment(ctx, "a", ra))

	// The same id; the same role of the same resource to the same principal.
	wantErr(t, s.CreateRoleAssignment(ctx, "a", newAssignment("a", "ra-1", "client-2", "api-2", "role-2", t0)),
		directory.ErrConflict)
	wantErr(t, s.CreateRoleAssignment(ctx, "a", newAssignment("a", "ra-2", "client-1", "api-1", "role-1", t0)),
		directory.ErrConflict)
	// Another role of that resource is a new assignment.
	must(t, s.CreateRoleAssignment(ctx, "a", newAssignment("a", "ra-2", "client-1", "api-1", "role-2", t0)))

	wantErr(t, s.DeleteRoleAssignment(ctx, "a", "missing"), directory.ErrNotFound)
	must(t, s.DeleteRoleAssignment(ctx, "a", "ra-1"))
	wantErr(t, s.DeleteRoleAssignment(ctx, "a", "ra-1"), directory.ErrNotFound)
}
