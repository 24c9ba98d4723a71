// Package management serves a minimal endpoint in the shape of Azure
// Resource Manager: the tenant of the caller and no subscriptions, which
// is what the Azure CLI reads after `az login --allow-no-subscriptions`.
package management

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/token"
)

// Prefix is the path the endpoint is served under; the Azure CLI's
// resource manager endpoint is {publicURL}/management/.
const Prefix = "/management/"

// Config is what the endpoint needs, passed in at construction.
type Config struct {
	Directory *directory.Service
	// Keys verifies the bearer tokens: only tokens this server issued are
	// accepted.
	Keys *token.Ring
	// PublicURL is the base of every issuer, e.g. https://id.example.com.
	PublicURL string
	// HomeTenant (an id) names the authority of the challenge sent when a
	// request carries no token that names its own.
	HomeTenant string
	Logger     *slog.Logger
	Now        func() time.Time
	// Skew is the clock skew tolerated on a token's exp and nbf.
	Skew time.Duration
}

// Handler serves the endpoint; it is an http.Handler for Prefix.
type Handler struct {
	dir       *directory.Service
	keys      *token.Ring
	publicURL string
	home      string
	log       *slog.Logger
	now       func() time.Time
	skew      time.Duration
}

// New returns the handler.
func New(cfg Config) *Handler {
	h := &Handler{dir: cfg.Directory, keys: cfg.Keys, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), home: cfg.HomeTenant,
		log: cfg.Logger, now: cfg.Now, skew: cfg.Skew}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.skew == 0 {
		h.skew = time.Minute
	}
	return h
}

// caller is who a verified token names.
type caller struct {
	tenant directory.Tenant
}

// ServeHTTP authenticates every request first, as ARM does (an unknown
// path without a token is 401, not 404), then routes it: two paths, so a
// switch rather than a second mux.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, aerr := h.authenticate(r)
	if aerr != nil {
		h.writeError(w, r, aerr)
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	known := path == Prefix+"tenants" || path == Prefix+"subscriptions"
	switch {
	case !known:
		h.writeError(w, r, &armError{status: http.StatusNotFound, code: "NotFound",
			message: "The management endpoint serves only GET /tenants and GET /subscriptions."})
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		h.writeError(w, r, &armError{status: http.StatusMethodNotAllowed, code: "MethodNotAllowed",
			message: fmt.Sprintf("The method '%s' is not allowed here: use GET.", clip(r.Method))})
	case r.URL.Query().Get("api-version") == "":
		// ARM refuses a request without api-version; every ARM client
		// sends one, and which one does not matter here.
		h.writeError(w, r, &armError{status: http.StatusBadRequest, code: "MissingApiVersionParameter",
			message: "The api-version query parameter (?api-version=) is required for all requests."})
	case path == Prefix+"tenants":
		h.tenants(w, r, c)
	default:
		h.subscriptions(w, r)
	}
}

// tenantResult is ARM's TenantIdDescription (Microsoft.Resources tenants
// list), the fields the Azure CLI reads.
type tenantResult struct {
	ID             string   `json:"id"`
	TenantID       string   `json:"tenantId"`
	TenantCategory string   `json:"tenantCategory"`
	CountryCode    string   `json:"countryCode"`
	DisplayName    string   `json:"displayName"`
	Domains        []string `json:"domains"`
	DefaultDomain  string   `json:"defaultDomain"`
	TenantType     string   `json:"tenantType"`
}

type list[T any] struct {
	Value []T `json:"value"`
}

// tenants is GET /tenants: the tenant of the caller's token, the one
// tenant a tessera token may act in. Home: the caller belongs to it.
func (h *Handler) tenants(w http.ResponseWriter, r *http.Request, c caller) {
	t := c.tenant
	h.writeJSON(w, r, http.StatusOK, list[tenantResult]{Value: []tenantResult{{
		ID: "/tenants/" + t.ID, TenantID: t.ID, TenantCategory: "Home", CountryCode: "",
		DisplayName: t.DisplayName, Domains: []string{t.Domain}, DefaultDomain: t.Domain, TenantType: "AAD",
	}}})
}

// subscriptions is GET /subscriptions: tessera manages no resources, so
// there are none (the Azure CLI then keeps a tenant-level account with
// --allow-no-subscriptions).
func (h *Handler) subscriptions(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, r, http.StatusOK, list[struct{}]{Value: []struct{}{}})
}

