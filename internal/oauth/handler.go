package oauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/metrics"
	"github.com/tessera-id/tessera/internal/ratelimit"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/token"
)

// Config is what the protocol layer needs, passed in at construction.
type Config struct {
	Directory *directory.Service
	Sessions  *session.Service
	Keys      *token.Ring
	// PublicURL is the base of every issuer and endpoint URL, e.g.
	// https://id.example.com (no trailing slash).
	PublicURL string
	Logger    *slog.Logger
	Now       func() time.Time
	// Skew is the clock skew tolerated on incoming assertions.
	Skew time.Duration
	// Limits are the abuse limits (package ratelimit); nil is none.
	Limits *ratelimit.Limits
	// HomeTenant (id or domain) is the tenant of product logins that name
	// none, and of device authorizations started at /common/ or
	// /organizations/. Empty: such requests must name their tenant.
	HomeTenant string
	// Audit records every token issued; nil records nothing.
	Audit *audit.Recorder
}

// Handler serves the protocol endpoints.
type Handler struct {
	dir       *directory.Service
	sessions  *session.Service
	keys      *token.Ring
	publicURL string
	log       *slog.Logger
	now       func() time.Time
	skew      time.Duration
	limits    *ratelimit.Limits
	home      string
	audit     *audit.Recorder
	// grantTable is every grant served, grants the same by name.
	grantTable []registeredGrant
	grants     map[string]grant
	issuer     *issuer
	login      productLoginGrant
}

// New returns the protocol handler.
func New(cfg Config) *Handler {
	h := &Handler{
		dir:       cfg.Directory,
		sessions:  cfg.Sessions,
		keys:      cfg.Keys,
		publicURL: strings.TrimSuffix(cfg.PublicURL, "/"),
		log:       cfg.Logger,
		now:       cfg.Now,
		skew:      cfg.Skew,
		limits:    cfg.Limits,
		home:      cfg.HomeTenant,
		audit:     cfg.Audit,
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.skew == 0 {
		h.skew = time.Minute
	}
	h.issuer = &issuer{keys: cfg.Keys, publicURL: h.publicURL, now: h.now, log: h.log}
	if cfg.Sessions != nil {
		h.issuer.refresh = cfg.Sessions
	}
	h.grantTable = grantTable(cfg, h.now)
	h.grants = make(map[string]grant, len(h.grantTable))
	for _, g := range h.grantTable {
		h.grants[g.grantType] = g.grant
	}
	h.login = productLoginGrant{dir: cfg.Directory, grants: cfg.Sessions, now: h.now}
	return h
}

// Register adds the protocol routes to mux. {tenant} is a tenant GUID or
// domain name everywhere; "common" and "organizations" serve discovery and
// keys, as in Entra.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", h.limitAddress(h.tokenEndpoint(2)))
	mux.HandleFunc("POST /{tenant}/oauth2/token", h.limitAddress(h.tokenEndpoint(1)))
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", h.discovery(2))
	mux.HandleFunc("GET /{tenant}/.well-known/openid-configuration", h.discovery(1))
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", h.jwks)
	mux.HandleFunc("GET /{tenant}/discovery/keys", h.jwks)
	h.registerADFS(mux)
	if h.sessions == nil {
		return
	}
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", h.limitAddress(h.limitDevice(h.deviceAuthorization(2))))
	mux.HandleFunc("POST /{tenant}/oauth2/devicecode", h.limitAddress(h.limitDevice(h.deviceAuthorization(1))))
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/revoke", h.revoke)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/introspect", h.introspect)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/revocations", h.revocationFeed)
	// MSAL Go spells it UserRealm, MSAL Python userrealm.
	mux.HandleFunc("GET /common/UserRealm/{username}", h.userRealmHandler)
	mux.HandleFunc("GET /common/userrealm/{username}", h.userRealmHandler)
	mux.HandleFunc("POST /api/v1/users/login", h.limitSignIn(h.productLogin))
	mux.HandleFunc("POST /api/v1/users/logout", h.productLogout)
}

// resolveTenant maps the {tenant} path segment to a tenant.
func (h *Handler) resolveTenant(ctx context.Context, ref string) (directory.Tenant, *Error) {
	if multiTenantAliases[ref] {
		// Entra answers the same: an app-only token must name its tenant.
		return directory.Tenant{}, errMultiTenant(ref, "use a tenant-specific endpoint, /{tenant id or domain}/oauth2/…")
	}
	return h.lookupTenant(ctx, ref)
}

// lookupTenant finds a tenant by id or domain.
func (h *Handler) lookupTenant(ctx context.Context, ref string) (directory.Tenant, *Error) {
	t, err := h.dir.ResolveTenant(ctx, ref)
	if err != nil {
		return t, tenantError(ref, err)
	}
	return t, nil
}

// tenantError maps a failed tenant lookup.
func tenantError(ref string, err error) *Error {
	if errors.Is(err, directory.ErrNotFound) {
		return errTenantNotFound(ref)
	}
	return errServer(err)
}

func (h *Handler) tokenEndpoint(version int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, oerr := parseClientRequest(w, r)
		if oerr == nil {
			oerr = h.serveToken(w, r, req, version)
		}
		if oerr != nil {
			writeError(w, r, h.log, oerr)
		}
	}
}

// serveToken runs the token endpoint's phases: resolve the tenant,
// authenticate the client, let the grant authorize, issue, write, audit.
func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request, req *tokenRequest, version int) *Error {
	ctx := r.Context()
	if req.GrantType == "" {
		return errMissingParameter("grant_type")
	}
	req.Version = version
	req.TenantRef = r.PathValue("tenant")
	req.clientAddr = h.limits.SignInAddress(r)
	g, ok := h.grants[req.GrantType]
	ref := req.TenantRef
	if multiTenantAliases[ref] {
		if !ok {
			return errUnsupportedGrantType(req.GrantType)
		}
		var oerr *Error
		if ref, oerr = g.tenantOf(req); oerr != nil {
			return oerr
		}
	}
	t, err := h.dir.ResolveTenant(ctx, ref)
	if err != nil {
		return tenantError(ref, err)
	}
	req.Tenant, req.TenantID = t, t.ID
	req.Endpoint = h.publicURL + r.URL.Path
	if !ok {
		return errUnsupportedGrantType(req.GrantType)
	}
	client, method, oerr := h.authenticateClient(ctx, req, g.publicClients())
	if oerr != nil {
		return oerr
	}
	a, oerr := g.authorize(ctx, req, client)
	if oerr != nil {
		return oerr
	}
	out, oerr := h.issuer.issue(ctx, req, client, method, a)
	if oerr != nil {
		return oerr
	}
	writeBody(w, http.StatusOK, out.body)
	metrics.TokenIssued(req.GrantType, req.TenantID)
	h.recordIssued(req.GrantType, req.TenantID, client, out.record)
	return nil
}
