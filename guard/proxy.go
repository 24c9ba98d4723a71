package guard

import (
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// Identity headers the proxy sets for the upstream. Lists are
// comma-separated.
const (
	HeaderSubject  = "X-Tessera-Subject"
	HeaderObjectID = "X-Tessera-Object-Id"
	HeaderTenantID = "X-Tessera-Tenant-Id"
	HeaderClientID = "X-Tessera-Client-Id"
	HeaderRoles    = "X-Tessera-Roles"
	HeaderScopes   = "X-Tessera-Scopes"
)

const identityHeaderPrefix = "X-Tessera-"

// NewProxy returns a reverse proxy to upstream that admits only requests
// g.Middleware(reqs...) admits, so 401 and 403 are answered before the
// upstream sees anything. The upstream learns the caller from the
// X-Tessera-* identity headers; every X-Tessera-* header the caller sent
// is removed first, so they cannot be forged. The Authorization header is
// passed on unchanged: an upstream may validate the token itself or use it
// for on-behalf-of calls. The upstream is reached with the transport of
// Config.HTTPClient (so a CA trusted for the authority is trusted for the
// upstream too), or http.DefaultTransport.
func NewProxy(g *Guard, upstream *url.URL, reqs ...Requirement) http.Handler {
	rp := &httputil.ReverseProxy{
		Transport: g.s.client.Transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
			stripIdentityHeaders(pr.Out.Header)
			if p, ok := PrincipalFrom(pr.In.Context()); ok {
				setIdentityHeaders(pr.Out.Header, p)
			}
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			g.s.log.WarnContext(r.Context(), "guard: upstream request failed",
				"method", r.Method, "path", r.URL.Path, "err", err)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusBadGateway)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"error": "bad_gateway", "error_description": "the upstream service is unavailable",
			})
		},
	}
	return g.Middleware(reqs...)(rp)
}

// stripIdentityHeaders removes X-Tessera-* in any spelling. Go
// canonicalises incoming names, but a header set by a handler in between
// with direct map access need not be.
func stripIdentityHeaders(h http.Header) {
	for k := range h {
		if len(k) >= len(identityHeaderPrefix) && strings.EqualFold(k[:len(identityHeaderPrefix)], identityHeaderPrefix) {
			delete(h, k)
		}
	}
}

func setIdentityHeaders(h http.Header, p *Principal) {
	set := func(k, v string) {
		if v != "" && headerSafe(v) {
			h.Set(k, v)
		}
	}
	set(HeaderSubject, p.Subject)
	set(HeaderObjectID, p.ObjectID)
	set(HeaderTenantID, p.TenantID)
	set(HeaderClientID, p.ClientID)
	set(HeaderRoles, joinSafe(p.Roles))
	set(HeaderScopes, joinSafe(p.Scopes))
}

// joinSafe joins values with commas, leaving out any containing a comma,
// which would split into two values at the upstream.
func joinSafe(vals []string) string {
	var ok []string
	for _, v := range vals {
		if v != "" && !strings.Contains(v, ",") {
			ok = append(ok, strings.TrimSpace(v))
		}
	}
	return strings.Join(ok, ",")
}

// headerSafe reports whether v is a visible-ASCII field value (RFC 9110
// §5.5); a claim with control characters is dropped rather than sent.
func headerSafe(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}
