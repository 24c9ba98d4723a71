package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

// supersededEntry is a refresh's feed entry: grant's tokens for aud issued
// before at(i), and the token jti it replaced, written by the rotation of
// generation gen.
func supersededEntry(tenantID, grant, aud, jti string, gen int64, i int) session.Revocation {
	return session.Revocation{TenantID: tenantID, Kind: session.RevokeSuperseded, Value: grant, Audience: aud, Prior: jti,
		Generation: gen, RevokedAt: at(i), ExpiresAt: at(3600 + i)}
}

// The feed holds at most one superseded entry per grant and audience: an
// entry of a later generation takes the place of the stored one, with a
// sequence number after every entry so far, so that a follower reading by
// cursor sees it; one of the same or an earlier generation (an append
// arriving late) changes nothing. Grants, audiences and tenants are
// separate keys.
func testSupersedingFeed(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	addTenant(t, s, "b")
	appendAll := func(tenantID string, rs ...session.Revocation) {
		t.Helper()
		for _, r := range rs {
			must(t, s.AppendRevocation(ctx, tenantID, r))
		}
	}
	appendAll("a",
		supersededEntry("a", "grant-1", "api://one", "jti-1", 1, 1),
		entry("a", session.RevokeToken, "jti-0", at(2)),
		supersededEntry("a", "grant-1", "api://two", "jti-2", 2, 3),
		supersededEntry("a", "grant-2", "api://one", "jti-3", 1, 4))
	appendAll("b", supersededEntry("b", "grant-1", "api://one", "jti-b", 1, 5))
	before := feed(t, s, "a")
	wantEqual(t, len(before), 4)

	// A later generation for grant-1 and api://one: the entry moves to the
	// end of the feed with its new content.
	next := supersededEntry("a", "grant-1", "api://one", "jti-4", 3, 6)
	appendAll("a", next)
	after := feed(t, s, "a")
	wantEqual(t, entries(after), entries(append(slices.Clone(before[1:]), next)))
	if last := after[len(after)-1]; last.Seq <= before[len(before)-1].Seq {
		t.Fatalf("the replacing entry has seq %d, not after the feed's last %d: a follower would miss it", last.Seq, before[len(before)-1].Seq)
	}
	tail, err := s.ListRevocations(ctx, "a", before[len(before)-1].Seq, t0, 10)
	must(t, err)
	wantEqual(t, entries(tail), []session.Revocation{next})

	// Late appends, of an earlier or the same generation, change nothing.
	appendAll("a",
		supersededEntry("a", "grant-1", "api://one", "jti-late", 2, 7),
		supersededEntry("a", "grant-1", "api://one", "jti-same", 3, 8))
	wantEqual(t, feed(t, s, "a"), after)

	// Tenant b's entry of the same grant id and audience is its own.
	wantEqual(t, entries(feed(t, s, "b")), []session.Revocation{supersededEntry("b", "grant-1", "api://one", "jti-b", 1, 5)})

	// Many refreshes of one sign-in leave one entry per audience.
	for gen := int64(4); gen < 54; gen++ {
		appendAll("a", supersededEntry("a", "grant-1", "api://one", fmt.Sprint("jti-gen-", gen), gen, int(gen)))
	}
	n := 0
	for _, r := range feed(t, s, "a") {
		if r.Kind == session.RevokeSuperseded && r.Value == "grant-1" && r.Audience == "api://one" {
			n++
			wantEqual(t, r.Prior, "jti-gen-53")
		}
	}
	wantEqual(t, n, 1)
}

