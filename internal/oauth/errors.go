// Package oauth is tessera's protocol layer: the token endpoint and its
// grants, client authentication, discovery and JWKS, at the Microsoft
// identity platform's URL shapes. It parses requests, asks the directory
// and the key ring, and writes responses; it holds no state of its own.
package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/metrics"
)

// Error is an OAuth error response (RFC 6749 §5.2) with the Entra fields
// clients log (AADSTS code, trace and correlation ids). Description is what
// the caller sees; Cause is for the log only and never leaves the server.
type Error struct {
	Code        string // the OAuth "error" value
	Status      int
	AADSTS      int
	Description string
	// SubError is Entra's suberror field (e.g. consent_required), empty
	// when there is none.
	SubError string
	Cause    error
	// RetryAfter, when positive, is sent as Retry-After (RFC 9110
	// §10.2.3) in whole seconds.
	RetryAfter time.Duration
	// product is the error in the product-login API's shape where it
	// differs from the OAuth one (see productShape): that API has its own
	// codes and statuses, which its clients have always read.
	product *productError
}

// productError is the product-login API's column of the error table.
type productError struct {
	status      int
	code        string
	description string
	retryAfter  time.Duration
}

// productShape is e as the product-login API answers it: its own column
// where the table has one, else the OAuth code, status and words.
func (e *Error) productShape() productError {
	if e.product != nil {
		return *e.product
	}
	return productError{status: e.Status, code: e.Code, description: e.Description, retryAfter: e.RetryAfter}
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s (AADSTS%d): %s: %v", e.Code, e.AADSTS, e.Description, e.Cause)
	}
	return fmt.Sprintf("%s (AADSTS%d): %s", e.Code, e.AADSTS, e.Description)
}

func (e *Error) Unwrap() error { return e.Cause }

// The client-visible errors, in one reviewable table. Each constructor
// returns a fresh value. AADSTS numbers are Entra's where one exists, so
// that people searching for them find the right explanation.
func errMissingParameter(name string) *Error {
	return &Error{Code: "invalid_request", Status: 400, AADSTS: 900144,
		Description: fmt.Sprintf("The request body must contain the following parameter: '%s'.", name)}
}

func errInvalidRequest(desc string) *Error {
	return &Error{Code: "invalid_request", Status: 400, AADSTS: 900144, Description: desc}
}

func errTenantNotFound(tenant string) *Error {
	return &Error{Code: "invalid_request", Status: 400, AADSTS: 90002,
		Description: fmt.Sprintf("Tenant '%s' not found. Check that the tenant id or domain name is right.", tenant),
		product:     &productError{status: 400, code: "invalid_request", description: fmt.Sprintf("Tenant '%s' not found.", clip(tenant))}}
}

// errInvalidClient is one error for unknown client, wrong secret, expired
// or removed credential and bad assertion: the caller cannot tell them
// apart (RFC 6749 §5.2 allows 401; the log has the reason).
func errInvalidClient(cause error) *Error {
	return &Error{Code: "invalid_client", Status: 401, AADSTS: 7000215, Cause: cause,
		Description: "Invalid client credentials. Check the client id, and that the secret is the secret's value (not its id) or that the assertion is signed by a registered certificate."}
}

func errClientDisabled(cause error) *Error {
	return &Error{Code: "unauthorized_client", Status: 400, AADSTS: 7000112, Cause: cause,
		Description: "The application has no enabled service principal in this tenant."}
}

func errNotAssigned(cause error) *Error {
	return &Error{Code: "unauthorized_client", Status: 400, AADSTS: 501051, Cause: cause,
		Description: "The application is not assigned to a role for the requested resource, which requires assignment."}
}

// errUserNotAssigned: the token would be for a resource whose service
// principal requires assignment, and the user holds none of its roles
// (directory.ErrUserNotAssigned). Entra's AADSTS50105, in its words.
func errUserNotAssigned(user directory.User, res directory.Resource, cause error) *Error {
	return &Error{Code: "invalid_grant", Status: 400, AADSTS: 50105, Cause: cause,
		Description: fmt.Sprintf("The signed in user '%s' is not assigned to a role for the application '%s' (%s). The application requires assignment: an administrator of the tenant must assign the user one of its app roles.",
			user.UserPrincipalName, res.App.AppID, clip(res.App.DisplayName)),
		product: &productError{status: 403, code: "not_assigned",
			description: fmt.Sprintf("The signed in user '%s' is not assigned to a role for the application '%s' (%s): an administrator of the tenant must assign the user one of its app roles.",
				user.UserPrincipalName, res.App.AppID, clip(res.App.DisplayName))}}
}

