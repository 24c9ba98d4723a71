package directory

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-id/tessera/internal/audit"
)

// Errors of the domain, beyond the storage ones. They are wrapped with a
// reason meant for the operator's log, never for the caller.
var (
	// ErrInvalid: the request breaks a validation rule; the wrapped
	// message says which and is safe to show to an administrator.
	ErrInvalid = errors.New("invalid")
	// ErrInvalidClient: client authentication failed. Unknown client,
	// wrong, expired or removed secret all return this one error, so a
	// caller cannot tell which client ids exist.
	ErrInvalidClient = errors.New("invalid client")
	// ErrClientDisabled: the client authenticated but its service
	// principal is missing or disabled in the tenant.
	ErrClientDisabled = errors.New("client disabled")
	// ErrCredentialRequired: a confidential client sent no credential.
	ErrCredentialRequired = errors.New("client credential required")
	// ErrUnknownResource: no application in the tenant answers to the
	// requested resource, or it has no service principal there.
	ErrUnknownResource = errors.New("unknown resource")
	// ErrNotAssigned: the resource requires role assignment and the
	// client holds none of its roles.
	ErrNotAssigned = errors.New("not assigned to the resource")
	// ErrUserNotAssigned: the resource requires role assignment and the
	// user holds none of its roles.
	ErrUserNotAssigned = errors.New("user not assigned to the resource")
)

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// SecretHasher is the keyed hash under which secrets are stored.
type SecretHasher interface {
	HashSecret(secret string) []byte
}

// Service applies the directory's rules on top of a Repository.
type Service struct {
	repo           Repository
	hasher         SecretHasher
	now            func() time.Time
	rand           io.Reader
	passwordParams PasswordParams
	revoker        Revoker
	audit          *audit.Recorder
	hashSlots      *HashSlots
	addressBans    AddressBanPolicy
	dummyHash      *dummyHash
}

// Options are the Service's injectable sources of time and randomness;
// zero values mean the real clock and crypto/rand.
type Options struct {
	Now  func() time.Time
	Rand io.Reader
	// PasswordParams default to DefaultPasswordParams.
	PasswordParams PasswordParams
	// Audit records sign-ins; nil records nothing.
	Audit *audit.Recorder
	// PasswordHashSlots bound the argon2id hashes running at once;
	// nil: one per core (see HashSlots).
	PasswordHashSlots *HashSlots
	// AddressBans bans client addresses after repeated failed sign-ins;
	// the zero value is off.
	AddressBans AddressBanPolicy
	// Revoker ends what a user or client holds when it loses access (the
	// session service); nil revokes nothing beyond what the directory
	// itself deletes.
	Revoker Revoker
}

// NewService returns a Service over repo.
func NewService(repo Repository, hasher SecretHasher, opts Options) *Service {
	s := &Service{repo: repo, hasher: hasher, now: opts.Now, rand: opts.Rand, passwordParams: opts.PasswordParams, audit: opts.Audit,
		addressBans: opts.AddressBans, revoker: opts.Revoker, dummyHash: &dummyHash{}}
	if s.passwordParams == (PasswordParams{}) {
		s.passwordParams = DefaultPasswordParams
	}
	if s.hashSlots = opts.PasswordHashSlots; s.hashSlots == nil {
		s.hashSlots = defaultHashSlots()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s
}

// newID returns a random (version 4) GUID from the service's random source.
func (s *Service) newID() string {
	id, err := uuid.NewRandomFromReader(s.rand)
	if err != nil {
		panic(fmt.Sprintf("directory: random source failed: %v", err))
	}
	return id.String()
}

// clock returns the current time in UTC, truncated to microseconds so that
// values survive every storage engine unchanged.
func (s *Service) clock() time.Time {
	return s.now().UTC().Truncate(time.Microsecond)
}

// IsGUID reports whether s is a GUID in its canonical 8-4-4-4-12 form.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// WithClock returns a Service over the same storage that reads time from
// now: for tools and tests that must act at another time (an expired
// credential, a back-dated import).
func (s *Service) WithClock(now func() time.Time) *Service {
	c := *s
	c.now = now
	return &c
}

// WithPasswordParams returns a Service over the same storage that hashes
// passwords with p (and upgrades older hashes to it at sign-in).
func (s *Service) WithPasswordParams(p PasswordParams) *Service {
	c := *s
	c.passwordParams = p
	c.dummyHash = &dummyHash{} // a dummy of the new parameters
	return &c
}
