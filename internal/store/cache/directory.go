package cache

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
)

// Cached reads. Each one takes the map to fill before it reads the store
// (see the package comment), and hands out copies.

func (c *Store) GetTenant(ctx context.Context, id string) (directory.Tenant, error) {
	r := c.current()
	if r != nil {
		if v, ok := r.tenantsByID.Load(id); ok {
			return v.(directory.Tenant), nil
		}
	}
	t, err := c.Store.GetTenant(ctx, id)
	if err == nil && r != nil {
		put(&r.tenantsByID, &r.n, c.maxEntries, id, t)
	}
	return t, err
}

// GetTenantByDomain: the store matches case-insensitively, so the key is
// the lower-cased domain.
func (c *Store) GetTenantByDomain(ctx context.Context, domain string) (directory.Tenant, error) {
	key := strings.ToLower(domain)
	r := c.current()
	if r != nil {
		if v, ok := r.tenantsByDomain.Load(key); ok {
			return v.(directory.Tenant), nil
		}
	}
	t, err := c.Store.GetTenantByDomain(ctx, domain)
	if err == nil && r != nil {
		put(&r.tenantsByDomain, &r.n, c.maxEntries, key, t)
	}
	return t, err
}

func (c *Store) GetApplication(ctx context.Context, tenantID, appID string) (directory.Application, error) {
	tc := c.scope(tenantID)
	if tc != nil {
		if v, ok := tc.apps.Load(appID); ok {
			return cloneApp(v.(directory.Application)), nil
		}
	}
	app, err := c.Store.GetApplication(ctx, tenantID, appID)
	if err == nil && tc != nil {
		tc.put(c, &tc.apps, appID, cloneApp(app))
	}
	return app, err
}

// uriLookup is a cached identifier-URI lookup, found or not: resolving a
// resource named by its appId (api://{appId}) first misses by URI.
type uriLookup struct {
	app   directory.Application
	found bool
}

func (c *Store) GetApplicationByIdentifierURI(ctx context.Context, tenantID, uri string) (directory.Application, error) {
	tc := c.scope(tenantID)
	if tc != nil {
		if v, ok := tc.appsByURI.Load(uri); ok {
			l := v.(uriLookup)
			if !l.found {
				return directory.Application{}, errNotFound
			}
			return cloneApp(l.app), nil
		}
	}
	app, err := c.Store.GetApplicationByIdentifierURI(ctx, tenantID, uri)
	if tc != nil {
		switch {
		case err == nil:
			tc.put(c, &tc.appsByURI, uri, uriLookup{app: cloneApp(app), found: true})
		case errors.Is(err, directory.ErrNotFound):
			tc.put(c, &tc.appsByURI, uri, uriLookup{})
		}
	}
	return app, err
}

// errNotFound is what a cached miss returns; like the store's, it wraps
// directory.ErrNotFound.
var errNotFound = cachedNotFound{}

type cachedNotFound struct{}

func (cachedNotFound) Error() string { return "cache: not found" }
func (cachedNotFound) Unwrap() error { return directory.ErrNotFound }

func (c *Store) GetServicePrincipalByAppID(ctx context.Context, tenantID, appID string) (directory.ServicePrincipal, error) {
	tc := c.scope(tenantID)
	if tc != nil {
		if v, ok := tc.sps.Load(appID); ok {
			return v.(directory.ServicePrincipal), nil
		}
	}
	sp, err := c.Store.GetServicePrincipalByAppID(ctx, tenantID, appID)
	if err == nil && tc != nil {
		tc.put(c, &tc.sps, appID, sp)
	}
	return sp, err
}

func (c *Store) ListCredentials(ctx context.Context, tenantID, appID string) ([]directory.Credential, error) {
	tc := c.scope(tenantID)
	if tc != nil {
		if v, ok := tc.creds.Load(appID); ok {
			return cloneCreds(v.([]directory.Credential)), nil
		}
	}
	creds, err := c.Store.ListCredentials(ctx, tenantID, appID)
	if err == nil && tc != nil {
		tc.put(c, &tc.creds, appID, cloneCreds(creds))
	}
	return creds, err
}

func (c *Store) ListRoleAssignmentsByPrincipal(ctx context.Context, tenantID, principalID string) ([]directory.RoleAssignment, error) {
	tc := c.scope(tenantID)
	if tc != nil {
		if v, ok := tc.roles.Load(principalID); ok {
			return slices.Clone(v.([]directory.RoleAssignment)), nil
		}
	}
	as, err := c.Store.ListRoleAssignmentsByPrincipal(ctx, tenantID, principalID)
	if err == nil && tc != nil {
		tc.put(c, &tc.roles, principalID, slices.Clone(as))
	}
	return as, err
}

// GetUserEnabled caches found users only: a miss is a user deleted, whose
// tokens are refused before this is asked, and an object id nobody sent
// yet costs nothing to keep out.
func (c *Store) GetUserEnabled(ctx context.Context, tenantID, objectID string) (bool, error) {
	tc := c.scope(tenantID)
	if tc != nil {
		if v, ok := tc.users.Load(objectID); ok {
			return v.(bool), nil
		}
	}
	enabled, err := c.Store.GetUserEnabled(ctx, tenantID, objectID)
	if err == nil && tc != nil {
		tc.put(c, &tc.users, objectID, enabled)
	}
	return enabled, err
}