func errUnknownResource(param string, cause error) *Error {
	code := "invalid_scope"
	if param == "resource" {
		code = "invalid_resource"
	}
	return &Error{Code: code, Status: 400, AADSTS: 500011, Cause: cause,
		Description: "The resource principal named in the request was not found in the tenant."}
}

func errInvalidScope(desc string) *Error {
	return &Error{Code: "invalid_scope", Status: 400, AADSTS: 1002012, Description: desc}
}

func errUnsupportedGrantType(gt string) *Error {
	return &Error{Code: "unsupported_grant_type", Status: 400, AADSTS: 70003,
		Description: fmt.Sprintf("The grant type '%s' is not supported at this endpoint.", gt)}
}

// errInvalidGrant is RFC 6749 §5.2 invalid_grant: the code, refresh token,
// device code or user credentials are invalid, expired, revoked, or were
// issued to another client. The description says which in words a person
// can act on; the cause (for the log) says exactly why.
func errInvalidGrant(aadsts int, desc string, cause error) *Error {
	return &Error{Code: "invalid_grant", Status: 400, AADSTS: aadsts, Description: desc, Cause: cause}
}

// Authorization code failures (RFC 6749 §4.1.3, RFC 7636 §4.6).
func errBadCode(cause error) *Error {
	return errInvalidGrant(70000, "The provided value for the 'code' parameter is not valid.", cause)
}

func errCodeRedeemed(cause error) *Error {
	return errInvalidGrant(54005, "The authorization code was already redeemed; the tokens issued from it are revoked. Please try again with a new code.", cause)
}

func errCodeExpired(cause error) *Error {
	return errInvalidGrant(70008, "The provided authorization code has expired. Please sign in again.", cause)
}

func errRedirectMismatch(cause error) *Error {
	return errInvalidGrant(50011, "The redirect_uri does not match the redirect URI the authorization code was issued for.", cause)
}

func errPKCE(cause error) *Error {
	return errInvalidGrant(501481, "The code_verifier does not match the code_challenge supplied in the authorization request.", cause)
}

// Refresh token failures (RFC 6749 §6, RFC 9700 §4.14).
func errBadRefreshToken(cause error) *Error {
	return errInvalidGrant(9002313, "The provided refresh token is not valid.", cause)
}

func errRefreshExpired(cause error) *Error {
	return errInvalidGrant(700082, "The refresh token has expired due to inactivity or reached its maximum lifetime. Please sign in again.", cause)
}

func errGrantRevoked(cause error) *Error {
	return errInvalidGrant(50173, "The provided grant has been revoked (sign-out, reuse of a rotated refresh token, or a change of the account). Please sign in again.", cause)
}

// User credential failures of the password grant (RFC 6749 §4.3). An
// unknown user and a wrong password read the same.
func errBadCredentials(cause error) *Error {
	e := errInvalidGrant(50126, "Error validating credentials due to invalid username or password.", cause)
	e.product = &productError{status: 401, code: "invalid_credentials", description: "Invalid username or password."}
	return e
}

// errAccountLocked: Entra answers AADSTS50053 both for an account locked
// after wrong passwords and for a sign-in blocked because of where it
// came from, so a banned address gets it too, with its own words.
//
// The product login answers 429 rather than 423: 423 is WebDAV's
// "resource locked", which HTTP clients and retry libraries do not know,
// while 429 with Retry-After (until the lock ends) is what they honour.
func errAccountLocked(e *directory.LockedError, now time.Time, cause error) *Error {
	until := e.Until.UTC().Format(time.RFC3339)
	desc := "The account is locked after repeated failed sign-ins; try again after " + until + "."
	switch {
	case e.Address:
		desc = "Sign-in from this address is blocked after repeated failed sign-ins from it; try again after " + until + "."
	case !e.Locked:
		desc = "Too many failed sign-ins; wait until " + until + " before trying again."
	}
	p := &productError{status: 429, code: "too_many_attempts", retryAfter: e.Until.Sub(now),
		description: "Too many failed sign-ins: try again after " + until + "."}
	if e.Address {
		p.description = "Too many failed sign-ins from this address: try again after " + until + "."
	}
	out := errInvalidGrant(50053, desc, cause)
	out.product = p
	return out
}

