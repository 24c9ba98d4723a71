package storetest

import (
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

// A row for each outcome of each decision (session/decide.go), run on the
// engine through session's steps: the outcome the engine's facts lead to,
// and what the engine stores for it. The decisions themselves are table-
// tested without a database in session; these rows check that every
// engine loads the facts they need and applies each outcome, and only it.

func testRotationOutcomes(t *testing.T, open func(*testing.T) store.Store) {
	superseding := session.Revocation{TenantID: "a", Kind: session.RevokeSuperseded, Value: "grant-1", Audience: "api://a",
		Prior: "jti-0", RevokedAt: at(10), ExpiresAt: farAhead, Generation: 1}
	// rotateAt presents rt-1 by client at now; a rotation stores rt-2.
	rotateAt := func(t *testing.T, s store.Store, client string, now time.Time) (session.Rotation, session.RefreshToken) {
		t.Helper()
		next := newRefreshToken("a", "rt-2", "grant-1", now)
		next.Generation = 1
		outcome, cur, _, err := session.Rotate(t.Context(), s, session.RotateRequest{TenantID: "a", Presented: hash("rt-1"),
			ClientID: client, Now: now, Grace: grace, FeedExpiry: feedExpiry,
			Next: func(session.RefreshToken, session.Grant) (session.Successor, error) {
				return session.Successor{Token: next, Sealed: []byte("sealed-2"), Superseded: superseding}, nil
			}})
		must(t, err)
		return outcome, cur
	}
	rotated := func(t *testing.T, s store.Store) { // rt-1 rotated at(10)
		t.Helper()
		if o, _ := rotateAt(t, s, "client-1", at(10)); o != session.RotateFresh {
			t.Fatalf("first rotation: outcome %d", o)
		}
	}
	for _, tc := range []struct {
		rule   string
		before func(*testing.T, store.Store)
		client string
		now    time.Time
		want   session.Rotation
		check  func(*testing.T, store.Store, session.RefreshToken)
	}{
		{"RFC 9700 §4.14.2 fresh: rotated, successor and superseded entry stored at once", nil, "client-1", at(10), session.RotateFresh,
			func(t *testing.T, s store.Store, _ session.RefreshToken) {
				used := getToken(t, s, "a", hash("rt-1"))
				wantEqual(t, [3]any{used.UsedAt, used.SuccessorHash, used.SuccessorSealed}, [3]any{at(10), hash("rt-2"), []byte("sealed-2")})
				wantEqual(t, getToken(t, s, "a", hash("rt-2")).Generation, int64(1))
				got := entries(feed(t, s, "a"))
				want := superseding
				wantEqual(t, got, []session.Revocation{want})
			}},
		{"RFC 9700 §4.14.2 retry within grace: the recorded response, nothing written", rotated, "client-1", at(12), session.RotateRetry,
			func(t *testing.T, s store.Store, cur session.RefreshToken) {
				wantEqual(t, cur.SuccessorSealed, []byte("sealed-2"))
				wantEqual(t, getGrant(t, s, "a", "grant-1").RevokedAt, time.Time{})
				wantEqual(t, len(feed(t, s, "a")), 1)
			}},
		{"retry within grace, response forgotten: refused, grant kept", func(t *testing.T, s store.Store) {
			rotated(t, s)
			must(t, s.ForgetSealed(t.Context(), at(11)))
		}, "client-1", at(12), session.RotateRetryForgotten,
			func(t *testing.T, s store.Store, _ session.RefreshToken) {
				wantEqual(t, getGrant(t, s, "a", "grant-1").RevokedAt, time.Time{})
			}},
		{"RFC 9700 §4.14.2 reuse after grace: the family revoked, its sealed responses erased", rotated, "client-1", at(16), session.RotateReuse,
			func(t *testing.T, s store.Store, _ session.RefreshToken) {
				wantEqual(t, getGrant(t, s, "a", "grant-1").RevokedAt, at(16))
				wantEqual(t, getToken(t, s, "a", hash("rt-1")).SuccessorSealed, []byte{})
				got := entries(feed(t, s, "a"))
				wantEqual(t, got[len(got)-1], entry("a", session.RevokeGrant, "grant-1", at(16)))
			}},
		{"revoked grant: refused, nothing written", func(t *testing.T, s store.Store) {
			must(t, s.RevokeGrant(t.Context(), "a", "grant-1", at(5), feedExpiry))
		}, "client-1", at(10), session.RotateRevoked, unrotated},
		{"RFC 6749 §6 expired token: refused, nothing written", nil, "client-1", t0.AddDate(0, 0, 90), session.RotateExpired, unrotated},
		{"RFC 6749 §10.4 another client: refused, nothing written", nil, "client-9", at(10), session.RotateWrongClient, unrotated},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			s := open(t)
			rotation(t, s, "a")
			if tc.before != nil {
				tc.before(t, s)
			}
			got, cur := rotateAt(t, s, tc.client, tc.now)
			if got != tc.want {
				t.Fatalf("outcome %d, want %d", got, tc.want)
			}
			tc.check(t, s, cur)
		})
	}
}

