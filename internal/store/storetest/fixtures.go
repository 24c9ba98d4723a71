package storetest

import (
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
)

// The fixtures fill every field, so that a column an engine forgets to
// store or to read back shows up as a difference.

func newTenant(id string, created time.Time) directory.Tenant {
	return directory.Tenant{ID: id, Domain: id + ".example", DisplayName: "Tenant " + id, Policy: newPolicy(), CreatedAt: created}
}

// newPolicy sets every field of a tenant policy, with durations that are
// odd on purpose: they must round-trip to the nanosecond.
func newPolicy() directory.TenantPolicy {
	return directory.TenantPolicy{
		PasswordGrantDisabled:  true,
		RefreshTokenInactivity: 30*24*time.Hour + 1,
		RefreshTokenLifetime:   200*24*time.Hour + 2,
		RefreshGrace:           -1,
		SessionLifetime:        12*time.Hour + 3,
		ProductLoginLifetime:   36*time.Hour + 4,
		ProductLoginResource:   "api://product",
		ProductLoginResources:  []string{"api://reports", "api://Other/"},
		LockoutThreshold:       7,
		LockoutDuration:        20*time.Minute + 5,
	}
}

// addTenant stores a fixture tenant.
func addTenant(t *testing.T, s store.Store, id string) directory.Tenant {
	t.Helper()
	tn := newTenant(id, t0)
	must(t, s.CreateTenant(t.Context(), tn))
	return tn
}

func newApp(tenantID, appID string, created time.Time, uris ...string) directory.Application {
	if uris == nil {
		uris = []string{}
	}
	return directory.Application{
		TenantID:       tenantID,
		AppID:          appID,
		ObjectID:       "obj-" + appID,
		DisplayName:    "App " + appID + " of " + tenantID,
		IdentifierURIs: uris,
		Scopes: []directory.Scope{
			{ID: "scope-1", Value: "user_impersonation", DisplayName: "Access", Description: "Act as the user", Enabled: true},
			{ID: "scope-2", Value: "read", Enabled: false},
		},
		AppRoles: []directory.AppRole{
			{ID: "role-1", Value: "Reader", DisplayName: "Reader", Description: "Reads",
				AllowedMemberTypes: []string{directory.MemberTypeApplication, directory.MemberTypeUser}, Enabled: true},
			{ID: "role-2", Value: "Writer", AllowedMemberTypes: []string{}, Enabled: false},
		},
		AccessTokenAcceptedVersion: 2,
		// Odd on purpose: a duration must round-trip to the nanosecond.
		AccessTokenLifetime: 90*time.Minute + 1,
		RedirectURIs:        []string{"https://localhost/callback", "http://127.0.0.1:8400/"},
		PublicClient:        true,
		PreAuthorized: []directory.PreAuthorizedApplication{
			{AppID: "client-1", Scopes: []string{"user_impersonation"}},
			{AppID: "client-2", Scopes: []string{}},
		},
		CreatedAt: created,
		UpdatedAt: created.Add(time.Minute),
	}
}

func newSP(tenantID, objectID, appID string, created time.Time) directory.ServicePrincipal {
	return directory.ServicePrincipal{
		TenantID:                  tenantID,
		ObjectID:                  objectID,
		AppID:                     appID,
		DisplayName:               "SP " + objectID + " of " + tenantID,
		Enabled:                   true,
		AppRoleAssignmentRequired: true,
		CreatedAt:                 created,
	}
}

func newSecret(tenantID, appID, keyID string, created time.Time) directory.Credential {
	return directory.Credential{
		TenantID:       tenantID,
		KeyID:          keyID,
		AppID:          appID,
		Type:           directory.CredentialSecret,
		DisplayName:    "secret " + keyID + " of " + tenantID,
		Hint:           "Ab1",
		SecretHash:     []byte{0x00, 0x01, 0xfe, 0xff, byte(len(tenantID))},
		CertificateDER: []byte{},
		StartsAt:       created,
		ExpiresAt:      created.AddDate(2, 0, 0),
		CreatedAt:      created,
	}
}

func newCertificate(tenantID, appID, keyID string, created time.Time) directory.Credential {
	return directory.Credential{
		TenantID:       tenantID,
		KeyID:          keyID,
		AppID:          appID,
		Type:           directory.CredentialCertificate,
		DisplayName:    "cert " + keyID,
		SecretHash:     []byte{},
		CertificateDER: []byte{0x30, 0x82, 0x01, 0x0a, 0x00},
		Thumbprint:     "0123456789ABCDEF0123456789ABCDEF01234567",
		ThumbprintS256: "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
		// The zero time and a date past 2262 (where int64 nanoseconds end)
		// both have to survive: Entra writes 2299-12-31 for "never".
		StartsAt:  time.Time{},
		ExpiresAt: time.Date(2299, 12, 31, 0, 0, 0, 0, time.UTC),
		CreatedAt: created,
	}
}

func newAssignment(tenantID, id, principalID, resourceID, roleID string, created time.Time) directory.RoleAssignment {
	return directory.RoleAssignment{
		TenantID:      tenantID,
		ID:            id,
		PrincipalID:   principalID,
		PrincipalType: directory.PrincipalServicePrincipal,
		ResourceID:    resourceID,
		ResourceAppID: "app-of-" + resourceID,
		AppRoleID:     roleID,
		CreatedAt:     created,
	}
}
