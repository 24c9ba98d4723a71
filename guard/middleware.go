package guard

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// Middleware returns middleware that admits a request only with a valid
// bearer token (RFC 6750 §2.1: in the Authorization header; the form-body
// and query forms of §2.2 and §2.3 are not accepted, as query strings end
// up in logs), the configured tenant header matching the token's tenant,
// and every one of reqs satisfied. The admitted request's context carries
// the *Principal (see PrincipalFrom). Refusals follow RFC 6750 §3.
func (g *Guard) Middleware(reqs ...Requirement) func(http.Handler) http.Handler {
	reqs = slices.Clone(reqs)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := g.admit(r, reqs)
			if err != nil {
				g.refuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// admit runs the checks in the order RFC 6750 §3.1 ranks its errors: the
// request, then the token (401), then the privileges (403).
func (g *Guard) admit(r *http.Request, reqs []Requirement) (*Principal, *Error) {
	raw, err := bearerToken(r)
	if err != nil {
		return nil, err
	}
	if g.tenants != nil && strings.TrimSpace(r.Header.Get(g.s.tenantHeader)) == "" {
		return nil, &Error{Reason: ReasonNoTenantHeader, header: g.s.tenantHeader}
	}
	p, verr := g.Validate(r.Context(), raw)
	if verr != nil {
		return nil, asError(verr)
	}
	if g.tenants != nil {
		if err := g.tenants.matches(r.Context(), r.Header.Get(g.s.tenantHeader), p.TenantID); err != nil {
			return nil, tenantHeaderError(err)
		}
	}
	for _, req := range reqs {
		if !req.Allows(p) {
			return nil, req.refusal()
		}
	}
	return p, nil
}

// bearerToken extracts the token of "Authorization: Bearer <token>". No
// Authorization header, or one with another scheme, is "no bearer token"
// (RFC 6750 §3.1: challenge without an error code). Two Authorization
// headers, or a Bearer credential that is not one b64token (RFC 6750
// §2.1), is a malformed request.
func bearerToken(r *http.Request) (string, *Error) {
	vals := r.Header.Values("Authorization")
	switch len(vals) {
	case 0:
		return "", newError(ReasonNoToken, nil)
	case 1:
	default:
		return "", newError(ReasonBadRequest, nil)
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	// The scheme is case-insensitive (RFC 9110 §11.1).
	if !strings.EqualFold(scheme, "Bearer") {
		return "", newError(ReasonNoToken, nil)
	}
	token = strings.TrimLeft(token, " ")
	if !isB64Token(token) {
		return "", newError(ReasonBadRequest, nil)
	}
	return token, nil
}

// isB64Token reports whether s matches RFC 6750 §2.1's
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
// It reads every byte of every token, cached or not: one table lookup a
// byte, not a comparison chain and a search of "-._~+/".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		if !b64TokenByte[body[i]] {
			return false
		}
	}
	return true
}

// b64TokenByte marks the bytes b64token allows before its padding.
var b64TokenByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~+/" {
		t[c] = true
	}
	return t
}()

// refuse writes the RFC 6750 §3 challenge and a small JSON body with the
// same code and fixed description. The cause goes to the log only.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, e *Error) {
	g.s.log.DebugContext(r.Context(), "guard: request refused",
		"method", r.Method, "path", r.URL.Path, "reason", string(e.Reason), "err", e.Error())

	challenge := `Bearer realm="` + g.s.realm + `"`
	if code := e.Code(); code != "" {
		challenge += `, error="` + code + `", error_description="` + e.Description() + `"`
	}
	if scope := scopeAttribute(e.Scope); scope != "" {
		challenge += `, scope="` + scope + `"`
	}
	h := w.Header()
	if e.Status() == http.StatusServiceUnavailable {
		h.Set("Retry-After", "5")
	} else {
		h.Set("WWW-Authenticate", challenge)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status())
	body := struct {
		Error       string `json:"error,omitempty"` // none for a request without a token (RFC 6750 §3.1)
		Description string `json:"error_description"`
	}{e.Code(), e.Description()}
	_ = json.NewEncoder(w).Encode(body)
}

// scopeAttribute joins the scopes that are valid scope-tokens (RFC 6749
// §3.3: no space, '"' or '\'), so a value can never break the header.
func scopeAttribute(scopes []string) string {
	var ok []string
	for _, s := range scopes {
		if s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r <= 0x20 || r > 0x7e || r == '"' || r == '\\' }) && !slices.Contains(ok, s) {
			ok = append(ok, s)
		}
	}
	return strings.Join(ok, " ")
}
