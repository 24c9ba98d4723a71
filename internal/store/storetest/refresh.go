package storetest

import (
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

// The grace window the rotation tests use.
const grace = 5 * time.Second

func testRefreshTokenRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	g := addGrant(t, s, "a", "grant-1", "", t0)
	rt := newRefreshToken("a", "rt-1", "grant-1", t0)
	must(t, s.CreateRefreshToken(ctx, "a", rt))
	gotRT, gotGrant, err := s.GetRefreshToken(ctx, "a", rt.Hash)
	must(t, err)
	wantEqual(t, gotRT, rt)
	wantEqual(t, gotGrant, g)

	// No token outlives its grant: the store caps ExpiresAt.
	long := newRefreshToken("a", "rt-2", "grant-1", t0)
	long.ExpiresAt = g.ExpiresAt.AddDate(1, 0, 0)
	must(t, s.CreateRefreshToken(ctx, "a", long))
	long.ExpiresAt = g.ExpiresAt
	wantEqual(t, getToken(t, s, "a", long.Hash), long)

	_, _, err = s.GetRefreshToken(ctx, "a", hash("rt-9"))
	wantErr(t, err, session.ErrNotFound)
	wantErr(t, s.CreateRefreshToken(ctx, "a", newRefreshToken("a", "rt-1", "grant-1", at(1))), directory.ErrConflict)
	wantErr(t, s.CreateRefreshToken(ctx, "a", newRefreshToken("a", "rt-3", "grant-missing", t0)), session.ErrNotFound)
	other := newRefreshToken("a", "rt-4", "grant-1", t0)
	other.ClientID = "client-9"
	if err := s.CreateRefreshToken(ctx, "a", other); err == nil {
		t.Fatal("CreateRefreshToken accepted a token for another client than its grant's")
	}
}

// rotation is a grant with a first refresh token, for the rotation tests.
func rotation(t *testing.T, s store.Store, tenantID string) (session.Grant, session.RefreshToken) {
	t.Helper()
	addTenant(t, s, tenantID)
	g := addGrant(t, s, tenantID, "grant-1", "", t0)
	rt := newRefreshToken(tenantID, "rt-1", "grant-1", t0)
	must(t, s.CreateRefreshToken(t.Context(), tenantID, rt))
	return g, rt
}

func testRotateRefreshToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, rt1 := rotation(t, s, "a")
	rt2 := newRefreshToken("a", "rt-2", "grant-1", at(10))
	rt2.ExpiresAt = g.ExpiresAt.Add(time.Hour) // capped at the grant's
	rt2.Generation = rt1.Generation + 1        // stored as given
	old, err := Rotate(ctx, s, "a", rt1.Hash, rt2, []byte("sealed-2"), at(10), grace, feedExpiry)
	must(t, err)
	wantEqual(t, old, session.RefreshToken{})

	rt1.UsedAt, rt1.SuccessorHash, rt1.SuccessorSealed = at(10), rt2.Hash, []byte("sealed-2")
	wantEqual(t, getToken(t, s, "a", rt1.Hash), rt1)
	rt2.ExpiresAt = g.ExpiresAt
	wantEqual(t, getToken(t, s, "a", rt2.Hash), rt2)

	// A retry within the grace window (its end included) gets the
	// presented token with the sealed response, and changes nothing.
	for _, now := range []time.Time{at(10), at(12), at(10).Add(grace)} {
		old, err = Rotate(ctx, s, "a", rt1.Hash, newRefreshToken("a", "rt-3", "grant-1", now),
			[]byte("sealed-3"), now, grace, feedExpiry)
		wantErr(t, err, session.ErrUsed)
		wantEqual(t, old, rt1)
	}
	_, _, err = s.GetRefreshToken(ctx, "a", hash("rt-3"))
	wantErr(t, err, session.ErrNotFound)
	wantEqual(t, getGrant(t, s, "a", "grant-1"), g)
	wantEqual(t, feed(t, s, "a"), []session.Revocation{})

	// The chain goes on from the successor.
	rt3 := newRefreshToken("a", "rt-3", "grant-1", at(20))
	rt3.Generation = rt2.Generation + 1
	_, err = Rotate(ctx, s, "a", rt2.Hash, rt3, []byte("sealed-3"), at(20), grace, feedExpiry)
	must(t, err)
	wantEqual(t, getToken(t, s, "a", rt3.Hash), rt3)
}

