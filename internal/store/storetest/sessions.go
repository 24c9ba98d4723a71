package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

// Duplicates of session values are directory.ErrConflict: session has no
// conflict error of its own, and a caller drawing a new random value on a
// collision (a device's user code) must be able to tell.

func testBrowserSessionRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, s.CreateBrowserSession(ctx, "a", newBrowserSession("a", "bs-1", t0)), session.ErrNotFound)
	addTenant(t, s, "a")
	bs := newBrowserSession("a", "bs-1", t0)
	must(t, s.CreateBrowserSession(ctx, "a", bs))
	got, err := s.GetBrowserSession(ctx, "a", bs.IDHash)
	must(t, err)
	wantEqual(t, got, bs)

	_, err = s.GetBrowserSession(ctx, "a", hash("cookie-bs-2"))
	wantErr(t, err, session.ErrNotFound)
	sameHash := newBrowserSession("a", "bs-2", t0)
	sameHash.IDHash = bs.IDHash
	wantErr(t, s.CreateBrowserSession(ctx, "a", sameHash), directory.ErrConflict)
	sameID := newBrowserSession("a", "bs-1", t0)
	sameID.IDHash = hash("another cookie")
	wantErr(t, s.CreateBrowserSession(ctx, "a", sameID), directory.ErrConflict)
	_, err = s.GetBrowserSession(ctx, "a", sameID.IDHash)
	wantErr(t, err, session.ErrNotFound)
}

func testGrantRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	must(t, s.CreateBrowserSession(ctx, "a", newBrowserSession("a", "bs-1", t0)))
	inBrowser := addGrant(t, s, "a", "grant-1", "bs-1", t0)
	wantEqual(t, getGrant(t, s, "a", "grant-1"), inBrowser)

	// Outside a browser, without scopes: read back with an empty list.
	device := newGrant("a", "grant-2", "", at(1))
	device.Scopes = nil
	must(t, s.CreateGrant(ctx, "a", device))
	device.Scopes = []string{}
	wantEqual(t, getGrant(t, s, "a", "grant-2"), device)

	// A user consenting to more in the same session.
	scopes := []string{"openid", "profile", "api://a/write"}
	must(t, s.UpdateGrantScopes(ctx, "a", "grant-1", scopes))
	inBrowser.Scopes = scopes
	wantEqual(t, getGrant(t, s, "a", "grant-1"), inBrowser)
	must(t, s.UpdateGrantScopes(ctx, "a", "grant-1", nil))
	inBrowser.Scopes = []string{}
	wantEqual(t, getGrant(t, s, "a", "grant-1"), inBrowser)
}

// The channel a grant was made through (the product login's logout ends
// only its own grants) is stored with the grant and read back by the reads
// that return it: GetGrant and a refresh token's join with its grant. ""
// is a grant of the OAuth grants, and every grant made before channels
// were stored.
func testGrantChannel(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	product := newGrant("a", "grant-p", "", t0)
	product.Channel = session.ChannelProductLogin
	must(t, s.CreateGrant(ctx, "a", product))
	plain := newGrant("a", "grant-o", "", t0)
	plain.Channel = ""
	must(t, s.CreateGrant(ctx, "a", plain))
	wantEqual(t, getGrant(t, s, "a", "grant-p"), product)
	wantEqual(t, getGrant(t, s, "a", "grant-o"), plain)
	for _, g := range []session.Grant{product, plain} {
		rt := newRefreshToken("a", "rt-"+g.ID, g.ID, t0)
		must(t, s.CreateRefreshToken(ctx, "a", rt))
		_, got, err := s.GetRefreshToken(ctx, "a", rt.Hash)
		must(t, err)
		wantEqual(t, got, g)
	}
}

func testGrantErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, s.CreateGrant(ctx, "a", newGrant("a", "grant-1", "", t0)), session.ErrNotFound)
	addTenant(t, s, "a")
	_, err := s.GetGrant(ctx, "a", "grant-1")
	wantErr(t, err, session.ErrNotFound)
	wantErr(t, s.UpdateGrantScopes(ctx, "a", "grant-1", []string{"openid"}), session.ErrNotFound)
	wantErr(t, s.RevokeGrant(ctx, "a", "grant-1", at(1), feedExpiry), session.ErrNotFound)

	g := addGrant(t, s, "a", "grant-1", "", t0)
	wantErr(t, s.CreateGrant(ctx, "a", newGrant("a", "grant-1", "", at(1))), directory.ErrConflict)
	// A grant names a session of its tenant that has not ended.
	wantErr(t, s.CreateGrant(ctx, "a", newGrant("a", "grant-2", "bs-missing", t0)), session.ErrNotFound)
	bs := newBrowserSession("a", "bs-1", t0)
	must(t, s.CreateBrowserSession(ctx, "a", bs))
	_, err = s.RevokeBrowserSession(ctx, "a", bs.IDHash, at(1), feedExpiry)
	must(t, err)
	wantErr(t, s.CreateGrant(ctx, "a", newGrant("a", "grant-2", "bs-1", at(2))), session.ErrRevoked)
	_, err = s.GetGrant(ctx, "a", "grant-2")
	wantErr(t, err, session.ErrNotFound)

	// The scopes of a revoked grant are final.
	must(t, s.RevokeGrant(ctx, "a", "grant-1", at(3), feedExpiry))
	wantErr(t, s.UpdateGrantScopes(ctx, "a", "grant-1", []string{"more"}), session.ErrRevoked)
	g.RevokedAt = at(3)
	wantEqual(t, getGrant(t, s, "a", "grant-1"), g)
}

