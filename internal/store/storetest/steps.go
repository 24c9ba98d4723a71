package storetest

import (
	"context"
	"fmt"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

// The exact session operations are decided in the domain (session's
// DecideRotation, DecideRedemption, DecideDeviceApproval,
// DecideDevicePoll) and applied through each engine's compare-and-swap by
// session's steps (Rotate, Redeem, DecideDevice, Poll). The suite drives
// the engines through those steps, so that every outcome is checked
// against what each engine stores, and answers in the contract's errors
// (session.ErrUsed and the like) so that the tests read as the contract.

// Rotate presents the token hashed presented at now, with next and sealed
// as the successor if the decision is to rotate. A rotation answers nil; a
// retry within grace the token with its sealed response and ErrUsed; a
// retry whose response was forgotten the token without it and ErrUsed; a
// reuse revokes the grant and answers the token without its (now erased)
// response and ErrUsed.
func Rotate(ctx context.Context, s store.Store, tenantID string, presented []byte, next session.RefreshToken, sealed []byte, now time.Time, grace time.Duration, feedExpiry time.Time) (session.RefreshToken, error) {
	outcome, cur, _, err := session.Rotate(ctx, s, session.RotateRequest{TenantID: tenantID, Presented: presented,
		ClientID: next.ClientID, Now: now, Grace: grace, FeedExpiry: feedExpiry,
		Next: func(session.RefreshToken, session.Grant) (session.Successor, error) {
			return session.Successor{Token: next, Sealed: sealed}, nil
		}})
	if err != nil {
		return session.RefreshToken{}, err
	}
	switch outcome {
	case session.RotateFresh:
		return session.RefreshToken{}, nil
	case session.RotateRetry, session.RotateRetryForgotten:
		return cur, session.ErrUsed
	case session.RotateReuse:
		cur.SuccessorSealed = []byte{}
		return cur, session.ErrUsed
	case session.RotateRevoked:
		return session.RefreshToken{}, session.ErrRevoked
	case session.RotateExpired:
		return session.RefreshToken{}, session.ErrExpired
	}
	return session.RefreshToken{}, fmt.Errorf("rotation outcome %d", outcome)
}

// Redeem presents a code at now: the code as redeemed; a replay (which
// revokes its grant) the code and ErrUsed; ErrRevoked, ErrExpired.
func Redeem(ctx context.Context, s store.Store, tenantID string, hash []byte, now time.Time) (session.Code, error) {
	outcome, c, _, err := session.Redeem(ctx, s, tenantID, hash, now, feedExpiry)
	if err != nil {
		return session.Code{}, err
	}
	switch outcome {
	case session.RedeemFirst:
		return c, nil
	case session.RedeemReplay:
		return c, session.ErrUsed
	case session.RedeemRevoked:
		return session.Code{}, session.ErrRevoked
	}
	return session.Code{}, session.ErrExpired
}

// Approve records a decision on a device code (a denial without user and
// grant): the code as decided; ErrUsed if it was decided before,
// ErrExpired past its expiry.
func Approve(ctx context.Context, s store.Store, tenantID string, userCodeHash []byte, userID, grantID string, now time.Time) (session.DeviceCode, error) {
	outcome, d, err := session.DecideDevice(ctx, s, tenantID, userCodeHash, userID, grantID, now)
	switch {
	case err != nil:
		return session.DeviceCode{}, err
	case outcome == session.ApprovalAlreadyDecided:
		return session.DeviceCode{}, session.ErrUsed
	case outcome == session.ApprovalExpired:
		return session.DeviceCode{}, session.ErrExpired
	}
	return d, nil
}

// Poll polls a device code at now by its own client and returns it as it
// was before the poll.
func Poll(ctx context.Context, s store.Store, tenantID string, hash []byte, now time.Time) (session.DeviceCode, error) {
	d, err := s.GetDeviceCode(ctx, tenantID, hash)
	if err != nil {
		return session.DeviceCode{}, err
	}
	_, before, err := session.Poll(ctx, s, tenantID, hash, d.ClientID, now)
	return before, err
}
