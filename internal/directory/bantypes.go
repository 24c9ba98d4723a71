package directory

import "time"

// AddressBan is what the store keeps about failed sign-ins from one client
// address in one tenant: how many in the current window, and the ban they
// led to. Kept in the database rather than in an instance's memory, so that
// a ban holds on every instance sharing it, however the balancer spreads
// an attacker's requests.
type AddressBan struct {
	TenantID string `json:"tenantId"`
	// Address is the client address as counted: an IPv4 address, or the
	// /64 of an IPv6 one (see AddressKey).
	Address string `json:"address"`
	// Failures counted since FirstFailureAt, the start of the window.
	Failures       int       `json:"failures"`
	FirstFailureAt time.Time `json:"firstFailureAt"`
	LastFailureAt  time.Time `json:"lastFailureAt"`
	// BannedUntil is the end of the ban; the zero time if none was
	// imposed.
	BannedUntil time.Time `json:"bannedUntil,omitzero"`
}

// Banned reports whether the ban holds at now.
func (b AddressBan) Banned(now time.Time) bool { return now.Before(b.BannedUntil) }

// AddressFailure is one failed sign-in from an address, and the rule it is
// counted under: failures within Window of the first one add up, and the
// one that brings the count to Threshold (or past it) bans the address
// until At+BanFor.
type AddressFailure struct {
	At        time.Time
	Window    time.Duration
	Threshold int
	BanFor    time.Duration
}

// BanQuery pages through the bans (locked users, banned addresses) of a
// tenant that hold at At, in key order (object id, address).
type BanQuery struct {
	At time.Time
	// After is the key of the last entry of the previous page; "" starts
	// at the beginning.
	After string
	// Limit is the most entries returned; it must be positive.
	Limit int
}

// SignInFailure is one failed sign-in of a name (a user's, or a name no
// user has), and the rule it is counted under: a count whose last failure
// is at or before ForgetBefore starts again at 1; the failure that brings
// the count to Threshold or past it locks the name until LockUntil (never
// shortening a lock in place; Threshold <= 0 never locks). ExpiresAt is
// when the stored count of a name no user has may be purged: once it is
// forgotten anyway.
type SignInFailure struct {
	At           time.Time
	Threshold    int
	LockUntil    time.Time
	ForgetBefore time.Time
	ExpiresAt    time.Time
}

// NameFailures is what the store keeps about failed sign-ins with a name
// no user with a password has, under a keyed hash of the tenant and the
// name (never the name: people type their password into it). The same
// fields as a user's brute-force state, counted by the same rule, so that
// an unknown name is slowed down and locked exactly as an existing one.
type NameFailures struct {
	Failures      int
	LastFailureAt time.Time
	LockedUntil   time.Time
	ExpiresAt     time.Time
}
