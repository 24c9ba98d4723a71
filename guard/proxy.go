package guard

import (
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// Identity headers the proxy sets for the upstream. Lists are
// comma-separated. Every one of them is set on every request the proxy
// passes on, empty when the token has no value for it, so the upstream
// never reads a header of this family the proxy did not write.
const (
	HeaderSubject  = "X-Tessera-Subject"
	HeaderObjectID = "X-Tessera-Object-Id"
	HeaderTenantID = "X-Tessera-Tenant-Id"
	HeaderClientID = "X-Tessera-Client-Id"
	HeaderRoles    = "X-Tessera-Roles"
	HeaderScopes   = "X-Tessera-Scopes"
	// HeaderTokenType is TokenTypeApp for an application acting for
	// itself, TokenTypeUser for a user's token (see
	// Principal.IsApplication).
	HeaderTokenType = "X-Tessera-Token-Type"
)

// Values of HeaderTokenType.
const (
	TokenTypeApp  = "app"
	TokenTypeUser = "user"
)

// identityHeaderPrefix begins the name of every header the proxy owns,
// in the form identityName compares.
const identityHeaderPrefix = "x-tessera-"

// NewProxy returns a reverse proxy to upstream that admits only requests
// g.Middleware(reqs...) admits, so 401 and 403 are answered before the
// upstream sees anything. The upstream learns the caller from the
// X-Tessera-* identity headers, all of which are always set. Before they
// are, the caller's request loses every header an upstream could read as
// one of them or as another header the proxy vouches for: each whose
// name, read case-insensitively with any punctuation as '-', begins with
// X-Tessera-, and each whose name contains '_' (see dropForgeable). The
// Authorization header is passed on unchanged: an upstream may validate
// the token itself or use it for on-behalf-of calls. The upstream is
// reached with the transport of Config.HTTPClient (so a CA trusted for the
// authority is trusted for the upstream too), or http.DefaultTransport.
func NewProxy(g *Guard, upstream *url.URL, reqs ...Requirement) http.Handler {
	rp := &httputil.ReverseProxy{
		Transport: g.s.client.Transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.SetXForwarded()
			dropForgeable(pr.Out.Header)
			// The middleware put the principal there; without one, the
			// headers are still all set, empty.
			p, _ := PrincipalFrom(pr.In.Context())
			setIdentityHeaders(pr.Out.Header, p)
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

// dropForgeable removes the caller's headers that an upstream could take
// for ones the proxy sets or checks.
//
// CGI (RFC 3875 §4.1.18) and the servers that follow it (WSGI, Rack, PHP)
// hand an application its headers as HTTP_* variables, upper-cased with
// '-' turned into '_': X-Tessera-Roles and X-Tessera_Roles both become
// HTTP_X_TESSERA_ROLES, and the server keeps one or joins both. A name
// with '_' is the only way a caller gets a second header into the
// variable of one the proxy sets (X-Tessera-*, X-Forwarded-*) or checks
// (the tenant header), so every such name is dropped, as nginx
// (underscores_in_headers off) and Apache httpd 2.4 do in front of CGI.
// Names of the identity family are dropped in any spelling besides: Go
// canonicalises incoming names, but a handler in between may have set
// one with direct map access.
func dropForgeable(h http.Header) {
	for k := range h {
		if strings.IndexByte(k, '_') >= 0 || identityName(k) {
			delete(h, k)
		}
	}
}

// identityName reports whether name, read without regard to case and with
// every character but a letter or digit as '-', begins with X-Tessera-.
func identityName(name string) bool {
	if len(name) < len(identityHeaderPrefix) {
		return false
	}
	for i := range len(identityHeaderPrefix) {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		} else if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			c = '-'
		}
		if c != identityHeaderPrefix[i] {
			return false
		}
	}
	return true
}

// setIdentityHeaders sets every identity header, each to one value: the
// token's, or "" when it has none or one that cannot be sent (control
// characters). A header absent upstream would let a forged spelling of it
// be the only one an upstream reads.
func setIdentityHeaders(h http.Header, p *Principal) {
	if p == nil {
		p = &Principal{}
	}
	set := func(k, v string) {
		if !headerSafe(v) {
			v = ""
		}
		h[k] = []string{v}
	}
	set(HeaderSubject, p.Subject)
	set(HeaderObjectID, p.ObjectID)
	set(HeaderTenantID, p.TenantID)
	set(HeaderClientID, p.ClientID)
	set(HeaderRoles, joinSafe(p.Roles))
	set(HeaderScopes, joinSafe(p.Scopes))
	typ := TokenTypeUser
	if p.IsApplication() {
		typ = TokenTypeApp
	}
	set(HeaderTokenType, typ)
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
