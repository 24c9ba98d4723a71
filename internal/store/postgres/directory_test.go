package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store/postgres/pgtest"
)

// The conformance suite races goroutines on one store, that is one pool.
// These tests race two stores on one schema, as two instances behind a load
// balancer are: what must be exact across instances is decided by the
// database, and nothing here may rely on state in Go.

// openPair opens two stores on one fresh schema.
func openPair(t *testing.T) [2]*Store {
	t.Helper()
	dsn := pgtest.Schema(t)
	var pair [2]*Store
	for i := range pair {
		s, err := Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		pair[i] = s
	}
	return pair
}

// raceOn runs fn(0) … fn(n-1) on n goroutines released together, the even
// ones on the first store and the odd ones on the second, and returns their
// errors by index.
func raceOn(pair [2]*Store, n int, fn func(s *Store, i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(pair[i%2], i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

var (
	t0       = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.UTC)
	longAgo  = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	farAhead = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func addTestTenant(t *testing.T, s *Store, id string) {
	t.Helper()
	mustDo(t, s.CreateTenant(t.Context(), directory.Tenant{ID: id, Domain: id + ".example", CreatedAt: t0}))
}

// Lockout counters are exact with two instances: every failure counts and
// each caller sees its own count.
func TestInstancesCountEverySignInFailure(t *testing.T) {
	pair := openPair(t)
	ctx := t.Context()
	addTestTenant(t, pair[0], "a")
	mustDo(t, pair[0].CreateUser(ctx, "a", directory.User{ObjectID: "user-1", UserPrincipalName: "u@a.example", CreatedAt: t0}))
	const n = 20
	counts := make([]int, n)
	errs := raceOn(pair, n, func(s *Store, i int) error {
		u, err := s.RecordSignInFailure(ctx, "a", "user-1", directory.SignInFailure{At: t0, Threshold: n, LockUntil: farAhead})
		counts[i] = u.FailedSignIns
		return err
	})
	mustDo(t, errors.Join(errs...))
	countedOnceEach(t, counts)
	u, err := pair[1].GetUser(ctx, "a", "user-1")
	mustDo(t, err)
	if u.FailedSignIns != n || !u.LockedUntil.Equal(farAhead) {
		t.Fatalf("after %d failures the user has %d and is locked until %v", n, u.FailedSignIns, u.LockedUntil)
	}
}

// A single-use value is used once across instances, whether it is new or
// an expired record being overwritten.
func TestInstancesConsumeOnceExactlyOnce(t *testing.T) {
	pair := openPair(t)
	ctx := t.Context()
	mustDo(t, pair[0].ConsumeOnce(ctx, "a", "expired", longAgo))
	for _, key := range []string{"new", "expired"} {
		const n = 20
		errs := raceOn(pair, n, func(s *Store, _ int) error { return s.ConsumeOnce(ctx, "a", key, farAhead) })
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, directory.ErrReplay):
				t.Fatalf("%s: unexpected error: %v", key, err)
			}
		}
		if won != 1 {
			t.Fatalf("%s: %d of %d callers consumed the value, want 1", key, won, n)
		}
	}
}

// First consents of one principal, given at once on two instances, all
// count: none overwrites another's scopes.
func TestInstancesMergeConcurrentConsents(t *testing.T) {
	pair := openPair(t)
	ctx := t.Context()
	addTestTenant(t, pair[0], "a")
	const n = 16
	errs := raceOn(pair, n, func(s *Store, i int) error {
		return s.PutConsent(ctx, "a", directory.ConsentGrant{ClientID: "client-1", ResourceAppID: "api-1",
			PrincipalID: "user-1", Scopes: []string{"shared", fmt.Sprint("scope-", i)}, CreatedAt: t0, UpdatedAt: t0})
	})
	mustDo(t, errors.Join(errs...))
	list, err := pair[0].ListConsents(ctx, "a", "client-1", "user-1")
	mustDo(t, err)
	if len(list) != 1 {
		t.Fatalf("%d grants, want 1", len(list))
	}
	got := slices.Clone(list[0].Scopes)
	slices.Sort(got)
	want := []string{"shared"}
	for i := range n {
		want = append(want, fmt.Sprint("scope-", i))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("merged scopes %v, want %v", list[0].Scopes, want)
	}
}

// The directory version moves for a write of another instance and for a
// write made by hand in SQL, and not for a write rolled back.
func TestDirectoryVersionSeesEveryWriter(t *testing.T) {
	pair := openPair(t)
	ctx := t.Context()
	version := func() int64 {
		t.Helper()
		v, err := pair[0].DirectoryVersion(ctx)
		mustDo(t, err)
		return v
	}
	v := version()
	addTestTenant(t, pair[1], "a")
	if version() == v {
		t.Fatal("a tenant created by another instance did not move the version")
	}

	v = version()
	_, err := pair[1].Pool().Exec(ctx, `UPDATE tenants SET display_name = 'by hand'`)
	mustDo(t, err)
	if version() == v {
		t.Fatal("an update by hand did not move the version")
	}

	// An operator's session on another search_path, naming the table by
	// its schema, still moves this schema's counter.
	v = version()
	var schema string
	mustDo(t, pair[1].Pool().QueryRow(ctx, `SELECT current_schema()`).Scan(&schema))
	conn, err := pgx.Connect(ctx, pgtest.ServerURL(t))
	mustDo(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, `UPDATE `+pgx.Identifier{schema, "tenants"}.Sanitize()+` SET display_name = 'by psql'`)
	mustDo(t, err)
	if version() == v {
		t.Fatal("an update from another search_path did not move the version")
	}

	v = version()
	tx, err := pair[1].Pool().Begin(ctx)
	mustDo(t, err)
	_, err = tx.Exec(ctx, `DELETE FROM tenants`)
	mustDo(t, err)
	if version() != v {
		t.Fatal("an uncommitted write is visible in the version")
	}
	mustDo(t, tx.Rollback(ctx))
	if version() != v {
		t.Fatal("a rolled-back write moved the version")
	}
}

