package directory

import "time"

// User is a person (or a technical user for automation) in a tenant.
type User struct {
	TenantID string `json:"tenantId"`
	ObjectID string `json:"id"`
	// UserPrincipalName is the sign-in name, e.g. alice@default. Unique in
	// the tenant, compared case-insensitively.
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	Mail              string `json:"mail,omitempty"`
	// MailVerified: an administrator vouched that Mail is the user's. Only
	// then is it sent, in the email claim; never is it an identifier.
	MailVerified bool `json:"mailVerified,omitempty"`
	Enabled      bool `json:"accountEnabled"`
	// PasswordHash is an argon2id hash in PHC string form, parameters
	// included, so they can be raised later and old hashes upgraded at the
	// next sign-in. Empty: the user cannot sign in with a password.
	PasswordHash string `json:"-"`
	// Brute-force state, kept with the user so every instance sees it.
	FailedSignIns int       `json:"-"`
	LastFailureAt time.Time `json:"-"`
	LockedUntil   time.Time `json:"lockedUntil,omitzero"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// AllPrincipals is the PrincipalID of an admin consent: it holds for every
// user of the tenant (Entra's consentType AllPrincipals).
const AllPrincipals = "AllPrincipals"

// ConsentGrant records that a principal (a user, or AllPrincipals for an
// admin) let a client use some delegated scopes of a resource
// (Entra: oauth2PermissionGrant).
type ConsentGrant struct {
	TenantID      string    `json:"tenantId"`
	ClientID      string    `json:"clientId"`      // the client's appId
	ResourceAppID string    `json:"resourceAppId"` // the resource's appId
	PrincipalID   string    `json:"principalId"`   // a user's object id, or AllPrincipals
	Scopes        []string  `json:"scopes"`        // scope values, e.g. "user_impersonation"
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// TenantPolicy is a tenant's sign-in and token policy. Zero values mean the
// defaults below (see Policy).
type TenantPolicy struct {
	// PasswordGrantDisabled turns the resource owner password grant (ROPC)
	// off for the tenant.
	PasswordGrantDisabled bool `json:"passwordGrantDisabled,omitempty"`
	// RefreshTokenInactivity is how long an unused refresh token stays
	// valid; every rotation starts it again.
	RefreshTokenInactivity time.Duration `json:"refreshTokenInactivity,omitempty"`
	// RefreshTokenLifetime is the absolute lifetime of a refresh token
	// family, however often it is rotated.
	RefreshTokenLifetime time.Duration `json:"refreshTokenLifetime,omitempty"`
	// RefreshGrace is the window in which the same client presenting an
	// already-rotated refresh token gets the same successor again instead
	// of a family revocation. Negative means off.
	RefreshGrace time.Duration `json:"refreshGrace,omitempty"`
	// SessionLifetime is how long a browser sign-in gives single sign-on.
	SessionLifetime time.Duration `json:"sessionLifetime,omitempty"`
	// ProductLoginLifetime is the lifetime of tokens from the product-login
	// API (/api/v1/users/login).
	ProductLoginLifetime time.Duration `json:"productLoginLifetime,omitempty"`
	// ProductLoginResource is the resource (identifier URI or appId) that
	// product-login tokens are for when the request names none.
	ProductLoginResource string `json:"productLoginResource,omitempty"`
	// ProductLoginResources are the further resources a product-login
	// request may name. The product login issues tokens for these and
	// ProductLoginResource only; with none of them set it issues none.
	ProductLoginResources []string `json:"productLoginResources,omitempty"`
	// Lockout: after LockoutThreshold consecutive failures the account is
	// locked for LockoutDuration; from SlowdownAfter failures on, each
	// further attempt must wait an increasing delay.
	LockoutThreshold int           `json:"lockoutThreshold,omitempty"`
	LockoutDuration  time.Duration `json:"lockoutDuration,omitempty"`
}

// Policy defaults.
const (
	DefaultRefreshTokenInactivity = 90 * 24 * time.Hour
	DefaultRefreshTokenLifetime   = 365 * 24 * time.Hour
	DefaultRefreshGrace           = 5 * time.Second
	MaxRefreshGrace               = time.Minute
	DefaultSessionLifetime        = 8 * time.Hour
	DefaultProductLoginLifetime   = 24 * time.Hour
	DefaultLockoutThreshold       = 10
	DefaultLockoutDuration        = 15 * time.Minute
	SlowdownAfter                 = 3
)

// Effective returns the policy with defaults filled in.
func (p TenantPolicy) Effective() TenantPolicy {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&p.RefreshTokenInactivity, DefaultRefreshTokenInactivity)
	def(&p.RefreshTokenLifetime, DefaultRefreshTokenLifetime)
	def(&p.RefreshGrace, DefaultRefreshGrace)
	def(&p.SessionLifetime, DefaultSessionLifetime)
	def(&p.ProductLoginLifetime, DefaultProductLoginLifetime)
	def(&p.LockoutDuration, DefaultLockoutDuration)
	if p.RefreshGrace < 0 {
		p.RefreshGrace = 0
	}
	if p.LockoutThreshold == 0 {
		p.LockoutThreshold = DefaultLockoutThreshold
	}
	return p
}
