package adminapi

import (
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// Wire types. Service principals, credentials, role assignments and keys
// go out in the domain's own JSON shape (directory.ServicePrincipal,
// directory.Credential, directory.RoleAssignment, token.KeyInfo); the
// golden files in testdata pin every shape. An application and a tenant
// have wire types of their own because their durations (token lifetime,
// policy), time.Duration values, would otherwise travel as integer
// nanoseconds; a user has one so that no field added to directory.User
// (its password hash sits there) can reach the wire by accident; a consent
// has one to speak Entra's consentType.

// List is the body of every list answer, as Graph's collections are, so
// that paging can be added later without breaking clients.
type List[T any] struct {
	Value []T `json:"value"`
}

func list[T any](v []T) List[T] {
	if v == nil {
		v = []T{}
	}
	return List[T]{Value: v}
}

// Scope is a delegated permission an application exposes. IsEnabled is
// optional in requests and defaults to true: a scope one forgot to enable
// would be a scope that silently never works.
type Scope struct {
	ID                      string `json:"id,omitempty"`
	Value                   string `json:"value"`
	AdminConsentDisplayName string `json:"adminConsentDisplayName,omitempty"`
	AdminConsentDescription string `json:"adminConsentDescription,omitempty"`
	IsEnabled               *bool  `json:"isEnabled,omitempty"`
}

// AppRole is a role an application defines. AllowedMemberTypes defaults to
// both Application and User, IsEnabled to true.
type AppRole struct {
	ID                 string   `json:"id,omitempty"`
	Value              string   `json:"value"`
	DisplayName        string   `json:"displayName,omitempty"`
	Description        string   `json:"description,omitempty"`
	AllowedMemberTypes []string `json:"allowedMemberTypes,omitempty"`
	IsEnabled          *bool    `json:"isEnabled,omitempty"`
}

// Application is an app registration as the API shows it.
type Application struct {
	TenantID                   string                               `json:"tenantId"`
	AppID                      string                               `json:"appId"`
	ObjectID                   string                               `json:"objectId"`
	DisplayName                string                               `json:"displayName"`
	IdentifierURIs             []string                             `json:"identifierUris"`
	Scopes                     []Scope                              `json:"scopes"`
	AppRoles                   []AppRole                            `json:"appRoles"`
	AccessTokenAcceptedVersion int                                  `json:"accessTokenAcceptedVersion"`
	AccessTokenLifetimeSeconds int64                                `json:"accessTokenLifetimeSeconds"`
	RedirectURIs               []string                             `json:"redirectUris"`
	PublicClient               bool                                 `json:"publicClient"`
	PreAuthorized              []directory.PreAuthorizedApplication `json:"preAuthorizedApplications"`
	CreatedAt                  time.Time                            `json:"createdAt"`
	UpdatedAt                  time.Time                            `json:"updatedAt"`
}

// ApplicationCreate is the body of POST …/applications. Omitted fields take
// the directory's defaults (identifier URI api://{appId}, token version 2,
// a lifetime of one hour).
type ApplicationCreate struct {
	// AppID chooses the client id: home tenant administrators only, and
	// never a well-known id; omitted, the server assigns a new one.
	AppID                      string                               `json:"appId,omitempty"`
	DisplayName                string                               `json:"displayName"`
	IdentifierURIs             []string                             `json:"identifierUris,omitempty"`
	Scopes                     []Scope                              `json:"scopes,omitempty"`
	AppRoles                   []AppRole                            `json:"appRoles,omitempty"`
	AccessTokenAcceptedVersion int                                  `json:"accessTokenAcceptedVersion,omitempty"`
	AccessTokenLifetimeSeconds int64                                `json:"accessTokenLifetimeSeconds,omitempty"`
	RedirectURIs               []string                             `json:"redirectUris,omitempty"`
	PublicClient               bool                                 `json:"publicClient,omitempty"`
	PreAuthorized              []directory.PreAuthorizedApplication `json:"preAuthorizedApplications,omitempty"`
}

// ApplicationPatch is the body of PATCH …/applications/{app}: fields
// present replace the application's, lists as a whole; absent fields stay.
// To keep a scope or app role (and the assignments naming it) send it with
// its id.
type ApplicationPatch struct {
	DisplayName                *string                               `json:"displayName,omitempty"`
	IdentifierURIs             *[]string                             `json:"identifierUris,omitempty"`
	Scopes                     *[]Scope                              `json:"scopes,omitempty"`
	AppRoles                   *[]AppRole                            `json:"appRoles,omitempty"`
	AccessTokenAcceptedVersion *int                                  `json:"accessTokenAcceptedVersion,omitempty"`
	AccessTokenLifetimeSeconds *int64                                `json:"accessTokenLifetimeSeconds,omitempty"`
	RedirectURIs               *[]string                             `json:"redirectUris,omitempty"`
	PublicClient               *bool                                 `json:"publicClient,omitempty"`
	PreAuthorized              *[]directory.PreAuthorizedApplication `json:"preAuthorizedApplications,omitempty"`
}

// CredentialCreate is the body of POST …/credentials: a secret the server
// generates ({"type":"secret"}, optionally with a display name and an end
// date) or a certificate in PEM ({"type":"certificate","certificate":…}),
// whose validity is the certificate's own.
type CredentialCreate struct {
	Type        string     `json:"type"`
	DisplayName string     `json:"displayName,omitempty"`
	EndDateTime *time.Time `json:"endDateTime,omitempty"`
	Certificate string     `json:"certificate,omitempty"`
}

// SecretCredential answers the creation of a secret: the credential and,
// this once, the secret itself (Graph's addPassword names it secretText).
type SecretCredential struct {
	directory.Credential
	SecretText string `json:"secretText"`
}

func boolPtr(b bool) *bool { return &b }

func enabled(p *bool) bool { return p == nil || *p }

func scopesIn(in []Scope) []directory.Scope {
	if in == nil {
		return nil
	}
	out := make([]directory.Scope, len(in))
	for i, s := range in {
		out[i] = directory.Scope{ID: s.ID, Value: s.Value, DisplayName: s.AdminConsentDisplayName,
			Description: s.AdminConsentDescription, Enabled: enabled(s.IsEnabled)}
	}
	return out
}

func rolesIn(in []AppRole) []directory.AppRole {
	if in == nil {
		return nil
	}
	out := make([]directory.AppRole, len(in))
	for i, r := range in {
		out[i] = directory.AppRole{ID: r.ID, Value: r.Value, DisplayName: r.DisplayName, Description: r.Description,
			AllowedMemberTypes: r.AllowedMemberTypes, Enabled: enabled(r.IsEnabled)}
	}
	return out
}

// lifetime converts seconds to a duration, clamped so that a huge number
// cannot overflow into a valid-looking one; the directory rejects the
// clamped value with its own range message.
func lifetime(seconds int64) time.Duration {
	const limit = int64(365 * 24 * time.Hour / time.Second)
	seconds = max(min(seconds, limit), -1)
	return time.Duration(seconds) * time.Second
}

func (c ApplicationCreate) spec() directory.ApplicationSpec {
	return directory.ApplicationSpec{
		AppID:                      c.AppID,
		DisplayName:                c.DisplayName,
		IdentifierURIs:             c.IdentifierURIs,
		Scopes:                     scopesIn(c.Scopes),
		AppRoles:                   rolesIn(c.AppRoles),
		AccessTokenAcceptedVersion: c.AccessTokenAcceptedVersion,
		AccessTokenLifetime:        lifetime(c.AccessTokenLifetimeSeconds),
		RedirectURIs:               c.RedirectURIs,
		PublicClient:               c.PublicClient,
		PreAuthorized:              c.PreAuthorized,
	}
}

func (p ApplicationPatch) patch() directory.ApplicationPatch {
	out := directory.ApplicationPatch{
		DisplayName:                p.DisplayName,
		IdentifierURIs:             p.IdentifierURIs,
		AccessTokenAcceptedVersion: p.AccessTokenAcceptedVersion,
		RedirectURIs:               p.RedirectURIs,
		PublicClient:               p.PublicClient,
		PreAuthorized:              p.PreAuthorized,
	}
	if p.Scopes != nil {
		s := scopesIn(*p.Scopes)
		if s == nil {
			s = []directory.Scope{}
		}
		out.Scopes = &s
	}
	if p.AppRoles != nil {
		r := rolesIn(*p.AppRoles)
		if r == nil {
			r = []directory.AppRole{}
		}
		out.AppRoles = &r
	}
	if p.AccessTokenLifetimeSeconds != nil {
		d := lifetime(*p.AccessTokenLifetimeSeconds)
		out.AccessTokenLifetime = &d
	}
	return out
}

func applicationOut(a directory.Application) Application {
	out := Application{
		TenantID:                   a.TenantID,
		AppID:                      a.AppID,
		ObjectID:                   a.ObjectID,
		DisplayName:                a.DisplayName,
		IdentifierURIs:             nonNil(a.IdentifierURIs),
		Scopes:                     make([]Scope, len(a.Scopes)),
		AppRoles:                   make([]AppRole, len(a.AppRoles)),
		AccessTokenAcceptedVersion: a.AccessTokenAcceptedVersion,
		AccessTokenLifetimeSeconds: int64(a.AccessTokenLifetime / time.Second),
		RedirectURIs:               nonNil(a.RedirectURIs),
		PublicClient:               a.PublicClient,
		PreAuthorized:              make([]directory.PreAuthorizedApplication, len(a.PreAuthorized)),
		CreatedAt:                  a.CreatedAt,
		UpdatedAt:                  a.UpdatedAt,
	}
	for i, s := range a.Scopes {
		out.Scopes[i] = Scope{ID: s.ID, Value: s.Value, AdminConsentDisplayName: s.DisplayName,
			AdminConsentDescription: s.Description, IsEnabled: boolPtr(s.Enabled)}
	}
	for i, r := range a.AppRoles {
		out.AppRoles[i] = AppRole{ID: r.ID, Value: r.Value, DisplayName: r.DisplayName, Description: r.Description,
			AllowedMemberTypes: nonNil(r.AllowedMemberTypes), IsEnabled: boolPtr(r.Enabled)}
	}
	for i, p := range a.PreAuthorized {
		out.PreAuthorized[i] = directory.PreAuthorizedApplication{AppID: p.AppID, Scopes: nonNil(p.Scopes)}
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Tenant is a tenant as the API shows it, with the policy in force.
type Tenant struct {
	ID          string       `json:"id"`
	Domain      string       `json:"domain"`
	DisplayName string       `json:"displayName"`
	Policy      TenantPolicy `json:"policy"`
	CreatedAt   time.Time    `json:"createdAt"`
}

// TenantPolicy is a tenant's sign-in and token policy as it is in force:
// every default filled in, durations in whole seconds, so that an
// administrator reads the numbers that apply rather than zeros that mean
// "the default".
type TenantPolicy struct {
	RefreshTokenInactivitySeconds int64 `json:"refreshTokenInactivitySeconds"`
	RefreshTokenLifetimeSeconds   int64 `json:"refreshTokenLifetimeSeconds"`
	// RefreshGraceSeconds is -1 when the grace window is off.
	RefreshGraceSeconds         int64  `json:"refreshGraceSeconds"`
	PasswordGrantDisabled       bool   `json:"passwordGrantDisabled"`
	ProductLoginLifetimeSeconds int64  `json:"productLoginLifetimeSeconds"`
	ProductLoginResource        string `json:"productLoginResource"`
	// ProductLoginResources are the further resources a product-login
	// request may name; [] when there are none.
	ProductLoginResources  []string `json:"productLoginResources"`
	LockoutThreshold       int      `json:"lockoutThreshold"`
	LockoutDurationSeconds int64    `json:"lockoutDurationSeconds"`
	SessionLifetimeSeconds int64    `json:"sessionLifetimeSeconds"`
}

// TenantPolicyUpdate is the body of PUT …/policy: the whole policy. A field
// left out takes the server's default, so a body that is a GET's policy
// sent back changes nothing. Numbers are taken literally: a zero that the
// domain would read as "default" is refused instead, except for the
// refresh grace window, where 0 (like -1) turns it off.
type TenantPolicyUpdate struct {
	RefreshTokenInactivitySeconds *int64   `json:"refreshTokenInactivitySeconds,omitempty"`
	RefreshTokenLifetimeSeconds   *int64   `json:"refreshTokenLifetimeSeconds,omitempty"`
	RefreshGraceSeconds           *int64   `json:"refreshGraceSeconds,omitempty"`
	PasswordGrantDisabled         bool     `json:"passwordGrantDisabled,omitempty"`
	ProductLoginLifetimeSeconds   *int64   `json:"productLoginLifetimeSeconds,omitempty"`
	ProductLoginResource          string   `json:"productLoginResource,omitempty"`
	ProductLoginResources         []string `json:"productLoginResources,omitempty"`
	LockoutThreshold              *int     `json:"lockoutThreshold,omitempty"`
	LockoutDurationSeconds        *int64   `json:"lockoutDurationSeconds,omitempty"`
	SessionLifetimeSeconds        *int64   `json:"sessionLifetimeSeconds,omitempty"`
}

func tenantOut(t directory.Tenant) Tenant {
	return Tenant{ID: t.ID, Domain: t.Domain, DisplayName: t.DisplayName, Policy: policyOut(t.Policy), CreatedAt: t.CreatedAt}
}

func tenantsOut(ts []directory.Tenant) []Tenant {
	out := make([]Tenant, len(ts))
	for i, t := range ts {
		out[i] = tenantOut(t)
	}
	return out
}

func secs(d time.Duration) int64 { return int64(d / time.Second) }

func policyOut(p directory.TenantPolicy) TenantPolicy {
	e := p.Effective()
	grace := secs(e.RefreshGrace)
	if p.RefreshGrace < 0 { // Effective reads "off" as a zero window
		grace = -1
	}
	return TenantPolicy{
		RefreshTokenInactivitySeconds: secs(e.RefreshTokenInactivity),
		RefreshTokenLifetimeSeconds:   secs(e.RefreshTokenLifetime),
		RefreshGraceSeconds:           grace,
		PasswordGrantDisabled:         e.PasswordGrantDisabled,
		ProductLoginLifetimeSeconds:   secs(e.ProductLoginLifetime),
		ProductLoginResource:          e.ProductLoginResource,
		ProductLoginResources:         append([]string{}, e.ProductLoginResources...),
		LockoutThreshold:              e.LockoutThreshold,
		LockoutDurationSeconds:        secs(e.LockoutDuration),
		SessionLifetimeSeconds:        secs(e.SessionLifetime),
	}
}

// maxPolicySeconds keeps a policy duration far from time.Duration's
// overflow (about 292 years); the domain judges the sensible range.
const maxPolicySeconds = 100 * 365 * 24 * 60 * 60

// policy converts the body to the domain's policy, where zero means the
// default and a negative grace window means off.
func (u TenantPolicyUpdate) policy() (directory.TenantPolicy, error) {
	p := directory.TenantPolicy{
		PasswordGrantDisabled: u.PasswordGrantDisabled,
		ProductLoginResource:  strings.TrimSpace(u.ProductLoginResource),
	}
	if len(u.ProductLoginResources) > directory.MaxProductLoginResources {
		return p, badRequest("productLoginResources may list at most %d resources", directory.MaxProductLoginResources)
	}
	for _, r := range u.ProductLoginResources {
		if r = strings.TrimSpace(r); r != "" {
			p.ProductLoginResources = append(p.ProductLoginResources, r)
		}
	}
	durations := []struct {
		field string
		in    *int64
		out   *time.Duration
	}{
		{"refreshTokenInactivitySeconds", u.RefreshTokenInactivitySeconds, &p.RefreshTokenInactivity},
		{"refreshTokenLifetimeSeconds", u.RefreshTokenLifetimeSeconds, &p.RefreshTokenLifetime},
		{"productLoginLifetimeSeconds", u.ProductLoginLifetimeSeconds, &p.ProductLoginLifetime},
		{"lockoutDurationSeconds", u.LockoutDurationSeconds, &p.LockoutDuration},
		{"sessionLifetimeSeconds", u.SessionLifetimeSeconds, &p.SessionLifetime},
	}
	for _, d := range durations {
		switch {
		case d.in == nil:
		case *d.in < 1:
			return p, badRequest("%s must be at least 1; leave it out for the default", d.field)
		case *d.in > maxPolicySeconds:
			return p, badRequest("%s must be at most %d", d.field, maxPolicySeconds)
		default:
			*d.out = time.Duration(*d.in) * time.Second
		}
	}
	if g := u.RefreshGraceSeconds; g != nil {
		switch {
		case *g < -1:
			return p, badRequest("refreshGraceSeconds must be -1 (off) or more")
		case *g <= 0:
			p.RefreshGrace = -1 // off
		default:
			p.RefreshGrace = time.Duration(min(*g, maxPolicySeconds)) * time.Second
		}
	}
	if t := u.LockoutThreshold; t != nil {
		if *t < 1 {
			return p, badRequest("lockoutThreshold must be at least 1; leave it out for the default")
		}
		p.LockoutThreshold = *t
	}
	return p, nil
}

// User is a user as the API shows it: never a password or its hash.
type User struct {
	TenantID          string `json:"tenantId"`
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	Mail              string `json:"mail,omitempty"`
	// MailVerified: an administrator vouched for Mail; only then is it
	// sent in the email claim.
	MailVerified   bool `json:"mailVerified"`
	AccountEnabled bool `json:"accountEnabled"`
	// LockedUntil is set while repeated failed sign-ins keep the account
	// locked; setting a password or enabling the user lifts the lock.
	LockedUntil *time.Time `json:"lockedUntil,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
}

// UserCreate is the body of POST …/users. The password, if any, is hashed
// (argon2id) and never shown or logged.
type UserCreate struct {
	// UserPrincipalName: name@domain, domain one of the tenant's; a bare
	// name gets @{tenant domain}.
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
	Mail              string `json:"mail,omitempty"`
	// MailVerified: the administrator vouches that Mail is the user's.
	MailVerified bool   `json:"mailVerified,omitempty"`
	Password     string `json:"password,omitempty"`
	// AccountEnabled defaults to true.
	AccountEnabled *bool `json:"accountEnabled,omitempty"`
}

// UserPatch is the body of PATCH …/users/{user}: fields present change,
// absent ones stay.
type UserPatch struct {
	// AccountEnabled false also revokes every grant the user holds.
	AccountEnabled *bool `json:"accountEnabled,omitempty"`
	// UserPrincipalName renames the user, into a domain of the tenant.
	UserPrincipalName *string `json:"userPrincipalName,omitempty"`
	DisplayName       *string `json:"displayName,omitempty"`
	// Mail replaces the address, unverified unless MailVerified says so.
	Mail         *string `json:"mail,omitempty"`
	MailVerified *bool   `json:"mailVerified,omitempty"`
}

func (p UserPatch) details() directory.UserPatch {
	return directory.UserPatch{UserPrincipalName: p.UserPrincipalName, DisplayName: p.DisplayName, Mail: p.Mail, MailVerified: p.MailVerified}
}

func (p UserPatch) changesDetails() bool {
	return p.UserPrincipalName != nil || p.DisplayName != nil || p.Mail != nil || p.MailVerified != nil
}

// TenantDomain is a domain a tenant owns (user names end in one; each
// also names the tenant in URLs).
type TenantDomain struct {
	Domain string `json:"domain"`
	// Primary: the tenant's own domain, chosen at its creation; it cannot
	// be removed.
	Primary   bool      `json:"primary"`
	CreatedAt time.Time `json:"createdAt"`
}

// TenantDomainCreate is the body of POST …/domains.
type TenantDomainCreate struct {
	Domain string `json:"domain"`
}

func domainOut(t directory.Tenant, d directory.TenantDomain) TenantDomain {
	return TenantDomain{Domain: d.Domain, Primary: strings.EqualFold(d.Domain, t.Domain), CreatedAt: d.CreatedAt}
}

// PasswordSet is the body of POST …/users/{user}/password.
type PasswordSet struct {
	Password string `json:"password"`
}

// userOut shows a lock only while it lasts: the stored time stays after
// it has passed until the next good sign-in clears it.
func userOut(u directory.User, now time.Time) User {
	out := User{TenantID: u.TenantID, ID: u.ObjectID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName,
		Mail: u.Mail, MailVerified: u.MailVerified, AccountEnabled: u.Enabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if now.Before(u.LockedUntil) {
		t := u.LockedUntil
		out.LockedUntil = &t
	}
	return out
}

// Consent types, as in Entra's oauth2PermissionGrant.consentType.
const (
	ConsentAllPrincipals = directory.AllPrincipals
	ConsentPrincipal     = "Principal"
)

// ConsentGrant is a consent as the API shows it (Entra:
// oauth2PermissionGrant): a client may use the scopes of a resource for
// every user (consentType AllPrincipals, an admin consent) or for one
// (consentType Principal, principalId the user's object id).
type ConsentGrant struct {
	TenantID string `json:"tenantId"`
	ClientID string `json:"clientId"`
	// ResourceAppID is the resource's appId, or "openid" for the OpenID
	// Connect scopes.
	ResourceAppID string    `json:"resourceAppId"`
	ConsentType   string    `json:"consentType"`
	PrincipalID   string    `json:"principalId,omitempty"`
	Scopes        []string  `json:"scopes"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// ConsentCreate is the body of POST …/consents.
type ConsentCreate struct {
	// ClientID names the client application: appId, identifier URI or
	// object id.
	ClientID string `json:"clientId"`
	// Resource is the API: identifier URI or appId; "openid" for the
	// OpenID Connect scopes (openid, profile, email, offline_access).
	Resource string `json:"resource"`
	// Scopes are scope values the resource exposes, e.g. "read".
	Scopes []string `json:"scopes"`
	// Principal is AllPrincipals (the default: admin consent for every
	// user) or one user, by object id or user principal name.
	Principal string `json:"principal,omitempty"`
}

func consentOut(g directory.ConsentGrant) ConsentGrant {
	out := ConsentGrant{TenantID: g.TenantID, ClientID: g.ClientID, ResourceAppID: g.ResourceAppID,
		ConsentType: ConsentPrincipal, PrincipalID: g.PrincipalID, Scopes: nonNil(g.Scopes), CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
	if g.PrincipalID == directory.AllPrincipals {
		out.ConsentType, out.PrincipalID = ConsentAllPrincipals, ""
	}
	return out
}
