package oauth

import (
	"errors"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
)

// maxFormBytes bounds a token request body. Real requests are well under
// 8 KiB (a client assertion is the largest part).
const maxFormBytes = 64 << 10

// Client assertion type of RFC 7523 §2.2.
const assertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// tokenRequest is a token request parsed once, before any grant sees it.
type tokenRequest struct {
	// Version is the endpoint: 1 for /oauth2/token, 2 for /oauth2/v2.0/token.
	Version int
	// TenantRef is the {tenant} path segment as the client sent it.
	TenantRef string
	// Tenant is the tenant the request is for, with its policy; TenantID
	// its id.
	Tenant   directory.Tenant
	TenantID string
	// Endpoint is the URL the request was addressed to, for checking the
	// audience of client assertions.
	Endpoint string
	// IDIssuer overrides the iss of ID tokens: the AD FS–shaped authority
	// issues them as {publicURL}/adfs, its discovery document's issuer.
	// Empty: the tenant's issuer.
	IDIssuer string

	GrantType string
	ClientID  string
	// Client authentication, at most one method (RFC 6749 §2.3).
	ClientSecret        string
	BasicAuth           bool
	ClientAssertionType string
	ClientAssertion     string

	Scope    string
	Resource string

	// Parameters of the user grants.
	Code         string // authorization_code (RFC 6749 §4.1.3)
	RedirectURI  string
	CodeVerifier string // RFC 7636 §4.5
	RefreshToken string // RFC 6749 §6
	Username     string // password (RFC 6749 §4.3.2)
	Password     string
	DeviceCode   string // RFC 8628 §3.4: device_code, or code as msal-node sends it
	// ClientInfo: the client asked for Microsoft's client_info (client_info=1).
	ClientInfo bool

	// clientAddr is the address sign-in failures count against (the
	// zero Addr when exempt): see ratelimit.Limits.SignInAddress.
	clientAddr netip.Addr

	form url.Values
}

// parseClientRequest reads a form POSTed by a client to the token,
// device authorization, revocation or introspection endpoint, with the
// client's authentication (RFC 6749 §2.3).
func parseClientRequest(w http.ResponseWriter, r *http.Request) (*tokenRequest, *Error) {
	if r.Method != http.MethodPost {
		return nil, errInvalidRequest("The endpoint accepts only POST.")
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		// RFC 6749 §4.4.2 / §3.2: parameters are form-encoded in the body.
		return nil, errInvalidRequest("The request body must be application/x-www-form-urlencoded.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errBodyTooLarge()
		}
		return nil, errInvalidRequest("The request body is not a valid form.")
	}
	form := r.PostForm
	// RFC 6749 §3.2: parameters MUST NOT be included more than once.
	for k, v := range form {
		if len(v) > 1 {
			return nil, errInvalidRequest("The parameter '" + k + "' is included more than once.")
		}
	}
	// Secrets and assertions must not travel in the query string, where
	// they end up in logs (RFC 6749 §2.3.1).
	for _, k := range []string{"client_secret", "client_assertion", "refresh_token", "code", "password", "code_verifier", "device_code", "token"} {
		if r.URL.Query().Has(k) {
			return nil, errInvalidRequest("The parameter '" + k + "' must be sent in the request body, not the URL.")
		}
	}
	req := &tokenRequest{
		GrantType:           form.Get("grant_type"),
		ClientID:            form.Get("client_id"),
		ClientSecret:        form.Get("client_secret"),
		ClientAssertionType: form.Get("client_assertion_type"),
		ClientAssertion:     form.Get("client_assertion"),
		Scope:               form.Get("scope"),
		Resource:            form.Get("resource"),
		Code:                form.Get("code"),
		RedirectURI:         form.Get("redirect_uri"),
		CodeVerifier:        form.Get("code_verifier"),
		RefreshToken:        form.Get("refresh_token"),
		Username:            form.Get("username"),
		Password:            form.Get("password"),
		DeviceCode:          form.Get("device_code"),
		// Other values of client_info, and claims, client_capabilities,
		// response_type, x-client-* and client-request-id, which MSAL
		// sends, are ignored.
		ClientInfo: form.Get("client_info") == "1",
		form:       form,
	}
	if user, pass, ok := r.BasicAuth(); ok {
		// RFC 6749 §2.3.1: both halves are form-urlencoded before Basic
		// encoding; clients do percent-encode characters such as '-'.
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil {
			return nil, errInvalidClient(errors.New("basic credentials are not form-urlencoded"))
		}
		if req.ClientSecret != "" || req.ClientAssertion != "" {
			return nil, errInvalidRequest("The client used more than one authentication method.")
		}
		if req.ClientID != "" && !strings.EqualFold(req.ClientID, id) {
			return nil, errInvalidRequest("The client_id parameter does not match the client authenticated by HTTP Basic.")
		}
		req.ClientID, req.ClientSecret, req.BasicAuth = id, secret, true
	}
	if req.ClientSecret != "" && req.ClientAssertion != "" {
		return nil, errInvalidRequest("The client used more than one authentication method.")
	}
	return req, nil
}
