package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
)

func testTenantRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	want := newTenant("11111111-1111-1111-1111-111111111111", t0)
	want.Domain = "Contoso.Example"
	must(t, s.CreateTenant(ctx, want))

	got, err := s.GetTenant(ctx, want.ID)
	must(t, err)
	wantEqual(t, got, want)

	// The domain keeps the case it was written with, and matches in any.
	for _, d := range []string{"Contoso.Example", "contoso.example", "CONTOSO.EXAMPLE"} {
		got, err := s.GetTenantByDomain(ctx, d)
		must(t, err)
		wantEqual(t, got, want)
	}
}

func testTenantErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetTenant(ctx, "missing")
	wantErr(t, err, directory.ErrNotFound)
	_, err = s.GetTenantByDomain(ctx, "missing.example")
	wantErr(t, err, directory.ErrNotFound)

	a := addTenant(t, s, "a")

	sameID := newTenant("a", t0)
	sameID.Domain = "other.example"
	wantErr(t, s.CreateTenant(ctx, sameID), directory.ErrConflict)

	sameDomain := newTenant("b", t0)
	sameDomain.Domain = strings.ToUpper(a.Domain)
	wantErr(t, s.CreateTenant(ctx, sameDomain), directory.ErrConflict)

	// Neither failed create left a row behind.
	list, err := s.ListTenants(ctx)
	must(t, err)
	wantEqual(t, list, []directory.Tenant{a})
}

func testTenantListOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	list, err := s.ListTenants(ctx)
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("new store lists %d tenants", len(list))
	}

	// Creation time first, then id; insertion order must not matter.
	c := newTenant("c", at(1))
	b := newTenant("b", at(2))
	a2 := newTenant("a2", at(2))
	z := newTenant("z", at(0))
	for _, tn := range []directory.Tenant{c, b, a2, z} {
		must(t, s.CreateTenant(ctx, tn))
	}
	list, err = s.ListTenants(ctx)
	must(t, err)
	wantEqual(t, list, []directory.Tenant{z, c, a2, b})
}

// A time in another zone is stored as the same instant and read back in UTC.
func testTimesReadBackInUTC(t *testing.T, s store.Store) {
	ctx := t.Context()
	tn := newTenant("a", t0.In(time.FixedZone("UTC+5", 5*3600)))
	must(t, s.CreateTenant(ctx, tn))
	got, err := s.GetTenant(ctx, "a")
	must(t, err)
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt is in %v, want UTC", got.CreatedAt.Location())
	}
	tn.CreatedAt = t0
	wantEqual(t, got, tn)
}

// UpdateTenant replaces the display name and the policy, and nothing else.
func testTenantUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, s.UpdateTenant(ctx, newTenant("a", t0)), directory.ErrNotFound)
	a := addTenant(t, s, "a")
	b := addTenant(t, s, "b")

	upd := a
	upd.DisplayName = "Renamed"
	// The product-login allow-list is replaced as a whole, in its order.
	upd.Policy = directory.TenantPolicy{RefreshGrace: 90*time.Second + 7, LockoutThreshold: 1,
		ProductLoginResources: []string{"api://third", "api://reports"}}
	upd.Domain = "moved.example"
	upd.CreatedAt = at(100)
	must(t, s.UpdateTenant(ctx, upd))

	want := a
	want.DisplayName, want.Policy = upd.DisplayName, upd.Policy
	got, err := s.GetTenant(ctx, "a")
	must(t, err)
	wantEqual(t, got, want)
	got, err = s.GetTenantByDomain(ctx, a.Domain)
	must(t, err)
	wantEqual(t, got, want)
	_, err = s.GetTenantByDomain(ctx, "moved.example")
	wantErr(t, err, directory.ErrNotFound)

	// The zero policy (every default) round-trips too, and the other
	// tenant is untouched.
	want.Policy = directory.TenantPolicy{}
	must(t, s.UpdateTenant(ctx, want))
	list, err := s.ListTenants(ctx)
	must(t, err)
	wantEqual(t, list, []directory.Tenant{want, b})
}
