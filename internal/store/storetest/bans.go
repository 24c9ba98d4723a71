package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

// banRule is the rule the ban tests count under: 3 failures within a
// minute ban for an hour.
func banRule(i int) directory.AddressFailure {
	return directory.AddressFailure{At: at(i), Window: time.Minute, Threshold: 3, BanFor: time.Hour}
}

func recordFailure(t *testing.T, s store.Store, tenantID, address string, f directory.AddressFailure) directory.AddressBan {
	t.Helper()
	b, err := s.RecordAddressFailure(t.Context(), tenantID, address, f)
	must(t, err)
	return b
}

// Failures add up within the window, the one reaching the threshold bans,
// a failure after the window starts the count again, and a ban is never
// shortened.
func testAddressFailures(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	_, err := s.GetAddressBan(ctx, "a", "192.0.2.1")
	wantErr(t, err, directory.ErrNotFound)

	got := recordFailure(t, s, "a", "192.0.2.1", banRule(0))
	wantEqual(t, got, directory.AddressBan{TenantID: "a", Address: "192.0.2.1", Failures: 1, FirstFailureAt: at(0), LastFailureAt: at(0)})
	got = recordFailure(t, s, "a", "192.0.2.1", banRule(10))
	wantEqual(t, got, directory.AddressBan{TenantID: "a", Address: "192.0.2.1", Failures: 2, FirstFailureAt: at(0), LastFailureAt: at(10)})
	read, err := s.GetAddressBan(ctx, "a", "192.0.2.1")
	must(t, err)
	wantEqual(t, read, got)

	// The window is a minute from the first failure: at(60) is past it,
	// so the count starts again there rather than reaching 3.
	got = recordFailure(t, s, "a", "192.0.2.1", banRule(60))
	wantEqual(t, got, directory.AddressBan{TenantID: "a", Address: "192.0.2.1", Failures: 1, FirstFailureAt: at(60), LastFailureAt: at(60)})
	recordFailure(t, s, "a", "192.0.2.1", banRule(70))
	got = recordFailure(t, s, "a", "192.0.2.1", banRule(80))
	wantEqual(t, got, directory.AddressBan{TenantID: "a", Address: "192.0.2.1", Failures: 3, FirstFailureAt: at(60), LastFailureAt: at(80),
		BannedUntil: at(80).Add(time.Hour)})
	if !got.Banned(at(81)) || got.Banned(at(80).Add(time.Hour)) {
		t.Fatalf("Banned: %+v", got)
	}

	// A failure counted past the threshold with a shorter ban keeps the
	// longer one.
	short := banRule(81)
	short.BanFor = time.Second
	got = recordFailure(t, s, "a", "192.0.2.1", short)
	if got.Failures != 4 || !got.BannedUntil.Equal(at(80).Add(time.Hour)) {
		t.Fatalf("a shorter ban replaced a longer one: %+v", got)
	}

	// Threshold 0 never bans; threshold 1 bans at the first failure.
	off := banRule(0)
	off.Threshold = 0
	for range 5 {
		got = recordFailure(t, s, "a", "192.0.2.2", off)
	}
	if got.Failures != 5 || !got.BannedUntil.IsZero() {
		t.Fatalf("threshold 0 banned: %+v", got)
	}
	one := banRule(0)
	one.Threshold = 1
	if got = recordFailure(t, s, "a", "2001:db8::/64", one); !got.BannedUntil.Equal(at(0).Add(time.Hour)) {
		t.Fatalf("threshold 1: %+v", got)
	}
}

