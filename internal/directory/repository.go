package directory

import (
	"context"
	"errors"
	"time"
)

// Errors a Repository returns, wrapped with detail. Callers test them with
// errors.Is.
var (
	// ErrNotFound: no such object in this tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a uniqueness rule would be broken (a second tenant with
	// the same domain, a second service principal for one application, an
	// identifier URI already taken in the tenant, a duplicate assignment).
	ErrConflict = errors.New("conflict")
	// ErrReplay: a single-use value was presented again.
	ErrReplay = errors.New("already used")
)

// Repository is what the directory needs from storage.
//
// Every call about objects inside a tenant takes the tenant id as a required
// argument and must never read or write another tenant's rows: a single
// missed seam would leak data between tenants, so the seam is in every
// signature and the conformance suite checks it with two tenants.
//
// Lists are ordered by creation time, then by id, and are never nil.
// Creating an object in a tenant that does not exist, or a credential of an
// application that does not exist, fails with ErrNotFound; an object whose
// TenantID names another tenant than the call's argument is refused. Update
// calls replace the whole object (callers read, modify, write back). Times
// are stored in UTC with microsecond precision.
type Repository interface {
	// Tenants are the only objects outside any tenant.
	CreateTenant(ctx context.Context, t Tenant) error
	GetTenant(ctx context.Context, id string) (Tenant, error)
	// GetTenantByDomain matches the domain case-insensitively.
	GetTenantByDomain(ctx context.Context, domain string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error)
	// UpdateTenant replaces the display name and policy of a tenant.
	UpdateTenant(ctx context.Context, t Tenant) error
	// CreateTenant also records the tenant's domain as its first
	// TenantDomain, in the same transaction; GetTenantByDomain finds a
	// tenant by any of its domains. A domain belongs to one tenant at
	// most: AddTenantDomain and CreateTenant fail with ErrConflict when
	// any tenant holds the domain (in any letter case), and
	// AddTenantDomain with ErrNotFound when the tenant does not exist.
	AddTenantDomain(ctx context.Context, tenantID string, d TenantDomain) error
	// ListTenantDomains lists a tenant's domains, its own first, then by
	// creation time and domain.
	ListTenantDomains(ctx context.Context, tenantID string) ([]TenantDomain, error)
	// DeleteTenantDomain removes a domain from the tenant; ErrNotFound if
	// the tenant does not hold it, ErrConflict for the tenant's own
	// domain (Tenant.Domain), which stands for it in URLs.
	DeleteTenantDomain(ctx context.Context, tenantID, domain string) error
	// TenantOfApplication returns the id of the tenant that registers
	// appID, or ErrNotFound. Application ids are unique across tenants
	// but for the well-known ones (IsWellKnownAppID), which every tenant
	// registers and for which it always answers ErrNotFound: their
	// tenant must come from elsewhere.
	TenantOfApplication(ctx context.Context, appID string) (string, error)

	// CreateApplication fails with ErrConflict when the appId is already
	// registered in any tenant (except a well-known id, IsWellKnownAppID,
	// which each tenant may register once), or when any of the identifier
	// URIs is already used in the tenant.
	CreateApplication(ctx context.Context, tenantID string, app Application) error
	// UpdateApplication replaces the application with the same AppID,
	// with the same identifier URI uniqueness rule.
	UpdateApplication(ctx context.Context, tenantID string, app Application) error
	GetApplication(ctx context.Context, tenantID, appID string) (Application, error)
	GetApplicationByIdentifierURI(ctx context.Context, tenantID, uri string) (Application, error)
	ListApplications(ctx context.Context, tenantID string) ([]Application, error)
	// DeleteApplication removes the application with its service principal,
	// its credentials, every role assignment naming that service principal
	// as principal or as resource, and every consent naming the application
	// as client or as resource, in one transaction.
	DeleteApplication(ctx context.Context, tenantID, appID string) error

	// CreateServicePrincipal fails with ErrConflict when the application
	// already has one in the tenant.
	CreateServicePrincipal(ctx context.Context, tenantID string, sp ServicePrincipal) error
	UpdateServicePrincipal(ctx context.Context, tenantID string, sp ServicePrincipal) error
	GetServicePrincipal(ctx context.Context, tenantID, objectID string) (ServicePrincipal, error)
	GetServicePrincipalByAppID(ctx context.Context, tenantID, appID string) (ServicePrincipal, error)
	ListServicePrincipals(ctx context.Context, tenantID string) ([]ServicePrincipal, error)
	// DeleteServicePrincipal also removes the role assignments naming it.
	DeleteServicePrincipal(ctx context.Context, tenantID, objectID string) error

	AddCredential(ctx context.Context, tenantID string, c Credential) error
	ListCredentials(ctx context.Context, tenantID, appID string) ([]Credential, error)
	DeleteCredential(ctx context.Context, tenantID, appID, keyID string) error

	// CreateRoleAssignment fails with ErrConflict when the same principal
	// already holds the same role of the same resource.
	CreateRoleAssignment(ctx context.Context, tenantID string, a RoleAssignment) error
	ListRoleAssignmentsByPrincipal(ctx context.Context, tenantID, principalID string) ([]RoleAssignment, error)
	ListRoleAssignmentsByResource(ctx context.Context, tenantID, resourceID string) ([]RoleAssignment, error)
	DeleteRoleAssignment(ctx context.Context, tenantID, id string) error

	// CreateUser fails with ErrConflict when the user principal name
	// (case-insensitively) or the object id is taken in the tenant.
	CreateUser(ctx context.Context, tenantID string, u User) error
	GetUser(ctx context.Context, tenantID, objectID string) (User, error)
	// GetUserByUPN matches the user principal name case-insensitively.
	GetUserByUPN(ctx context.Context, tenantID, upn string) (User, error)
	// GetUserEnabled reports whether the user is enabled, or ErrNotFound:
	// the one fact about a user the admin API reads on every request, and
	// which the directory cache keeps (users themselves are not cached:
	// their sign-in failure counts change at every failed sign-in).
	// Enabling, disabling and deleting a user move DirectoryVersion.
	GetUserEnabled(ctx context.Context, tenantID, objectID string) (bool, error)
	ListUsers(ctx context.Context, tenantID string) ([]User, error)
	// UpdateUser replaces the user (same uniqueness rule as CreateUser),
	// except its brute-force state (FailedSignIns, LastFailureAt,
	// LockedUntil), which it leaves as stored: that state changes only
	// through RecordSignInFailure and ResetSignInFailures, atomically, so
	// that an update made from a copy read earlier (an administrator's
	// edit, a password rehash at sign-in) never erases failures counted
	// meanwhile, by this instance or another.
	UpdateUser(ctx context.Context, tenantID string, u User) error
	// DeleteUser also removes the user's role assignments and consents.
	DeleteUser(ctx context.Context, tenantID, objectID string) error
	// RecordSignInFailure atomically increments the user's failure count
	// (restarting it at 1 when the last failure is at or before
	// f.ForgetBefore), sets LastFailureAt to f.At, and sets LockedUntil to
	// f.LockUntil when the new count is at or past f.Threshold
	// (f.Threshold <= 0 never locks), never shortening a lock already in
	// place; it returns the updated user. Concurrent failures from several
	// instances all count.
	RecordSignInFailure(ctx context.Context, tenantID, objectID string, f SignInFailure) (User, error)
	// RecordNameFailure counts a failed sign-in with a name no user with a
	// password has, under key (a keyed hash of tenant and name), by the
	// rule of RecordSignInFailure, in one atomic statement, and returns
	// the row after it; ExpiresAt becomes f.ExpiresAt. A row may be purged
	// (Purge) once its ExpiresAt is past.
	RecordNameFailure(ctx context.Context, tenantID string, key []byte, f SignInFailure) (NameFailures, error)
	// GetNameFailures returns the count of key, or ErrNotFound.
	GetNameFailures(ctx context.Context, tenantID string, key []byte) (NameFailures, error)
	// ResetSignInFailures clears the failure count and lock.
	ResetSignInFailures(ctx context.Context, tenantID, objectID string) error
	// ListLockedUsers returns the users whose LockedUntil is after q.At,
	// ordered by object id, those after q.After only, at most q.Limit.
	ListLockedUsers(ctx context.Context, tenantID string, q BanQuery) ([]User, error)

	// RecordAddressFailure counts a failed sign-in from address in one
	// atomic statement (an upsert … RETURNING) and returns the row after
	// it. The count starts again at 1 when the stored window began at or
	// before f.At-f.Window; when the new count is at or past f.Threshold
	// (f.Threshold <= 0 never bans) BannedUntil becomes f.At+f.BanFor,
	// never shortening a ban in place. Concurrent failures from any number
	// of instances all count, and each caller sees its own count. A row
	// may be purged (Purge) once both its window and its ban ended.
	RecordAddressFailure(ctx context.Context, tenantID, address string, f AddressFailure) (AddressBan, error)
	// GetAddressBan returns the address's row, banned or not, or
	// ErrNotFound.
	GetAddressBan(ctx context.Context, tenantID, address string) (AddressBan, error)
	// ListAddressBans returns the addresses whose BannedUntil is after
	// q.At, ordered by address, those after q.After only, at most q.Limit.
	ListAddressBans(ctx context.Context, tenantID string, q BanQuery) ([]AddressBan, error)
	// DeleteAddressBan deletes the address's row, with its count, if its
	// ban holds at at, and returns it; otherwise ErrNotFound and nothing
	// changes.
	DeleteAddressBan(ctx context.Context, tenantID, address string, at time.Time) (AddressBan, error)

	// PutConsent stores a consent grant, merging its scopes into an
	// existing grant of the same client, resource and principal.
	PutConsent(ctx context.Context, tenantID string, g ConsentGrant) error
	// ListConsents returns the grants of a client: those of the principal
	// and those of AllPrincipals (principalID "" returns every grant of
	// the client).
	ListConsents(ctx context.Context, tenantID, clientID, principalID string) ([]ConsentGrant, error)
	DeleteConsent(ctx context.Context, tenantID, clientID, resourceAppID, principalID string) error

	// ConsumeOnce records key (e.g. a client assertion's jti) as used until
	// expiresAt. It returns ErrReplay if key is already recorded in the
	// tenant and not yet expired. Exactly one of any number of concurrent
	// calls with the same key succeeds.
	ConsumeOnce(ctx context.Context, tenantID, key string, expiresAt time.Time) error
}