// armError is an error in ARM's shape, {"error":{"code","message"}}.
// challenge, on a 401, is the error of the WWW-Authenticate challenge;
// tenantID names its authority. cause is for the log only.
type armError struct {
	status    int
	code      string
	message   string
	challenge string
	tenantID  string
	cause     error
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, e *armError) {
	level := slog.LevelInfo
	if e.status >= 500 {
		level = slog.LevelError
	}
	cause := ""
	if e.cause != nil {
		cause = e.cause.Error()
	}
	h.log.Log(r.Context(), level, "management error", "code", e.code, "status", e.status, "cause", cause, "path", r.URL.Path)
	if e.status == http.StatusUnauthorized {
		// ARM's challenge: where to get a token, and that this one is no
		// good (RFC 6750 §3).
		tid := e.tenantID
		if tid == "" {
			tid = h.home
		}
		if tid == "" {
			tid = "common"
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization_uri="%s/%s/oauth2/authorize", error="invalid_token", error_description="%s"`,
			h.publicURL, tid, e.challenge))
	}
	var b errorBody
	b.Error.Code, b.Error.Message = e.code, e.message
	h.writeJSON(w, r, e.status, b)
}

// writeJSON writes an answer with ARM's request id headers: a new
// x-ms-request-id, and the client's x-ms-correlation-request-id echoed
// (the Azure SDKs send one and log it), else a new one.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"InternalServerError","message":"The server failed to process the request."}}`)
	}
	hd := w.Header()
	corr := r.Header.Get("x-ms-correlation-request-id")
	if _, err := uuid.Parse(corr); err != nil {
		corr = uuid.NewString()
	}
	hd.Set("x-ms-request-id", uuid.NewString())
	hd.Set("x-ms-correlation-request-id", corr)
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// authenticate accepts a bearer token issued by this server (signed by
// its key ring, within its lifetime, with the issuer of its tid) for the
// management application of that tenant: its appId or an identifier URI,
// with or without the trailing slash, as aud.
func (h *Handler) authenticate(r *http.Request) (caller, *armError) {
	unauthorized := func(code, message, challenge, tid string, cause error) *armError {
		return &armError{status: http.StatusUnauthorized, code: code, message: message, challenge: challenge, tenantID: tid, cause: cause}
	}
	authz := r.Header.Get("Authorization")
	// RFC 6750 §2.1; the scheme is case-insensitive (RFC 9110 §11.1).
	if len(authz) < 7 || !strings.EqualFold(authz[:7], "Bearer ") || strings.TrimSpace(authz[7:]) == "" {
		return caller{}, unauthorized("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
			"The authentication failed because of missing 'Authorization' header.", "", nil)
	}
	c, err := h.keys.Verify(strings.TrimSpace(authz[7:]), h.now(), h.skew)
	switch {
	case errors.Is(err, token.ErrExpired):
		return caller{}, unauthorized("ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time, or it is not valid yet.",
			"The access token has expired.", "", err)
	case err != nil:
		return caller{}, unauthorized("InvalidAuthenticationToken", "The access token is invalid.",
			"The access token is invalid.", "", err)
	}
	invalid := func(cause error) *armError {
		return unauthorized("InvalidAuthenticationToken", "The access token is invalid.", "The access token is invalid.", "", cause)
	}
	if !directory.IsGUID(c.TenantID) {
		return caller{}, invalid(errors.New("token has no tenant"))
	}
	if c.Issuer != token.Issuer(h.publicURL, c.TenantID, 1) && c.Issuer != token.Issuer(h.publicURL, c.TenantID, 2) {
		return caller{}, invalid(fmt.Errorf("issuer %q is not this server's for tenant %s", c.Issuer, c.TenantID))
	}
	t, err := h.dir.ResolveTenant(r.Context(), c.TenantID)
	if errors.Is(err, directory.ErrNotFound) {
		return caller{}, invalid(fmt.Errorf("tenant %s is gone", c.TenantID))
	}
	if err != nil {
		return caller{}, &armError{status: http.StatusInternalServerError, code: "InternalServerError",
			message: "The server failed to process the request.", cause: err}
	}
	res, err := h.dir.ResolveResource(r.Context(), t.ID, directory.ManagementIdentifierURI)
	if err != nil && !errors.Is(err, directory.ErrUnknownResource) {
		return caller{}, &armError{status: http.StatusInternalServerError, code: "InternalServerError",
			message: "The server failed to process the request.", cause: err}
	}
	allowed := []string{res.App.AppID}
	for _, u := range res.App.IdentifierURIs {
		allowed = append(allowed, u, strings.TrimSuffix(u, "/"))
	}
	if err != nil || c.Audience == "" || !slices.Contains(allowed, c.Audience) {
		return caller{}, unauthorized("InvalidAuthenticationTokenAudience",
			fmt.Sprintf("The access token has been obtained for wrong audience or resource '%s'. It should exactly match with one of the allowed audiences '%s'.",
				clip(c.Audience), directory.ManagementIdentifierURI),
			"The access token has been obtained for wrong audience or resource.", t.ID,
			fmt.Errorf("audience %q is not the management application of tenant %s (%v)", c.Audience, t.ID, err))
	}
	return caller{tenant: t}, nil
}

// clip keeps answers short whatever a token says.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