// unrotated checks that rt-1 was not rotated and that no successor exists.
func unrotated(t *testing.T, s store.Store, _ session.RefreshToken) {
	t.Helper()
	wantEqual(t, getToken(t, s, "a", hash("rt-1")).UsedAt, time.Time{})
	_, _, err := s.GetRefreshToken(t.Context(), "a", hash("rt-2"))
	wantErr(t, err, session.ErrNotFound)
}

func testRedemptionOutcomes(t *testing.T, open func(*testing.T) store.Store) {
	for _, tc := range []struct {
		rule        string
		before      func(*testing.T, store.Store)
		now         time.Time
		want        session.Redemption
		redeemedAt  time.Time // of the code afterwards
		grantRevoke time.Time // of the grant afterwards
	}{
		{"RFC 6749 §4.1.2 first use: redeemed", nil, at(5), session.RedeemFirst, at(5), time.Time{}},
		{"RFC 6749 §4.1.2 replay: the grant (what the code issued) revoked", func(t *testing.T, s store.Store) {
			_, err := Redeem(t.Context(), s, "a", hash("code-1"), at(5))
			must(t, err)
		}, at(6), session.RedeemReplay, at(5), at(6)},
		{"revoked grant: refused, the code unspent", func(t *testing.T, s store.Store) {
			must(t, s.RevokeGrant(t.Context(), "a", "grant-1", at(3), feedExpiry))
		}, at(5), session.RedeemRevoked, time.Time{}, at(3)},
		{"RFC 6749 §4.1.2 expired: refused, the code unspent", nil, newCode("a", "code-1", "grant-1", t0).ExpiresAt, session.RedeemExpired, time.Time{}, time.Time{}},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			s := open(t)
			addTenant(t, s, "a")
			addGrant(t, s, "a", "grant-1", "", t0)
			must(t, s.CreateCode(t.Context(), "a", newCode("a", "code-1", "grant-1", t0)))
			if tc.before != nil {
				tc.before(t, s)
			}
			got, _, _, err := session.Redeem(t.Context(), s, "a", hash("code-1"), tc.now, feedExpiry)
			must(t, err)
			if got != tc.want {
				t.Fatalf("outcome %d, want %d", got, tc.want)
			}
			c, err := s.GetCode(t.Context(), "a", hash("code-1"))
			must(t, err)
			wantEqual(t, c.RedeemedAt, tc.redeemedAt)
			wantEqual(t, getGrant(t, s, "a", "grant-1").RevokedAt, tc.grantRevoke)
		})
	}
}

