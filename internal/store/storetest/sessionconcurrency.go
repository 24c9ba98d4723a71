package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

// Concurrency of the exact session operations, with real goroutines (see
// concurrency.go). Every caller passes the same explicit time, so that the
// outcome depends on the order of the calls only.

const racers = 20

// raceRotations rotates the first token of grant-1 from racers goroutines
// at once, each with its own successor and sealed response, and returns
// what each got back.
func raceRotations(t *testing.T, s store.Store, grace time.Duration) ([]session.RefreshToken, []error, session.RefreshToken) {
	_, rt := rotation(t, s, "a")
	olds := make([]session.RefreshToken, racers)
	errs := race(racers, func(i int) error {
		var err error
		olds[i], err = Rotate(t.Context(), s, "a", rt.Hash,
			newRefreshToken("a", fmt.Sprint("next-", i), "grant-1", at(10)),
			[]byte(fmt.Sprint("sealed-", i)), at(10), grace, feedExpiry)
		return err
	})
	// Without a window, a loser that comes after another loser's reuse
	// revoked the grant finds the family revoked: refused all the same.
	refusals := slices.Clone(errs)
	for i, err := range refusals {
		if grace <= 0 && errors.Is(err, session.ErrRevoked) {
			refusals[i] = session.ErrUsed
		}
	}
	if ok, used := outcomes(t, refusals, session.ErrUsed); ok != 1 || used != racers-1 {
		t.Fatalf("%d rotations succeeded and %d found the token used, want 1 and %d", ok, used, racers-1)
	}
	winner := slices.Index(errs, nil)
	// Exactly the winner's successor is stored.
	for i := range racers {
		_, _, err := s.GetRefreshToken(t.Context(), "a", hash(fmt.Sprint("next-", i)))
		if (i == winner) != (err == nil) {
			t.Fatalf("successor of caller %d (winner %d): %v", i, winner, err)
		}
	}
	presented := getToken(t, s, "a", rt.Hash)
	wantEqual(t, presented.SuccessorHash, hash(fmt.Sprint("next-", winner)))
	wantEqual(t, presented.UsedAt, at(10))
	return olds, errs, presented
}

// With a grace of zero every loser is a replay outside the (empty)
// window: the grant ends revoked, with exactly one feed entry however many
// losers revoked it, and no loser gets a response.
func testConcurrentRotateNoGrace(t *testing.T, s store.Store) {
	olds, errs, presented := raceRotations(t, s, 0)
	for i, old := range olds {
		if errs[i] != nil && len(old.SuccessorSealed) > 0 {
			t.Fatalf("loser %d got a response: %q", i, old.SuccessorSealed)
		}
	}
	wantEqual(t, presented.SuccessorSealed, []byte{}) // erased with the grant
	wantEqual(t, getGrant(t, s, "a", "grant-1").RevokedAt, at(10))
	wantEqual(t, entries(feed(t, s, "a")), []session.Revocation{entry("a", session.RevokeGrant, "grant-1", at(10))})
}

// With a grace window every loser is a retry within it: each gets the
// winner's sealed response, and the grant stays active.
func testConcurrentRotateInGrace(t *testing.T, s store.Store) {
	olds, errs, presented := raceRotations(t, s, time.Hour)
	winner := slices.Index(errs, nil)
	wantEqual(t, presented.SuccessorSealed, []byte(fmt.Sprint("sealed-", winner)))
	for i, old := range olds {
		if i == winner {
			wantEqual(t, old, session.RefreshToken{})
			continue
		}
		wantEqual(t, old, presented)
	}
	wantEqual(t, getGrant(t, s, "a", "grant-1").RevokedAt, time.Time{})
	wantEqual(t, feed(t, s, "a"), []session.Revocation{})
}

func testConcurrentRedeemCode(t *testing.T, s store.Store) {
	addTenant(t, s, "a")
	addGrant(t, s, "a", "grant-1", "", t0)
	c := newCode("a", "code-1", "grant-1", t0)
	must(t, s.CreateCode(t.Context(), "a", c))
	codes := make([]session.Code, racers)
	errs := race(racers, func(i int) error {
		var err error
		codes[i], err = Redeem(t.Context(), s, "a", c.Hash, at(5))
		return err
	})
	if ok, used := outcomes(t, errs, session.ErrUsed); ok != 1 || used != racers-1 {
		t.Fatalf("%d redemptions succeeded and %d found the code used, want 1 and %d", ok, used, racers-1)
	}
	c.RedeemedAt = at(5)
	for _, got := range codes {
		wantEqual(t, got, c)
	}
}

