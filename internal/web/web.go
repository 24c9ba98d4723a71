// Package web serves the pages a person sees: the authorization endpoint
// with its sign-in and consent pages, device-code entry, sign-out, and
// errors. Pages are server-rendered from embedded templates with no
// external assets.
package web

import (
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/ratelimit"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/token"
)

// Config is what the pages need, passed in at construction.
type Config struct {
	Directory *directory.Service
	Sessions  *session.Service
	Keys      *token.Ring
	// Secrets derive the keys of CSRF tokens and sealed flow state.
	Secrets *secrets.Keys
	// PublicURL is the base of every URL, e.g. https://id.example.com.
	PublicURL string
	// HomeTenant is the id of the home tenant: at /adfs, which names no
	// tenant, a bare user name is its (as at /adfs's token endpoint).
	HomeTenant string
	// InsecureCookies drops the Secure attribute, for plain-HTTP tests
	// only (--http without a TLS proxy in front).
	InsecureCookies bool
	// Limits are the abuse limits (package ratelimit); nil is none.
	Limits *ratelimit.Limits
	Logger *slog.Logger
	Now    func() time.Time
}

// Handler serves the pages.
type Handler struct {
	dir       *directory.Service
	sessions  *session.Service
	keys      *token.Ring
	secrets   *secrets.Keys
	publicURL string
	home      string
	insecure  bool
	limits    *ratelimit.Limits
	log       *slog.Logger
	now       func() time.Time
	pages     map[string]*template.Template
}

// New returns the pages handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{
		dir:       cfg.Directory,
		sessions:  cfg.Sessions,
		keys:      cfg.Keys,
		secrets:   cfg.Secrets,
		publicURL: strings.TrimSuffix(cfg.PublicURL, "/"),
		home:      cfg.HomeTenant,
		insecure:  cfg.InsecureCookies,
		limits:    cfg.Limits,
		log:       cfg.Logger,
		now:       cfg.Now,
		pages:     parsePages(),
	}
}

// Register adds the page routes to mux. {tenant} is a tenant GUID or
// domain name; the authorization and logout endpoints also take "common"
// and "organizations", where the user name decides the tenant.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, m := range []string{"GET", "POST"} {
		// RFC 6749 §3.1: the authorization endpoint MUST support GET and
		// MAY support POST (OIDC Core §3.1.2.1 requires both).
		mux.HandleFunc(m+" /{tenant}/oauth2/v2.0/authorize", h.authorize(2))
		mux.HandleFunc(m+" /{tenant}/oauth2/authorize", h.authorize(1))
		mux.HandleFunc(m+" /{tenant}/oauth2/v2.0/logout", h.logout)
		mux.HandleFunc(m+" /{tenant}/oauth2/logout", h.logout)
	}
	mux.HandleFunc("POST /{tenant}/login", h.limitSignIn(h.signInSubmit))
	mux.HandleFunc("POST /{tenant}/selectaccount", h.selectAccountSubmit)
	mux.HandleFunc("POST /{tenant}/consent", h.consentSubmit)
	mux.HandleFunc("GET /{tenant}/devicelogin", h.deviceForm)
	mux.HandleFunc("POST /{tenant}/devicelogin", h.limitSignIn(h.deviceSubmit))
	h.registerADFS(mux)
}