func testDeviceOutcomes(t *testing.T, open func(*testing.T) store.Store) {
	d := newDeviceCode("a", "1", t0)
	for _, tc := range []struct {
		rule   string
		before func(*testing.T, store.Store)
		act    func(*testing.T, store.Store) int // the outcome
		want   int
		after  session.DeviceCode // the code as stored afterwards
	}{
		{"RFC 8628 §3.3 approval of a pending code: recorded", nil, approveAt(at(1)), int(session.ApprovalRecorded),
			with(d, session.DeviceApproved, time.Time{})},
		{"the first decision stands", denyFirst, approveAt(at(2)), int(session.ApprovalAlreadyDecided),
			with(d, session.DeviceDenied, time.Time{})},
		{"RFC 8628 §3.5 no approval past the expiry", nil, approveAt(d.ExpiresAt), int(session.ApprovalExpired), d},
		{"RFC 8628 §3.5 authorization_pending: the poll recorded", nil, pollAt(at(1), "client-1"), int(session.PollPending),
			with(d, session.DevicePending, at(1))},
		{"RFC 8628 §3.5 slow_down: the poll recorded", pollFirst, pollAt(at(2), "client-1"), int(session.PollSlowDown),
			with(d, session.DevicePending, at(2))},
		{"RFC 8628 §3.5 approved: redeemed by this poll", approveFirst, pollAt(at(3), "client-1"), int(session.PollApproved),
			with(d, session.DeviceRedeemed, at(3))},
		{"RFC 8628 §3.5 expired_token after the tokens were handed out", func(t *testing.T, s store.Store) {
			approveFirst(t, s)
			pollAt(at(3), "client-1")(t, s)
		}, pollAt(at(4), "client-1"), int(session.PollRedeemed), with(d, session.DeviceRedeemed, at(4))},
		{"RFC 8628 §3.5 access_denied", denyFirst, pollAt(at(3), "client-1"), int(session.PollDenied),
			with(d, session.DeviceDenied, at(3))},
		{"RFC 8628 §3.5 expired_token past the expiry: a late approval is never redeemed", approveFirst, pollAt(d.ExpiresAt, "client-1"),
			int(session.PollExpired), with(d, session.DeviceApproved, time.Time{})},
		{"another client's poll changes nothing", approveFirst, pollAt(at(3), "client-9"), int(session.PollWrongClient),
			with(d, session.DeviceApproved, time.Time{})},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			s := open(t)
			addTenant(t, s, "a")
			addGrant(t, s, "a", "grant-1", "", t0)
			must(t, s.CreateDeviceCode(t.Context(), "a", d, 0))
			if tc.before != nil {
				tc.before(t, s)
			}
			if got := tc.act(t, s); got != tc.want {
				t.Fatalf("outcome %d, want %d", got, tc.want)
			}
			got, err := s.GetDeviceCode(t.Context(), "a", d.Hash)
			must(t, err)
			wantEqual(t, got, tc.after)
		})
	}
}

// with is d with a status (approved ones for user-1 with grant-1) and a
// last poll.
func with(d session.DeviceCode, status string, polled time.Time) session.DeviceCode {
	d.Status, d.LastPolledAt = status, polled
	if status == session.DeviceApproved || status == session.DeviceRedeemed {
		d.UserID, d.GrantID = "user-1", "grant-1"
	}
	return d
}

func approveAt(now time.Time) func(*testing.T, store.Store) int {
	return func(t *testing.T, s store.Store) int {
		t.Helper()
		o, _, err := session.DecideDevice(t.Context(), s, "a", hash("user-code-1"), "user-1", "grant-1", now)
		must(t, err)
		return int(o)
	}
}

func pollAt(now time.Time, client string) func(*testing.T, store.Store) int {
	return func(t *testing.T, s store.Store) int {
		t.Helper()
		o, _, err := session.Poll(t.Context(), s, "a", hash("device-1"), client, now)
		must(t, err)
		return int(o)
	}
}

func approveFirst(t *testing.T, s store.Store) { approveAt(at(1))(t, s) }
func pollFirst(t *testing.T, s store.Store)    { pollAt(at(1), "client-1")(t, s) }

func denyFirst(t *testing.T, s store.Store) {
	t.Helper()
	_, _, err := session.DecideDevice(t.Context(), s, "a", hash("user-code-1"), "", "", at(1))
	must(t, err)
}
