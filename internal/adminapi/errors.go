package adminapi

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// kind is one row of the table of errors a caller can see.
type kind int

const (
	kindBadRequest kind = iota
	kindUnauthorized
	kindForbidden
	kindNotFound
	kindMethodNotAllowed
	kindConflict
	kindTooLarge
	kindInternal
)

// errorTable is every error a caller can see: status, code (Graph's names)
// and the message shown when the failure has none of its own. The OpenAPI
// document's Error.code enum lists the same codes.
var errorTable = [...]struct {
	status  int
	code    string
	message string
}{
	kindBadRequest:       {http.StatusBadRequest, "BadRequest", "The request is not valid."},
	kindUnauthorized:     {http.StatusUnauthorized, "Unauthorized", "A valid bearer token for " + directory.AdminAPIIdentifierURI + " is required."},
	kindForbidden:        {http.StatusForbidden, "Forbidden", "The caller may not do this."},
	kindNotFound:         {http.StatusNotFound, "NotFound", "The object does not exist."},
	kindMethodNotAllowed: {http.StatusMethodNotAllowed, "MethodNotAllowed", "The method is not allowed on this path."},
	kindConflict:         {http.StatusConflict, "Conflict", "The change clashes with an existing object."},
	kindTooLarge:         {http.StatusRequestEntityTooLarge, "PayloadTooLarge", "The request body is larger than 1 MiB."},
	// The only message a 500 ever carries: the detail is in the log under
	// the trace id (after step-ca's fixed public messages).
	kindInternal: {http.StatusInternalServerError, "InternalError", "An internal error occurred. Give the operator the trace id to find the cause in the server log."},
}

// apiError is a failure with a message safe for the caller and a cause for
// the log.
type apiError struct {
	kind    kind
	message string
	cause   error
	// bearer is the RFC 6750 §3 error code for WWW-Authenticate; "-" means
	// the header without one (a request that carried no token at all).
	bearer string
	// refused, on a 401 or 403, is who was refused and why, for the
	// audit log (see refusals.go).
	refused *refused
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return errorTable[e.kind].code + ": " + e.message + ": " + e.cause.Error()
	}
	return errorTable[e.kind].code + ": " + e.message
}

func (e *apiError) Unwrap() error { return e.cause }

func newError(k kind, message string) *apiError {
	return &apiError{kind: k, message: message}
}

func badRequest(format string, a ...any) *apiError {
	return newError(kindBadRequest, fmt.Sprintf(format, a...))
}

func internalf(format string, a ...any) *apiError {
	return &apiError{kind: kindInternal, cause: fmt.Errorf(format, a...)}
}

// unauthorized: RFC 6750 §3.1 asks for no error code when the request had
// no credentials at all, and invalid_token when it had a bad one. The
// authenticator's reason goes to the log only: it may say which check a
// forged token failed.
func unauthorized(r *http.Request, cause error) *apiError {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && len(tok) >= 8 {
		cause = redacted{cause, tok}
	}
	e := &apiError{kind: kindUnauthorized, cause: cause, bearer: "invalid_token"}
	e.message = "The access token is invalid or expired, or not issued for " + directory.AdminAPIIdentifierURI + "."
	if r.Header.Get("Authorization") == "" {
		e.bearer = "-"
		e.message = errorTable[kindUnauthorized].message
	}
	return e
}

// redacted keeps a presented token out of the log even if the
// authenticator's reason quotes it.
type redacted struct {
	err   error
	token string
}

func (r redacted) Error() string { return strings.ReplaceAll(r.err.Error(), r.token, "[token]") }
func (r redacted) Unwrap() error { return r.err }

// forbidden: the token is good but lacks the role or the tenant
// (RFC 6750 §3.1 insufficient_scope).
func forbidden(message string) *apiError {
	return &apiError{kind: kindForbidden, message: message, bearer: "insufficient_scope"}
}

func isNotFound(err error) bool { return errors.Is(err, directory.ErrNotFound) }

// domainErr maps an error of the directory to what the caller sees. The
// domain wraps ErrNotFound and ErrConflict with detail meant for the log,
// so their messages here are the endpoint's, in the caller's terms;
// ErrInvalid's message is written for administrators and is shown as is.
// Anything else is an internal error.
func domainErr(err error, notFound, conflict string) error {
	var e *apiError
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, directory.ErrInvalid):
		msg := strings.TrimPrefix(err.Error(), directory.ErrInvalid.Error()+": ")
		return &apiError{kind: kindBadRequest, message: msg, cause: err}
	case errors.Is(err, directory.ErrNotFound) && notFound != "":
		return &apiError{kind: kindNotFound, message: notFound, cause: err}
	case errors.Is(err, directory.ErrConflict) && conflict != "":
		return &apiError{kind: kindConflict, message: conflict, cause: err}
	}
	return &apiError{kind: kindInternal, cause: err}
}

// quote renders a caller-supplied reference for a message: quoted, and cut
// short so that a huge path segment cannot bloat the answer.
func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return strconv.Quote(s)
}

// ErrorResponse is the body of every error answer, in Microsoft Graph's
// shape.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody says what went wrong. TraceID finds the request in the
// server's log.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	TraceID string `json:"traceId"`
}

// writeError is the one place a failure becomes an answer.
func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		e = &apiError{kind: kindInternal, cause: err}
	}
	row := errorTable[e.kind]
	msg := e.message
	if msg == "" || e.kind == kindInternal {
		msg = row.message
	}
	trace := rand.Text()
	level := slog.LevelDebug
	if e.kind == kindInternal {
		level = slog.LevelError
	}
	a.log.Log(r.Context(), level, "admin api request failed",
		"trace_id", trace, "method", r.Method, "path", r.URL.Path, "status", row.status, "err", e.Error())
	if e.kind == kindUnauthorized || e.kind == kindForbidden {
		a.auditRefusal(r, e, row.status)
	}
	switch e.bearer {
	case "":
	case "-":
		w.Header().Set("WWW-Authenticate", `Bearer realm="tessera-admin"`)
	default:
		w.Header().Set("WWW-Authenticate", `Bearer realm="tessera-admin", error="`+e.bearer+`"`)
	}
	writeJSON(w, row.status, ErrorResponse{Error: ErrorBody{Code: row.code, Message: msg, TraceID: trace}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the status is out; a failed write is the client gone
}

// decode reads one JSON object of at most maxBody bytes into v, refusing
// fields v does not have: a misspelt field silently ignored would be a
// setting the administrator believes made and is not.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeErr(err)
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeErr(err)
		}
		return badRequest("the request body must be one JSON object and nothing after it")
	}
	return nil
}

// decodeErr words a JSON decoding failure for the caller without the Go
// type names encoding/json puts in its messages.
func decodeErr(err error) error {
	var (
		tooBig *http.MaxBytesError
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		tim    *time.ParseError
	)
	switch {
	case errors.As(err, &tooBig):
		return &apiError{kind: kindTooLarge, message: errorTable[kindTooLarge].message, cause: err}
	case errors.Is(err, io.EOF):
		return badRequest("the request body is empty: send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the request body is cut short")
	case errors.As(err, &syntax):
		return badRequest("the request body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("the request body must be a JSON object")
		}
		return badRequest("field %q must not be a JSON %s", typ.Field, typ.Value)
	case errors.As(err, &tim):
		return badRequest("a date-time must be written as in RFC 3339, e.g. 2027-01-31T00:00:00Z")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return &apiError{kind: kindBadRequest, message: "the request body does not have the expected shape", cause: err}
}