func errUserDisabled(cause error) *Error {
	e := errInvalidGrant(50057, "The user account is disabled.", cause)
	e.product = &productError{status: 403, code: "account_disabled", description: e.Description}
	return e
}

// errNameNotBound: the user's name is not in a domain of its tenant (a
// user from before names were bound to domains). Entra has no such state;
// it is a disabled account until an administrator acts, so 50057, with
// words that say what to do.
func errNameNotBound(cause error) *Error {
	e := errInvalidGrant(50057, "The user account cannot sign in: its user name is not in a domain of its tenant. An administrator must rename the user or add the domain to the tenant.", cause)
	e.product = &productError{status: 403, code: "account_disabled", description: e.Description}
	return e
}

// errConsentRequired: the user has not consented to a requested scope and
// the grant cannot ask (password, refresh). Entra sends suberror
// consent_required so that clients know to send the user through the
// authorization endpoint.
func errConsentRequired(cause error) *Error {
	return &Error{Code: "invalid_grant", Status: 400, AADSTS: 65001, SubError: "consent_required", Cause: cause,
		Description: "The user or administrator has not consented to use the application for the requested scopes. Send an interactive authorization request for this user and resource."}
}

func errPasswordGrantDisabled() *Error {
	return &Error{Code: "unauthorized_client", Status: 400, AADSTS: 70003,
		Description: "The password grant (resource owner password credentials) is disabled in this tenant. Use the authorization code or device code flow."}
}

// errMultiTenant: the tenant of a request to /common/ or /organizations/
// cannot be known (RFC 6749 has no notion of it; Entra answers 90099 for
// app-only requests there).
func errMultiTenant(ref, how string) *Error {
	return &Error{Code: "invalid_request", Status: 400, AADSTS: 90099,
		Description: "The tenant '" + ref + "' cannot issue tokens here: " + how}
}

// Device flow answers (RFC 8628 §3.5); all 400.
func errDevicePending() *Error {
	return &Error{Code: "authorization_pending", Status: 400, AADSTS: 70016,
		Description: "OAuth 2.0 device flow error. Authorization is pending. Continue polling."}
}

func errDeviceSlowDown() *Error {
	return &Error{Code: "slow_down", Status: 400, AADSTS: 70016,
		Description: "OAuth 2.0 device flow error. Polling too fast: wait 5 more seconds between requests."}
}

func errDeviceExpired(cause error) *Error {
	return &Error{Code: "expired_token", Status: 400, AADSTS: 70019, Cause: cause,
		Description: "The device code has expired or was used. Start the device flow again."}
}

func errDeviceDenied() *Error {
	return &Error{Code: "access_denied", Status: 400, AADSTS: 70000,
		Description: "The user declined the sign-in on the device."}
}

func errBadDeviceCode(cause error) *Error {
	return errInvalidGrant(70000, "The provided value for the 'device_code' parameter is not valid.", cause)
}

// errThrottled: an abuse limit refused the request (RFC 6585 §4, 429 with
// Retry-After). temporarily_unavailable is what Entra's token endpoint
// documents for "too busy, retry after a small delay"; 90055 is Entra's
// TenantThrottlingError, "There are too many incoming requests" (Entra
// answers client-credentials floods with 429 and Retry-After, per MSAL's
// client throttling notes).
func errThrottled(wait time.Duration) *Error {
	return &Error{Code: "temporarily_unavailable", Status: http.StatusTooManyRequests, AADSTS: 90055, RetryAfter: wait,
		Description: "Too many requests: wait for the time in Retry-After before trying again."}
}