// Ending a browser session revokes the grants made in it, and only
// those, with one feed entry each, once.
func testRevokeBrowserSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	_, err := s.RevokeBrowserSession(ctx, "a", hash("cookie-bs-1"), at(1), feedExpiry)
	wantErr(t, err, session.ErrNotFound)

	bs := newBrowserSession("a", "bs-1", t0)
	must(t, s.CreateBrowserSession(ctx, "a", bs))
	must(t, s.CreateBrowserSession(ctx, "a", newBrowserSession("a", "bs-2", t0)))
	g2 := addGrant(t, s, "a", "grant-2", "bs-1", at(2))
	g1 := addGrant(t, s, "a", "grant-1", "bs-1", at(3))
	early := addGrant(t, s, "a", "grant-0", "bs-1", at(1))
	otherSession := addGrant(t, s, "a", "grant-3", "bs-2", at(1))
	noSession := addGrant(t, s, "a", "grant-4", "", at(1))
	must(t, s.RevokeGrant(ctx, "a", "grant-0", at(5), feedExpiry))
	early.RevokedAt = at(5)

	revoked, err := s.RevokeBrowserSession(ctx, "a", bs.IDHash, at(10), feedExpiry)
	must(t, err)
	wantEqual(t, revoked, []string{"grant-2", "grant-1"}) // in creation order

	bs.RevokedAt = at(10)
	got, err := s.GetBrowserSession(ctx, "a", bs.IDHash)
	must(t, err)
	wantEqual(t, got, bs)
	g1.RevokedAt, g2.RevokedAt = at(10), at(10)
	for _, want := range []session.Grant{g1, g2, early, otherSession, noSession} {
		wantEqual(t, getGrant(t, s, "a", want.ID), want)
	}
	wantFeed := []session.Revocation{
		entry("a", session.RevokeGrant, "grant-0", at(5)),
		entry("a", session.RevokeGrant, "grant-2", at(10)),
		entry("a", session.RevokeGrant, "grant-1", at(10)),
	}
	wantEqual(t, entries(feed(t, s, "a")), wantFeed)

	// Again: nothing more is revoked, the session keeps its first end.
	revoked, err = s.RevokeBrowserSession(ctx, "a", bs.IDHash, at(20), feedExpiry)
	must(t, err)
	wantEqual(t, revoked, []string{})
	got, err = s.GetBrowserSession(ctx, "a", bs.IDHash)
	must(t, err)
	wantEqual(t, got, bs)
	wantEqual(t, entries(feed(t, s, "a")), wantFeed)
}

// Revoking a grant ends its codes and refresh tokens, and is idempotent.
func testRevokeGrant(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	g := addGrant(t, s, "a", "grant-1", "", t0)
	other := addGrant(t, s, "a", "grant-2", "", t0)
	must(t, s.CreateCode(ctx, "a", newCode("a", "code-1", "grant-1", t0)))
	rt := newRefreshToken("a", "rt-1", "grant-1", t0)
	must(t, s.CreateRefreshToken(ctx, "a", rt))
	must(t, s.CreateCode(ctx, "a", newCode("a", "code-2", "grant-2", t0)))

	must(t, s.RevokeGrant(ctx, "a", "grant-1", at(10), feedExpiry))
	g.RevokedAt = at(10)
	wantEqual(t, getGrant(t, s, "a", "grant-1"), g)
	wantEqual(t, entries(feed(t, s, "a")), []session.Revocation{entry("a", session.RevokeGrant, "grant-1", at(10))})

	_, err := Redeem(ctx, s, "a", hash("code-1"), at(11))
	wantErr(t, err, session.ErrRevoked)
	_, err = Rotate(ctx, s, "a", rt.Hash, newRefreshToken("a", "rt-2", "grant-1", at(11)),
		[]byte("sealed"), at(11), 0, feedExpiry)
	wantErr(t, err, session.ErrRevoked)
	// The token is still there, with its revoked grant, unchanged.
	gotRT, gotGrant, err := s.GetRefreshToken(ctx, "a", rt.Hash)
	must(t, err)
	wantEqual(t, gotRT, rt)
	wantEqual(t, gotGrant, g)
	_, _, err = s.GetRefreshToken(ctx, "a", hash("rt-2"))
	wantErr(t, err, session.ErrNotFound)

	// Again: no change, no second entry.
	must(t, s.RevokeGrant(ctx, "a", "grant-1", at(20), feedExpiry))
	wantEqual(t, getGrant(t, s, "a", "grant-1"), g)
	wantEqual(t, len(feed(t, s, "a")), 1)

	// The other grant and its code are untouched.
	wantEqual(t, getGrant(t, s, "a", "grant-2"), other)
	_, err = Redeem(ctx, s, "a", hash("code-2"), at(12))
	must(t, err)
}

