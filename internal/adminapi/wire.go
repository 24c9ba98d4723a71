package adminapi

import (
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// Wire types. Tenants, service principals, credentials, role assignments
// and keys go out in the domain's own JSON shape (directory.Tenant,
// directory.ServicePrincipal, directory.Credential, directory.RoleAssignment,
// token.KeyInfo); the golden files in testdata pin every shape. An
// application has a wire type of its own because its token lifetime, a
// time.Duration, would otherwise travel as integer nanoseconds.

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