// errDevicePendingLimit: the client has as many device authorizations
// pending in the tenant as the server keeps (session.PendingLimitError).
// RFC 8628 §3.1 gives the device authorization endpoint the token
// endpoint's errors (RFC 6749 §5.2), none of which fits "not now":
// slow_down (§3.5) is an answer to polling, with a 400 that tells a client
// to keep polling, not to wait. So the answer is errThrottled's, 429
// temporarily_unavailable with Retry-After (RFC 6585 §4), which MSAL and
// the Azure CLI already honour, with the wait until the first pending code
// expires and words that say this is the application's limit, not the
// caller's.
func errDevicePendingLimit(wait time.Duration, cause error) *Error {
	return &Error{Code: "temporarily_unavailable", Status: http.StatusTooManyRequests, AADSTS: 90055, RetryAfter: wait, Cause: cause,
		Description: "Too many device sign-ins are waiting for this application in this tenant: wait for the time in Retry-After before trying again."}
}

// errBusy: every password hashing slot stayed busy for the brief wait
// (directory.ErrBusy). 503 with Retry-After (RFC 9110 §15.6.4): the
// server, not the client, is short; 90006 is Entra's
// ExternalServerRetryableError, "The service is temporarily unavailable".
func errBusy(cause error) *Error {
	return &Error{Code: "temporarily_unavailable", Status: http.StatusServiceUnavailable, AADSTS: 90006, RetryAfter: busyRetryAfter, Cause: cause,
		Description: "The server is busy checking other sign-ins: try again in a moment."}
}

// busyRetryAfter is the wait suggested when password hashing is at
// capacity: about one queue wait (directory.DefaultHashWait).
const busyRetryAfter = 2 * time.Second

func errServer(cause error) *Error {
	return &Error{Code: "server_error", Status: 500, AADSTS: 50000, Cause: cause,
		Description: "The server failed to process the request. Give the trace id to the operator.",
		// The product API's writer appends the trace id itself.
		product: &productError{status: 500, code: "server_error", description: "The server failed to process the request."}}
}

// The product login's own refusals (productlogin.go). They are
// invalid_request in either shape.

// errProductLoginOff: the tenant's policy names no resource.
func errProductLoginOff(t directory.Tenant, cause error) *Error {
	return &Error{Code: "invalid_request", Status: 400, AADSTS: 900144, Cause: cause,
		Description: fmt.Sprintf("Product login is not configured in tenant '%s': its policy names no resource to issue tokens for. An administrator names one with productLoginResource (tessera admin tenant set-policy --tenant %s --product-login-resource api://…).", t.Domain, t.Domain)}
}

// errProductResourceUnnamed: several resources allowed, none the default.
func errProductResourceUnnamed(cause error) *Error {
	return &Error{Code: "invalid_request", Status: 400, AADSTS: 900144, Cause: cause,
		Description: "Name the resource (\"resource\"): the tenant's policy allows several (productLoginResources) and names no default (productLoginResource)."}
}

func errProductResourceNotAllowed(requested string, cause error) *Error {
	return &Error{Code: "invalid_request", Status: 400, AADSTS: 900144, Cause: cause,
		Description: fmt.Sprintf("The resource '%s' is not allowed for product login in this tenant: leave \"resource\" out for the tenant's default, or have an administrator add it to productLoginResources.", clip(requested))}
}

func errProductResourceGone(configured string, cause error) *Error {
	return &Error{Code: "invalid_request", Status: 400, AADSTS: 900144, Cause: cause,
		Description: fmt.Sprintf("The tenant's product-login resource '%s' was not found or is disabled: an administrator must configure it again.", clip(configured))}
}

// errProductNoTenant: a product login names no tenant and the server has
// no home tenant.
func errProductNoTenant() *Error {
	return errInvalidRequest("Name the tenant: \"tenant\" in the body or the X-Tenant-ID header.")
}

// errNoCLIClient: the tenant's CLI registration, every product login's
// client, is missing or disabled.
func errNoCLIClient(cause error) *Error {
	e := errServer(cause)
	e.product.description = "The tenant has no usable CLI client registration."
	return e
}