// RevokeGrantsOf revokes a user's or a client's active grants with an
// entry each, plus one entry for the user or the client.
func testRevokeGrantsOf(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	grants := map[string]session.Grant{}
	for i, uc := range [][2]string{{"user-1", "client-1"}, {"user-1", "client-2"}, {"user-2", "client-1"},
		{"user-2", "client-2"}, {"user-1", "client-1"}} {
		g := newGrant("a", fmt.Sprint("grant-", i), "", at(i))
		g.UserID, g.ClientID = uc[0], uc[1]
		must(t, s.CreateGrant(ctx, "a", g))
		grants[g.ID] = g
	}
	must(t, s.RevokeGrant(ctx, "a", "grant-4", at(5), feedExpiry)) // already revoked: not again
	revoked := func(when time.Time, ids ...string) {
		for _, id := range ids {
			g := grants[id]
			g.RevokedAt = when
			grants[id] = g
		}
	}
	revoked(at(5), "grant-4")
	check := func(want ...session.Revocation) {
		t.Helper()
		for id, g := range grants {
			if got := getGrant(t, s, "a", id); !reflect.DeepEqual(got, g) {
				t.Fatalf("grant %s:\n\tgot  %+v\n\twant %+v", id, got, g)
			}
		}
		wantEqual(t, sortEntries(entries(feed(t, s, "a"))), sortEntries(want))
	}
	feedSoFar := []session.Revocation{entry("a", session.RevokeGrant, "grant-4", at(5))}

	must(t, s.RevokeGrantsOf(ctx, "a", "user-1", "", at(10), feedExpiry))
	revoked(at(10), "grant-0", "grant-1")
	feedSoFar = append(feedSoFar, entry("a", session.RevokeGrant, "grant-0", at(10)),
		entry("a", session.RevokeGrant, "grant-1", at(10)), entry("a", session.RevokeSubject, "user-1", at(10)))
	check(feedSoFar...)

	must(t, s.RevokeGrantsOf(ctx, "a", "", "client-2", at(20), feedExpiry))
	revoked(at(20), "grant-3")
	feedSoFar = append(feedSoFar, entry("a", session.RevokeGrant, "grant-3", at(20)),
		entry("a", session.RevokeClient, "client-2", at(20)))
	check(feedSoFar...)

	// Both: the user's grants with that client, and no entry that would
	// reach further.
	must(t, s.RevokeGrantsOf(ctx, "a", "user-2", "client-1", at(30), feedExpiry))
	revoked(at(30), "grant-2")
	feedSoFar = append(feedSoFar, entry("a", session.RevokeGrant, "grant-2", at(30)))
	check(feedSoFar...)

	// A user without grants still gets the subject entry: tokens issued
	// without a grant are covered by it.
	must(t, s.RevokeGrantsOf(ctx, "a", "user-9", "", at(40), feedExpiry))
	feedSoFar = append(feedSoFar, entry("a", session.RevokeSubject, "user-9", at(40)))
	check(feedSoFar...)

	if err := s.RevokeGrantsOf(ctx, "a", "", "", at(50), feedExpiry); err == nil {
		t.Fatal("RevokeGrantsOf without a user or a client succeeded")
	}
	check(feedSoFar...)
}

// sortEntries orders feed entries by kind, value and time, for comparing
// the entries of one call whose order the contract leaves open.
func sortEntries(list []session.Revocation) []session.Revocation {
	out := slices.Clone(list)
	slices.SortFunc(out, func(a, b session.Revocation) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		if c := strings.Compare(a.Value, b.Value); c != 0 {
			return c
		}
		return a.RevokedAt.Compare(b.RevokedAt)
	})
	return out
}
