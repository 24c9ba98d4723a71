package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
)

// AddressBanPolicy is when a client address is banned from signing in to
// a tenant: Failures failed sign-ins (wrong password or unknown user)
// within Window ban it for Duration. A server setting (--ban-address-*),
// the same for every tenant, since the operator knows the network.
//
// The per-account lockout (TenantPolicy.LockoutThreshold) stops guessing
// one account's password; this stops one address trying a few passwords
// against many accounts (password spraying), which no account's count
// ever sees.
type AddressBanPolicy struct {
	// Failures is the threshold; 0 switches address bans off.
	Failures int
	Window   time.Duration
	Duration time.Duration
}

// AddressAuditKind is the audit kind of an address ban being imposed.
const AddressAuditKind = "ban.address"

// AddressKey is the key an address is counted and banned under: an IPv4
// address as itself, an IPv6 address by its /64, since one end site gets
// at least a /64 (RFC 6177) and could otherwise try from each of its 2^64
// addresses in turn. The same keying as the in-memory rate limits
// (ratelimit.Key). The zero Addr has no key.
func AddressKey(addr netip.Addr) string {
	if !addr.IsValid() {
		return ""
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.WithZone("").Prefix(64)
		return p.String()
	}
	return addr.String()
}

// ParseAddressKey reads an address an administrator typed (an IP address,
// or the IPv6 /64 a ban list shows) into its key.
func ParseAddressKey(s string) (string, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return AddressKey(a), nil
	}
	if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Unmap().Is6() && p.Bits() == 64 {
		return AddressKey(p.Addr()), nil
	}
	return "", invalid("%q is not an IP address (an IPv6 address may be given by its /64)", s)
}

// addressBan returns the ban in force on key in the tenant, or nil. Called
// before the user is looked up and before any password is hashed: a banned
// address costs one indexed read, not 19 MiB of argon2id.
func (s *Service) addressBan(ctx context.Context, tenantID, key string, now time.Time) (*LockedError, error) {
	if key == "" {
		return nil, nil
	}
	b, err := s.repo.GetAddressBan(ctx, tenantID, key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if b.Banned(now) {
		return &LockedError{Until: b.BannedUntil, Locked: true, Address: true}, nil
	}
	return nil, nil
}

// countAddressFailure counts a failed sign-in from key and, when it is the
// failure that bans the address, records the ban in the audit log.
func (s *Service) countAddressFailure(ctx context.Context, tenantID, key string, now time.Time, via SignInVia) error {
	p := s.addressBans
	f := AddressFailure{At: now, Window: p.Window, Threshold: p.Failures, BanFor: p.Duration}
	b, err := s.repo.RecordAddressFailure(ctx, tenantID, key, f)
	if err != nil {
		return err
	}
	// Only the failure whose own ban end was stored imposed the ban:
	// later ones within it keep the longer end, and concurrent failures
	// each carry their own time.
	if b.BannedUntil.Equal(now.Add(p.Duration)) && b.Failures >= p.Failures {
		after, _ := json.Marshal(b)
		ev := audit.Event{TenantID: tenantID, Kind: AddressAuditKind, Target: key, Outcome: audit.Success, After: after,
			Details: map[string]string{"failures": strconv.Itoa(b.Failures), "window": p.Window.String(), "channel": via.Channel}}
		if via.ClientID != "" {
			ev.Details["client_id"] = via.ClientID
		}
		s.audit.Record(ev)
	}
	return nil
}

// The ban list an administrator reads and lifts.

// ListLockedUsers lists the tenant's users locked now, a page at a time.
func (s *Service) ListLockedUsers(ctx context.Context, tenantID, after string, limit int) ([]User, error) {
	return s.repo.ListLockedUsers(ctx, tenantID, BanQuery{At: s.clock(), After: after, Limit: limit})
}

// ListAddressBans lists the tenant's addresses banned now, a page at a
// time.
func (s *Service) ListAddressBans(ctx context.Context, tenantID, after string, limit int) ([]AddressBan, error) {
	return s.repo.ListAddressBans(ctx, tenantID, BanQuery{At: s.clock(), After: after, Limit: limit})
}

// LiftLockout clears a user's failure count and lock, and returns the user
// before and after. ErrNotFound when the user does not exist, or has
// neither a lock nor a failure counted: there is nothing to lift.
func (s *Service) LiftLockout(ctx context.Context, tenantID, ref string) (before, after User, err error) {
	u, err := s.GetUser(ctx, tenantID, ref)
	if err != nil {
		return User{}, User{}, err
	}
	if u.FailedSignIns == 0 && !s.clock().Before(u.LockedUntil) {
		return User{}, User{}, fmt.Errorf("user %s: no lockout to lift: %w", u.ObjectID, ErrNotFound)
	}
	if err := s.repo.ResetSignInFailures(ctx, tenantID, u.ObjectID); err != nil {
		return User{}, User{}, err
	}
	after = u
	after.FailedSignIns, after.LockedUntil = 0, time.Time{}
	return u, after, nil
}

// LiftAddressBan lifts the ban of an address (an IP address, or an IPv6
// /64) and forgets its count, returning the ban lifted. ErrNotFound when
// the address is not banned; ErrInvalid when it is not an address.
func (s *Service) LiftAddressBan(ctx context.Context, tenantID, address string) (AddressBan, error) {
	key, err := ParseAddressKey(address)
	if err != nil {
		return AddressBan{}, err
	}
	return s.repo.DeleteAddressBan(ctx, tenantID, key, s.clock())
}
