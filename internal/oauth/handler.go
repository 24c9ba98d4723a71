package oauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
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
	grants    map[string]grant
}

// grant is one grant type. The token endpoint runs the shared phases
// (parse, resolve tenant, authenticate the client) and hands the grant an
// authenticated request; a grant cannot skip a phase because it never runs
// them itself.
type grant interface {
	// issue decides and issues tokens, returning the response body.
	issue(ctx context.Context, req *tokenRequest, client directory.Client, clientAuth string) (any, *Error)
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
	h.grants = map[string]grant{
		"client_credentials": clientCredentials{h},
	}
	return h
}

// Register adds the protocol routes to mux. {tenant} is a tenant GUID or
// domain name everywhere; "common" and "organizations" serve discovery and
// keys, as in Entra.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", h.tokenEndpoint(2))
	mux.HandleFunc("POST /{tenant}/oauth2/token", h.tokenEndpoint(1))
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", h.discovery(2))
	mux.HandleFunc("GET /{tenant}/.well-known/openid-configuration", h.discovery(1))
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", h.jwks)
	mux.HandleFunc("GET /{tenant}/discovery/keys", h.jwks)
}

// resolveTenant maps the {tenant} path segment to a tenant id.
func (h *Handler) resolveTenant(ctx context.Context, ref string) (directory.Tenant, *Error) {
	if multiTenantAliases[ref] {
		// Entra answers the same: an app-only token must name its tenant.
		return directory.Tenant{}, &Error{Code: "invalid_request", Status: 400, AADSTS: 90099,
			Description: "The tenant '" + ref + "' cannot issue tokens here: use a tenant-specific endpoint, /{tenant id or domain}/oauth2/…"}
	}
	t, err := h.dir.ResolveTenant(ctx, ref)
	if errors.Is(err, directory.ErrNotFound) {
		return t, errTenantNotFound(ref)
	}
	if err != nil {
		return t, errServer(err)
	}
	return t, nil
}

func (h *Handler) tokenEndpoint(version int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, oerr := parseTokenRequest(w, r)
		if oerr == nil {
			oerr = h.serveToken(w, r, req, version)
		}
		if oerr != nil {
			writeError(w, r, h.log, oerr)
		}
	}
}

func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request, req *tokenRequest, version int) *Error {
	ctx := r.Context()
	req.Version = version
	req.TenantRef = r.PathValue("tenant")
	t, oerr := h.resolveTenant(ctx, req.TenantRef)
	if oerr != nil {
		return oerr
	}
	req.TenantID = t.ID
	req.Endpoint = h.publicURL + r.URL.Path
	g, ok := h.grants[req.GrantType]
	if !ok {
		return errUnsupportedGrantType(req.GrantType)
	}
	client, method, oerr := h.authenticateClient(ctx, req)
	if oerr != nil {
		return oerr
	}
	body, oerr := g.issue(ctx, req, client, method)
	if oerr != nil {
		return oerr
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}
