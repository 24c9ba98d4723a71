package stored

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// The JSON columns of applications and tenants are written from these
// types, not from the directory types, so that the stored format is owned
// by the store: renaming a JSON tag of the API cannot make stored rows
// unreadable, and both engines read what either wrote. Each has the same
// fields as its directory twin, so the conversions are plain Go
// conversions, and a field added to the directory type stops the build
// until it is added here too.
type (
	scopeDoc struct {
		ID          string `json:"id"`
		Value       string `json:"value"`
		DisplayName string `json:"displayName"`
		Description string `json:"description"`
		Enabled     bool   `json:"enabled"`
	}
	appRoleDoc struct {
		ID                 string   `json:"id"`
		Value              string   `json:"value"`
		DisplayName        string   `json:"displayName"`
		Description        string   `json:"description"`
		AllowedMemberTypes []string `json:"allowedMemberTypes"`
		Enabled            bool     `json:"enabled"`
	}
	preAuthorizedDoc struct {
		AppID  string   `json:"appId"`
		Scopes []string `json:"scopes"`
	}
	// policyDoc is a tenant policy. Durations are JSON integers of
	// nanoseconds, so they round-trip exactly.
	policyDoc struct {
		PasswordGrantDisabled  bool          `json:"passwordGrantDisabled,omitempty"`
		RefreshTokenInactivity time.Duration `json:"refreshTokenInactivity,omitempty"`
		RefreshTokenLifetime   time.Duration `json:"refreshTokenLifetime,omitempty"`
		RefreshGrace           time.Duration `json:"refreshGrace,omitempty"`
		SessionLifetime        time.Duration `json:"sessionLifetime,omitempty"`
		ProductLoginLifetime   time.Duration `json:"productLoginLifetime,omitempty"`
		ProductLoginResource   string        `json:"productLoginResource,omitempty"`
		ProductLoginResources  []string      `json:"productLoginResources,omitempty"`
		LockoutThreshold       int           `json:"lockoutThreshold,omitempty"`
		LockoutDuration        time.Duration `json:"lockoutDuration,omitempty"`
	}
)

// ApplicationDocs are the JSON columns of an application, as JSON text.
type ApplicationDocs struct {
	Scopes, AppRoles, PreAuthorized string
}

// EncodeApplication renders the JSON columns of a (normalised first, see
// NormalizeApplication).
func EncodeApplication(a directory.Application) (ApplicationDocs, error) {
	var d ApplicationDocs
	var err error
	enc := func(dst *string, v any) {
		if err == nil {
			*dst, err = EncJSON(v)
		}
	}
	enc(&d.Scopes, MapSlice(a.Scopes, func(s directory.Scope) scopeDoc { return scopeDoc(s) }))
	enc(&d.AppRoles, MapSlice(a.AppRoles, func(r directory.AppRole) appRoleDoc { return appRoleDoc(r) }))
	enc(&d.PreAuthorized, MapSlice(a.PreAuthorized, func(p directory.PreAuthorizedApplication) preAuthorizedDoc {
		return preAuthorizedDoc(p)
	}))
	return d, err
}

// DecodeApplication reads the JSON columns of a into it, and normalises it.
func DecodeApplication[B string | []byte](a *directory.Application, scopes, appRoles, preAuthorized B) error {
	var sd []scopeDoc
	var rd []appRoleDoc
	var pd []preAuthorizedDoc
	for _, c := range []struct {
		text B
		dst  any
	}{{scopes, &sd}, {appRoles, &rd}, {preAuthorized, &pd}} {
		if err := DecJSON(c.text, c.dst); err != nil {
			return fmt.Errorf("application %s: decode column: %w", a.AppID, err)
		}
	}
	a.Scopes = MapSlice(sd, func(s scopeDoc) directory.Scope { return directory.Scope(s) })
	a.AppRoles = MapSlice(rd, func(r appRoleDoc) directory.AppRole { return directory.AppRole(r) })
	a.PreAuthorized = MapSlice(pd, func(p preAuthorizedDoc) directory.PreAuthorizedApplication {
		return directory.PreAuthorizedApplication(p)
	})
	*a = NormalizeApplication(*a)
	return nil
}

// NormalizeApplication replaces every nil slice of a, nested ones included,
// with an empty one (see NonNil). The nested slices are copied, so the
// caller's value is never modified.
func NormalizeApplication(a directory.Application) directory.Application {
	a.IdentifierURIs = NonNil(a.IdentifierURIs)
	a.RedirectURIs = NonNil(a.RedirectURIs)
	a.Scopes = NonNil(a.Scopes)
	a.AppRoles = MapSlice(a.AppRoles, func(r directory.AppRole) directory.AppRole {
		r.AllowedMemberTypes = NonNil(r.AllowedMemberTypes)
		return r
	})
	a.PreAuthorized = MapSlice(a.PreAuthorized, func(p directory.PreAuthorizedApplication) directory.PreAuthorizedApplication {
		p.Scopes = NonNil(p.Scopes)
		return p
	})
	return a
}

// EncodePolicy renders a tenant policy for its JSON column.
func EncodePolicy(p directory.TenantPolicy) (string, error) { return EncJSON(policyDoc(p)) }

// DecodePolicy reads a tenant policy from its JSON column.
func DecodePolicy[B string | []byte](text B) (directory.TenantPolicy, error) {
	var doc policyDoc
	err := DecJSON(text, &doc)
	return directory.TenantPolicy(doc), err
}

// DomainKey is the form of a domain its uniqueness and lookups use:
// Unicode lower case, folded in Go rather than by SQL's lower() (which in
// SQLite folds ASCII only), so that both engines agree whatever the
// database's collation.
func DomainKey(domain string) string { return strings.ToLower(domain) }

// UPNKey is the form of a user principal name its uniqueness and lookups
// use, folded as DomainKey is.
func UPNKey(upn string) string { return strings.ToLower(upn) }

// CheckNewTenant checks a tenant to create: it needs an id and a domain.
func CheckNewTenant(t directory.Tenant) error {
	if t.ID == "" || t.Domain == "" {
		return errors.New("tenant needs an id and a domain")
	}
	return nil
}

// PrepareNewTenant checks a new tenant and returns its policy as stored:
// what CreateTenant writes besides t's plain columns.
func PrepareNewTenant(t directory.Tenant) (policy string, err error) {
	if err := CheckNewTenant(t); err != nil {
		return "", err
	}
	return EncodePolicy(t.Policy)
}

// PrepareApplication checks app against the call's tenant, normalises it
// and encodes its JSON columns: what CreateApplication and
// UpdateApplication write.
func PrepareApplication(tenantID string, app directory.Application) (directory.Application, ApplicationDocs, error) {
	if err := CheckTenant(tenantID, app.TenantID); err != nil {
		return directory.Application{}, ApplicationDocs{}, err
	}
	app = NormalizeApplication(app)
	docs, err := EncodeApplication(app)
	return app, docs, err
}
