package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
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
// Errors are JSON {"error","error_description"}, the product column of
// the token endpoint's error table (errors.go):
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

// writeProductError writes e in the product API's shape (the error
// table's product column) and logs its cause.
func writeProductError(w http.ResponseWriter, r *http.Request, log *slog.Logger, e *Error) {
	p := e.productShape()
	trace := newTraceID()
	level := slog.LevelInfo
	if p.status >= 500 {
		level = slog.LevelError
		p.description += " Trace ID: " + trace
	}
	log.Log(r.Context(), level, "product api error", "error", p.code, "status", p.status, "cause", causeString(e), "trace_id", trace, "path", r.URL.Path)
	if p.retryAfter > 0 {
		retryAfter(w, p.retryAfter)
	}
	if p.code == "invalid_token" {
		// RFC 6750 §3.1.
		w.Header().Set("WWW-Authenticate", `Bearer realm="tessera", error="invalid_token"`)
	}
	writeJSON(w, p.status, apiError{Error: p.code, ErrorDescription: p.description})
}

// productLogin runs the token endpoint's phases on the product API's
// JSON: parse, resolve the tenant, identify the client (the CLI's public
// client), authorize, issue, write, audit.
func (h *Handler) productLogin(w http.ResponseWriter, r *http.Request) {
	req, oerr := parseLoginRequest(w, r)
	if oerr == nil {
		oerr = h.serveLogin(w, r, req)
	}
	if oerr != nil {
		writeProductError(w, r, h.log, oerr)
	}
}

func (h *Handler) serveLogin(w http.ResponseWriter, r *http.Request, req *tokenRequest) *Error {
	ctx := r.Context()
	if req.TenantRef == "" {
		req.TenantRef = h.home
	}
	if req.TenantRef == "" || multiTenantAliases[req.TenantRef] {
		return errProductNoTenant()
	}
	t, oerr := h.lookupTenant(ctx, req.TenantRef)
	if oerr != nil {
		return oerr
	}
	req.Tenant, req.TenantID = t, t.ID
	req.clientAddr = h.limits.SignInAddress(r)
	client, err := h.dir.PublicClient(ctx, t.ID, directory.CLIClientID)
	if err != nil {
		return errNoCLIClient(clientError(err))
	}
	a, oerr := h.login.authorize(ctx, req, client)
	if oerr != nil {
		return oerr
	}
	out, oerr := h.issuer.issue(ctx, req, client, token.AuthPublic, a)
	if oerr != nil {
		return oerr
	}
	w.Header().Set("Authorization", "Bearer "+out.accessToken)
	writeJSON(w, http.StatusOK, loginResponse{AccessToken: out.accessToken, TokenType: "Bearer", ExpiresIn: int64(out.lifetime.Seconds())})
	h.recordIssued(req.GrantType, req.TenantID, client, out.record)
	return nil
}

// parseLoginRequest reads a product login into the token endpoint's
// typed request.
func parseLoginRequest(w http.ResponseWriter, r *http.Request) (*tokenRequest, *Error) {
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
		return nil, errLoginNotJSON()
	}
	var in loginRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes)).Decode(&in); err != nil {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			return nil, errBodyTooLarge()
		}
		return nil, errLoginBody(err)
	}
	if in.Username == "" || in.Password == "" {
		return nil, errLoginFields()
	}
	ref := in.Tenant
	if ref == "" {
		ref = r.Header.Get("X-Tenant-ID")
	}
	return &tokenRequest{GrantType: "product_login", Version: 2, TenantRef: ref, ClientID: directory.CLIClientID,
		Username: in.Username, Password: in.Password, Resource: in.Resource}, nil
}

// productLoginGrant authorizes a product login: the user by password, for
// the resource the tenant's policy names, as a new grant of the CLI's
// public client with the product login's lifetime and no refresh token.
type productLoginGrant struct {
	dir interface {
		ProductLoginResource(ctx context.Context, tenantID string, p directory.TenantPolicy, requested string) (directory.Resource, error)
		AuthorizeUserToken(ctx context.Context, ask directory.UserTokenAsk) (directory.UserToken, error)
		signInDirectory
	}
	grants grantMaker
	now    func() time.Time
}

