package directory

import (
	"context"
	"errors"
	"strings"
)

// The AD FS–shaped authority (https://{host}/adfs) names no tenant: MSAL
// treats an authority whose first path segment is "adfs" as AD FS and
// sends every request there. These are the rules that find the tenant of
// such a request, and that read its ADAL-style resource parameter; the
// HTTP layers apply them in the order the protocol allows.

// SoleTenantOf returns the tenant that registers the application appID
// when exactly one tenant does; ok is false when none or several do (the
// CLI's public client is registered in every tenant, so for it the user's
// domain or the value presented must decide).
//
// It asks every tenant: AD FS requests are sign-ins, not the hot path of
// client credentials, and tenants are few.
func (s *Service) SoleTenantOf(ctx context.Context, appID string) (t Tenant, ok bool, err error) {
	appID = strings.ToLower(strings.TrimSpace(appID))
	if !IsGUID(appID) {
		return Tenant{}, false, nil
	}
	tenants, err := s.repo.ListTenants(ctx)
	if err != nil {
		return Tenant{}, false, err
	}
	found := 0
	for _, cand := range tenants {
		_, err := s.repo.GetApplication(ctx, cand.ID, appID)
		switch {
		case errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			return Tenant{}, false, err
		}
		if found++; found > 1 {
			return Tenant{}, false, nil
		}
		t = cand
	}
	return t, found == 1, nil
}

// FoldResource reads a v1 (ADAL, AD FS) resource parameter into a v2
// scope parameter: when the scope names no resource (only OpenID Connect
// scopes, or nothing), the resource becomes {resource}/.default, which
// asks for what the v1 endpoint gives for resource= (every scope the
// client may use). A scope that names a resource wins, as at Entra's v2
// endpoint, which ignores resource. The resource is appended verbatim:
// https://management.core.windows.net/ becomes
// https://management.core.windows.net//.default, the form ParseScopes
// resolves to that identifier URI.
func FoldResource(scope, resource string) string {
	resource = strings.TrimSpace(resource)
	if resource == "" {
		return scope
	}
	for _, sc := range strings.Fields(scope) {
		if !IsOIDCScope(sc) {
			return scope
		}
	}
	return strings.TrimSpace(scope + " " + resource + "/.default")
}
