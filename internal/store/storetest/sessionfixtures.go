package storetest

import (
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

// Fixtures of users, consent and the session state. As in fixtures.go every
// field is set, and values that differ between tenants name the tenant, so
// that a row read from the wrong tenant shows up; ids and hashes do not, so
// that two tenants can hold the same ones.

func newUser(tenantID, objectID string, created time.Time) directory.User {
	return directory.User{
		TenantID: tenantID,
		ObjectID: objectID,
		// Mixed case: lookups by name must not depend on it.
		UserPrincipalName: objectID + "@Contoso.Example",
		DisplayName:       "User " + objectID + " of " + tenantID,
		Mail:              objectID + "@mail." + tenantID + ".example",
		MailVerified:      true,
		Enabled:           true,
		PasswordHash:      "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$" + tenantID,
		FailedSignIns:     2,
		LastFailureAt:     created.Add(time.Minute),
		LockedUntil:       created.Add(2 * time.Minute),
		CreatedAt:         created,
		UpdatedAt:         created.Add(3 * time.Minute),
	}
}

func newConsent(tenantID, clientID, resourceAppID, principalID string, created time.Time, scopes ...string) directory.ConsentGrant {
	if scopes == nil {
		scopes = []string{}
	}
	return directory.ConsentGrant{
		TenantID:      tenantID,
		ClientID:      clientID,
		ResourceAppID: resourceAppID,
		PrincipalID:   principalID,
		Scopes:        scopes,
		CreatedAt:     created,
		UpdatedAt:     created.Add(time.Second),
	}
}

// hash is the stored hash of the opaque value name: bytes that are not
// text (a zero byte, 0xff), as keyed hashes are.
func hash(name string) []byte { return append([]byte{0x00, 0xff, 0x10}, name...) }

func newBrowserSession(tenantID, id string, created time.Time) session.BrowserSession {
	return session.BrowserSession{
		TenantID:  tenantID,
		ID:        id,
		IDHash:    hash("cookie-" + id),
		UserID:    "user-of-" + tenantID,
		AuthTime:  created.Add(-time.Minute),
		CreatedAt: created,
		ExpiresAt: created.Add(8 * time.Hour),
	}
}

func newGrant(tenantID, id, browserSessionID string, created time.Time) session.Grant {
	return session.Grant{
		TenantID:         tenantID,
		ID:               id,
		UserID:           "user-1",
		ClientID:         "client-1",
		BrowserSessionID: browserSessionID,
		Scopes:           []string{"openid", "offline_access", "api://" + tenantID + "/read"},
		AuthTime:         created.Add(-time.Minute),
		CreatedAt:        created,
		ExpiresAt:        created.AddDate(1, 0, 0),
		Channel:          "channel-1",
	}
}

func newCode(tenantID, name, grantID string, created time.Time) session.Code {
	return session.Code{
		TenantID:            tenantID,
		Hash:                hash(name),
		GrantID:             grantID,
		ClientID:            "client-1",
		RedirectURI:         "http://localhost:8400/callback",
		Scopes:              []string{"openid", "api://" + tenantID + "/read"},
		Resource:            "api://" + tenantID,
		Nonce:               "nonce-" + tenantID,
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		CreatedAt:           created,
		ExpiresAt:           created.Add(10 * time.Minute),
	}
}

func newRefreshToken(tenantID, name, grantID string, created time.Time) session.RefreshToken {
	return session.RefreshToken{
		TenantID:        tenantID,
		Hash:            hash(name),
		GrantID:         grantID,
		ClientID:        "client-1",
		CreatedAt:       created,
		ExpiresAt:       created.AddDate(0, 0, 90),
		SuccessorHash:   []byte{},
		SuccessorSealed: []byte{},
		// Two audiences, so that a round trip shows the whole record
		// comes back, in order.
		AccessTokens:         session.IssuedTokens{{Audience: "api://two", ID: "jti-two-" + name}, {Audience: "api://one", ID: "jti-" + name + "-" + tenantID}},
		AccessTokenExpiresAt: created.Add(time.Hour),
	}
}

func newDeviceCode(tenantID, name string, created time.Time) session.DeviceCode {
	return session.DeviceCode{
		TenantID:     tenantID,
		Hash:         hash("device-" + name),
		UserCodeHash: hash("user-code-" + name),
		ClientID:     "client-1",
		Scopes:       []string{"openid", "api://" + tenantID + "/read"},
		Resource:     "api://" + tenantID,
		Interval:     5*time.Second + 1,
		CreatedAt:    created,
		ExpiresAt:    created.Add(15 * time.Minute),
		Status:       session.DevicePending,
	}
}

// feedExpiry is the expiry the tests give revocation feed entries.
var feedExpiry = farAhead

// addGrant stores a fixture grant (made outside a browser unless
// browserSessionID is set).
func addGrant(t *testing.T, s store.Store, tenantID, id, browserSessionID string, created time.Time) session.Grant {
	t.Helper()
	g := newGrant(tenantID, id, browserSessionID, created)
	must(t, s.CreateGrant(t.Context(), tenantID, g))
	return g
}

// getGrant reads a grant back.
func getGrant(t *testing.T, s store.Store, tenantID, id string) session.Grant {
	t.Helper()
	g, err := s.GetGrant(t.Context(), tenantID, id)
	must(t, err)
	return g
}

// getToken reads a refresh token back.
func getToken(t *testing.T, s store.Store, tenantID string, h []byte) session.RefreshToken {
	t.Helper()
	rt, _, err := s.GetRefreshToken(t.Context(), tenantID, h)
	must(t, err)
	return rt
}

// feed returns the whole live feed of a tenant at t0.
func feed(t *testing.T, s store.Store, tenantID string) []session.Revocation {
	t.Helper()
	list, err := s.ListRevocations(t.Context(), tenantID, 0, t0, 1000)
	must(t, err)
	return list
}

// entries is a feed without its sequence numbers, for comparison.
func entries(list []session.Revocation) []session.Revocation {
	out := make([]session.Revocation, len(list))
	for i, r := range list {
		r.Seq = 0
		out[i] = r
	}
	return out
}

func entry(tenantID, kind, value string, revokedAt time.Time) session.Revocation {
	return session.Revocation{TenantID: tenantID, Kind: kind, Value: value, RevokedAt: revokedAt, ExpiresAt: feedExpiry}
}
