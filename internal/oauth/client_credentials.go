package oauth

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
)

// clientCredentials is the client credentials grant (RFC 6749 §4.4): an
// app-only token carrying the app roles the client holds on the resource,
// never delegated scopes.
type clientCredentials struct {
	dir interface {
		AuthorizeClientCredentials(ctx context.Context, tenantID string, client directory.Client, resourceRef string) (directory.ClientCredentialsGrant, error)
	}
}

// publicClients: a public client holds no credential to stand for itself
// (RFC 6749 §4.4: the client credentials grant is for confidential
// clients only).
func (clientCredentials) publicClients() bool { return false }

// tenantOf: an app-only token must name its tenant, as in Entra.
func (clientCredentials) tenantOf(req *tokenRequest) (string, *Error) {
	return "", errMultiTenant(req.TenantRef, "use a tenant-specific endpoint, /{tenant id or domain}/oauth2/…")
}

func (g clientCredentials) authorize(ctx context.Context, req *tokenRequest, client directory.Client) (authorization, *Error) {
	resourceRef, param, oerr := requestedResource(req)
	if oerr != nil {
		return authorization{}, oerr
	}
	decision, err := g.dir.AuthorizeClientCredentials(ctx, req.TenantID, client, resourceRef)
	switch {
	case errors.Is(err, directory.ErrUnknownResource):
		return authorization{}, errUnknownResource(param, err)
	case errors.Is(err, directory.ErrNotAssigned):
		return authorization{}, errNotAssigned(err)
	case err != nil:
		return authorization{}, errServer(err)
	}
	return authorization{app: &appAuthorization{resource: decision.Resource, roles: decision.Roles, requested: resourceRef}}, nil
}

// v2Response is the v2 endpoint's success body (RFC 6749 §5.1, Entra's
// ext_expires_in). expires_in is a JSON number: some clients (the Azure
// CLI among them) break on a string.
type v2Response struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
}

// v1Response is the v1 endpoint's body, with Entra's v1 fields, which it
// sends as strings.
type v1Response struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    string `json:"expires_in"`
	ExtExpiresIn string `json:"ext_expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	AccessToken  string `json:"access_token"`
}

// requestedResource reads the resource of a client-credentials request:
// `resource` on the v1 endpoint, one `{resource}/.default` scope on v2
// (Entra's rule: app-only tokens carry every role granted, so the only
// meaningful scope is .default).
func requestedResource(req *tokenRequest) (ref, param string, oerr *Error) {
	if req.Version == 1 {
		if req.Resource == "" {
			return "", "", errMissingParameter("resource")
		}
		return req.Resource, "resource", nil
	}
	if req.Scope == "" {
		return "", "", errMissingParameter("scope")
	}
	// MSAL adds openid, profile and offline_access to every request, app
	// tokens included, and Entra ignores them there: an app token has no
	// user to identify and no refresh token.
	scopes := slices.DeleteFunc(strings.Fields(req.Scope), directory.IsOIDCScope)
	if len(scopes) != 1 || !strings.HasSuffix(scopes[0], "/.default") {
		return "", "", errInvalidScope("The provided value for scope '" + clip(req.Scope) + "' is not valid. Client credential flows must have exactly one scope value with /.default suffixed to the resource identifier (application ID URI).")
	}
	return strings.TrimSuffix(scopes[0], "/.default"), "scope", nil
}

// clip keeps error descriptions short whatever a client sends.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
