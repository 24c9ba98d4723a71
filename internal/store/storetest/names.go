package storetest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

// Names one tenant cannot claim from another (issue 13): application ids
// and domains are unique across tenants, and failed sign-ins of names no
// user has are counted as a user's.

// An application id belongs to one tenant: a second tenant registering it
// is a conflict that stores nothing, whatever the case it is written in;
// only the well-known ids may be registered in every tenant; and the one
// tenant holding an id is found by it.
func testApplicationIDsAcrossTenants(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	addTenant(t, s, "b")
	const id = "2f5a6c1e-0000-4000-8000-00000000000a"
	mine := newApp("a", id, t0, "api://mine")
	must(t, s.CreateApplication(ctx, "a", mine))

	squat := newApp("b", id, at(1), "api://squat")
	wantErr(t, s.CreateApplication(ctx, "b", squat), directory.ErrConflict)
	_, err := s.GetApplication(ctx, "b", id)
	wantErr(t, err, directory.ErrNotFound)
	_, err = s.GetApplicationByIdentifierURI(ctx, "b", "api://squat")
	wantErr(t, err, directory.ErrNotFound)

	got, err := s.TenantOfApplication(ctx, id)
	must(t, err)
	wantEqual(t, got, "a")
	_, err = s.TenantOfApplication(ctx, "2f5a6c1e-0000-4000-8000-00000000000b")
	wantErr(t, err, directory.ErrNotFound)

	// The well-known ids: one registration per tenant, in every tenant,
	// and never "the" tenant of the id.
	for _, wk := range []string{directory.CLIClientID, directory.ManagementAppID} {
		for _, tn := range []string{"a", "b"} {
			must(t, s.CreateApplication(ctx, tn, newApp(tn, wk, at(2))))
		}
		wantErr(t, s.CreateApplication(ctx, "a", newApp("a", wk, at(3))), directory.ErrConflict)
		_, err := s.TenantOfApplication(ctx, wk)
		wantErr(t, err, directory.ErrNotFound)
		for _, tn := range []string{"a", "b"} {
			app, err := s.GetApplication(ctx, tn, wk)
			must(t, err)
			wantEqual(t, app, newApp(tn, wk, at(2)))
		}
	}

	// Deleted, the id is free for another tenant.
	must(t, s.DeleteApplication(ctx, "a", id))
	must(t, s.CreateApplication(ctx, "b", squat))
	got, err = s.TenantOfApplication(ctx, id)
	must(t, err)
	wantEqual(t, got, "b")
}

