package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/token"
)

// The product-login API: ONE DATA products sign a user in with a username
// and password and get one access token (no refresh token) in the
// Authorization header, as their own login endpoints always did. Each
// login is a grant of the CLI's public client (its id is the token's sid),
// so logout, disabling the user or an admin revoke it like any other.
// The token is for the resource the tenant's policy names, never one the
// caller picks (directory.ProductLoginResource), and only for a user the
// resource accepts (directory.AuthorizeUser).
//
// Errors are JSON {"error","error_description"}:
//
//	400 invalid_request       malformed body, missing field, unknown tenant, product
//	                          login not configured, or a resource the policy does not allow
//	401 invalid_credentials   unknown user or wrong password (one message for both)
//	403 account_disabled      the right password of a disabled account
//	403 not_assigned          the resource requires assignment and the user holds none of its roles
//	429 too_many_attempts     locked out or slowed down after failures, with Retry-After
//	429 too_many_requests     too many requests from the address (abuse limits), with Retry-After
//	503 temporarily_unavailable  every password hashing slot busy, with Retry-After
//	500 server_error          with a trace id to give the operator
//
// A locked account answers 429 rather than 423: 423 is WebDAV's "resource
// locked", which HTTP clients and retry libraries do not know, while 429
// with Retry-After is what they honour.

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Tenant   string `json:"tenant"`
	Resource string `json:"resource"`
}

type loginResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

type apiError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// writeAPIError writes an error of the product API and logs its cause.
func writeAPIError(w http.ResponseWriter, r *http.Request, log *slog.Logger, status int, code, desc string, cause error) {
	trace := newTraceID()
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
		desc += " Trace ID: " + trace
	}
	causeText := ""
	if cause != nil {
		causeText = cause.Error()
	}
	log.Log(r.Context(), level, "product api error", "error", code, "status", status, "cause", causeText, "trace_id", trace, "path", r.URL.Path)
	writeJSON(w, status, apiError{Error: code, ErrorDescription: desc})
}

func (h *Handler) productLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fail := func(status int, code, desc string, cause error) {
		writeAPIError(w, r, h.log, status, code, desc, cause)
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		fail(400, "invalid_request", "The request body must be application/json.", nil)
		return
	}
	var in loginRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes)).Decode(&in); err != nil {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			fail(400, "invalid_request", "The request body is too large.", nil)
			return
		}
		fail(400, "invalid_request", "The request body is not a JSON object with username and password.", err)
		return
	}
	if in.Username == "" || in.Password == "" {
		fail(400, "invalid_request", "username and password are required.", nil)
		return
	}
	ref := in.Tenant
	if ref == "" {
		ref = r.Header.Get("X-Tenant-ID")
	}
	if ref == "" {
		ref = h.home
	}
	if ref == "" || multiTenantAliases[ref] {
		fail(400, "invalid_request", "Name the tenant: \"tenant\" in the body or the X-Tenant-ID header.", nil)
		return
	}
	t, err := h.dir.ResolveTenant(ctx, ref)
	if errors.Is(err, directory.ErrNotFound) {
		fail(400, "invalid_request", fmt.Sprintf("Tenant '%s' not found.", clip(ref)), err)
		return
	} else if err != nil {
		fail(500, "server_error", "The server failed to process the request.", err)
		return
	}
	policy := t.Policy.Effective()
	// Decided before the password is checked: a request the tenant does
	// not allow costs no hashing and counts as no failed sign-in.
	res, err := h.dir.ProductLoginResource(ctx, t.ID, policy, in.Resource)
	if err != nil {
		status, code, desc := productResourceError(t, policy, in.Resource, err)
		fail(status, code, desc, err)
		return
	}
	client, oerr := h.publicClient(ctx, t.ID, directory.CLIClientID)
	if oerr != nil {
		fail(500, "server_error", "The tenant has no usable CLI client registration.", oerr)
		return
	}
	user, err := h.dir.AuthenticateUserVia(ctx, t.ID, in.Username, in.Password,
		directory.SignInVia{Channel: "product_login", ClientID: client.App.AppID, Address: h.limits.SignInAddress(r)})
	var locked *directory.LockedError
	switch {
	case errors.Is(err, directory.ErrInvalidCredentials):
		fail(401, "invalid_credentials", "Invalid username or password.", err)
		return
	case errors.As(err, &locked):
		// RFC 9110 §10.2.3: whole seconds, rounded up so a client that
		// honours it does not come back a moment too early.
		wait := max(int64((locked.Until.Sub(h.now())+time.Second-1)/time.Second), 1)
		w.Header().Set("Retry-After", strconv.FormatInt(wait, 10))
		msg := "Too many failed sign-ins: try again after " + locked.Until.UTC().Format(time.RFC3339) + "."
		if locked.Address {
			msg = "Too many failed sign-ins from this address: try again after " + locked.Until.UTC().Format(time.RFC3339) + "."
		}
		fail(429, "too_many_attempts", msg, err)
		return
	case errors.Is(err, directory.ErrNameNotBound):
		fail(403, "account_disabled", "The user account cannot sign in: its user name is not in a domain of its tenant. An administrator must rename the user or add the domain to the tenant.", err)
		return
	case errors.Is(err, directory.ErrUserDisabled):
		fail(403, "account_disabled", "The user account is disabled.", err)
		return
	case errors.Is(err, directory.ErrBusy):
		retryAfter(w, busyRetryAfter)
		fail(503, "temporarily_unavailable", "The server is busy checking other sign-ins: try again in a moment.", err)
		return
	case err != nil:
		fail(500, "server_error", "The server failed to process the request.", err)
		return
	}
	if _, err := h.dir.AuthorizeUser(ctx, t.ID, user.ObjectID, res); errors.Is(err, directory.ErrUserNotAssigned) {
		fail(403, "not_assigned", fmt.Sprintf("The signed in user '%s' is not assigned to a role for the application '%s' (%s): an administrator of the tenant must assign the user one of its app roles.",
			user.UserPrincipalName, res.App.AppID, clip(res.App.DisplayName)), err)
		return
	} else if err != nil {
		fail(500, "server_error", "The server failed to process the request.", err)
		return
	}
	// The token carries the resource's scopes the CLI client may use
	// without asking (pre-authorized or admin-consented) and the user's app
	// roles: a product login asks no consent.
	prefix := strings.TrimSuffix(res.Requested, "/")
	q := directory.ScopeRequest{Resources: []directory.ResourceScopes{{Resource: res, Prefix: prefix, Default: true}}}
	d, err := h.dir.ScopeDecision(ctx, t.ID, client.App, user.ObjectID, q)
	if err != nil {
		fail(500, "server_error", "The server failed to process the request.", err)
		return
	}
	// What would need consent is left out, not refused: a product login
	// asks none, and its token carries the user's roles regardless.
	scopes := d.Usable
	scope := scopes.Resources[0]
	gr, err := h.sessions.NewGrant(ctx, t.ID, session.GrantSpec{UserID: user.ObjectID, ClientID: client.App.AppID,
		Scopes: scopes.Strings(), AuthTime: h.now(), Lifetime: policy.ProductLoginLifetime, Channel: session.ChannelProductLogin})
	if err != nil {
		fail(500, "server_error", "The server failed to process the request.", err)
		return
	}
	resp, oerr := h.mintUser(ctx, &issuance{tenantID: t.ID, policy: policy, version: 2, client: client, clientAuth: token.AuthPublic,
		user: user, grant: gr, scopes: scopes, lifetime: policy.ProductLoginLifetime})
	if oerr != nil {
		fail(500, "server_error", "The server failed to process the request.", oerr)
		return
	}
	h.recordIssued(&tokenRequest{GrantType: "product_login", TenantID: t.ID,
		issued: issuedToken{subject: user.ObjectID, resource: scope.Resource.App.AppID, grantID: gr.ID}}, client)
	w.Header().Set("Authorization", "Bearer "+resp.accessToken)
	writeJSON(w, http.StatusOK, loginResponse{AccessToken: resp.accessToken, TokenType: "Bearer", ExpiresIn: int64(resp.lifetime.Seconds())})
}

