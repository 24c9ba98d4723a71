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

// TenantOfApplication returns the tenant that registers the application
// appID; ok is false when none does, and always for a well-known id
// (IsWellKnownAppID), which every tenant registers: for those the user's
// domain or the value presented must decide, never "whichever tenant
// registers it". One indexed read: application ids are unique across
// tenants (Repository.CreateApplication).
func (s *Service) TenantOfApplication(ctx context.Context, appID string) (t Tenant, ok bool, err error) {
	appID = strings.ToLower(strings.TrimSpace(appID))
	if !IsGUID(appID) || IsWellKnownAppID(appID) {
		return Tenant{}, false, nil
	}
	id, err := s.repo.TenantOfApplication(ctx, appID)
	if errors.Is(err, ErrNotFound) {
		return Tenant{}, false, nil
	}
	if err != nil {
		return Tenant{}, false, err
	}
	t, err = s.repo.GetTenant(ctx, id)
	if err != nil {
		return Tenant{}, false, err
	}
	return t, true, nil
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
