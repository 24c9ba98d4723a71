package web

import (
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/tessera-id/tessera/internal/directory"
)

// authError is an authorization error response (RFC 6749 §4.1.2.1),
// sent to the client's redirect URI once that is known to be registered.
// Description is what the client sees; Cause is for the log only.
type authError struct {
	Code        string
	Description string
	Cause       error
}

// pageError is an error shown to the person on a page, never redirected:
// a request whose client or redirect URI cannot be trusted must not send
// the browser anywhere (RFC 6749 §4.1.2.1, §10.15 open redirectors).
type pageError struct {
	Status  int
	Title   string
	Message string
	Cause   error
}

// The errors people and clients see, in one table. Each constructor
// returns a fresh value; AADSTS numbers are Entra's where one exists.

func errRequest(desc string) *authError {
	return &authError{Code: "invalid_request", Description: desc}
}

func errUnsupportedResponseType() *authError {
	return &authError{Code: "unsupported_response_type",
		Description: "AADSTS700054: response_type must be 'code': tessera issues tokens only from the token endpoint."}
}

func errScope(cause error) *authError {
	return &authError{Code: "invalid_scope", Cause: cause,
		Description: "AADSTS70011: The provided value for the input parameter 'scope' is not valid: it names an unknown resource or a scope the resource does not expose."}
}

func errUnauthorizedClient(cause error) *authError {
	return &authError{Code: "unauthorized_client", Cause: cause,
		Description: "AADSTS7000112: The application has no enabled service principal in this tenant."}
}

func errLoginRequired() *authError {
	return &authError{Code: "login_required", Description: "AADSTS50058: prompt=none was requested, but no user is signed in."}
}

func errConsentRequired() *authError {
	return &authError{Code: "consent_required",
		Description: "AADSTS65001: prompt=none was requested, but the user has not consented to the requested permissions."}
}

func errAccessDenied() *authError {
	return &authError{Code: "access_denied", Description: "AADSTS65004: The user declined to consent to access the app."}
}

// errNotAssigned: the resource requires assignment and the user holds
// none of its roles (directory.ErrUserNotAssigned); access_denied is RFC
// 6749 §4.1.2.1's "the authorization server denied the request".
func errNotAssigned(user directory.User, res directory.Resource, cause error) *authError {
	return &authError{Code: "access_denied", Cause: cause,
		Description: fmt.Sprintf("AADSTS50105: The signed in user '%s' is not assigned to a role for the application '%s' (%s). The application requires assignment: an administrator of the tenant must assign the user one of its app roles.",
			user.UserPrincipalName, res.App.AppID, res.App.DisplayName)}
}

func errServerRedirect(cause error) *authError {
	return &authError{Code: "server_error", Cause: cause, Description: "The server could not complete the request."}
}

func pageBadRequest(title, msg string) *pageError {
	return &pageError{Status: http.StatusBadRequest, Title: title, Message: msg}
}

func pageUnknownClient(cause error) *pageError {
	return &pageError{Status: http.StatusBadRequest, Title: "Unknown application", Cause: cause,
		Message: "The application that sent you here is not registered in this directory (AADSTS700016). Tell the application's owner."}
}

func pageBadRedirect(cause error) *pageError {
	return &pageError{Status: http.StatusBadRequest, Title: "Sign-in cannot continue", Cause: cause,
		Message: "The reply address in the request is missing or is not registered for the application (AADSTS50011). Tell the application's owner."}
}

func pageUnknownTenant() *pageError {
	return pageBadRequest("Unknown directory", "The directory (tenant) in the address was not found (AADSTS90002). Check the address.")
}

func pageExpired() *pageError {
	return pageBadRequest("This page has expired", "The sign-in took too long or the page was reused. Go back to the application and sign in again.")
}

func pageForbidden() *pageError {
	return &pageError{Status: http.StatusForbidden, Title: "Request refused",
		Message: "The form could not be verified: it was sent from another site, or your browser blocks this site's cookies. Go back and try again."}
}

func pageServer(cause error) *pageError {
	return &pageError{Status: http.StatusInternalServerError, Title: "Something went wrong", Cause: cause,
		Message: "The server could not complete the sign-in. Try again later."}
}

// errorPage shows e. Server errors get a trace id the operator finds in
// the log; the cause never reaches the page.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, e *pageError) {
	v := view{Page: "error", Title: e.Title, Message: e.Message}
	if e.Status >= 500 {
		v.TraceID = uuid.NewString()
		h.log.Error("web: "+e.Title, "path", r.URL.Path, "trace_id", v.TraceID, "err", e.Cause)
	} else if e.Cause != nil {
		h.log.Info("web: refused", "path", r.URL.Path, "title", e.Title, "reason", e.Cause)
	}
	h.render(w, e.Status, v)
}
