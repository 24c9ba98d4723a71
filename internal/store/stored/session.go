package stored

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

// CheckRotation checks the arguments of MarkRefreshTokenUsed: the
// successor is of the tenant and has a hash, the feed entry (if any) is a
// superseded one of the tenant, and the time is set (the zero time is what
// "not used yet" is stored as).
func CheckRotation(tenantID string, next session.RefreshToken, superseded session.Revocation, now time.Time) error {
	errs := []error{CheckTenant(tenantID, next.TenantID), CheckHash("next refresh token", next.Hash)}
	if now.IsZero() {
		errs = append(errs, errors.New("rotation time is the zero time"))
	}
	if superseded.Kind != "" {
		errs = append(errs, CheckTenant(tenantID, superseded.TenantID))
		if superseded.Kind != session.RevokeSuperseded {
			errs = append(errs, fmt.Errorf("a rotation appends a %s entry, not %s", session.RevokeSuperseded, superseded.Kind))
		}
	}
	return errors.Join(errs...)
}

// CheckRedemption checks the arguments of MarkCodeRedeemed.
func CheckRedemption(tenantID string, hash []byte, now time.Time) error {
	errs := []error{CheckTenant(tenantID, ""), CheckHash("code", hash)}
	if now.IsZero() {
		errs = append(errs, errors.New("redemption time is the zero time"))
	}
	return errors.Join(errs...)
}

// CheckDeviceSwap checks the arguments of SwapDeviceCode: both sides name
// the same device code of the tenant, and the new state is one a decision
// or a poll leaves (an approval with its user and grant, a denial with
// neither).
func CheckDeviceSwap(tenantID string, from, to session.DeviceCode) error {
	errs := []error{CheckTenant(tenantID, from.TenantID), CheckTenant(tenantID, to.TenantID), CheckHash("device code", from.Hash)}
	if string(from.Hash) != string(to.Hash) {
		errs = append(errs, errors.New("a swap names two device codes"))
	}
	switch to.Status {
	case session.DeviceApproved:
		if to.UserID == "" || to.GrantID == "" {
			errs = append(errs, errors.New("an approval needs a user and a grant"))
		}
	case session.DeviceDenied:
		if to.UserID != "" || to.GrantID != "" {
			errs = append(errs, errors.New("a denial has no user or grant"))
		}
	case session.DevicePending, session.DeviceRedeemed:
	default:
		errs = append(errs, fmt.Errorf("unknown device code status %q", to.Status))
	}
	return errors.Join(errs...)
}

// CheckApprovalGrant checks that the grant an approval names was made for
// its user and the device's client (client ids are GUIDs, compared
// case-insensitively).
func CheckApprovalGrant(grantID, grantUser, grantClient string, d, to session.DeviceCode) error {
	if grantUser != to.UserID || !strings.EqualFold(grantClient, d.ClientID) {
		return fmt.Errorf("grant %s is of user %s and client %s, not of user %s and client %s",
			grantID, grantUser, grantClient, to.UserID, d.ClientID)
	}
	return nil
}

// CheckBrowserSession checks a browser session to store: of the tenant,
// with an id and the hash of its cookie.
func CheckBrowserSession(tenantID string, bs session.BrowserSession) error {
	errs := []error{CheckTenant(tenantID, bs.TenantID), CheckHash("session id", bs.IDHash)}
	if bs.ID == "" {
		errs = append(errs, errors.New("browser session needs an id"))
	}
	return errors.Join(errs...)
}

// CheckCode checks an authorization code to store.
func CheckCode(tenantID string, c session.Code) error {
	return errors.Join(CheckTenant(tenantID, c.TenantID), CheckHash("code", c.Hash))
}

// CheckRefreshToken checks a refresh token to store.
func CheckRefreshToken(tenantID string, t session.RefreshToken) error {
	return errors.Join(CheckTenant(tenantID, t.TenantID), CheckHash("refresh token", t.Hash))
}

// DeviceCode checks a device code to store and returns it as stored: an
// empty Status is DevicePending.
//
// What CreateDeviceCode then does with it, in both engines (RFC 8628
// §3.2): a user code is unique among the tenant's live device codes; one
// held by a device code expired at d.CreatedAt is taken over (that code is
// deleted), one still live is directory.ErrConflict, on which the caller
// draws another user code. session.ErrNotFound if the tenant does not
// exist. With maxPending > 0, a client that has maxPending pending device
// codes in the tenant expiring after d.CreatedAt gets a
// *session.PendingLimitError and nothing is stored. Client ids are
// compared as the directory spells them (the caller passes the
// application's AppID).
func DeviceCode(tenantID string, d session.DeviceCode) (session.DeviceCode, error) {
	if d.Status == "" {
		d.Status = session.DevicePending
	}
	return d, errors.Join(CheckTenant(tenantID, d.TenantID), CheckHash("device code", d.Hash),
		CheckHash("user code", d.UserCodeHash))
}

// PurgeStatement is one of an engine's purge statements: it deletes at
// most a batch of rows of one kind whose Cutoff (of the PurgeBefore given)
// has passed.
type PurgeStatement struct {
	Query  string
	Cutoff func(session.PurgeBefore) time.Time
}

// Expired and Answered are the two cut-offs of session.PurgeBefore: device
// codes, feed entries and failure counts go once Expired has passed,
// codes, refresh tokens and what they hold once Answered has.
func Expired(b session.PurgeBefore) time.Time { return b.Expired }

// Answered: see Expired.
func Answered(b session.PurgeBefore) time.Time { return b.Answered }