// The list holds the bans in force only, in address order, a page at a
// time; lifting a ban removes it with its count, and lifting what is not
// banned is ErrNotFound and changes nothing.
func testAddressBanListAndLift(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	var want []directory.AddressBan
	for i := range 5 {
		addr := fmt.Sprintf("198.51.100.%d", 10+i)
		var b directory.AddressBan
		for k := range 3 {
			b = recordFailure(t, s, "a", addr, banRule(i*10+k))
		}
		want = append(want, b)
	}
	// Counted but not banned, and banned but expired by the time of the
	// list: neither is listed.
	recordFailure(t, s, "a", "198.51.100.1", banRule(0))
	expired := banRule(0)
	expired.BanFor = time.Second
	for range 3 {
		recordFailure(t, s, "a", "198.51.100.2", expired)
	}
	now := at(100)

	var pages [][]directory.AddressBan
	q := directory.BanQuery{At: now, Limit: 2}
	for {
		page, err := s.ListAddressBans(ctx, "a", q)
		must(t, err)
		if len(page) == 0 {
			break
		}
		pages = append(pages, page)
		q.After = page[len(page)-1].Address
	}
	if len(pages) != 3 || len(pages[0]) != 2 || len(pages[2]) != 1 {
		t.Fatalf("pages of 2: %+v", pages)
	}
	wantEqual(t, slices.Concat(pages...), want)
	// Once the bans end, none is listed.
	all, err := s.ListAddressBans(ctx, "a", directory.BanQuery{At: want[4].BannedUntil, Limit: 100})
	must(t, err)
	wantEqual(t, all, []directory.AddressBan{})

	lifted, err := s.DeleteAddressBan(ctx, "a", want[1].Address, now)
	must(t, err)
	wantEqual(t, lifted, want[1])
	_, err = s.GetAddressBan(ctx, "a", want[1].Address)
	wantErr(t, err, directory.ErrNotFound)
	_, err = s.DeleteAddressBan(ctx, "a", want[1].Address, now)
	wantErr(t, err, directory.ErrNotFound)
	// Not banned, or no longer: nothing to lift, and the count stays.
	for _, addr := range []string{"198.51.100.1", "198.51.100.2", "203.0.113.9"} {
		_, err = s.DeleteAddressBan(ctx, "a", addr, now)
		wantErr(t, err, directory.ErrNotFound)
	}
	if b, err := s.GetAddressBan(ctx, "a", "198.51.100.1"); err != nil || b.Failures != 1 {
		t.Fatalf("a refused lift changed the count: %+v, %v", b, err)
	}
	// A lifted address starts from nothing.
	if b := recordFailure(t, s, "a", want[1].Address, banRule(101)); b.Failures != 1 || !b.BannedUntil.IsZero() {
		t.Fatalf("after the lift: %+v", b)
	}
}

// Locked users are listed while their lock holds, by object id, a page at
// a time.
func testListLockedUsers(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	var want []directory.User
	for i := range 5 {
		u := newUser("a", fmt.Sprintf("user-%d", i), t0)
		u.FailedSignIns, u.LastFailureAt, u.LockedUntil = 0, time.Time{}, time.Time{}
		must(t, s.CreateUser(ctx, "a", u))
		lockUntil := at(1000)
		if i == 3 {
			lockUntil = at(50) // ends before the list
		}
		if i == 4 {
			_, err := s.RecordSignInFailure(ctx, "a", u.ObjectID, directory.SignInFailure{At: at(1), Threshold: 5, LockUntil: lockUntil}) // counted, not locked
			must(t, err)
			continue
		}
		u, err := s.RecordSignInFailure(ctx, "a", u.ObjectID, directory.SignInFailure{At: at(1), Threshold: 1, LockUntil: lockUntil})
		must(t, err)
		if i != 3 {
			want = append(want, u)
		}
	}
	var got []directory.User
	q := directory.BanQuery{At: at(100), Limit: 2}
	for pages := 0; ; pages++ {
		page, err := s.ListLockedUsers(ctx, "a", q)
		must(t, err)
		if len(page) == 0 {
			break
		}
		if len(page) > 2 || pages > 2 {
			t.Fatalf("page of %d, or too many pages", len(page))
		}
		got = append(got, page...)
		q.After = page[len(page)-1].ObjectID
	}
	wantEqual(t, got, want)
	must(t, s.ResetSignInFailures(ctx, "a", "user-0"))
	got, err := s.ListLockedUsers(ctx, "a", directory.BanQuery{At: at(100), Limit: 100})
	must(t, err)
	wantEqual(t, got, want[1:])
}

