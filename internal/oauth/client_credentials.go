package oauth

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/token"
)

// clientCredentials is the client credentials grant (RFC 6749 §4.4): an
// app-only token carrying the app roles the client holds on the resource,
// never delegated scopes.
type clientCredentials struct{ h *Handler }

// publicClients: a public client holds no credential to stand for itself
// (RFC 6749 §4.4: the client credentials grant is for confidential
// clients only).
func (clientCredentials) publicClients() bool { return false }

// tenantOf: an app-only token must name its tenant, as in Entra.
func (clientCredentials) tenantOf(req *tokenRequest) (string, *Error) {
	return "", errMultiTenant(req.TenantRef, "use a tenant-specific endpoint, /{tenant id or domain}/oauth2/…")
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

func (g clientCredentials) issue(ctx context.Context, req *tokenRequest, client directory.Client, clientAuth string) (any, *Error) {
	h := g.h
	resourceRef, param, oerr := requestedResource(req)
	if oerr != nil {
		return nil, oerr
	}
	decision, err := h.dir.AuthorizeClientCredentials(ctx, req.TenantID, client, resourceRef)
	switch {
	case errors.Is(err, directory.ErrUnknownResource):
		return nil, errUnknownResource(param, err)
	case errors.Is(err, directory.ErrNotAssigned):
		return nil, errNotAssigned(err)
	case err != nil:
		return nil, errServer(err)
	}
	res := decision.Resource
	version := res.App.AccessTokenAcceptedVersion
	aud := res.App.AppID
	if version == 1 {
		aud = res.Requested
	}
	now := h.now()
	lifetime := directory.AccessTokenLifetime(res.App, 0)
	claims := token.AppTokenClaims(token.AppTokenParams{
		Version: version, IssuerBase: h.publicURL, TenantID: req.TenantID, Audience: aud,
		ClientID: client.App.AppID, ClientSP: client.SP.ObjectID, ClientAuth: clientAuth,
		Roles: decision.Roles, IssuedAt: now, Lifetime: lifetime,
	})
	at, err := h.keys.Sign(claims)
	if err != nil {
		return nil, errServer(err)
	}
	req.issued = issuedToken{subject: client.SP.ObjectID, resource: res.App.AppID}
	h.log.DebugContext(ctx, "issued token", "grant", "client_credentials", "tenant", req.TenantID,
		"client", client.App.AppID, "resource", res.App.AppID, "roles", decision.Roles, "uti", claims.UTI, "endpoint_version", req.Version)
	secs := int64(lifetime.Seconds())
	if req.Version == 1 {
		return v1Response{
			TokenType: "Bearer", ExpiresIn: strconv.FormatInt(secs, 10), ExtExpiresIn: strconv.FormatInt(secs, 10),
			ExpiresOn: strconv.FormatInt(claims.Expiry, 10), NotBefore: strconv.FormatInt(claims.NotBefore, 10),
			Resource: resourceRef, AccessToken: at,
		}, nil
	}
	return v2Response{TokenType: "Bearer", ExpiresIn: secs, ExtExpiresIn: secs, AccessToken: at}, nil
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
