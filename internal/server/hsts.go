package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/tessera-id/tessera/internal/config"
)

// hstsValue: a year (RFC 6797 §6.1.1), and no includeSubDomains, since
// tessera does not answer for the other hosts of its domain.
const hstsValue = "max-age=31536000"

// sendHSTS decides whether responses carry Strict-Transport-Security
// (RFC 6797):
//
//   - when tessera serves TLS itself, yes, except for localhost and
//     *.localhost (RFC 6761 §6.3): a browser would then refuse plain HTTP
//     to every port of localhost for a year, breaking a developer's other
//     local servers. (A UA ignores HSTS from an IP literal anyway, RFC
//     6797 §8.1.)
//   - under --http, only with --hsts and an https --public-url: the TLS
//     proxy in front usually sets it, and a server that cannot see the
//     scheme must not claim it.
func sendHSTS(cfg config.Config, publicURL string) bool {
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme != "https" {
		return false
	}
	if cfg.HTTP {
		return cfg.HSTS
	}
	host := strings.ToLower(u.Hostname())
	return host != "localhost" && !strings.HasSuffix(host, ".localhost")
}

// withHSTS adds Strict-Transport-Security to every response when on.
func withHSTS(next http.Handler, on bool) http.Handler {
	if !on {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", hstsValue)
		next.ServeHTTP(w, r)
	})
}

// nosniff: a browser must not guess another type than the one sent
// (a metrics page read as HTML). The public listener sets it in
// withCommon; this is for the admin listener.
func nosniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}