// Directory writers of every kind on overlapping objects, on two
// instances, end in success, not found or conflict, never in a deadlock or
// a serialization failure surfacing to the caller.
func TestInstancesDirectoryWritersDoNotDeadlock(t *testing.T) {
	pair := openPair(t)
	ctx := t.Context()
	addTestTenant(t, pair[0], "a")
	for round := range 8 {
		app := func(i int) string { return fmt.Sprintf("app-%d-%d", round, i%4) }
		sp := func(i int) string { return "sp-" + app(i) }
		const n = 32
		errs := raceOn(pair, n, func(s *Store, i int) error {
			a := directory.Application{AppID: app(i), IdentifierURIs: []string{"api://" + app(i)}, CreatedAt: t0, UpdatedAt: t0}
			switch i % 8 {
			case 0:
				return s.CreateApplication(ctx, "a", a)
			case 1:
				a.IdentifierURIs = []string{"api://" + app(i), "api://" + app(i+1)}
				return s.UpdateApplication(ctx, "a", a)
			case 2:
				return s.AddCredential(ctx, "a", directory.Credential{AppID: app(i), KeyID: fmt.Sprint("k", i), CreatedAt: t0})
			case 3:
				if err := s.CreateServicePrincipal(ctx, "a", directory.ServicePrincipal{ObjectID: sp(i), AppID: app(i), CreatedAt: t0}); err != nil {
					return err
				}
				return s.CreateRoleAssignment(ctx, "a", directory.RoleAssignment{ID: fmt.Sprint("ra-", round, "-", i),
					PrincipalID: sp(i + 1), ResourceID: sp(i), AppRoleID: "r", CreatedAt: t0})
			case 4:
				return s.DeleteServicePrincipal(ctx, "a", sp(i))
			case 5:
				return s.DeleteCredential(ctx, "a", app(i), fmt.Sprint("k", i-3))
			case 6:
				return s.DeleteRoleAssignment(ctx, "a", fmt.Sprint("ra-", round, "-", i-3))
			default:
				return s.DeleteApplication(ctx, "a", app(i))
			}
		})
		for i, err := range errs {
			if err != nil && !errors.Is(err, directory.ErrNotFound) && !errors.Is(err, directory.ErrConflict) {
				t.Fatalf("round %d, caller %d: %v", round, i, err)
			}
		}
	}
}

// Lists come in byte order after the creation time, whatever the
// database's collation, as from the SQLite engine.
func TestListsTieBreakInByteOrder(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	addTestTenant(t, s, "a")
	ids := []string{"b", "B", "a-2", "a2", "_x", "é", "A"}
	for _, id := range ids {
		mustDo(t, s.CreateApplication(ctx, "a", directory.Application{AppID: id, CreatedAt: t0, UpdatedAt: t0}))
	}
	list, err := s.ListApplications(ctx, "a")
	mustDo(t, err)
	var got []string
	for _, a := range list {
		got = append(got, a.AppID)
	}
	want := slices.Clone(ids)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("listed %q, want %q", got, want)
	}
}

// Address failure counts are exact with two instances: failures from one
// address split across both all count, each caller sees its own count, and
// the one reaching the threshold (wherever it lands) bans the address for
// both.
func TestInstancesCountEveryAddressFailure(t *testing.T) {
	pair := openPair(t)
	ctx := t.Context()
	const n = 20
	counts := make([]int, n)
	errs := raceOn(pair, n, func(s *Store, i int) error {
		b, err := s.RecordAddressFailure(ctx, "a", "192.0.2.1", directory.AddressFailure{At: t0, Window: time.Hour, Threshold: n, BanFor: time.Hour})
		counts[i] = b.Failures
		return err
	})
	mustDo(t, errors.Join(errs...))
	countedOnceEach(t, counts)
	for i, s := range pair {
		b, err := s.GetAddressBan(ctx, "a", "192.0.2.1")
		mustDo(t, err)
		if b.Failures != n || !b.BannedUntil.Equal(t0.Add(time.Hour)) {
			t.Fatalf("instance %d: after %d failures the address has %+v", i, n, b)
		}
	}
}

// countedOnceEach fails unless the counts the concurrent callers saw are
// 1…n, each once: every increment counted, none seen twice.
func countedOnceEach(t *testing.T, counts []int) {
	t.Helper()
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("the callers saw the counts %v, want 1…%d once each", counts, len(counts))
		}
	}
}
