package guard

import (
	"errors"
	"net/http"
)

// Reason says why the guard refused a request or a token. The public text a
// client sees for each reason is fixed in [reasons]; the cause (parser
// error, fetch failure) stays private to logs, so no parser internals and
// never the token reach the client.
type Reason string

// Reasons the guard refuses a request.
const (
	ReasonNoToken          Reason = "no_token"
	ReasonBadRequest       Reason = "bad_request"
	ReasonMalformed        Reason = "malformed"
	ReasonAlgorithm        Reason = "algorithm"
	ReasonUnknownKey       Reason = "unknown_key"
	ReasonSignature        Reason = "signature"
	ReasonExpired          Reason = "expired"
	ReasonRevoked          Reason = "revoked"
	ReasonNotYetValid      Reason = "not_yet_valid"
	ReasonIssuer           Reason = "issuer"
	ReasonAudience         Reason = "audience"
	ReasonNotAccessToken   Reason = "not_access_token"
	ReasonNoTenant         Reason = "no_tenant"
	ReasonNoTenantHeader   Reason = "no_tenant_header"
	ReasonTenant           Reason = "tenant"
	ReasonMissingRole      Reason = "missing_role"
	ReasonMissingScope     Reason = "missing_scope"
	ReasonMissingRoleScope Reason = "missing_role_or_scope"
	ReasonUnavailable      Reason = "unavailable"
)

// reasonInfo is one row of the client-visible error table.
type reasonInfo struct {
	status int
	code   string // RFC 6750 §3.1 error code; "" when none may be sent
	desc   string // fixed public description (RFC 6750 §3: no '"' or '\')
}

// reasons is the one reviewable table of what a client is told. RFC 6750
// §3.1: a request without credentials gets a challenge with no error code;
// a token that is malformed, expired, revoked or not for us gets 401
// invalid_token; a valid token without the privileges gets 403
// insufficient_scope; a malformed request gets 400 invalid_request.
//
// A tenant header naming another tenant is answered 403 insufficient_scope:
// the token itself is valid, it just does not grant access to the tenant the
// request names, which is a privilege question, not a token one. A missing
// (or empty) tenant header is a required parameter missing, 400
// invalid_request (RFC 6750 §3.1), so that the caller is told to add it
// rather than that its token is wrong.
var reasons = map[Reason]reasonInfo{
	ReasonNoToken:          {http.StatusUnauthorized, "", "a bearer token is required"},
	ReasonBadRequest:       {http.StatusBadRequest, "invalid_request", "the Authorization header must carry exactly one bearer token"},
	ReasonMalformed:        {http.StatusUnauthorized, "invalid_token", "the access token is malformed"},
	ReasonAlgorithm:        {http.StatusUnauthorized, "invalid_token", "the access token is signed with an algorithm that is not accepted"},
	ReasonUnknownKey:       {http.StatusUnauthorized, "invalid_token", "the access token is signed with an unknown key"},
	ReasonSignature:        {http.StatusUnauthorized, "invalid_token", "the access token signature is invalid"},
	ReasonExpired:          {http.StatusUnauthorized, "invalid_token", "the access token has expired"},
	ReasonRevoked:          {http.StatusUnauthorized, "invalid_token", "the access token has been revoked"},
	ReasonNotYetValid:      {http.StatusUnauthorized, "invalid_token", "the access token is not yet valid"},
	ReasonIssuer:           {http.StatusUnauthorized, "invalid_token", "the access token is from an untrusted issuer"},
	ReasonAudience:         {http.StatusUnauthorized, "invalid_token", "the access token is not meant for this resource"},
	ReasonNotAccessToken:   {http.StatusUnauthorized, "invalid_token", "the token is not an access token"},
	ReasonNoTenant:         {http.StatusUnauthorized, "invalid_token", "the access token names no tenant"},
	ReasonNoTenantHeader:   {http.StatusBadRequest, "invalid_request", "the request lacks the tenant header this API requires"},
	ReasonTenant:           {http.StatusForbidden, "insufficient_scope", "the access token is not valid for the requested tenant"},
	ReasonMissingRole:      {http.StatusForbidden, "insufficient_scope", "the access token lacks a required application role"},
	ReasonMissingScope:     {http.StatusForbidden, "insufficient_scope", "the access token lacks a required scope"},
	ReasonMissingRoleScope: {http.StatusForbidden, "insufficient_scope", "the access token lacks a required role or scope"},
	// The token may be fine: the authority could not say (introspection
	// failed). Not a token error, so no Bearer challenge (RFC 6750 §3).
	ReasonUnavailable: {http.StatusServiceUnavailable, "temporarily_unavailable", "the access token could not be checked; try again later"},
}

// Error is a refusal: the reason (and from it the HTTP status, the RFC 6750
// error code and a fixed description) and a private cause for logs.
// Validate and the middleware return fresh values; compare with
// errors.As and the Reason field.
type Error struct {
	Reason Reason
	// Scope lists the scopes that would have satisfied a requirement
	// (RFC 6750 §3 scope attribute); empty unless Reason is a missing scope.
	Scope []string
	// header names the tenant header a ReasonNoTenantHeader refusal asks
	// for; Config validation keeps it to token characters, safe inside the
	// challenge's quoted error_description.
	header string
	cause  error
}

func newError(r Reason, cause error) *Error { return &Error{Reason: r, cause: cause} }

// Error describes the refusal and its cause, for logs. It never contains
// the token. Clients see only Description.
func (e *Error) Error() string {
	if e.cause == nil {
		return "guard: " + e.Description()
	}
	return "guard: " + e.Description() + ": " + e.cause.Error()
}

// Unwrap returns the private cause.
func (e *Error) Unwrap() error { return e.cause }

// Status is the HTTP status the middleware answers with.
func (e *Error) Status() int { return reasons[e.Reason].status }

// Code is the RFC 6750 §3.1 error code, or "" for a request that carried
// no bearer token at all.
func (e *Error) Code() string { return reasons[e.Reason].code }

// Description is the fixed, public error_description, naming the header
// the request lacks when that is the reason.
func (e *Error) Description() string {
	if e.header != "" {
		return reasons[e.Reason].desc + " (" + e.header + ")"
	}
	return reasons[e.Reason].desc
}

// asError turns any error into an *Error; unknown errors count as a
// malformed token so that a failure never lets a request through.
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return newError(ReasonMalformed, err)
}