// Purge removes an address's count once its window and its ban have ended,
// and keeps any row still in force.
func testPurgeAddressFailures(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	recordFailure(t, s, "a", "192.0.2.1", banRule(0)) // window ends at(60)
	long := banRule(0)
	long.Threshold, long.BanFor = 1, 48*time.Hour
	recordFailure(t, s, "a", "192.0.2.2", long) // banned two days
	// As soon as the row expires (the later of its window's end and the
	// ban it could have led to, an hour on): it means nothing past that.
	_, err := s.Purge(ctx, session.PurgeBefore{Expired: at(3601)}, 1000)
	must(t, err)
	_, err = s.GetAddressBan(ctx, "a", "192.0.2.1")
	wantErr(t, err, directory.ErrNotFound)
	if _, err := s.GetAddressBan(ctx, "a", "192.0.2.2"); err != nil {
		t.Fatalf("a ban in force was purged: %v", err)
	}
}

// Each tenant counts, lists and lifts its own: the same address failing
// in tenant a is neither counted, listed nor liftable in tenant b.
func testAddressBanTenancy(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	addTenant(t, s, "b")
	for i := range 3 {
		recordFailure(t, s, "a", "192.0.2.1", banRule(i))
	}
	u := newUser("a", "user-1", t0)
	must(t, s.CreateUser(ctx, "a", u))
	b := newUser("b", "user-1", t0)
	b.LockedUntil = time.Time{}
	must(t, s.CreateUser(ctx, "b", b))
	_, err := s.RecordSignInFailure(ctx, "a", "user-1", directory.SignInFailure{At: at(1), Threshold: 1, LockUntil: at(1000)})
	must(t, err)

	_, err = s.GetAddressBan(ctx, "b", "192.0.2.1")
	wantErr(t, err, directory.ErrNotFound)
	q := directory.BanQuery{At: at(10), Limit: 100}
	bans, err := s.ListAddressBans(ctx, "b", q)
	must(t, err)
	wantEqual(t, bans, []directory.AddressBan{})
	users, err := s.ListLockedUsers(ctx, "b", q)
	must(t, err)
	wantEqual(t, users, []directory.User{})
	_, err = s.DeleteAddressBan(ctx, "b", "192.0.2.1", at(10))
	wantErr(t, err, directory.ErrNotFound)
	if got := recordFailure(t, s, "b", "192.0.2.1", banRule(5)); got.Failures != 1 || got.TenantID != "b" {
		t.Fatalf("tenant b's first failure: %+v", got)
	}
	if got, err := s.GetAddressBan(ctx, "a", "192.0.2.1"); err != nil || got.Failures != 3 || !got.Banned(at(10)) {
		t.Fatalf("tenant a's ban after b's failure: %+v, %v", got, err)
	}
	if users, err := s.ListLockedUsers(ctx, "a", q); err != nil || len(users) != 1 {
		t.Fatalf("tenant a's locked users: %+v, %v", users, err)
	}
}

// Every concurrent failure from one address counts, each caller sees its
// own count, and exactly the one reaching the threshold bans.
func testConcurrentAddressFailures(t *testing.T, s store.Store) {
	addTenant(t, s, "a")
	counts := make([]int, racers)
	banned := make([]bool, racers)
	errs := race(racers, func(i int) error {
		f := directory.AddressFailure{At: at(1), Window: time.Minute, Threshold: racers, BanFor: time.Hour}
		got, err := s.RecordAddressFailure(t.Context(), "a", "192.0.2.1", f)
		counts[i], banned[i] = got.Failures, got.Banned(at(1))
		return err
	})
	outcomes(t, errs, nil)
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("the callers saw the counts %v, want 1…%d once each", counts, racers)
		}
	}
	if n := len(slices.DeleteFunc(banned, func(b bool) bool { return !b })); n != 1 {
		t.Fatalf("%d callers saw the ban, want the one reaching the threshold", n)
	}
}
