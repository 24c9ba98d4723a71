// Package directory is the domain of tessera: tenants, app registrations,
// service principals, credentials and app role assignments, and the rules
// that decide who may get which token. It knows neither HTTP nor SQL.
package directory

import (
	"time"
)

// Tenant is an isolated directory. Its ID is a GUID, its Domain a short,
// unique, human name (e.g. "default", "contoso.example") that may stand for
// the ID in every URL.
type Tenant struct {
	ID          string `json:"id"`
	Domain      string `json:"domain"`
	DisplayName string `json:"displayName"`
	// Policy is the tenant's sign-in and token policy.
	Policy    TenantPolicy `json:"policy"`
	CreatedAt time.Time    `json:"createdAt"`
}

// TenantDomain is a domain a tenant owns: its user principal names end in
// one of them (alice@contoso.example), and each one also stands for the
// tenant in URLs. A domain belongs to one tenant only, so that a name
// says which tenant vouches for it. The tenant's own Domain is the first.
type TenantDomain struct {
	TenantID  string    `json:"tenantId"`
	Domain    string    `json:"domain"`
	CreatedAt time.Time `json:"createdAt"`
}

// Member types an app role may be assigned to, as in Entra's
// appRoles[].allowedMemberTypes.
const (
	MemberTypeApplication = "Application"
	MemberTypeUser        = "User"
)

// Scope is a delegated permission an application exposes
// (Entra: api.oauth2PermissionScopes).
type Scope struct {
	ID          string `json:"id"`
	Value       string `json:"value"`
	DisplayName string `json:"adminConsentDisplayName,omitempty"`
	Description string `json:"adminConsentDescription,omitempty"`
	Enabled     bool   `json:"isEnabled"`
}

// AppRole is a role an application defines and that can be assigned to
// service principals (and, later, users) (Entra: appRoles).
type AppRole struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value"`
	DisplayName        string   `json:"displayName,omitempty"`
	Description        string   `json:"description,omitempty"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
	Enabled            bool     `json:"isEnabled"`
}

// AllowsMemberType reports whether the role may be assigned to principals of
// the given member type.
func (r AppRole) AllowsMemberType(t string) bool {
	for _, m := range r.AllowedMemberTypes {
		if m == t {
			return true
		}
	}
	return false
}

// PreAuthorizedApplication is a client application that may use some of the
// exposed scopes without user consent (Entra: api.preAuthorizedApplications).
type PreAuthorizedApplication struct {
	AppID  string   `json:"appId"`
	Scopes []string `json:"scopes"` // scope values, e.g. "user_impersonation"
}

// Application is an app registration: the definition of a client, an API,
// or both.
type Application struct {
	TenantID       string    `json:"tenantId"`
	AppID          string    `json:"appId"`    // the client id, a GUID
	ObjectID       string    `json:"objectId"` // a GUID of its own, as in Entra
	DisplayName    string    `json:"displayName"`
	IdentifierURIs []string  `json:"identifierUris"`
	Scopes         []Scope   `json:"scopes"`
	AppRoles       []AppRole `json:"appRoles"`
	// AccessTokenAcceptedVersion is 1 or 2: the shape of the access tokens
	// issued for this application as a resource.
	AccessTokenAcceptedVersion int `json:"accessTokenAcceptedVersion"`
	// AccessTokenLifetime is how long access tokens issued for this
	// application as a resource live. Zero means the server default.
	AccessTokenLifetime time.Duration              `json:"accessTokenLifetime"`
	RedirectURIs        []string                   `json:"redirectUris"`
	PublicClient        bool                       `json:"publicClient"`
	PreAuthorized       []PreAuthorizedApplication `json:"preAuthorizedApplications"`
	CreatedAt           time.Time                  `json:"createdAt"`
	UpdatedAt           time.Time                  `json:"updatedAt"`
}

// Role returns the enabled app role with the given value or id.
func (a Application) Role(valueOrID string) (AppRole, bool) {
	for _, r := range a.AppRoles {
		if r.Value == valueOrID || r.ID == valueOrID {
			return r, true
		}
	}
	return AppRole{}, false
}

// ServicePrincipal is an application's identity in a tenant: what role
// assignments name and what client-credentials tokens are issued to.
type ServicePrincipal struct {
	TenantID    string `json:"tenantId"`
	ObjectID    string `json:"objectId"`
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName"`
	Enabled     bool   `json:"accountEnabled"`
	// AppRoleAssignmentRequired, on a resource's service principal, means a
	// client or a user gets a token for the resource only if it holds one
	// of its roles.
	AppRoleAssignmentRequired bool      `json:"appRoleAssignmentRequired"`
	CreatedAt                 time.Time `json:"createdAt"`
}

// Credential types.
const (
	CredentialSecret      = "secret"
	CredentialCertificate = "certificate"
)

// Credential is a client secret or a certificate of an application. A secret
// is never stored: only its keyed hash.
type Credential struct {
	TenantID    string `json:"tenantId"`
	KeyID       string `json:"keyId"`
	AppID       string `json:"appId"`
	Type        string `json:"type"`
	DisplayName string `json:"displayName"`
	// Hint is the first characters of a secret, as Entra shows them, so an
	// operator can tell secrets apart without seeing them.
	Hint       string `json:"hint,omitempty"`
	SecretHash []byte `json:"-"`
	// CertificateDER is the certificate of a certificate credential.
	CertificateDER []byte `json:"-"`
	// Thumbprint is the certificate's SHA-1 thumbprint, hex upper case
	// (Entra's customKeyIdentifier); ThumbprintS256 the SHA-256 one,
	// base64url, as in a JWS x5t#S256 header.
	Thumbprint     string    `json:"thumbprint,omitempty"`
	ThumbprintS256 string    `json:"thumbprintS256,omitempty"`
	StartsAt       time.Time `json:"startDateTime"`
	ExpiresAt      time.Time `json:"endDateTime"`
	CreatedAt      time.Time `json:"createdAt"`
}

// ValidAt reports whether the credential may be used at t.
func (c Credential) ValidAt(t time.Time) bool {
	return !t.Before(c.StartsAt) && t.Before(c.ExpiresAt)
}

// Principal types of a role assignment.
const (
	PrincipalServicePrincipal = "ServicePrincipal"
	PrincipalUser             = "User"
)

// RoleAssignment grants a principal one app role of a resource application
// (Entra: appRoleAssignment).
type RoleAssignment struct {
	TenantID      string    `json:"tenantId"`
	ID            string    `json:"id"`
	PrincipalID   string    `json:"principalId"`
	PrincipalType string    `json:"principalType"`
	ResourceID    string    `json:"resourceId"`    // the resource's service principal object id
	ResourceAppID string    `json:"resourceAppId"` // the resource's application id
	AppRoleID     string    `json:"appRoleId"`
	CreatedAt     time.Time `json:"createdAt"`
}
