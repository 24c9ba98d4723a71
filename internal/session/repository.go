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
	// GetCodeAndGrant reads a code by hash with its grant, as one read:
	// the facts a redemption is decided on.
	GetCodeAndGrant(ctx context.Context, tenantID string, hash []byte) (Code, Grant, error)
	// MarkCodeRedeemed is the compare-and-swap of a redemption: if the
	// code is unredeemed and its grant unrevoked (the state DecideRedemption
	// answered RedeemFirst on), it marks the code redeemed at now. It
	// returns the code and its grant as it found them, before the mark,
	// and whether it marked. Of concurrent calls exactly one marks. An
	// unknown code is ErrNotFound.
	MarkCodeRedeemed(ctx context.Context, tenantID string, hash []byte, now time.Time) (Code, Grant, bool, error)

	CreateRefreshToken(ctx context.Context, tenantID string, t RefreshToken) error
	// GetRefreshToken returns a refresh token by hash with its grant.
	GetRefreshToken(ctx context.Context, tenantID string, hash []byte) (RefreshToken, Grant, error)
	// MarkRefreshTokenUsed is the compare-and-swap of a rotation (the
	// state DecideRotation answered RotateFresh on): if the presented token
	// is unused and its grant unrevoked, it marks the token used at now
	// with next as its successor and sealed (the response carrying next)
	// on it, stores next (its GrantID and ClientID empty or the grant's,
	// its ExpiresAt capped at the grant's, its Generation as given) and
	// appends superseded to the feed (when its Kind is set, as
	// AppendRevocation does), as one atomic, durable write. It returns the
	// presented token and its grant as it found them, before the mark, and
	// whether it rotated. Of concurrent calls exactly one rotates. An
	// unknown token is ErrNotFound.
	MarkRefreshTokenUsed(ctx context.Context, tenantID string, presented []byte, next RefreshToken, sealed []byte, superseded Revocation, now time.Time) (RefreshToken, Grant, bool, error)
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
	// GetDeviceCode returns a device code by the hash of its device code.
	GetDeviceCode(ctx context.Context, tenantID string, hash []byte) (DeviceCode, error)
	// SwapDeviceCode is the compare-and-swap of a device code (a decision
	// on it, a poll): if the code stored under from.Hash still has from's
	// Status and LastPolledAt, it takes to's Status, UserID, GrantID and
	// LastPolledAt, atomically, and the answer is (to, true); otherwise
	// nothing changes and the answer is the code as stored and false. An
	// approval (to.Status DeviceApproved) must name a grant of the tenant
	// made for to.UserID and the code's client (ErrNotFound if there is
	// no such grant, an error if it is another user's or client's).
	SwapDeviceCode(ctx context.Context, tenantID string, from, to DeviceCode) (DeviceCode, bool, error)

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
