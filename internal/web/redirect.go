package web

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
)

// isLoopback reports whether u is an http URI to a loopback host, the
// redirect a native app listens on (RFC 8252 §7.3).
func isLoopback(u *url.URL) bool {
	if !strings.EqualFold(u.Scheme, "http") {
		return false
	}
	switch h := u.Hostname(); h {
	case "localhost":
		return true
	default:
		ip := net.ParseIP(h)
		return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
	}
}

func normPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// matchRedirect decides the redirect URI of a request: the one sent,
// when it is registered, else "" and false. Matching is by exact string
// (RFC 9700 §4.1.3), with one exception: for a public client a loopback
// URI matches a registered loopback URI on any port, because a native
// app listens on whatever port the system gives it (RFC 8252 §7.3);
// scheme, host, path ("" ≡ "/") and query must still agree. When no
// redirect_uri is sent, the single registered URI is used if it is not a
// loopback one (RFC 6749 §3.1.2.3).
func matchRedirect(app directory.Application, sent string) (string, bool) {
	if sent == "" {
		if len(app.RedirectURIs) != 1 {
			return "", false
		}
		u, err := url.Parse(app.RedirectURIs[0])
		if err != nil || isLoopback(u) {
			return "", false
		}
		return app.RedirectURIs[0], true
	}
	for _, r := range app.RedirectURIs {
		if r == sent {
			return sent, true
		}
	}
	if !app.PublicClient {
		return "", false
	}
	s, err := url.Parse(sent)
	if err != nil || !isLoopback(s) || s.User != nil || s.Fragment != "" || strings.Contains(sent, "#") {
		return "", false
	}
	for _, r := range app.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil || !isLoopback(u) {
			continue
		}
		if strings.EqualFold(u.Scheme, s.Scheme) && strings.EqualFold(u.Hostname(), s.Hostname()) &&
			normPath(u.EscapedPath()) == normPath(s.EscapedPath()) && u.RawQuery == s.RawQuery {
			return sent, true
		}
	}
	return "", false
}

// withParams appends params to a redirect URI, keeping its own query
// (RFC 6749 §3.1.2: the query component MUST be retained).
func withParams(redirect string, params url.Values) string {
	u, err := url.Parse(redirect)
	if err != nil {
		return redirect
	}
	if u.RawQuery == "" {
		u.RawQuery = params.Encode()
	} else {
		u.RawQuery += "&" + params.Encode()
	}
	return u.String()
}

// redirect sends the browser on: 302 for GET, 303 after a POST so that
// the next request is a GET (RFC 9110 §15.4.4).
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	secureHeaders(w, "", false)
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther
	}
	w.Header().Set("Location", to)
	w.WriteHeader(status)
}
