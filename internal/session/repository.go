package session

import (
	"context"
	"time"
)

// Repository is what sessions need from storage. As in the directory,
// every call takes the tenant id and never touches another tenant's rows.
// The operations that must be exact are single atomic operations.
type Repository interface {
	CreateBrowserSession(ctx context.Context, tenantID string, s BrowserSession) error
	// GetBrowserSession finds a session by the hash of its id.
	GetBrowserSession(ctx context.Context, tenantID string, idHash []byte) (BrowserSession, error)
	// RevokeBrowserSession ends a session and, in the same transaction,
	// revokes every grant made in it (appending a RevokeGrant entry for
	// each, expiring at feedExpiry). It returns the grants revoked.
	RevokeBrowserSession(ctx context.Context, tenantID string, idHash []byte, at, feedExpiry time.Time) ([]string, error)

	CreateGrant(ctx context.Context, tenantID string, g Grant) error
	GetGrant(ctx context.Context, tenantID, id string) (Grant, error)
	// UpdateGrantScopes replaces the scopes of a grant (a user consenting
	// to more for the same client in the same session).
	UpdateGrantScopes(ctx context.Context, tenantID, id string, scopes []string) error
	// RevokeGrant revokes a grant, its refresh tokens and unredeemed codes,
	// and appends a RevokeGrant feed entry, atomically. Revoking a revoked
	// grant is not an error and appends nothing.
	RevokeGrant(ctx context.Context, tenantID, id string, at, feedExpiry time.Time) error
	// RevokeGrantsOf revokes every active grant of a user (userID != "")
	// or of a client (clientID != ""), with feed entries, atomically; it
	// also appends one RevokeSubject or RevokeClient entry.
	RevokeGrantsOf(ctx context.Context, tenantID, userID, clientID string, at, feedExpiry time.Time) error

	CreateCode(ctx context.Context, tenantID string, c Code) error
	// GetCode reads a code by hash without changing it.
	GetCode(ctx context.Context, tenantID string, hash []byte) (Code, error)
	// RedeemCode marks the code redeemed at now and returns it, if it is
	// unredeemed, unexpired and its grant active. A code redeemed before
	// is returned with ErrUsed (so the caller can revoke its grant, RFC
	// 6749 §4.1.2); an expired one with ErrExpired; a revoked grant's with
	// ErrRevoked; an unknown one ErrNotFound. Of concurrent redemptions
	// exactly one succeeds.
	RedeemCode(ctx context.Context, tenantID string, hash []byte, now time.Time) (Code, error)

	CreateRefreshToken(ctx context.Context, tenantID string, t RefreshToken) error
	// GetRefreshToken returns a refresh token by hash with its grant.
	GetRefreshToken(ctx context.Context, tenantID string, hash []byte) (RefreshToken, Grant, error)
	// RotateRefreshToken is the one atomic step of a refresh:
	//   - presented unused, unexpired, grant active: mark it used at now,
	//     record next (its successor) and sealed (the response carrying
	//     it) on it, store next (with next.Generation as given: the
	//     caller's presented.Generation + 1); return (RefreshToken{} , nil).
	//   - presented already used, now - UsedAt <= grace: change nothing
	//     and return the presented token (with SuccessorSealed) and
	//     ErrUsed; the caller replays the sealed response.
	//   - presented already used outside the grace window: revoke the
	//     grant (with feed entry expiring at feedExpiry) and return ErrUsed
	//     with the token's SuccessorSealed empty.
	//   - expired: ErrExpired; grant revoked: ErrRevoked; unknown:
	//     ErrNotFound.
	// A grace of 0 means no window at all. A used token is reported as
	// ErrUsed even when its grant is revoked since (the sealed response is
	// returned only within grace on an active grant).
	// Of concurrent rotations of one token exactly one stores a successor.
	RotateRefreshToken(ctx context.Context, tenantID string, presented []byte, next RefreshToken, sealed []byte, now time.Time, grace time.Duration, feedExpiry time.Time) (RefreshToken, error)
	// ForgetSealed drops sealed successor responses older than before, so
	// that no usable token stays recoverable past the grace window.
	ForgetSealed(ctx context.Context, before time.Time) error
	// Purge deletes, at most limit rows of each kind, what expired before
	// its cut-off (PurgeBefore), and returns how many rows it deleted
	// (housekeeping, every tenant). Each kind is its own short
	// transaction, or part of one: never one long lock over a backlog.
	Purge(ctx context.Context, before PurgeBefore, limit int) (int64, error)

	// CreateDeviceCode stores a device authorization. With maxPending > 0
	// it is a conditional insert, atomic against every other (across
	// instances too): when the client already has maxPending pending
	// device codes in the tenant that expire after d.CreatedAt, nothing
	// is stored and the answer is a *PendingLimitError whose FreeAt is
	// the earliest expiry among them. maxPending 0 stores without a cap.
	CreateDeviceCode(ctx context.Context, tenantID string, d DeviceCode, maxPending int) error
	GetDeviceCodeByUserCode(ctx context.Context, tenantID string, userCodeHash []byte) (DeviceCode, error)
	// ApproveDeviceCode moves a pending, unexpired device code to approved
	// (with userID and grantID) or to denied (userID ""), atomically.
	ApproveDeviceCode(ctx context.Context, tenantID string, userCodeHash []byte, userID, grantID string, now time.Time) (DeviceCode, error)
	// PollDeviceCode records a poll at now and returns the device code as it
	// was before this poll (its LastPolledAt is the previous poll), so the
	// caller can answer slow_down (RFC 8628 §3.5). When the code is
	// approved, the poll also marks it redeemed, atomically, so exactly
	// one poll receives the tokens; a later poll sees DeviceRedeemed.
	PollDeviceCode(ctx context.Context, tenantID string, hash []byte, now time.Time) (DeviceCode, error)

	// AppendRevocation adds an entry to the tenant's feed, numbered after
	// every entry a follower can already read. A RevokeSuperseded entry
	// takes the place of the tenant's entry with the same Value and
	// Audience, if any: it is stored with a new Seq and the old one is
	// gone, atomically, when its Generation is greater than the stored
	// one's; otherwise (an append arriving late) nothing changes and no
	// error is returned. So the feed holds at most one such entry per
	// grant and audience.
	AppendRevocation(ctx context.Context, tenantID string, r Revocation) error
	// ListRevocations returns up to limit entries with Seq > after and
	// ExpiresAt > now, in Seq order.
	ListRevocations(ctx context.Context, tenantID string, after int64, now time.Time, limit int) ([]Revocation, error)
	// LookupRevocations returns the tenant's entries with ExpiresAt > now
	// whose Value is one of values, in no particular order. It reads them
	// through an index on Value: its cost depends on how many entries name
	// these values, not on the length of the feed.
	LookupRevocations(ctx context.Context, tenantID string, values []string, now time.Time) ([]Revocation, error)
}
