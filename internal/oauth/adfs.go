package oauth

import (
	"context"
	"net/http"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/token"
)

// The AD FS–shaped authority, https://{host}/adfs. MSAL (Python, Go,
// .NET) recognises an authority whose first path segment is "adfs" as AD
// FS: it skips instance discovery (which for a host it does not know asks
// login.microsoftonline.com, and so fails for tessera), reads
// /adfs/.well-known/openid-configuration, and sends every request to the
// endpoints it names. The Azure CLI versions that cannot turn instance
// discovery off work against tessera this way.
//
// The authority names no tenant, so each request finds its own (see
// adfsTenant); then it is served by the same code as the tenant's v2
// endpoint, with two differences: ID tokens carry iss {publicURL}/adfs,
// the issuer the document promises, and an ADAL-style resource parameter
// is read as v1 reads it. Access tokens keep their tenant's issuer: the
// resource servers that validate them know the tenant, not /adfs.

// adfsSegment is the authority's path segment; directory reserves it as a
// tenant domain.
const adfsSegment = "adfs"

// adfsBase is the authority, also its issuer.
func (h *Handler) adfsBase() string { return h.publicURL + "/" + adfsSegment }

// registerADFS adds the /adfs/ routes. The authorization and logout
// endpoints are the pages' (package web).
func (h *Handler) registerADFS(mux *http.ServeMux) {
	mux.HandleFunc("GET /adfs/.well-known/openid-configuration", h.adfsDiscovery)
	mux.HandleFunc("GET /adfs/discovery/keys", func(w http.ResponseWriter, r *http.Request) {
		// One key set for every tenant: the multi-tenant aliases' answer.
		r.SetPathValue("tenant", "common")
		h.jwks(w, r)
	})
	mux.HandleFunc("POST /adfs/oauth2/token", h.limitAddress(h.adfsToken))
	if h.sessions != nil {
		mux.HandleFunc("POST /adfs/oauth2/devicecode", h.limitAddress(h.limitDevice(h.adfsDeviceAuthorization)))
	}
}

// adfsDiscoveryDoc is the OpenID Provider Metadata (OpenID Connect
// Discovery 1.0 §3) of /adfs. Every endpoint it names is under /adfs/;
// revocation, introspection and the revocation feed stay at the tenants'
// endpoints and are not advertised here.
type adfsDiscoveryDoc struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	DeviceAuthorizationEndpoint                string   `json:"device_authorization_endpoint"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	FrontchannelLogoutSupported                bool     `json:"frontchannel_logout_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs               []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	// MicrosoftMultiRefreshToken is AD FS's: one refresh token serves
	// every resource the user consented to, as tessera's do.
	MicrosoftMultiRefreshToken bool `json:"microsoft_multi_refresh_token"`
}

func (h *Handler) adfsDiscovery(w http.ResponseWriter, r *http.Request) {
	base := h.adfsBase()
	writeCacheable(w, adfsDiscoveryDoc{
		Issuer:                      base,
		AuthorizationEndpoint:       base + "/oauth2/authorize",
		TokenEndpoint:               base + "/oauth2/token",
		DeviceAuthorizationEndpoint: base + "/oauth2/devicecode",
		EndSessionEndpoint:          base + "/oauth2/logout",
		JWKSURI:                     base + "/discovery/keys",
		AuthorizationResponseIssParameterSupported: true,
		CodeChallengeMethodsSupported:              []string{"S256"},
		TokenEndpointAuthMethodsSupported:          []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		TokenEndpointAuthSigningAlgs:               assertionAlgNames(),
		GrantTypesSupported:                        h.grantTypesSupported(),
		ResponseModesSupported:                     []string{"query", "form_post"},
		ResponseTypesSupported:                     []string{"code"},
		SubjectTypesSupported:                      []string{"public"},
		IDTokenSigningAlgValuesSupported:           []string{token.RS256, token.ES256},
		ScopesSupported:                            []string{"openid", "profile", "email", "offline_access"},
		ClaimsSupported:                            []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "azp", "appid", "roles", "scp", "ver", "uti", "jti", "sid", "name", "preferred_username", "upn", "email", "nonce", "auth_time"},
		MicrosoftMultiRefreshToken:                 true,
	}, 3600)
}