// LookupRevocations returns the live entries naming one of the values
// given, of the tenant asked only, whatever their kind, and nothing else.
func testLookupRevocations(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	addTenant(t, s, "b")
	entryUntil := func(tenantID, kind, value string, expires time.Time) session.Revocation {
		r := entry(tenantID, kind, value, t0)
		r.ExpiresAt = expires
		return r
	}
	for _, r := range []session.Revocation{
		entry("a", session.RevokeGrant, "grant-1", t0),
		supersededEntry("a", "grant-1", "api://one", "jti-1", 1, 1),
		supersededEntry("a", "grant-1", "api://two", "jti-2", 2, 2),
		entry("a", session.RevokeToken, "jti-9", t0),
		entry("a", session.RevokeSubject, "user-1", t0),
		entry("a", session.RevokeSubject, "user-1", at(5)),
		entry("a", session.RevokeClient, "client-1", t0),
		entryUntil("a", session.RevokeToken, "jti-expired", at(10)),
		entry("a", session.RevokeGrant, "grant-other", t0),
		entry("b", session.RevokeGrant, "grant-1", t0),
		entry("b", session.RevokeSubject, "user-1", t0),
	} {
		must(t, s.AppendRevocation(ctx, r.TenantID, r))
	}
	sorted := func(list []session.Revocation) []session.Revocation {
		list = entries(list)
		slices.SortFunc(list, func(x, y session.Revocation) int {
			return strings.Compare(x.Kind+x.Value+x.Audience+x.RevokedAt.String(), y.Kind+y.Value+y.Audience+y.RevokedAt.String())
		})
		return list
	}
	for _, tc := range []struct {
		name   string
		values []string
		now    time.Time
		want   []session.Revocation
	}{
		{"a grant's entries of every kind", []string{"grant-1"}, t0, []session.Revocation{
			entry("a", session.RevokeGrant, "grant-1", t0),
			supersededEntry("a", "grant-1", "api://one", "jti-1", 1, 1),
			supersededEntry("a", "grant-1", "api://two", "jti-2", 2, 2)}},
		{"several values, each entry once", []string{"user-1", "client-1", "jti-9", "nothing"}, t0, []session.Revocation{
			entry("a", session.RevokeClient, "client-1", t0),
			entry("a", session.RevokeSubject, "user-1", t0),
			entry("a", session.RevokeSubject, "user-1", at(5)),
			entry("a", session.RevokeToken, "jti-9", t0)}},
		{"a live entry", []string{"jti-expired"}, at(9), []session.Revocation{entryUntil("a", session.RevokeToken, "jti-expired", at(10))}},
		{"an expired entry is left out (at its expiry)", []string{"jti-expired"}, at(10), nil},
		{"no entry names the value", []string{"grant-2"}, t0, nil},
	} {
		got, err := s.LookupRevocations(ctx, "a", tc.values, tc.now)
		must(t, err)
		if got == nil {
			t.Fatalf("%s: a nil list", tc.name)
		}
		if want := sorted(tc.want); len(got) != len(want) || !slices.EqualFunc(sorted(got), want, func(x, y session.Revocation) bool {
			return fmt.Sprint(x) == fmt.Sprint(y)
		}) {
			t.Errorf("%s: got %+v, want %+v", tc.name, sorted(got), want)
		}
		for _, r := range got {
			if r.TenantID != "a" || r.Seq == 0 {
				t.Errorf("%s: entry %+v", tc.name, r)
			}
		}
	}
	got, err := s.LookupRevocations(ctx, "b", []string{"grant-1", "user-1", "jti-9"}, t0)
	must(t, err)
	wantEqual(t, sorted(got), sorted([]session.Revocation{entry("b", session.RevokeGrant, "grant-1", t0), entry("b", session.RevokeSubject, "user-1", t0)}))
	if _, err := s.LookupRevocations(ctx, "a", nil, t0); err == nil {
		t.Error("LookupRevocations accepted no values")
	}
}

// Superseding appends of one grant and audience racing (rotations of
// the chain reported by several callers at once, the later generations
// among them): one entry is left, the latest generation's.
func testConcurrentSupersede(t *testing.T, s store.Store) {
	addTenant(t, s, "a")
	errs := race(racers, func(i int) error {
		return s.AppendRevocation(t.Context(), "a", supersededEntry("a", "grant-1", "api://one", fmt.Sprint("jti-", i), int64(i%7), i))
	})
	if ok, _ := outcomes(t, errs, nil); ok != racers {
		t.Fatalf("%d of %d appends succeeded", ok, racers)
	}
	list := feed(t, s, "a")
	if len(list) != 1 || list[0].Generation != 6 {
		t.Fatalf("after racing appends the feed holds %+v, want one entry of generation 6", list)
	}
}
