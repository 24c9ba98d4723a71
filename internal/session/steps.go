package session

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The steps run each exact operation the same way over any Repository:
// load the facts, decide (decide.go), and apply the outcome with the
// store's compare-and-swap, which either wins or reports the facts that
// beat it; then decide again on those. The swap expects exactly the state
// the decision was made on (an unused token, an unredeemed code, a device
// code as it was read), so a lost race is never applied, and the facts a
// decision reads besides that state (expiries, the client) never change
// after a row is written. They are exported so that the conformance suite
// (store/storetest) runs every outcome on every engine.

// maxSwaps bounds how often a step decides again after losing a race: a
// rotation or redemption loses at most once (the winner leaves the row
// used), a device code at most once per concurrent poll.
const maxSwaps = 4

// errContended: a step lost maxSwaps races in a row.
var errContended = errors.New("session: the row kept changing under the compare-and-swap")

// Successor is what a rotation stores when it wins: the new token, the
// sealed response that carries it, and the feed entry retiring the access
// tokens it replaces (Kind "" for none).
type Successor struct {
	Token      RefreshToken
	Sealed     []byte
	Superseded Revocation
}

// RotateRequest is one presentation of a refresh token.
type RotateRequest struct {
	TenantID   string
	Presented  []byte // the token's hash
	ClientID   string
	Now        time.Time
	Grace      time.Duration
	FeedExpiry time.Time // of the entry a reuse's revocation appends
	// Next builds the successor of cur, only when the decision is to
	// rotate (the response is minted only by a caller that may win).
	Next func(cur RefreshToken, g Grant) (Successor, error)
}

// Rotate decides a rotation and applies it: RotateFresh stores the
// successor (MarkRefreshTokenUsed), RotateReuse revokes the grant; every
// other outcome writes nothing. It returns the outcome with the token and
// grant it was decided on.
func Rotate(ctx context.Context, repo Repository, r RotateRequest) (Rotation, RefreshToken, Grant, error) {
	t, g, err := repo.GetRefreshToken(ctx, r.TenantID, r.Presented)
	if err != nil {
		return 0, RefreshToken{}, Grant{}, err
	}
	for range maxSwaps {
		outcome := DecideRotation(RotationFacts{Token: t, Grant: g, ClientID: r.ClientID, Now: r.Now, Grace: r.Grace})
		switch outcome {
		case RotateReuse:
			// Its own transaction: what the decision rests on cannot
			// change (a used token stays used, UsedAt fixed), and
			// revoking is idempotent, so concurrent replays revoke once.
			return outcome, t, g, repo.RevokeGrant(ctx, r.TenantID, g.ID, r.Now, r.FeedExpiry)
		case RotateFresh:
		default:
			return outcome, t, g, nil
		}
		next, err := r.Next(t, g)
		if err != nil {
			return 0, RefreshToken{}, Grant{}, err
		}
		found, fg, rotated, err := repo.MarkRefreshTokenUsed(ctx, r.TenantID, r.Presented, next.Token, next.Sealed, next.Superseded, r.Now)
		if err != nil || rotated {
			return outcome, t, g, err
		}
		t, g = found, fg
	}
	return 0, RefreshToken{}, Grant{}, errContended
}

// Redeem decides a code's redemption and applies it: RedeemFirst marks the
// code redeemed, RedeemReplay revokes its grant (RFC 6749 §4.1.2); the
// others write nothing. It returns the outcome with the code and grant it
// was decided on (the code as redeemed, for RedeemFirst).
func Redeem(ctx context.Context, repo Repository, tenantID string, hash []byte, now, feedExpiry time.Time) (Redemption, Code, Grant, error) {
	// One read: a code read unredeemed with its grant read later, revoked
	// by the replay of a redemption made in between, would look like a
	// code of a revoked grant rather than the replay it is.
	c, g, err := repo.GetCodeAndGrant(ctx, tenantID, hash)
	if err != nil {
		return 0, Code{}, Grant{}, err
	}
	for range maxSwaps {
		outcome := DecideRedemption(c, g, now)
		switch outcome {
		case RedeemReplay:
			return outcome, c, g, repo.RevokeGrant(ctx, tenantID, c.GrantID, now, feedExpiry)
		case RedeemFirst:
		default:
			return outcome, c, g, nil
		}
		found, fg, marked, err := repo.MarkCodeRedeemed(ctx, tenantID, hash, now)
		if err != nil {
			return 0, Code{}, Grant{}, err
		}
		if marked {
			found.RedeemedAt = now
			return outcome, found, fg, nil
		}
		c, g = found, fg
	}
	return 0, Code{}, Grant{}, errContended
}

// DecideDevice records a person's decision on the device code whose user
// code hashes to userCodeHash: approved for userID with grantID, or denied
// (userID and grantID ""). It returns the outcome and the code as it now
// stands (as decided on, when nothing was recorded).
func DecideDevice(ctx context.Context, repo Repository, tenantID string, userCodeHash []byte, userID, grantID string, now time.Time) (DeviceApproval, DeviceCode, error) {
	status := DeviceApproved
	switch {
	case userID == "" && grantID != "":
		return 0, DeviceCode{}, errors.New("session: a denial has no grant")
	case userID == "":
		status = DeviceDenied
	case grantID == "":
		return 0, DeviceCode{}, errors.New("session: an approval needs a grant")
	}
	d, err := repo.GetDeviceCodeByUserCode(ctx, tenantID, userCodeHash)
	if err != nil {
		return 0, DeviceCode{}, err
	}
	for range maxSwaps {
		outcome := DecideDeviceApproval(d, now)
		if outcome != ApprovalRecorded {
			return outcome, d, nil
		}
		to := d
		to.Status, to.UserID, to.GrantID = status, userID, grantID
		cur, swapped, err := repo.SwapDeviceCode(ctx, tenantID, d, to)
		if err != nil || swapped {
			return outcome, cur, err
		}
		d = cur
	}
	return 0, DeviceCode{}, errContended
}

// Poll answers a device's poll at now (RFC 8628 §3.5) and records it: the
// outcome and the code as it was before this poll.
func Poll(ctx context.Context, repo Repository, tenantID string, hash []byte, clientID string, now time.Time) (DevicePoll, DeviceCode, error) {
	d, err := repo.GetDeviceCode(ctx, tenantID, hash)
	if err != nil {
		return 0, DeviceCode{}, err
	}
	for range maxSwaps {
		outcome := DecideDevicePoll(d, clientID, now)
		if !outcome.writes() {
			return outcome, d, nil
		}
		cur, swapped, err := repo.SwapDeviceCode(ctx, tenantID, d, polled(d, outcome, now))
		if err != nil || swapped {
			return outcome, d, err
		}
		d = cur
	}
	// Polls that keep racing each other poll faster than any interval.
	return PollSlowDown, d, nil
}

// rotationError is the error Refresh answers an outcome that issues
// nothing with.
func rotationError(o Rotation, g Grant) error {
	switch o {
	case RotateWrongClient:
		return ErrWrongClient
	case RotateRetryForgotten, RotateReuse:
		return ErrReuse
	case RotateRevoked:
		return fmt.Errorf("grant %s: %w", g.ID, ErrRevoked)
	case RotateExpired:
		return ErrExpired
	}
	return fmt.Errorf("session: rotation outcome %d issues nothing", o)
}