// errSignInThrottled: the per-address sign-in limit of the product login
// (ratelimit.Limits.SignIn).
func errSignInThrottled(wait time.Duration) *Error {
	e := errThrottled(wait)
	e.product = &productError{status: http.StatusTooManyRequests, code: "too_many_requests", retryAfter: wait,
		description: "Too many sign-in requests from this address: wait for the time in Retry-After."}
	return e
}

// The product logout's refusals of its bearer token (RFC 6750 §3.1
// invalid_token; the writer adds WWW-Authenticate).
func errLogoutNoBearer() *Error {
	return errLogoutToken("Send the token of the login as Authorization: Bearer <token>.", nil)
}

func errLogoutBadToken(cause error) *Error { return errLogoutToken("The token is not valid.", cause) }

func errLogoutNoSession() *Error {
	return errLogoutToken("The token is not a sign-in's token.", errors.New("no sid"))
}

func errLogoutNotProductLogin(cause error) *Error {
	return errLogoutToken("The token is not a product login's token: this endpoint ends only sign-ins made at /api/v1/users/login. Sign out of other applications at their logout endpoint, or revoke their refresh token (RFC 7009).", cause)
}

func errLogoutToken(desc string, cause error) *Error {
	return &Error{Code: "invalid_token", Status: http.StatusUnauthorized, AADSTS: 50000, Cause: cause, Description: desc}
}

// The product login's body (JSON, where the token endpoint's is a form).
func errLoginNotJSON() *Error {
	return errInvalidRequest("The request body must be application/json.")
}

func errLoginBody(cause error) *Error {
	e := errInvalidRequest("The request body is not a JSON object with username and password.")
	e.Cause = cause
	return e
}

func errLoginFields() *Error { return errInvalidRequest("username and password are required.") }

func errBodyTooLarge() *Error { return errInvalidRequest("The request body is too large.") }

// errorBody is the wire shape, as Entra sends it.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	SubError         string `json:"suberror,omitempty"`
}

// writeError writes e as JSON with no-store, logs it with its private cause,
// and sets WWW-Authenticate when the client tried HTTP Basic (RFC 6749 §5.2).
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, e *Error) {
	metrics.OAuthError(e.Code)
	traceID := newTraceID()
	corr := correlationID(r)
	now := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	level := slog.LevelInfo
	switch {
	case e.Status >= 500:
		level = slog.LevelError
	case e.Code == "authorization_pending" || e.Code == "slow_down":
		// A device polling every few seconds until its user signs in
		// (RFC 8628 §3.5): answers to a poll, not refusals, so not a
		// line each at info.
		level = slog.LevelDebug
	}
	log.Log(r.Context(), level, "oauth error", "error", e.Code, "aadsts", e.AADSTS, "status", e.Status,
		"cause", causeString(e), "trace_id", traceID, "correlation_id", corr, "path", r.URL.Path)
	body := errorBody{
		Error: e.Code,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			e.AADSTS, e.Description, traceID, corr, now),
		ErrorCodes:    []int{e.AADSTS},
		Timestamp:     now,
		TraceID:       traceID,
		CorrelationID: corr,
		SubError:      e.SubError,
	}
	if e.RetryAfter > 0 {
		retryAfter(w, e.RetryAfter)
	}
	if e.Status == http.StatusUnauthorized {
		if _, _, ok := r.BasicAuth(); ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="tessera", charset="UTF-8"`)
		}
	}
	writeJSON(w, e.Status, body)
}

func causeString(e *Error) string {
	if e.Cause == nil {
		return ""
	}
	return e.Cause.Error()
}

// writeJSON writes a token-endpoint response: JSON, never cached
// (RFC 6749 §5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
	writeBody(w, status, b)
}

// writeBody writes an encoded token-endpoint response (a refresh
// response is byte for byte the one sealed for its first try).
func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func newTraceID() string { return uuid.NewString() }

// correlationID echoes the client-request-id MSAL and the Azure SDKs send,
// so that a client's log and ours can be matched; otherwise a new one.
func correlationID(r *http.Request) string {
	if id := r.Header.Get("client-request-id"); id != "" {
		if _, err := uuid.Parse(id); err == nil {
			return id
		}
	}
	if id := r.Header.Get("x-ms-correlation-id"); id != "" {
		if _, err := uuid.Parse(id); err == nil {
			return id
		}
	}
	return newTraceID()
}