// A rotated token presented after the grace window is a reuse (RFC 9700
// §4.14.2): the grant is revoked, and every token of it stops working.
func testRotateReuse(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, rt1 := rotation(t, s, "a")
	rt2 := newRefreshToken("a", "rt-2", "grant-1", at(10))
	_, err := Rotate(ctx, s, "a", rt1.Hash, rt2, []byte("sealed-2"), at(10), grace, feedExpiry)
	must(t, err)
	rt3 := newRefreshToken("a", "rt-3", "grant-1", at(12))
	_, err = Rotate(ctx, s, "a", rt2.Hash, rt3, []byte("sealed-3"), at(12), grace, feedExpiry)
	must(t, err)

	reuse := at(10).Add(grace + time.Microsecond)
	old, err := Rotate(ctx, s, "a", rt1.Hash, newRefreshToken("a", "rt-9", "grant-1", reuse),
		[]byte("sealed-9"), reuse, grace, feedExpiry)
	wantErr(t, err, session.ErrUsed)
	rt1.UsedAt, rt1.SuccessorHash, rt1.SuccessorSealed = at(10), rt2.Hash, []byte{}
	wantEqual(t, old, rt1)

	g.RevokedAt = reuse
	wantEqual(t, getGrant(t, s, "a", "grant-1"), g)
	wantEqual(t, entries(feed(t, s, "a")), []session.Revocation{entry("a", session.RevokeGrant, "grant-1", reuse)})
	_, _, err = s.GetRefreshToken(ctx, "a", hash("rt-9"))
	wantErr(t, err, session.ErrNotFound)
	// No sealed response of the grant is kept any longer.
	wantEqual(t, getToken(t, s, "a", rt1.Hash), rt1)
	wantEqual(t, getToken(t, s, "a", rt2.Hash).SuccessorSealed, []byte{})
	// The live end of the chain is revoked.
	_, err = Rotate(ctx, s, "a", rt3.Hash, newRefreshToken("a", "rt-4", "grant-1", at(30)),
		[]byte("sealed-4"), at(30), grace, feedExpiry)
	wantErr(t, err, session.ErrRevoked)

	// Later replays, even within what was the grace window of rt2, find
	// the family revoked (session.DecideRotation answers for the grant
	// before the token): they replay nothing and append nothing.
	for _, tok := range []session.RefreshToken{rt1, rt2} {
		old, err = Rotate(ctx, s, "a", tok.Hash, newRefreshToken("a", "rt-9", "grant-1", at(13)),
			[]byte("sealed-9"), at(13), grace, feedExpiry)
		wantErr(t, err, session.ErrRevoked)
		wantEqual(t, old, session.RefreshToken{})
	}
	wantEqual(t, len(feed(t, s, "a")), 1)
	wantEqual(t, getGrant(t, s, "a", "grant-1"), g)
}

// A grace of zero (the policy's "off") is no window at all, not a window
// of one instant: a replay in the very microsecond of the rotation is a
// reuse.
func testRotateGraceZero(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, rt1 := rotation(t, s, "a")
	_, err := Rotate(ctx, s, "a", rt1.Hash, newRefreshToken("a", "rt-2", "grant-1", at(10)),
		[]byte("sealed-2"), at(10), 0, feedExpiry)
	must(t, err)
	old, err := Rotate(ctx, s, "a", rt1.Hash, newRefreshToken("a", "rt-3", "grant-1", at(10)),
		[]byte("sealed-3"), at(10), 0, feedExpiry)
	wantErr(t, err, session.ErrUsed)
	wantEqual(t, old.SuccessorSealed, []byte{})
	g.RevokedAt = at(10)
	wantEqual(t, getGrant(t, s, "a", "grant-1"), g)
}

func testRotateErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, rt1 := rotation(t, s, "a")
	next := func(name string, now time.Time) session.RefreshToken {
		return newRefreshToken("a", name, "grant-1", now)
	}

	_, err := Rotate(ctx, s, "a", hash("rt-missing"), next("rt-2", at(1)), []byte("x"), at(1), grace, feedExpiry)
	wantErr(t, err, session.ErrNotFound)

	// Expired once now reaches ExpiresAt; nothing changes.
	_, err = Rotate(ctx, s, "a", rt1.Hash, next("rt-2", rt1.ExpiresAt), []byte("x"), rt1.ExpiresAt, grace, feedExpiry)
	wantErr(t, err, session.ErrExpired)
	wantEqual(t, getToken(t, s, "a", rt1.Hash), rt1)
	_, _, err = s.GetRefreshToken(ctx, "a", hash("rt-2"))
	wantErr(t, err, session.ErrNotFound)

	// A successor must belong to the presented token's grant.
	addGrant(t, s, "a", "grant-2", "", t0)
	foreign := newRefreshToken("a", "rt-2", "grant-2", at(1))
	if _, err := Rotate(ctx, s, "a", rt1.Hash, foreign, []byte("x"), at(1), grace, feedExpiry); err == nil {
		t.Fatal("a rotation accepted a successor of another grant")
	}
	wantEqual(t, getToken(t, s, "a", rt1.Hash), rt1)

	// A token does not outlive its grant, whatever its own expiry says.
	short := newGrant("a", "grant-3", "", t0)
	short.ExpiresAt = at(60)
	must(t, s.CreateGrant(ctx, "a", short))
	must(t, s.CreateRefreshToken(ctx, "a", newRefreshToken("a", "rt-3", "grant-3", t0)))
	_, err = Rotate(ctx, s, "a", hash("rt-3"), newRefreshToken("a", "rt-4", "grant-3", at(60)),
		[]byte("x"), at(60), grace, feedExpiry)
	wantErr(t, err, session.ErrExpired)
	wantEqual(t, getGrant(t, s, "a", "grant-1"), g)
}

// ForgetSealed erases the sealed responses of tokens used before the
// given time, in every tenant, and nothing else.
func testForgetSealed(t *testing.T, s store.Store) {
	ctx := t.Context()
	rotateTo := func(tenantID, from, to string, now time.Time) {
		t.Helper()
		_, err := Rotate(ctx, s, tenantID, hash(from), newRefreshToken(tenantID, to, "grant-1", now),
			[]byte("sealed-"+to), now, time.Minute, feedExpiry)
		must(t, err)
	}
	gA, _ := rotation(t, s, "a")
	rotation(t, s, "b")
	rotateTo("a", "rt-1", "rt-2", at(10))
	rotateTo("b", "rt-1", "rt-2", at(20))
	rotateTo("a", "rt-2", "rt-3", at(30))

	must(t, s.ForgetSealed(ctx, at(20)))
	wantEqual(t, getToken(t, s, "a", hash("rt-1")).SuccessorSealed, []byte{})
	wantEqual(t, getToken(t, s, "b", hash("rt-1")).SuccessorSealed, []byte("sealed-rt-2")) // at the bound: kept
	wantEqual(t, getToken(t, s, "a", hash("rt-2")).SuccessorSealed, []byte("sealed-rt-3"))
	wantEqual(t, getToken(t, s, "a", hash("rt-3")).SuccessorSealed, []byte{})

	// A retry within the grace window whose response is forgotten gets
	// ErrUsed without a response, and is not taken for a reuse.
	old, err := Rotate(ctx, s, "a", hash("rt-1"), newRefreshToken("a", "rt-9", "grant-1", at(15)),
		[]byte("x"), at(15), time.Minute, feedExpiry)
	wantErr(t, err, session.ErrUsed)
	wantEqual(t, old.SuccessorSealed, []byte{})
	wantEqual(t, getGrant(t, s, "a", "grant-1"), gA)
}
