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
)

// Error is an OAuth error response (RFC 6749 §5.2) with the Entra fields
// clients log (AADSTS code, trace and correlation ids). Description is what
// the caller sees; Cause is for the log only and never leaves the server.
type Error struct {
	Code        string // the OAuth "error" value
	Status      int
	AADSTS      int
	Description string
	Cause       error
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
}

// writeError writes e as JSON with no-store, logs it with its private cause,
// and sets WWW-Authenticate when the client tried HTTP Basic (RFC 6749 §5.2).
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, e *Error) {
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
	b, err := json.Marshal(v)
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