// Of concurrent polls of an approved device code exactly one sees it
// approved (and gets the tokens); the others see it redeemed.
func testConcurrentPollDeviceCode(t *testing.T, s store.Store) {
	addTenant(t, s, "a")
	addGrant(t, s, "a", "grant-1", "", t0)
	d := newDeviceCode("a", "1", t0)
	must(t, s.CreateDeviceCode(t.Context(), "a", d, 0))
	_, err := Approve(t.Context(), s, "a", d.UserCodeHash, "user-1", "grant-1", at(1))
	must(t, err)
	statuses := make([]string, racers)
	errs := race(racers, func(i int) error {
		got, err := Poll(t.Context(), s, "a", d.Hash, at(2))
		statuses[i] = got.Status
		return err
	})
	outcomes(t, errs, nil)
	approved := 0
	for _, st := range statuses {
		switch st {
		case session.DeviceApproved:
			approved++
		case session.DeviceRedeemed:
		default:
			t.Fatalf("a poll saw status %q", st)
		}
	}
	if approved != 1 {
		t.Fatalf("%d polls saw the device code approved, want 1", approved)
	}
	got, err := s.GetDeviceCodeByUserCode(t.Context(), "a", d.UserCodeHash)
	must(t, err)
	wantEqual(t, got.Status, session.DeviceRedeemed)
}

// Of concurrent decisions on one device code exactly one stands.
func testConcurrentApproveDeviceCode(t *testing.T, s store.Store) {
	addTenant(t, s, "a")
	addGrant(t, s, "a", "grant-1", "", t0)
	d := newDeviceCode("a", "1", t0)
	must(t, s.CreateDeviceCode(t.Context(), "a", d, 0))
	errs := race(racers, func(i int) error {
		if i%2 == 0 {
			_, err := Approve(t.Context(), s, "a", d.UserCodeHash, "", "", at(1))
			return err
		}
		_, err := Approve(t.Context(), s, "a", d.UserCodeHash, "user-1", "grant-1", at(1))
		return err
	})
	if ok, used := outcomes(t, errs, session.ErrUsed); ok != 1 || used != racers-1 {
		t.Fatalf("%d decisions stood and %d found the code decided, want 1 and %d", ok, used, racers-1)
	}
	got, err := s.GetDeviceCodeByUserCode(t.Context(), "a", d.UserCodeHash)
	must(t, err)
	if want := []string{session.DeviceDenied, session.DeviceApproved}[slices.Index(errs, nil)%2]; got.Status != want {
		t.Fatalf("the device code is %s, but the decision that stood was %s", got.Status, want)
	}
}

// Every concurrent failure counts, each is seen by exactly one caller, and
// the one that reaches the threshold locks.
func testConcurrentSignInFailures(t *testing.T, s store.Store) {
	addTenant(t, s, "a")
	u := newUser("a", "user-1", t0)
	u.FailedSignIns, u.LockedUntil = 0, time.Time{}
	must(t, s.CreateUser(t.Context(), "a", u))
	counts := make([]int, racers)
	errs := race(racers, func(i int) error {
		got, err := s.RecordSignInFailure(t.Context(), "a", "user-1", directory.SignInFailure{At: at(1), Threshold: racers, LockUntil: at(100)})
		counts[i] = got.FailedSignIns
		return err
	})
	outcomes(t, errs, nil)
	slices.Sort(counts)
	for i, c := range counts {
		if c != i+1 {
			t.Fatalf("the callers saw the counts %v, want 1…%d once each", counts, racers)
		}
	}
	got, err := s.GetUser(t.Context(), "a", "user-1")
	must(t, err)
	u.FailedSignIns, u.LastFailureAt, u.LockedUntil = racers, at(1), at(100)
	wantEqual(t, got, u)
}

// Concurrent revocations of one grant append one feed entry.
func testConcurrentRevokeGrant(t *testing.T, s store.Store) {
	addTenant(t, s, "a")
	addGrant(t, s, "a", "grant-1", "", t0)
	errs := race(racers, func(i int) error {
		return s.RevokeGrant(t.Context(), "a", "grant-1", at(10+i), feedExpiry)
	})
	outcomes(t, errs, nil)
	list := feed(t, s, "a")
	if len(list) != 1 {
		t.Fatalf("%d feed entries, want 1", len(list))
	}
	if got := getGrant(t, s, "a", "grant-1").RevokedAt; !got.Equal(list[0].RevokedAt) {
		t.Fatalf("the grant was revoked at %v and its entry says %v", got, list[0].RevokedAt)
	}
}

// Of racers device authorizations of one client started at once, exactly
// the cap's worth are stored, whatever the engine and however many
// connections: the count and the insert are one atomic operation.
func testConcurrentDevicePendingLimit(t *testing.T, s store.Store) {
	addTenant(t, s, "a")
	const max = 7
	errs := race(racers, func(i int) error {
		return s.CreateDeviceCode(t.Context(), "a", newDeviceCode("a", fmt.Sprint(i), t0), max)
	})
	if ok, refused := outcomes(t, errs, session.ErrDevicePendingLimit); ok != max || refused != racers-max {
		t.Fatalf("%d device codes stored and %d refused, want %d and %d", ok, refused, max, racers-max)
	}
	stored := 0
	for i := range racers {
		if _, err := s.GetDeviceCodeByUserCode(t.Context(), "a", hash(fmt.Sprint("user-code-", i))); err == nil {
			stored++
		}
	}
	if stored != max {
		t.Fatalf("%d device codes in the store, want the cap, %d", stored, max)
	}
}
