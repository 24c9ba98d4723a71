package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Device flow errors (RFC 8628 §3.5), mapped to the OAuth error codes of
// the same names.
var (
	ErrAuthorizationPending = errors.New("authorization_pending")
	ErrSlowDown             = errors.New("slow_down")
	ErrExpiredToken         = errors.New("expired_token")
	ErrAccessDenied         = errors.New("access_denied")
)

// Device flow parameters: 15 minutes to enter the code (as Entra), polling
// every 5 seconds (RFC 8628 §3.2 default).
const (
	DeviceCodeLifetime = 15 * time.Minute
	DeviceInterval     = 5 * time.Second
)

// DefaultDevicePendingMax is how many device authorizations one client may
// have pending in a tenant at once (Options.DevicePendingMax,
// --device-pending-max). Anyone may start one for a public client, the
// CLI's id is in every tenant, and each is a row until it expires: the cap
// bounds what a flood can write at about 6 MB per client and tenant,
// whatever the number of addresses behind it. It is far above what people
// keep pending (a device code lives 15 minutes and is used in one), and so
// far above what one address may start in that time (the per-address limit
// on device authorization, RFC 8628 §5.2) that filling it takes hundreds
// of addresses; and it frees itself as codes expire.
const DefaultDevicePendingMax = 10000

// ErrDevicePendingLimit: the client already has as many device
// authorizations pending in the tenant as the cap allows.
var ErrDevicePendingLimit = errors.New("too many pending device authorizations")

// PendingLimitError is ErrDevicePendingLimit with the earliest time one of
// the pending codes expires, when a new one can be started at the latest.
type PendingLimitError struct {
	Max    int
	FreeAt time.Time
}

func (e *PendingLimitError) Error() string {
	return fmt.Sprintf("%v: %d pending, the first expires at %s", ErrDevicePendingLimit, e.Max, e.FreeAt.Format(time.RFC3339))
}

func (e *PendingLimitError) Is(target error) bool { return target == ErrDevicePendingLimit }

// userCodeAlphabet avoids vowels (no words) and look-alikes (RFC 8628
// §6.1): 20 letters, 8 of them give 34 bits, enough with rate limiting and
// a 15-minute life.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func (s *Service) newUserCode() string {
	var b [8]byte
	out := make([]byte, 0, 9)
	s.read(b[:])
	for i, x := range b {
		if i == 4 {
			out = append(out, '-')
		}
		// 256 is not a multiple of 20; the bias (under 5%) is harmless
		// here and keeps the code simple.
		out = append(out, userCodeAlphabet[int(x)%len(userCodeAlphabet)])
	}
	return string(out)
}

// NormalizeUserCode makes what a person typed comparable: upper case,
// without spaces or dashes (RFC 8628 §6.1).
func NormalizeUserCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// StartDevice begins a device authorization (RFC 8628 §3.1-3.2) and returns
// the device code, the user code, and the stored record; a
// *PendingLimitError when the client has Options.DevicePendingMax pending
// in the tenant already.
func (s *Service) StartDevice(ctx context.Context, tenantID, clientID string, scopes []string, resource string) (string, string, DeviceCode, error) {
	v, h := s.opaque(DeviceCodePrefix, tenantID)
	user := s.newUserCode()
	now := s.clock()
	if scopes == nil {
		scopes = []string{}
	}
	d := DeviceCode{TenantID: tenantID, Hash: h, UserCodeHash: s.hash.HashToken(NormalizeUserCode(user)), ClientID: clientID,
		Scopes: scopes, Resource: resource, Interval: DeviceInterval, CreatedAt: now, ExpiresAt: now.Add(DeviceCodeLifetime), Status: DevicePending}
	if err := s.repo.CreateDeviceCode(ctx, tenantID, d, s.devicePendingMax); err != nil {
		return "", "", DeviceCode{}, err
	}
	return v, user, d, nil
}

// LookupUserCode finds the pending device authorization a person entered.
func (s *Service) LookupUserCode(ctx context.Context, tenantID, userCode string) (DeviceCode, error) {
	d, err := s.repo.GetDeviceCodeByUserCode(ctx, tenantID, s.hash.HashToken(NormalizeUserCode(userCode)))
	if err != nil {
		return DeviceCode{}, err
	}
	switch DecideDeviceApproval(d, s.clock()) {
	case ApprovalExpired:
		return DeviceCode{}, ErrExpired
	case ApprovalAlreadyDecided:
		return DeviceCode{}, ErrUsed
	}
	return d, nil
}

// ApproveDevice records that the signed-in user approved the device
// (grantID is the grant made for it); DenyDevice that they refused. A
// device code decided before is ErrUsed (the first decision stands), one
// past its expiry ErrExpired (DecideDeviceApproval).
func (s *Service) ApproveDevice(ctx context.Context, tenantID, userCode, userID, grantID string) (DeviceCode, error) {
	outcome, d, err := DecideDevice(ctx, s.repo, tenantID, s.hash.HashToken(NormalizeUserCode(userCode)), userID, grantID, s.clock())
	switch {
	case err != nil:
		return DeviceCode{}, err
	case outcome == ApprovalAlreadyDecided:
		return DeviceCode{}, fmt.Errorf("device code is %s: %w", d.Status, ErrUsed)
	case outcome == ApprovalExpired:
		return DeviceCode{}, fmt.Errorf("device code: %w", ErrExpired)
	}
	return d, nil
}

// DenyDevice records a refusal.
func (s *Service) DenyDevice(ctx context.Context, tenantID, userCode string) error {
	_, err := s.ApproveDevice(ctx, tenantID, userCode, "", "")
	return err
}

// PollDevice answers a device's token request (RFC 8628 §3.4-3.5,
// DecideDevicePoll): the approved device code with its grant, once;
// otherwise one of the device flow errors. A client polling faster than
// the interval gets ErrSlowDown.
func (s *Service) PollDevice(ctx context.Context, tenantID, deviceCode, clientID string) (DeviceCode, Grant, error) {
	if !strings.HasPrefix(deviceCode, DeviceCodePrefix) {
		return DeviceCode{}, Grant{}, ErrNotFound
	}
	outcome, d, err := Poll(ctx, s.repo, tenantID, s.hash.HashToken(deviceCode), clientID, s.clock())
	if err != nil {
		return DeviceCode{}, Grant{}, err
	}
	switch outcome {
	case PollApproved:
		g, err := s.ActiveGrant(ctx, tenantID, d.GrantID)
		return d, g, err
	case PollWrongClient:
		return DeviceCode{}, Grant{}, ErrWrongClient
	case PollExpired, PollRedeemed:
		return DeviceCode{}, Grant{}, ErrExpiredToken
	case PollDenied:
		return DeviceCode{}, Grant{}, ErrAccessDenied
	case PollSlowDown:
		return DeviceCode{}, Grant{}, ErrSlowDown
	}
	return DeviceCode{}, Grant{}, ErrAuthorizationPending
}
