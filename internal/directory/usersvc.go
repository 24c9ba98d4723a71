package directory

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tessera-id/tessera/internal/audit"
)

// Errors of user sign-in. ErrInvalidCredentials is one error for an
// unknown user and a wrong password, so a caller cannot tell which names
// exist.
var (
	ErrInvalidCredentials = errors.New("invalid username or password")
	ErrUserDisabled       = errors.New("user disabled")
)

// LockedError says a sign-in was refused without checking the password:
// the account is locked (Locked) or must wait before the next attempt, or
// the client address is banned from the tenant (Address, with Locked).
type LockedError struct {
	Until   time.Time
	Locked  bool // true: locked out; false: slowed down
	Address bool // the address is banned, whatever the account
}

func (e *LockedError) Error() string {
	if e.Address {
		return fmt.Sprintf("client address banned until %s after repeated failed sign-ins from it", e.Until.UTC().Format(time.RFC3339))
	}
	if e.Locked {
		return fmt.Sprintf("account locked until %s after repeated failed sign-ins", e.Until.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("too many failed sign-ins: wait until %s", e.Until.UTC().Format(time.RFC3339))
}

// Revoker ends what a principal holds when it loses access: the session
// layer implements it, the directory calls it when a user is disabled or
// deleted, or a client's service principal or credential goes away.
type Revoker interface {
	RevokeUser(ctx context.Context, tenantID, userID string) error
	RevokeClient(ctx context.Context, tenantID, clientID string) error
}

// SetRevoker installs the revoker; until then nothing is revoked beyond
// what the directory itself deletes.
func (s *Service) SetRevoker(r Revoker) { s.revoker = r }

// MinPasswordLength follows NIST SP 800-63B §5.1.1.2 (at least 8; we ask
// for 12 since passwords here guard API access).
const MinPasswordLength = 12

// UserSpec describes a new user.
type UserSpec struct {
	// UserPrincipalName: name@domain; a bare name gets @{tenant domain}.
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	Mail              string `json:"mail,omitempty"`
	// Password may be empty: the user then cannot sign in with one.
	Password string `json:"password,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
}

func validatePassword(pw string) error {
	if utf8.RuneCountInString(pw) < MinPasswordLength {
		return invalid("a password needs at least %d characters", MinPasswordLength)
	}
	if len(pw) > 256 {
		return invalid("a password may have at most 256 bytes")
	}
	return nil
}

// CreateUser creates a user.
func (s *Service) CreateUser(ctx context.Context, tenantID string, spec UserSpec) (User, error) {
	t, err := s.repo.GetTenant(ctx, tenantID)
	if err != nil {
		return User{}, err
	}
	upn := strings.ToLower(strings.TrimSpace(spec.UserPrincipalName))
	if upn != "" && !strings.Contains(upn, "@") {
		upn += "@" + t.Domain
	}
	local, domain, ok := strings.Cut(upn, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(upn, " \t\"<>()[],;:\\/") || len(upn) > 113 {
		return User{}, invalid("user principal name %q must look like name@domain", spec.UserPrincipalName)
	}
	if spec.Mail != "" {
		if _, err := mail.ParseAddress(spec.Mail); err != nil {
			return User{}, invalid("mail %q is not an address", spec.Mail)
		}
	}
	name := strings.TrimSpace(spec.DisplayName)
	if name == "" {
		name = local
	}
	now := s.clock()
	u := User{TenantID: tenantID, ObjectID: s.newID(), UserPrincipalName: upn, DisplayName: name, Mail: spec.Mail,
		Enabled: !spec.Disabled, CreatedAt: now, UpdatedAt: now}
	if spec.Password != "" {
		if err := validatePassword(spec.Password); err != nil {
			return User{}, err
		}
		if u.PasswordHash, err = s.hashPassword(ctx, spec.Password); err != nil {
			return User{}, err
		}
	}
	if err := s.repo.CreateUser(ctx, tenantID, u); err != nil {
		return User{}, err
	}
	return u, nil
}

// GetUser finds a user by object id or user principal name; a bare name
// stands for name@{tenant domain}.
func (s *Service) GetUser(ctx context.Context, tenantID, ref string) (User, error) {
	if IsGUID(ref) {
		return s.repo.GetUser(ctx, tenantID, strings.ToLower(ref))
	}
	upn := strings.ToLower(strings.TrimSpace(ref))
	if upn != "" && !strings.Contains(upn, "@") {
		t, err := s.repo.GetTenant(ctx, tenantID)
		if err != nil {
			return User{}, err
		}
		upn += "@" + t.Domain
	}
	return s.repo.GetUserByUPN(ctx, tenantID, upn)
}

// ListUsers lists a tenant's users.
func (s *Service) ListUsers(ctx context.Context, tenantID string) ([]User, error) {
	return s.repo.ListUsers(ctx, tenantID)
}

// SetPassword replaces a user's password and clears any lockout.
func (s *Service) SetPassword(ctx context.Context, tenantID, ref, password string) (User, error) {
	if err := validatePassword(password); err != nil {
		return User{}, err
	}
	u, err := s.GetUser(ctx, tenantID, ref)
	if err != nil {
		return User{}, err
	}
	if u.PasswordHash, err = s.hashPassword(ctx, password); err != nil {
		return User{}, err
	}
	u.UpdatedAt = s.clock()
	if err := s.repo.UpdateUser(ctx, tenantID, u); err != nil {
		return User{}, err
	}
	if err := s.repo.ResetSignInFailures(ctx, tenantID, u.ObjectID); err != nil {
		return User{}, err
	}
	u.FailedSignIns, u.LockedUntil = 0, time.Time{}
	return u, nil
}

// SetUserEnabled enables or disables a user. Disabling revokes everything
// the user holds: refresh tokens at once, access tokens through the
// revocation feed.
func (s *Service) SetUserEnabled(ctx context.Context, tenantID, ref string, enabled bool) (User, error) {
	u, err := s.GetUser(ctx, tenantID, ref)
	if err != nil {
		return User{}, err
	}
	u.Enabled, u.UpdatedAt = enabled, s.clock()
	if err := s.repo.UpdateUser(ctx, tenantID, u); err != nil {
		return User{}, err
	}
	if enabled {
		// Enabling is also how an administrator lifts a lockout.
		if err := s.repo.ResetSignInFailures(ctx, tenantID, u.ObjectID); err != nil {
			return User{}, err
		}
		u.FailedSignIns, u.LockedUntil = 0, time.Time{}
	}
	if !enabled {
		if err := s.revokeUser(ctx, tenantID, u.ObjectID); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

// DeleteUser deletes a user with its role assignments and consents, and
// revokes what it holds.
func (s *Service) DeleteUser(ctx context.Context, tenantID, ref string) error {
	u, err := s.GetUser(ctx, tenantID, ref)
	if err != nil {
		return err
	}
	if err := s.revokeUser(ctx, tenantID, u.ObjectID); err != nil {
		return err
	}
	return s.repo.DeleteUser(ctx, tenantID, u.ObjectID)
}

func (s *Service) revokeUser(ctx context.Context, tenantID, userID string) error {
	if s.revoker == nil {
		return nil
	}
	return s.revoker.RevokeUser(ctx, tenantID, userID)
}

func (s *Service) revokeClient(ctx context.Context, tenantID, clientID string) error {
	if s.revoker == nil {
		return nil
	}
	return s.revoker.RevokeClient(ctx, tenantID, clientID)
}

// dummyHash is verified against for unknown users, so that a sign-in costs
// the same whether or not the name exists.
var (
	dummyOnce sync.Once
	dummyHash string
)

func (s *Service) dummy() string {
	dummyOnce.Do(func() { dummyHash, _ = HashPassword("tessera-dummy-password", s.passwordParams) })
	return dummyHash
}

// slowdown is the wait imposed after n consecutive failures: none before
// SlowdownAfter, then 1 s, 2 s, 4 s … capped at a minute.
func slowdown(n int) time.Duration {
	if n < SlowdownAfter {
		return 0
	}
	d := time.Second << min(n-SlowdownAfter, 6)
	return min(d, time.Minute)
}

// authenticateUser is AuthenticateUser, also returning the object id of
// the user the name found (empty for an unknown name), for the audit log.
// addrKey is the client address's key ("" when it is not counted).
func (s *Service) authenticateUser(ctx context.Context, tenantID, upn, password, addrKey string) (User, string, error) {
	t, err := s.repo.GetTenant(ctx, tenantID)
	if err != nil {
		return User{}, "", err
	}
	// A banned address is refused first: before the name is looked up and
	// before any hashing, so a banned sprayer costs a read, and whatever
	// it sends, right password included, gets the same answer.
	if banned, err := s.addressBan(ctx, tenantID, addrKey, s.clock()); err != nil || banned != nil {
		if err != nil {
			return User{}, "", err
		}
		return User{}, "", banned
	}
	policy := t.Policy.Effective()
	upn = strings.ToLower(strings.TrimSpace(upn))
	if upn != "" && !strings.Contains(upn, "@") {
		upn += "@" + t.Domain
	}
	u, err := s.repo.GetUserByUPN(ctx, tenantID, upn)
	if errors.Is(err, ErrNotFound) || (err == nil && u.PasswordHash == "") {
		// The dummy hash is well-formed: an error is ErrBusy or ctx's.
		if _, _, err := s.verifyPassword(ctx, s.dummy(), password); err != nil {
			return User{}, "", err
		}
		// Not the name typed: people type their password into the name
		// field, and this error reaches the log.
		return User{}, "", fmt.Errorf("%w: no user with a password by the name given", ErrInvalidCredentials)
	}
	if err != nil {
		return User{}, u.ObjectID, err
	}
	now := s.clock()
	if now.Before(u.LockedUntil) {
		return User{}, u.ObjectID, &LockedError{Until: u.LockedUntil, Locked: true}
	}
	if wait := slowdown(u.FailedSignIns); wait > 0 && now.Before(u.LastFailureAt.Add(wait)) {
		return User{}, u.ObjectID, &LockedError{Until: u.LastFailureAt.Add(wait)}
	}
	ok, rehash, err := s.verifyPassword(ctx, u.PasswordHash, password)
	if errors.Is(err, ErrBusy) || (err != nil && ctx.Err() != nil) {
		// Not checked, so not a failure of the account.
		return User{}, u.ObjectID, err
	}
	if err != nil {
		return User{}, u.ObjectID, fmt.Errorf("user %s: stored password hash: %w", u.ObjectID, err)
	}
	if !ok {
		updated, err := s.repo.RecordSignInFailure(ctx, tenantID, u.ObjectID, now, policy.LockoutThreshold, now.Add(policy.LockoutDuration))
		if err != nil {
			return User{}, u.ObjectID, err
		}
		if now.Before(updated.LockedUntil) {
			return User{}, u.ObjectID, &LockedError{Until: updated.LockedUntil, Locked: true}
		}
		return User{}, u.ObjectID, fmt.Errorf("%w: wrong password for %s (%d consecutive failures)", ErrInvalidCredentials, u.ObjectID, updated.FailedSignIns)
	}
	if !u.Enabled {
		return User{}, u.ObjectID, fmt.Errorf("%w: %s", ErrUserDisabled, u.ObjectID)
	}
	if u.FailedSignIns > 0 || !u.LockedUntil.IsZero() {
		if err := s.repo.ResetSignInFailures(ctx, tenantID, u.ObjectID); err != nil {
			return User{}, u.ObjectID, err
		}
		u.FailedSignIns, u.LockedUntil = 0, time.Time{}
	}
	if rehash {
		// The parameters were raised since this hash was made: upgrade it
		// now that the password is at hand.
		// Only with a free slot: the upgrade can wait for the next sign-in.
		if h, err := s.tryHashPassword(ctx, password); err == nil {
			u.PasswordHash, u.UpdatedAt = h, now
			if err := s.repo.UpdateUser(ctx, tenantID, u); err != nil {
				return User{}, u.ObjectID, err
			}
		}
	}
	return u, u.ObjectID, nil
}

// SignInVia says where a sign-in came from, for the audit log and the
// address bans.
type SignInVia struct {
	// Channel is the way in: "web", "password_grant", "product_login".
	Channel string
	// ClientID is the application the user signs in to, when known.
	ClientID string
	// Address is the client's address as the HTTP layer resolved it
	// (through trusted proxies only). The zero Addr, for an address
	// exempt from per-address limits (--rate-exempt) or none known, is
	// never counted nor banned.
	Address netip.Addr
}

// AuthenticateUser checks a user's password (sign-in page, password grant,
// product login). Failures: ErrInvalidCredentials (unknown user or wrong
// password), *LockedError, ErrUserDisabled (only after a right password).
func (s *Service) AuthenticateUser(ctx context.Context, tenantID, upn, password string) (User, error) {
	return s.AuthenticateUserVia(ctx, tenantID, upn, password, SignInVia{})
}

// AuthenticateUserVia is AuthenticateUser recording the sign-in, success
// or failure with its reason, in the audit log. Here rather than in each
// caller because only here is the user of a failed sign-in known. The
// name typed is recorded only as the object id of the user it found:
// people type their password into the name field.
//
// A wrong password or an unknown name also counts against the client
// address (AddressBanPolicy); a right one lifts no address ban: the
// address was guessing, whoever else signs in from it.
func (s *Service) AuthenticateUserVia(ctx context.Context, tenantID, upn, password string, via SignInVia) (User, error) {
	addrKey := ""
	if s.addressBans.Failures > 0 {
		addrKey = AddressKey(via.Address)
	}
	u, oid, err := s.authenticateUser(ctx, tenantID, upn, password, addrKey)
	if errors.Is(err, ErrInvalidCredentials) && addrKey != "" {
		if cerr := s.countAddressFailure(ctx, tenantID, addrKey, s.clock(), via); cerr != nil {
			// Fail as the lockout does when its count cannot be kept:
			// an uncounted failure is a free guess.
			err = fmt.Errorf("counting the failed sign-in from the client address: %w", cerr)
		}
	}
	ev := audit.Event{TenantID: tenantID, Kind: audit.SignInSuccess, Actor: oid, Target: oid, Outcome: audit.Success,
		Details: map[string]string{"channel": via.Channel}}
	if via.ClientID != "" {
		ev.Details["client_id"] = via.ClientID
	}
	if err != nil {
		ev.Kind, ev.Outcome, ev.Reason = audit.SignInFailure, audit.Failure, SignInFailureReason(err, oid != "")
	}
	s.audit.Record(ev)
	return u, err
}

// SignInFailureReason names why a sign-in failed, for the audit log.
func SignInFailureReason(err error, userKnown bool) string {
	var locked *LockedError
	switch {
	case errors.As(err, &locked) && locked.Address:
		return "address_banned"
	case errors.Is(err, ErrInvalidCredentials) && !userKnown:
		return "unknown_user"
	case errors.Is(err, ErrInvalidCredentials):
		return "bad_password"
	case errors.As(err, &locked) && locked.Locked:
		return "locked"
	case errors.As(err, &locked):
		return "slowed_down"
	case errors.Is(err, ErrBusy):
		return "busy"
	case errors.Is(err, ErrUserDisabled):
		return "disabled"
	default:
		return "error"
	}
}
