package oauth

import (
	"net/http"
	"strconv"

	"github.com/tessera-id/tessera/internal/token"
)

// multiTenantAliases are the {tenant} values that stand for "any tenant"
// in discovery, as in Entra; their documents carry the {tenantid} template.
var multiTenantAliases = map[string]bool{"common": true, "organizations": true}

// discoveryDoc is the OpenID Provider Metadata (OpenID Connect Discovery
// 1.0 §3; RFC 8414 §2) in Entra's shape. Endpoints that tessera does not
// serve are left out rather than advertised.
type discoveryDoc struct {
	Issuer                      string `json:"issuer"`
	AuthorizationEndpoint       string `json:"authorization_endpoint"`
	TokenEndpoint               string `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"`
	EndSessionEndpoint          string `json:"end_session_endpoint"`
	// RevocationEndpoint is left out at the multi-tenant aliases (see
	// discovery).
	RevocationEndpoint    string `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint string `json:"introspection_endpoint"`
	// RevocationFeedEndpoint is tessera's own: the feed of revoked
	// sessions, users, clients and tokens that the guard follows.
	RevocationFeedEndpoint string `json:"revocation_feed_endpoint"`
	JWKSURI                string `json:"jwks_uri"`
	// AuthorizationResponseIssParameterSupported: every authorization
	// response carries iss (RFC 9207 §3), so clients can detect mix-up.
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	FrontchannelLogoutSupported                bool     `json:"frontchannel_logout_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs               []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	TenantRegionScope                          *string  `json:"tenant_region_scope"`
	CloudInstanceName                          string   `json:"cloud_instance_name"`
}

func (h *Handler) discovery(version int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref := r.PathValue("tenant")
		tid := "{tenantid}"
		if !multiTenantAliases[ref] {
			t, oerr := h.resolveTenant(r.Context(), ref)
			if oerr != nil {
				writeError(w, r, h.log, oerr)
				return
			}
			tid = t.ID
		}
		// Entra's multi-tenant documents keep the alias in the endpoints
		// (the tenant is decided at sign-in) and template only the issuer.
		base := h.publicURL + "/" + tid
		if multiTenantAliases[ref] {
			base = h.publicURL + "/" + ref
		}
		doc := discoveryDoc{
			Issuer: token.Issuer(h.publicURL, tid, version),
			AuthorizationResponseIssParameterSupported: true,
			TokenEndpointAuthMethodsSupported:          []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			TokenEndpointAuthSigningAlgs:               assertionAlgNames(),
			GrantTypesSupported:                        h.grantTypesSupported(),
			ResponseModesSupported:                     []string{"query", "form_post"},
			// sub is the user's object id, the same for every client.
			SubjectTypesSupported:            []string{"public"},
			CodeChallengeMethodsSupported:    []string{"S256"},
			IDTokenSigningAlgValuesSupported: []string{token.RS256, token.ES256},
			ResponseTypesSupported:           []string{"code"},
			ScopesSupported:                  []string{"openid", "profile", "email", "offline_access"},
			ClaimsSupported:                  []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "azp", "appid", "roles", "scp", "ver", "uti", "jti", "sid", "name", "preferred_username", "upn", "email", "nonce", "auth_time"},
			CloudInstanceName:                hostOf(h.publicURL),
		}
		if version == 2 {
			doc.AuthorizationEndpoint = base + "/oauth2/v2.0/authorize"
			doc.TokenEndpoint = base + "/oauth2/v2.0/token"
			doc.DeviceAuthorizationEndpoint = base + "/oauth2/v2.0/devicecode"
			doc.JWKSURI = base + "/discovery/v2.0/keys"
		} else {
			doc.AuthorizationEndpoint = base + "/oauth2/authorize"
			doc.TokenEndpoint = base + "/oauth2/token"
			doc.DeviceAuthorizationEndpoint = base + "/oauth2/devicecode"
			doc.JWKSURI = base + "/discovery/keys"
		}
		// One logout, revocation, introspection and feed for both
		// versions, at the v2 paths.
		doc.EndSessionEndpoint = base + "/oauth2/v2.0/logout"
		doc.RevocationEndpoint = base + "/oauth2/v2.0/revoke"
		doc.IntrospectionEndpoint = base + "/oauth2/v2.0/introspect"
		doc.RevocationFeedEndpoint = base + "/oauth2/v2.0/revocations"
		if multiTenantAliases[ref] {
			// The feed and introspection speak for one tenant, and at an
			// alias answer 400. A resource server knows the tenant from
			// the token it holds: they are templates like the issuer,
			// which the guard fills with the token's tid. A client
			// revoking its refresh token (RFC 7009) fills no template,
			// and is told of no endpoint rather than of one that fails,
			// as Entra's documents name none (RFC 8414 §2: OPTIONAL).
			tmpl := h.publicURL + "/" + tid
			doc.IntrospectionEndpoint = tmpl + "/oauth2/v2.0/introspect"
			doc.RevocationFeedEndpoint = tmpl + "/oauth2/v2.0/revocations"
			doc.RevocationEndpoint = ""
		}
		writeCacheable(w, doc, 3600)
	}
}

// jwks serves the JSON Web Key Set (RFC 7517 §5). It may be cached briefly:
// a next key is published a whole rotation before it signs.
func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("tenant")
	if !multiTenantAliases[ref] {
		if _, oerr := h.resolveTenant(r.Context(), ref); oerr != nil {
			writeError(w, r, h.log, oerr)
			return
		}
	}
	body := h.keys.JWKS()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}
