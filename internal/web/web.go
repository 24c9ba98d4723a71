// Package web serves the pages a person sees: the authorization endpoint
// with its sign-in and consent pages, device-code entry, sign-out, and
// errors. Pages are server-rendered from embedded templates with no
// external assets.
package web

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
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
	// InsecureCookies drops the Secure attribute, for plain-HTTP tests
	// only (--http without a TLS proxy in front).
	InsecureCookies bool
	Logger          *slog.Logger
	Now             func() time.Time
}

// Handler serves the pages.
type Handler struct {
	cfg Config
}

// New returns the pages handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg}
}

// Register adds the page routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {}