// A tenant's own domain is its first; it may hold more, each held by one
// tenant only in any letter case, and any of them finds it.
func testTenantDomains(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := addTenant(t, s, "a")
	b := addTenant(t, s, "b")
	own := func(tn directory.Tenant) directory.TenantDomain {
		return directory.TenantDomain{TenantID: tn.ID, Domain: tn.Domain, CreatedAt: tn.CreatedAt}
	}
	more := directory.TenantDomain{TenantID: "a", Domain: "Contoso.Example", CreatedAt: at(1)}
	early := directory.TenantDomain{TenantID: "a", Domain: "early.example", CreatedAt: t0.Add(-time.Hour)}
	must(t, s.AddTenantDomain(ctx, "a", more))
	must(t, s.AddTenantDomain(ctx, "a", early))

	list, err := s.ListTenantDomains(ctx, "a")
	must(t, err)
	wantEqual(t, list, []directory.TenantDomain{own(a), early, more})
	list, err = s.ListTenantDomains(ctx, "b")
	must(t, err)
	wantEqual(t, list, []directory.TenantDomain{own(b)})

	for _, d := range []string{"contoso.example", "CONTOSO.EXAMPLE", a.Domain} {
		got, err := s.GetTenantByDomain(ctx, d)
		must(t, err)
		wantEqual(t, got, a)
	}

	// Held anywhere, in any case: b can neither add a's domains nor
	// create a tenant named by one, and nothing of either is stored.
	for _, d := range []string{"contoso.example", strings.ToUpper(a.Domain)} {
		wantErr(t, s.AddTenantDomain(ctx, "b", directory.TenantDomain{TenantID: "b", Domain: d, CreatedAt: at(2)}), directory.ErrConflict)
	}
	wantErr(t, s.AddTenantDomain(ctx, "a", directory.TenantDomain{TenantID: "a", Domain: "b.example", CreatedAt: at(2)}), directory.ErrConflict)
	taken := newTenant("c", at(3))
	taken.Domain = "CONTOSO.example"
	wantErr(t, s.CreateTenant(ctx, taken), directory.ErrConflict)
	_, err = s.GetTenant(ctx, "c")
	wantErr(t, err, directory.ErrNotFound)
	wantErr(t, s.AddTenantDomain(ctx, "nope", directory.TenantDomain{TenantID: "nope", Domain: "free.example", CreatedAt: at(2)}), directory.ErrNotFound)
	if err := s.AddTenantDomain(ctx, "a", directory.TenantDomain{TenantID: "b", Domain: "free.example", CreatedAt: at(2)}); err == nil {
		t.Fatal("AddTenantDomain accepted a domain of tenant b in tenant a")
	}
	_, err = s.GetTenantByDomain(ctx, "free.example")
	wantErr(t, err, directory.ErrNotFound)

	// Removal: only by the tenant holding it, never its own domain.
	wantErr(t, s.DeleteTenantDomain(ctx, "b", "contoso.example"), directory.ErrNotFound)
	wantErr(t, s.DeleteTenantDomain(ctx, "a", strings.ToUpper(a.Domain)), directory.ErrConflict)
	wantErr(t, s.DeleteTenantDomain(ctx, "a", "missing.example"), directory.ErrNotFound)
	must(t, s.DeleteTenantDomain(ctx, "a", "CONTOSO.example"))
	_, err = s.GetTenantByDomain(ctx, "contoso.example")
	wantErr(t, err, directory.ErrNotFound)
	list, err = s.ListTenantDomains(ctx, "a")
	must(t, err)
	wantEqual(t, list, []directory.TenantDomain{own(a), early})

	// Free again, for any tenant.
	moved := directory.TenantDomain{TenantID: "b", Domain: "contoso.example", CreatedAt: at(4)}
	must(t, s.AddTenantDomain(ctx, "b", moved))
	got, err := s.GetTenantByDomain(ctx, "Contoso.Example")
	must(t, err)
	wantEqual(t, got, b)
}

// nameRule is failure i of a name, counted with a threshold of 3, a lock
// until at(100+i), a memory of an hour.
func nameRule(i int) directory.SignInFailure {
	return directory.SignInFailure{At: at(i), Threshold: 3, LockUntil: at(100 + i),
		ForgetBefore: at(i).Add(-time.Hour), ExpiresAt: at(i).Add(time.Hour)}
}

