package session

import (
	"strings"
	"time"
)

// The state machines of the exact operations, each written once, here, as
// a pure function of the facts a store loaded: the row(s) before, the
// caller, the clock. The engines only load those facts, compare-and-swap
// the state the decision expects, and report what they found when the swap
// lost a race; the Service (steps.go) then decides again on what they
// found. Nothing else orders these outcomes.

// Rotation is what presenting a refresh token comes to (RFC 9700 §4.14.2,
// refresh token rotation with reuse detection).
type Rotation int

const (
	// RotateFresh: the token is unused, it and its grant live: mark it
	// used and store its successor.
	RotateFresh Rotation = iota
	// RotateRetry: the token was rotated within the grace window and its
	// grant is active: answer the sealed response its rotation recorded,
	// the very same pair, and change nothing.
	RotateRetry
	// RotateRetryForgotten: a retry within the grace window whose sealed
	// response housekeeping has already erased: refused, but not taken
	// for a reuse (the grant stays active).
	RotateRetryForgotten
	// RotateReuse: a rotated token came back outside the grace window:
	// revoke the whole family (the grant, and so every token of it).
	RotateReuse
	// RotateRevoked: the token is unused but its grant was revoked.
	RotateRevoked
	// RotateExpired: the token or its grant is past its expiry.
	RotateExpired
	// RotateWrongClient: another client than the token's presented it
	// (RFC 6749 §6, §10.4); nothing changes, so that a thief cannot
	// revoke the owner's grant.
	RotateWrongClient
)

// RotationFacts are what a rotation is decided on.
type RotationFacts struct {
	Token    RefreshToken // the presented token, as stored
	Grant    Grant        // its grant, as stored
	ClientID string       // the client presenting it
	Now      time.Time
	// Grace is the retry window after a rotation; 0 or less is no window
	// at all, not a window of one instant (the policy turns the grace off
	// with a negative value, and a replay in the very microsecond of the
	// rotation is still a replay).
	Grace time.Duration
}

// DecideRotation orders the outcomes of presenting a refresh token: the
// client binding first (a thief changes nothing), then the grant (a
// revoked or expired grant answers so, whatever its tokens' state: there
// is nothing left to revoke or retry), then use (a used token is a replay
// however fresh it looks, so that every replay is detected), then the
// token's own expiry.
func DecideRotation(f RotationFacts) Rotation {
	t, g := f.Token, f.Grant
	switch {
	case !strings.EqualFold(t.ClientID, f.ClientID):
		return RotateWrongClient
	case !g.RevokedAt.IsZero():
		return RotateRevoked
	case !f.Now.Before(g.ExpiresAt):
		return RotateExpired
	case !t.UsedAt.IsZero():
		// RFC 9700 §4.14.2: a rotated token presented again is either a
		// lost response retried within the grace window or a sign that
		// it was stolen: then the whole family is revoked.
		inGrace := f.Grace > 0 && f.Now.Sub(t.UsedAt) <= f.Grace
		switch {
		case inGrace && len(t.SuccessorSealed) > 0:
			return RotateRetry
		case inGrace:
			return RotateRetryForgotten
		}
		return RotateReuse
	case !f.Now.Before(t.ExpiresAt):
		return RotateExpired
	}
	return RotateFresh
}

// Redemption is what presenting an authorization code comes to (RFC 6749
// §4.1.2).
type Redemption int

const (
	// RedeemFirst: the first use of a live code of a live grant.
	RedeemFirst Redemption = iota
	// RedeemReplay: the code was redeemed before: revoke what it issued,
	// its grant (RFC 6749 §4.1.2, RFC 9700 §4.5).
	RedeemReplay
	// RedeemRevoked: the code's grant was revoked.
	RedeemRevoked
	// RedeemExpired: the code or its grant is past its expiry.
	RedeemExpired
)

// DecideRedemption orders the outcomes of presenting a code: a redeemed
// code is a replay whatever its grant's state, so that the replay revokes
// it; then revocation, then expiry.
func DecideRedemption(c Code, g Grant, now time.Time) Redemption {
	switch {
	case !c.RedeemedAt.IsZero():
		return RedeemReplay
	case !g.RevokedAt.IsZero():
		return RedeemRevoked
	case !now.Before(c.ExpiresAt), !now.Before(g.ExpiresAt):
		return RedeemExpired
	}
	return RedeemFirst
}

// DeviceApproval is what a person's decision on a device code comes to.
type DeviceApproval int

const (
	// ApprovalRecorded: the code is pending and live: record the decision.
	ApprovalRecorded DeviceApproval = iota
	// ApprovalAlreadyDecided: the first decision stands.
	ApprovalAlreadyDecided
	// ApprovalExpired: the code is past its expiry (RFC 8628 §3.5: the
	// device is told expired_token; a late approval must not revive it).
	ApprovalExpired
)

// DecideDeviceApproval decides whether a decision on d may be recorded:
// expiry first (a person entering an old code is told it expired, whatever
// became of it), then the first decision stands.
func DecideDeviceApproval(d DeviceCode, now time.Time) DeviceApproval {
	switch {
	case !now.Before(d.ExpiresAt):
		return ApprovalExpired
	case d.Status != DevicePending:
		return ApprovalAlreadyDecided
	}
	return ApprovalRecorded
}

// DevicePoll is what a device's token request comes to (RFC 8628 §3.5).
type DevicePoll int

const (
	// PollPending: authorization_pending; the poll is recorded.
	PollPending DevicePoll = iota
	// PollSlowDown: the device polled again within the interval:
	// slow_down; the poll is recorded.
	PollSlowDown
	// PollApproved: the person approved: the code is redeemed by this
	// poll and the device gets the tokens, once.
	PollApproved
	// PollDenied: access_denied.
	PollDenied
	// PollExpired: expired_token: the code is past its expiry. Nothing is
	// written: an approval that came too late is never redeemed.
	PollExpired
	// PollRedeemed: expired_token too: the code's tokens were handed out
	// to an earlier poll; the poll is recorded.
	PollRedeemed
	// PollWrongClient: another client than the code's polled; nothing is
	// written.
	PollWrongClient
)

// DecideDevicePoll orders the answers to a poll of d by clientID at now.
func DecideDevicePoll(d DeviceCode, clientID string, now time.Time) DevicePoll {
	switch {
	case !strings.EqualFold(d.ClientID, clientID):
		return PollWrongClient
	case !now.Before(d.ExpiresAt):
		return PollExpired
	}
	switch d.Status {
	case DeviceDenied:
		return PollDenied
	case DeviceRedeemed:
		return PollRedeemed
	case DeviceApproved:
		return PollApproved
	}
	// RFC 8628 §3.5: a client polling faster than the interval is told
	// slow_down.
	if !d.LastPolledAt.IsZero() && now.Sub(d.LastPolledAt) < d.Interval {
		return PollSlowDown
	}
	return PollPending
}

// polled is d as a poll at now leaves it: the poll recorded and, for the
// poll that gets the tokens, the code redeemed. Polls that write nothing
// (expired, wrong client) are not passed here.
func polled(d DeviceCode, outcome DevicePoll, now time.Time) DeviceCode {
	d.LastPolledAt = now
	if outcome == PollApproved {
		d.Status = DeviceRedeemed
	}
	return d
}

// writes reports whether a poll with this outcome records anything.
func (p DevicePoll) writes() bool { return p != PollExpired && p != PollWrongClient }
