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

// MinPasswordLength follows NIST SP 800-63B §5.1.1.2 (at least 8; we ask
// for 12 since passwords here guard API access).
const MinPasswordLength = 12

// UserSpec describes a new user.
type UserSpec struct {
	// UserPrincipalName: name@domain, where domain is one of the tenant's
	// (ListTenantDomains); a bare name gets @{tenant's own domain}.
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	Mail              string `json:"mail,omitempty"`
	// MailVerified: the administrator vouches that Mail is the user's;
	// only then does the email claim carry it.
	MailVerified bool `json:"mailVerified,omitempty"`
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

// userPrincipalName reads a user principal name an administrator typed:
// lower case, a bare name completed with the tenant's own domain, and a
// domain the tenant owns (checkUPNDomain).
func (s *Service) userPrincipalName(ctx context.Context, t Tenant, raw string) (upn, local string, err error) {
	upn = strings.ToLower(strings.TrimSpace(raw))
	if upn != "" && !strings.Contains(upn, "@") {
		upn += "@" + t.Domain
	}
	local, domain, ok := strings.Cut(upn, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(upn, " \t\"<>()[],;:\\/") || len(upn) > 113 {
		return "", "", invalid("user principal name %q must look like name@domain", raw)
	}
	if err := s.checkUPNDomain(ctx, t.ID, upn); err != nil {
		return "", "", err
	}
	return upn, local, nil
}

func validateMail(m string, verified bool) error {
	if m != "" {
		if _, err := mail.ParseAddress(m); err != nil {
			return invalid("mail %q is not an address", m)
		}
	}
	if verified && m == "" {
		return invalid("mailVerified needs a mail address")
	}
	return nil
}

// CreateUser creates a user. Its name must be in a domain of the tenant.
func (s *Service) CreateUser(ctx context.Context, tenantID string, spec UserSpec) (User, error) {
	t, err := s.repo.GetTenant(ctx, tenantID)
	if err != nil {
		return User{}, err
	}
	upn, local, err := s.userPrincipalName(ctx, t, spec.UserPrincipalName)
	if err != nil {
		return User{}, err
	}
	if err := validateMail(spec.Mail, spec.MailVerified); err != nil {
		return User{}, err
	}
	name := strings.TrimSpace(spec.DisplayName)
	if name == "" {
		name = local
	}
	now := s.clock()
	u := User{TenantID: tenantID, ObjectID: s.newID(), UserPrincipalName: upn, DisplayName: name, Mail: spec.Mail,
		MailVerified: spec.MailVerified, Enabled: !spec.Disabled, CreatedAt: now, UpdatedAt: now}
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

// UserPatch changes some fields of a user; nil fields stay.
type UserPatch struct {
	// UserPrincipalName renames the user, into a domain of the tenant
	// (a bare name gets the tenant's own domain).
	UserPrincipalName *string `json:"userPrincipalName,omitempty"`
	DisplayName       *string `json:"displayName,omitempty"`
	// Mail replaces the address; unless MailVerified is given too, the new
	// address is not verified.
	Mail         *string `json:"mail,omitempty"`
	MailVerified *bool   `json:"mailVerified,omitempty"`
}

// UpdateUser applies a patch. A rename keeps everything else of the
// user: its object id (what grants, assignments and tokens name), its
// password and its brute-force state.
func (s *Service) UpdateUser(ctx context.Context, tenantID, ref string, p UserPatch) (User, error) {
	u, err := s.GetUser(ctx, tenantID, ref)
	if err != nil {
		return User{}, err
	}
	if p.UserPrincipalName != nil {
		t, err := s.repo.GetTenant(ctx, tenantID)
		if err != nil {
			return User{}, err
		}
		if u.UserPrincipalName, _, err = s.userPrincipalName(ctx, t, *p.UserPrincipalName); err != nil {
			return User{}, err
		}
	}
	if p.DisplayName != nil {
		name := strings.TrimSpace(*p.DisplayName)
		if name == "" {
			return User{}, invalid("a display name must not be empty")
		}
		u.DisplayName = name
	}
	if p.Mail != nil && *p.Mail != u.Mail {
		u.Mail, u.MailVerified = strings.TrimSpace(*p.Mail), false
	}
	if p.MailVerified != nil {
		u.MailVerified = *p.MailVerified
	}
	if err := validateMail(u.Mail, u.MailVerified); err != nil {
		return User{}, err
	}
	u.UpdatedAt = s.clock()
	if err := s.repo.UpdateUser(ctx, tenantID, u); err != nil {
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

// dummyHash is verified against where no stored hash is (an unknown
// name) or none is checked (a name slowed down or locked), so that every
// sign-in attempt costs one argon2id verification, whether or not the
// name exists and whatever its state. One per Service, made with its own
// parameters on first use: a hash of other parameters would cost another
// time than the hashes it stands for.
type dummyHash struct {
	once sync.Once
	hash string
}

func (s *Service) dummy() string {
	s.dummyHash.once.Do(func() { s.dummyHash.hash, _ = HashPassword(s.rand, "tessera-dummy-password", s.passwordParams) })
	return s.dummyHash.hash
}

// burnHash verifies password against the dummy hash, in a hashing slot
// like any check: the cost of an attempt whose outcome is already known.
// The dummy hash is well-formed: an error is ErrBusy or ctx's.
func (s *Service) burnHash(ctx context.Context, password string) error {
	_, _, err := s.verifyPassword(ctx, s.dummy(), password)
	return err
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

// FailureMemory is how long consecutive failed sign-ins of a name are
// remembered without a new one (at least the lockout duration): a failure
// after a day without any starts the count again. Bounded so that the
// counts of names no user has can be purged; the same rule for every
// name, so that purging them does not tell them from the names of users
// (Active Directory's "reset account lockout counter after" does the same).
const FailureMemory = 24 * time.Hour

// signInGate decides, from a name's failure state, whether an attempt is
// refused before its password is looked at: locked, or inside the wait
// of the slow-down. The one rule for users and for unknown names.
func signInGate(failures int, lastFailure, lockedUntil, now time.Time) *LockedError {
	if now.Before(lockedUntil) {
		return &LockedError{Until: lockedUntil, Locked: true}
	}
	if wait := slowdown(failures); wait > 0 && now.Before(lastFailure.Add(wait)) {
		return &LockedError{Until: lastFailure.Add(wait)}
	}
	return nil
}

// failureRule is how a failure at now is counted under the policy.
func failureRule(policy TenantPolicy, now time.Time) SignInFailure {
	memory := max(FailureMemory, policy.LockoutDuration)
	return SignInFailure{At: now, Threshold: policy.LockoutThreshold, LockUntil: now.Add(policy.LockoutDuration),
		ForgetBefore: now.Add(-memory), ExpiresAt: now.Add(memory)}
}

// nameKey is the key under which failures of a name no user has are
// counted: a keyed hash of the tenant and the normalised name, so that the
// database holds no names (people type passwords into the name field) and
// the count is shared by every instance.
func (s *Service) nameKey(tenantID, upn string) []byte {
	return s.hasher.HashSecret("tessera sign-in name\x00" + tenantID + "\x00" + upn)
}

// failUnknownName is a sign-in with a name no user with a password has:
// it costs one hash, and is slowed down and locked by the same schedule
// as a user's, from failures counted under the name's key, so that
// status, message, Retry-After and cost are those of an existing name
// with a wrong password.
func (s *Service) failUnknownName(ctx context.Context, tenantID, upn, password string, policy TenantPolicy) error {
	key := s.nameKey(tenantID, upn)
	f, err := s.repo.GetNameFailures(ctx, tenantID, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := s.burnHash(ctx, password); err != nil {
		return err
	}
	now := s.clock()
	if locked := signInGate(f.Failures, f.LastFailureAt, f.LockedUntil, now); locked != nil {
		return locked
	}
	updated, err := s.repo.RecordNameFailure(ctx, tenantID, key, failureRule(policy, now))
	if err != nil {
		return err
	}
	if now.Before(updated.LockedUntil) {
		return &LockedError{Until: updated.LockedUntil, Locked: true}
	}
	// Not the name typed: people type their password into the name
	// field, and this error reaches the log.
	return fmt.Errorf("%w: no user with a password by the name given (%d consecutive failures)", ErrInvalidCredentials, updated.Failures)
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
		return User{}, "", s.failUnknownName(ctx, tenantID, upn, password, policy)
	}
	if err != nil {
		return User{}, u.ObjectID, err
	}
	now := s.clock()
	if locked := signInGate(u.FailedSignIns, u.LastFailureAt, u.LockedUntil, now); locked != nil {
		// Refused without looking at the password, at the cost of a
		// check all the same: a refusal that answered at once would tell
		// the names that exist (an unknown name costs a hash too).
		if err := s.burnHash(ctx, password); err != nil {
			return User{}, u.ObjectID, err
		}
		return User{}, u.ObjectID, locked
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
		updated, err := s.repo.RecordSignInFailure(ctx, tenantID, u.ObjectID, failureRule(policy, now))
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
	if err := s.CheckNameBound(ctx, u); err != nil {
		return User{}, u.ObjectID, err
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
// password), *LockedError (for unknown names too, by the same schedule),
// ErrUserDisabled or ErrNameNotBound (only after a right password).
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
	case errors.Is(err, ErrNameNotBound):
		return "name_not_bound"
	case errors.Is(err, ErrUserDisabled):
		return "disabled"
	default:
		return "error"
	}
}