// A name's failures count, lock at and after the threshold, never shorten
// a lock, are forgotten after the memory, and are the same count for the
// same key only; a user's count follows the same rule.
func testNameFailures(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	key, other := bytes.Repeat([]byte{0xfe}, 32), bytes.Repeat([]byte{0x01}, 32)
	_, err := s.GetNameFailures(ctx, "a", key)
	wantErr(t, err, directory.ErrNotFound)

	want := directory.NameFailures{}
	record := func(f directory.SignInFailure) {
		t.Helper()
		got, err := s.RecordNameFailure(ctx, "a", key, f)
		must(t, err)
		wantEqual(t, got, want)
		got, err = s.GetNameFailures(ctx, "a", key)
		must(t, err)
		wantEqual(t, got, want)
	}
	for i := 1; i <= 5; i++ {
		want.Failures, want.LastFailureAt, want.ExpiresAt = i, at(i), at(i).Add(time.Hour)
		switch i {
		case 3: // the third failure reaches the threshold
			want.LockedUntil = at(103)
		case 4: // a failure past it locks again
			want.LockedUntil = at(104)
		}
		f := nameRule(i)
		if i == 5 {
			f.LockUntil = at(50) // an earlier lock does not shorten it
		}
		record(f)
	}
	// Another key, in the same tenant, is its own count.
	got, err := s.RecordNameFailure(ctx, "a", other, nameRule(6))
	must(t, err)
	wantEqual(t, got, directory.NameFailures{Failures: 1, LastFailureAt: at(6), ExpiresAt: at(6).Add(time.Hour)})

	// After the memory, the count starts again; the lock in place stays.
	late := nameRule(5 + 3600)
	want.Failures, want.LastFailureAt, want.ExpiresAt = 1, late.At, late.ExpiresAt
	record(late)

	// The same rule for a user.
	u := newUser("a", "user-1", t0)
	u.FailedSignIns, u.LastFailureAt, u.LockedUntil = 0, time.Time{}, time.Time{}
	must(t, s.CreateUser(ctx, "a", u))
	for i := 1; i <= 2; i++ {
		_, err := s.RecordSignInFailure(ctx, "a", "user-1", nameRule(i))
		must(t, err)
	}
	user, err := s.RecordSignInFailure(ctx, "a", "user-1", nameRule(2+3600))
	must(t, err)
	u.FailedSignIns, u.LastFailureAt = 1, at(2+3600)
	wantEqual(t, user, u)

	// A threshold of zero or less never locks.
	for i := range 4 {
		f := nameRule(10 + i)
		f.Threshold = 0
		got, err = s.RecordNameFailure(ctx, "a", other, f)
		must(t, err)
	}
	wantEqual(t, got, directory.NameFailures{Failures: 5, LastFailureAt: at(13), ExpiresAt: at(13).Add(time.Hour)})
}

// Each tenant counts its own names; Purge removes the forgotten ones.
func testNameFailuresTenancyAndPurge(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	addTenant(t, s, "b")
	key := bytes.Repeat([]byte{0x42}, 32)
	for i := 1; i <= 3; i++ {
		_, err := s.RecordNameFailure(ctx, "a", key, nameRule(i))
		must(t, err)
	}
	_, err := s.GetNameFailures(ctx, "b", key)
	wantErr(t, err, directory.ErrNotFound)
	got, err := s.RecordNameFailure(ctx, "b", key, nameRule(4))
	must(t, err)
	wantEqual(t, got.Failures, 1)

	fresh := bytes.Repeat([]byte{0x43}, 32)
	keep := nameRule(2 * 3600)
	_, err = s.RecordNameFailure(ctx, "a", fresh, keep)
	must(t, err)
	// Purge before the oldest expiry keeps every row; after it, only the
	// rows whose count is not yet forgotten.
	_, err = s.Purge(ctx, session.PurgeBefore{Expired: at(3600), Answered: at(3600)}, 1000)
	must(t, err)
	_, err = s.GetNameFailures(ctx, "a", key)
	must(t, err)
	_, err = s.Purge(ctx, session.PurgeBefore{Expired: at(3600 + 10), Answered: at(3600 + 10)}, 1000)
	must(t, err)
	for _, tn := range []string{"a", "b"} {
		_, err = s.GetNameFailures(ctx, tn, key)
		wantErr(t, err, directory.ErrNotFound)
	}
	left, err := s.GetNameFailures(ctx, "a", fresh)
	must(t, err)
	wantEqual(t, left.ExpiresAt, keep.ExpiresAt)
}

// Concurrent failures of one name from any number of callers all count,
// and each caller sees its own count.
func testConcurrentNameFailures(t *testing.T, s store.Store) {
	addTenant(t, s, "a")
	key := bytes.Repeat([]byte{0x07}, 32)
	counts := make([]int, racers)
	errs := race(racers, func(i int) error {
		got, err := s.RecordNameFailure(t.Context(), "a", key, directory.SignInFailure{At: at(1), Threshold: racers,
			LockUntil: at(100), ForgetBefore: t0.Add(-time.Hour), ExpiresAt: at(3600)})
		counts[i] = got.Failures
		return err
	})
	outcomes(t, errs, nil)
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("the callers saw the counts %v, want 1…%d once each", counts, racers)
		}
	}
	got, err := s.GetNameFailures(t.Context(), "a", key)
	must(t, err)
	wantEqual(t, got, directory.NameFailures{Failures: racers, LastFailureAt: at(1), LockedUntil: at(100), ExpiresAt: at(3600)})
}