// adfsToken is /adfs/oauth2/token: it finds the tenant and serves the
// request as the tenant's v2 token endpoint does.
func (h *Handler) adfsToken(w http.ResponseWriter, r *http.Request) {
	req, oerr := parseClientRequest(w, r)
	if oerr == nil && req.GrantType == "" {
		oerr = errMissingParameter("grant_type")
	}
	if oerr == nil {
		oerr = h.serveADFSToken(w, r, req)
	}
	if oerr != nil {
		writeError(w, r, h.log, oerr)
	}
}

func (h *Handler) serveADFSToken(w http.ResponseWriter, r *http.Request, req *tokenRequest) *Error {
	var presented func(*tokenRequest) (string, *Error)
	if g, ok := h.grants[req.GrantType]; ok {
		presented = g.tenantOf
	}
	tid, oerr := h.adfsTenant(r.Context(), req, presented)
	if oerr != nil {
		return oerr
	}
	r.SetPathValue("tenant", tid)
	req.Scope = directory.FoldResource(req.Scope, req.Resource)
	req.IDIssuer = h.adfsBase()
	return h.serveToken(w, r, req, 2)
}

// adfsDeviceAuthorization is /adfs/oauth2/devicecode: the device flow of
// the tenant found, at the v2 endpoint's rules. The user code is entered
// at that tenant's /devicelogin, which the response names.
func (h *Handler) adfsDeviceAuthorization(w http.ResponseWriter, r *http.Request) {
	req, oerr := parseClientRequest(w, r)
	if oerr == nil {
		var tid string
		if tid, oerr = h.adfsTenant(r.Context(), req, nil); oerr == nil {
			r.SetPathValue("tenant", tid)
			req.Scope = directory.FoldResource(req.Scope, req.Resource)
			oerr = h.startDeviceAuthorization(w, r, req, 2)
		}
	}
	if oerr != nil {
		writeError(w, r, h.log, oerr)
	}
}

// adfsTenant finds the tenant of a request to /adfs/, in this order:
//  1. the tenant that registers the client: application ids are unique
//     across tenants, so this is the client's own tenant, never a guess;
//  2. for the well-known clients every tenant registers (the CLI's, the
//     management application's), never "whichever tenant registers it":
//     the tenant the request's own values name (presented: a password
//     grant's username domain, each domain held by one tenant; the tenant
//     a code, refresh token or device code was issued in, see
//     session.TenantOf), when it exists;
//  3. the home tenant, a fixed choice of the operator.
//
// A name that resolves nowhere falls through rather than failing: the
// grant then fails in the home tenant as a wrong credential would, and
// does not tell which domains exist.
func (h *Handler) adfsTenant(ctx context.Context, req *tokenRequest, presented func(*tokenRequest) (string, *Error)) (string, *Error) {
	t, ok, err := h.dir.TenantOfApplication(ctx, req.ClientID)
	if err != nil {
		return "", errServer(err)
	}
	if ok {
		return t.ID, nil
	}
	if presented != nil {
		if ref, oerr := presented(req); oerr == nil && ref != "" && !multiTenantAliases[ref] {
			if t, oerr := h.lookupTenant(ctx, ref); oerr == nil {
				return t.ID, nil
			} else if oerr.Status >= 500 {
				return "", oerr
			}
		}
	}
	if h.home == "" {
		return "", errMultiTenant(adfsSegment, "no tenant registers the client and no home tenant is configured: use /{tenant id or domain}/oauth2/…")
	}
	t, oerr := h.lookupTenant(ctx, h.home)
	if oerr != nil {
		return "", oerr
	}
	return t.ID, nil
}