// Writes that touch what is cached: each invalidates after the store
// returns. A tenant write flushes everything (tenants are keyed by id and
// domain, and writes to them are rarer still).

func (c *Store) CreateTenant(ctx context.Context, t directory.Tenant) error {
	defer c.Flush()
	return c.Store.CreateTenant(ctx, t)
}

func (c *Store) UpdateTenant(ctx context.Context, t directory.Tenant) error {
	defer c.Flush()
	return c.Store.UpdateTenant(ctx, t)
}

// A domain moves the tenant lookup by domain: it flushes as a tenant
// write does.
func (c *Store) AddTenantDomain(ctx context.Context, tenantID string, d directory.TenantDomain) error {
	defer c.Flush()
	return c.Store.AddTenantDomain(ctx, tenantID, d)
}

func (c *Store) DeleteTenantDomain(ctx context.Context, tenantID, domain string) error {
	defer c.Flush()
	return c.Store.DeleteTenantDomain(ctx, tenantID, domain)
}

func (c *Store) CreateApplication(ctx context.Context, tenantID string, app directory.Application) error {
	defer c.invalidate(tenantID)
	return c.Store.CreateApplication(ctx, tenantID, app)
}

func (c *Store) UpdateApplication(ctx context.Context, tenantID string, app directory.Application) error {
	defer c.invalidate(tenantID)
	return c.Store.UpdateApplication(ctx, tenantID, app)
}

func (c *Store) DeleteApplication(ctx context.Context, tenantID, appID string) error {
	defer c.invalidate(tenantID)
	return c.Store.DeleteApplication(ctx, tenantID, appID)
}

func (c *Store) CreateServicePrincipal(ctx context.Context, tenantID string, sp directory.ServicePrincipal) error {
	defer c.invalidate(tenantID)
	return c.Store.CreateServicePrincipal(ctx, tenantID, sp)
}

func (c *Store) UpdateServicePrincipal(ctx context.Context, tenantID string, sp directory.ServicePrincipal) error {
	defer c.invalidate(tenantID)
	return c.Store.UpdateServicePrincipal(ctx, tenantID, sp)
}

func (c *Store) DeleteServicePrincipal(ctx context.Context, tenantID, objectID string) error {
	defer c.invalidate(tenantID)
	return c.Store.DeleteServicePrincipal(ctx, tenantID, objectID)
}

func (c *Store) AddCredential(ctx context.Context, tenantID string, cred directory.Credential) error {
	defer c.invalidate(tenantID)
	return c.Store.AddCredential(ctx, tenantID, cred)
}

func (c *Store) DeleteCredential(ctx context.Context, tenantID, appID, keyID string) error {
	defer c.invalidate(tenantID)
	return c.Store.DeleteCredential(ctx, tenantID, appID, keyID)
}

func (c *Store) CreateRoleAssignment(ctx context.Context, tenantID string, a directory.RoleAssignment) error {
	defer c.invalidate(tenantID)
	return c.Store.CreateRoleAssignment(ctx, tenantID, a)
}

func (c *Store) DeleteRoleAssignment(ctx context.Context, tenantID, id string) error {
	defer c.invalidate(tenantID)
	return c.Store.DeleteRoleAssignment(ctx, tenantID, id)
}

// UpdateUser may enable or disable the user. (Its sign-in failures,
// written far more often, go through RecordSignInFailure and
// ResetSignInFailures, which change nothing cached.)
func (c *Store) UpdateUser(ctx context.Context, tenantID string, u directory.User) error {
	defer c.invalidate(tenantID)
	return c.Store.UpdateUser(ctx, tenantID, u)
}

// DeleteUser also removes the user's role assignments.
func (c *Store) DeleteUser(ctx context.Context, tenantID, objectID string) error {
	defer c.invalidate(tenantID)
	return c.Store.DeleteUser(ctx, tenantID, objectID)
}

// Copies: what the cache holds is never handed out, so a caller may
// modify what it read (read, modify, write back is how updates work).

func cloneApp(a directory.Application) directory.Application {
	a.IdentifierURIs = slices.Clone(a.IdentifierURIs)
	a.Scopes = slices.Clone(a.Scopes)
	a.RedirectURIs = slices.Clone(a.RedirectURIs)
	if a.AppRoles != nil {
		roles := make([]directory.AppRole, len(a.AppRoles))
		for i, r := range a.AppRoles {
			r.AllowedMemberTypes = slices.Clone(r.AllowedMemberTypes)
			roles[i] = r
		}
		a.AppRoles = roles
	}
	if a.PreAuthorized != nil {
		pre := make([]directory.PreAuthorizedApplication, len(a.PreAuthorized))
		for i, p := range a.PreAuthorized {
			p.Scopes = slices.Clone(p.Scopes)
			pre[i] = p
		}
		a.PreAuthorized = pre
	}
	return a
}

func cloneCreds(cs []directory.Credential) []directory.Credential {
	if cs == nil {
		return nil
	}
	out := make([]directory.Credential, len(cs))
	for i, c := range cs {
		c.SecretHash = slices.Clone(c.SecretHash)
		c.CertificateDER = slices.Clone(c.CertificateDER)
		out[i] = c
	}
	return out
}
