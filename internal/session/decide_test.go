package session

import (
	"testing"
	"time"
)

var (
	d0      = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	sec     = func(n int) time.Time { return d0.Add(time.Duration(n) * time.Second) }
	dClient = "11111111-2222-4333-8444-555555555555"
)

func TestDecideRotation(t *testing.T) {
	live := Grant{ID: "g", ClientID: dClient, ExpiresAt: sec(1000)}
	revoked := live
	revoked.RevokedAt = sec(5)
	fresh := RefreshToken{ClientID: dClient, ExpiresAt: sec(100)}
	used := fresh
	used.UsedAt, used.SuccessorSealed = sec(10), []byte("sealed")
	forgotten := used
	forgotten.SuccessorSealed = []byte{}
	const grace = 5 * time.Second
	for _, tc := range []struct {
		rule  string
		token RefreshToken
		grant Grant
		now   time.Time
		grace time.Duration
		// client presenting; dClient unless set
		client string
		want   Rotation
	}{
		{"RFC 9700 §4.14.2: an unused token of a live grant rotates", fresh, live, sec(20), grace, "", RotateFresh},
		{"RFC 9700 §4.14.2: a retry within the grace window gets the recorded response", used, live, sec(12), grace, "", RotateRetry},
		{"RFC 9700 §4.14.2: the grace window includes its end", used, live, sec(15), grace, "", RotateRetry},
		{"a retry within grace whose response housekeeping erased is refused, not taken for a reuse", forgotten, live, sec(12), grace, "", RotateRetryForgotten},
		{"RFC 9700 §4.14.2: a rotated token outside the window is a reuse: revoke the family", used, live, sec(15).Add(time.Microsecond), grace, "", RotateReuse},
		{"RFC 9700 §4.14.2: a grace of zero is no window, even in the microsecond of the rotation", used, live, sec(10), 0, "", RotateReuse},
		{"a negative grace is no window", used, live, sec(10), -time.Second, "", RotateReuse},
		{"RFC 6749 §10.4: a token of a revoked grant is refused", fresh, revoked, sec(20), grace, "", RotateRevoked},
		{"a used token of a revoked grant: the family is revoked already", used, revoked, sec(12), grace, "", RotateRevoked},
		{"RFC 6749 §6: an expired token is refused (at its expiry)", fresh, live, sec(100), grace, "", RotateExpired},
		{"no token outlives its grant's absolute expiry", RefreshToken{ClientID: dClient, ExpiresAt: sec(2000)}, live, sec(1000), grace, "", RotateExpired},
		{"RFC 6749 §6, §10.4: another client changes nothing, even for a reuse", used, live, sec(500), grace, "22222222-2222-4333-8444-555555555555", RotateWrongClient},
		{"client ids are GUIDs: compared ignoring case", fresh, live, sec(20), grace, "11111111-2222-4333-8444-555555555555", RotateFresh},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			client := tc.client
			if client == "" {
				client = dClient
			}
			got := DecideRotation(RotationFacts{Token: tc.token, Grant: tc.grant, ClientID: client, Now: tc.now, Grace: tc.grace})
			if got != tc.want {
				t.Fatalf("DecideRotation = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDecideRedemption(t *testing.T) {
	live := Grant{ExpiresAt: sec(1000)}
	revoked := Grant{ExpiresAt: sec(1000), RevokedAt: sec(3)}
	code := Code{ExpiresAt: sec(600)}
	redeemed := code
	redeemed.RedeemedAt = sec(2)
	for _, tc := range []struct {
		rule  string
		code  Code
		grant Grant
		now   time.Time
		want  Redemption
	}{
		{"RFC 6749 §4.1.2: the first use of a live code", code, live, sec(5), RedeemFirst},
		{"RFC 6749 §4.1.2: a code used twice revokes what it issued", redeemed, live, sec(5), RedeemReplay},
		{"RFC 9700 §4.5: a replay is detected even once the grant is revoked", redeemed, revoked, sec(5), RedeemReplay},
		{"RFC 9700 §4.5: a replay is detected even after the code expired", redeemed, live, sec(900), RedeemReplay},
		{"a code of a revoked grant is refused", code, revoked, sec(5), RedeemRevoked},
		{"RFC 6749 §4.1.2: a code expires (at its expiry)", code, live, sec(600), RedeemExpired},
		{"a code does not outlive its grant", Code{ExpiresAt: sec(2000)}, live, sec(1000), RedeemExpired},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			if got := DecideRedemption(tc.code, tc.grant, tc.now); got != tc.want {
				t.Fatalf("DecideRedemption = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDecideDeviceApproval(t *testing.T) {
	pending := DeviceCode{Status: DevicePending, ExpiresAt: sec(900)}
	for _, tc := range []struct {
		rule   string
		status string
		now    time.Time
		want   DeviceApproval
	}{
		{"RFC 8628 §3.3: a pending, live code is decided", DevicePending, sec(10), ApprovalRecorded},
		{"the first decision stands (approved)", DeviceApproved, sec(10), ApprovalAlreadyDecided},
		{"the first decision stands (denied)", DeviceDenied, sec(10), ApprovalAlreadyDecided},
		{"a redeemed code is decided", DeviceRedeemed, sec(10), ApprovalAlreadyDecided},
		{"RFC 8628 §3.5: an expired code cannot be approved (at its expiry)", DevicePending, sec(900), ApprovalExpired},
		{"an expired code is expired, whatever became of it", DeviceDenied, sec(900), ApprovalExpired},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			d := pending
			d.Status = tc.status
			if got := DecideDeviceApproval(d, tc.now); got != tc.want {
				t.Fatalf("DecideDeviceApproval = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDecideDevicePoll(t *testing.T) {
	base := DeviceCode{ClientID: dClient, Status: DevicePending, Interval: 5 * time.Second, ExpiresAt: sec(900)}
	with := func(status string, lastPoll time.Time) DeviceCode {
		d := base
		d.Status, d.LastPolledAt = status, lastPoll
		return d
	}
	for _, tc := range []struct {
		rule   string
		d      DeviceCode
		client string
		now    time.Time
		want   DevicePoll
	}{
		{"RFC 8628 §3.5: authorization_pending on the first poll", with(DevicePending, time.Time{}), dClient, sec(10), PollPending},
		{"RFC 8628 §3.5: authorization_pending a full interval after the last poll", with(DevicePending, sec(10)), dClient, sec(15), PollPending},
		{"RFC 8628 §3.5: slow_down within the interval", with(DevicePending, sec(10)), dClient, sec(14), PollSlowDown},
		{"RFC 8628 §3.5: the approved code's tokens, once", with(DeviceApproved, sec(10)), dClient, sec(11), PollApproved},
		{"RFC 8628 §3.5: access_denied", with(DeviceDenied, sec(10)), dClient, sec(11), PollDenied},
		{"RFC 8628 §3.5: expired_token once the tokens were handed out", with(DeviceRedeemed, sec(10)), dClient, sec(20), PollRedeemed},
		{"RFC 8628 §3.5: expired_token past the expiry, even if approved", with(DeviceApproved, sec(10)), dClient, sec(900), PollExpired},
		{"RFC 6749 §10.4: another client's poll changes nothing", with(DeviceApproved, sec(10)), "22222222-2222-4333-8444-555555555555", sec(20), PollWrongClient},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			if got := DecideDevicePoll(tc.d, tc.client, tc.now); got != tc.want {
				t.Fatalf("DecideDevicePoll = %d, want %d", got, tc.want)
			}
		})
	}
}

// A poll is recorded, and the approved code redeemed, only by the polls
// that write; an expired or another client's poll leaves the code as it
// is (an approval that came too late is never redeemed).
func TestPollWrites(t *testing.T) {
	for p, want := range map[DevicePoll]bool{PollPending: true, PollSlowDown: true, PollApproved: true, PollDenied: true,
		PollRedeemed: true, PollExpired: false, PollWrongClient: false} {
		if p.writes() != want {
			t.Errorf("outcome %d writes %v, want %v", p, p.writes(), want)
		}
	}
	d := polled(DeviceCode{Status: DeviceApproved}, PollApproved, sec(3))
	if d.Status != DeviceRedeemed || !d.LastPolledAt.Equal(sec(3)) {
		t.Fatalf("approved and polled: %+v", d)
	}
}
