// Package oauth is tessera's protocol layer: the token endpoint and its
// grants, client authentication, discovery and JWKS, at the Microsoft
// identity platform's URL shapes. It parses requests, asks the directory
// and the key ring, and writes responses; it holds no state of its own.
package oauth

import (
	"encoding/json"
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
		Description: fmt.Sprintf("Tenant '%s' not found. Check that the tenant id or domain name is right.", tenant)}
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
			user.UserPrincipalName, res.App.AppID, clip(res.App.DisplayName))}
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
	return errInvalidGrant(50126, "Error validating credentials due to invalid username or password.", cause)
}

// errAccountLocked: Entra answers AADSTS50053 both for an account locked
// after wrong passwords and for a sign-in blocked because of where it
// came from, so a banned address gets it too, with its own words.
func errAccountLocked(e *directory.LockedError, cause error) *Error {
	until := e.Until.UTC().Format(time.RFC3339)
	desc := "The account is locked after repeated failed sign-ins; try again after " + until + "."
	switch {
	case e.Address:
		desc = "Sign-in from this address is blocked after repeated failed sign-ins from it; try again after " + until + "."
	case !e.Locked:
		desc = "Too many failed sign-ins; wait until " + until + " before trying again."
	}
	return errInvalidGrant(50053, desc, cause)
}

func errUserDisabled(cause error) *Error {
	return errInvalidGrant(50057, "The user account is disabled.", cause)
}

// errNameNotBound: the user's name is not in a domain of its tenant (a
// user from before names were bound to domains). Entra has no such state;
// it is a disabled account until an administrator acts, so 50057, with
// words that say what to do.
func errNameNotBound(cause error) *Error {
	return errInvalidGrant(50057, "The user account cannot sign in: its user name is not in a domain of its tenant. An administrator must rename the user or add the domain to the tenant.", cause)
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
		Description: "The server failed to process the request. Give the trace id to the operator."}
}

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
	if e.Status >= 500 {
		level = slog.LevelError
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
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	b, ok := v.(rawJSON)
	var err error
	if !ok {
		b, err = json.Marshal(v)
	}
	if err != nil {
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
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