func (g productLoginGrant) authorize(ctx context.Context, req *tokenRequest, client directory.Client) (authorization, *Error) {
	policy := req.Tenant.Policy.Effective()
	// Decided before the password is checked: a request the tenant does
	// not allow costs no hashing and counts as no failed sign-in.
	res, err := g.dir.ProductLoginResource(ctx, req.TenantID, policy, req.Resource)
	if err != nil {
		return authorization{}, productResourceError(req.Tenant, policy, req.Resource, err)
	}
	user, err := g.dir.AuthenticateUserVia(ctx, req.TenantID, req.Username, req.Password,
		directory.SignInVia{Channel: "product_login", ClientID: client.App.AppID, Address: req.clientAddr})
	if oerr := signInError(err, g.now()); oerr != nil {
		return authorization{}, oerr
	}
	// The token carries the resource's scopes the CLI client may use
	// without asking (pre-authorized or admin-consented) and the user's app
	// roles; a resource requiring assignment refuses a user holding none.
	q := directory.ScopeRequest{Resources: []directory.ResourceScopes{{Resource: res, Prefix: strings.TrimSuffix(res.Requested, "/"), Default: true}}}
	ask := directory.UserTokenAsk{Tenant: req.Tenant, Client: client, User: &user, Scopes: q, DropUnconsented: true}
	t, err := g.dir.AuthorizeUserToken(ctx, ask)
	if err != nil {
		return authorization{}, userTokenError(ask, t, err)
	}
	gr, err := g.grants.NewGrant(ctx, req.TenantID, session.GrantSpec{UserID: user.ObjectID, ClientID: client.App.AppID,
		Scopes: t.Scopes.Strings(), AuthTime: g.now(), Lifetime: policy.ProductLoginLifetime, Channel: session.ChannelProductLogin})
	if err != nil {
		return authorization{}, errServer(err)
	}
	return authorization{user: &userAuthorization{UserToken: t, grant: gr, lifetime: policy.ProductLoginLifetime}}, nil
}

// productResourceError is the answer when the tenant's policy gives a
// login request no resource (directory.ProductLoginResource).
func productResourceError(t directory.Tenant, p directory.TenantPolicy, requested string, err error) *Error {
	switch {
	case errors.Is(err, directory.ErrProductLoginOff):
		return errProductLoginOff(t, err)
	case errors.Is(err, directory.ErrResourceNotAllowed) && strings.TrimSpace(requested) == "":
		return errProductResourceUnnamed(err)
	case errors.Is(err, directory.ErrResourceNotAllowed):
		return errProductResourceNotAllowed(requested, err)
	case errors.Is(err, directory.ErrUnknownResource):
		return errProductResourceGone(p.ProductLoginResource, err)
	default:
		return errServer(err)
	}
}

// productLogout ends the login a token came from: its grant is revoked,
// which puts its sid on the revocation feed. Only a product login's token
// ends anything (session.EndProductLogin): any other access token, of any
// client, is refused and its sign-in stays.
func (h *Handler) productLogout(w http.ResponseWriter, r *http.Request) {
	if oerr := h.endProductLogin(r); oerr != nil {
		writeProductError(w, r, h.log, oerr)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) endProductLogin(r *http.Request) *Error {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return errLogoutNoBearer()
	}
	vt, err := h.verifyAccessToken(raw, "")
	if err != nil {
		return errLogoutBadToken(err)
	}
	if vt.SessionID == "" {
		return errLogoutNoSession()
	}
	err = h.sessions.EndProductLogin(r.Context(), vt.TenantID, vt.SessionID, vt.ObjectID)
	switch {
	case errors.Is(err, session.ErrNotProductLogin), errors.Is(err, session.ErrNotFound):
		return errLogoutNotProductLogin(err)
	case err != nil:
		return errServer(err)
	}
	h.log.InfoContext(r.Context(), "product logout", "tenant", vt.TenantID, "sid", vt.SessionID, "user", vt.ObjectID)
	return nil
}