// productResourceError is the product API's answer when the tenant's policy
// gives a login request no resource (directory.ProductLoginResource).
func productResourceError(t directory.Tenant, p directory.TenantPolicy, requested string, err error) (status int, code, desc string) {
	switch {
	case errors.Is(err, directory.ErrProductLoginOff):
		return 400, "invalid_request", fmt.Sprintf("Product login is not configured in tenant '%s': its policy names no resource to issue tokens for. An administrator names one with productLoginResource (tessera admin tenant set-policy --tenant %s --product-login-resource api://…).", t.Domain, t.Domain)
	case errors.Is(err, directory.ErrResourceNotAllowed) && strings.TrimSpace(requested) == "":
		return 400, "invalid_request", "Name the resource (\"resource\"): the tenant's policy allows several (productLoginResources) and names no default (productLoginResource)."
	case errors.Is(err, directory.ErrResourceNotAllowed):
		return 400, "invalid_request", fmt.Sprintf("The resource '%s' is not allowed for product login in this tenant: leave \"resource\" out for the tenant's default, or have an administrator add it to productLoginResources.", clip(requested))
	case errors.Is(err, directory.ErrUnknownResource):
		return 400, "invalid_request", fmt.Sprintf("The tenant's product-login resource '%s' was not found or is disabled: an administrator must configure it again.", clip(p.ProductLoginResource))
	default:
		return 500, "server_error", "The server failed to process the request."
	}
}

// productLogout ends the login a token came from: its grant is revoked,
// which puts its sid on the revocation feed. Only a product login's token
// ends anything (session.EndProductLogin): any other access token, of any
// client, is refused and its sign-in stays.
func (h *Handler) productLogout(w http.ResponseWriter, r *http.Request) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	unauthorized := func(desc string, cause error) {
		// RFC 6750 §3.1.
		w.Header().Set("WWW-Authenticate", `Bearer realm="tessera", error="invalid_token"`)
		writeAPIError(w, r, h.log, 401, "invalid_token", desc, cause)
	}
	raw = strings.TrimSpace(raw)
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		unauthorized("Send the token of the login as Authorization: Bearer <token>.", nil)
		return
	}
	vt, err := h.verifyAccessToken(raw, "")
	if err != nil {
		unauthorized("The token is not valid.", err)
		return
	}
	if vt.SessionID == "" {
		unauthorized("The token is not a sign-in's token.", errors.New("no sid"))
		return
	}
	err = h.sessions.EndProductLogin(r.Context(), vt.TenantID, vt.SessionID, vt.ObjectID)
	switch {
	case errors.Is(err, session.ErrNotProductLogin), errors.Is(err, session.ErrNotFound):
		unauthorized("The token is not a product login's token: this endpoint ends only sign-ins made at /api/v1/users/login. Sign out of other applications at their logout endpoint, or revoke their refresh token (RFC 7009).", err)
		return
	case err != nil:
		writeAPIError(w, r, h.log, 500, "server_error", "The server failed to process the request.", err)
		return
	}
	h.log.InfoContext(r.Context(), "product logout", "tenant", vt.TenantID, "sid", vt.SessionID, "user", vt.ObjectID)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusNoContent)
}
