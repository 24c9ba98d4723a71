package guard

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"time"
)

// Principal is the caller as a validated access token describes it.
type Principal struct {
	Subject  string // sub: the caller, pairwise per application
	ObjectID string // oid: the user or service principal, stable across applications
	TenantID string // tid, lower case
	ClientID string // azp (v2) or appid (v1): the application that got the token
	Issuer   string // iss
	Version  string // ver: "1.0" or "2.0"
	Audience []string
	Roles    []string // application roles (roles claim)
	Scopes   []string // delegated scopes (scp claim, split on spaces); empty for app-only tokens

	IssuedAt  time.Time // zero if the token has no iat
	NotBefore time.Time // zero if the token has no nbf
	ExpiresAt time.Time
	TokenID   string // uti, or jti when there is no uti
	// SessionID is sid: the sign-in (tessera's grant) the token was issued
	// from; every token of one sign-in shares it. Empty in app-only tokens.
	SessionID string

	// Claims is every claim of the token as encoding/json decodes it
	// (numbers are float64).
	Claims map[string]any
}

// HasRole reports whether the token carries application role r.
func (p *Principal) HasRole(r string) bool { return slices.Contains(p.Roles, r) }

// HasScope reports whether the token carries delegated scope s.
func (p *Principal) HasScope(s string) bool { return slices.Contains(p.Scopes, s) }

// IsApplication reports whether the token was issued to an application
// acting for itself (client credentials): such tokens carry no scp.
func (p *Principal) IsApplication() bool { return len(p.Scopes) == 0 }

type principalKey struct{}

// WithPrincipal returns a context carrying p, as the middleware passes it
// to the next handler; handlers can be tested with it and no token.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal the middleware put in ctx.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

var errClaimType = errors.New("a registered claim has the wrong JSON type")

// principalFromClaims reads the registered claims (RFC 7519 §4.1) and
// Entra's claims out of the decoded payload. A claim of the wrong type is
// an error, never silently empty, so that e.g. an exp that is a string is
// not taken for "no expiry".
func principalFromClaims(c map[string]any) (*Principal, error) {
	var r claimReader
	p := &Principal{
		Subject:  r.str(c, "sub"),
		ObjectID: r.str(c, "oid"),
		TenantID: strings.ToLower(r.str(c, "tid")),
		Issuer:   r.str(c, "iss"),
		Version:  r.str(c, "ver"),
		Audience: r.strings(c, "aud"),
		Roles:    r.strings(c, "roles"),
		Scopes:   strings.Fields(r.str(c, "scp")),
		TokenID:  r.str(c, "uti"),
		Claims:   c,
	}
	if p.ClientID = r.str(c, "azp"); p.ClientID == "" {
		p.ClientID = r.str(c, "appid")
	}
	if p.TokenID == "" {
		p.TokenID = r.str(c, "jti")
	}
	p.SessionID = r.str(c, "sid")
	p.IssuedAt = r.date(c, "iat")
	p.NotBefore = r.date(c, "nbf")
	p.ExpiresAt = r.date(c, "exp")
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

// claimReader reads typed claims and remembers the first type error.
type claimReader struct{ err error }

func (r *claimReader) str(c map[string]any, name string) string {
	switch v := c[name].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		r.err = errClaimType
		return ""
	}
}

// strings reads a claim that is a string or an array of strings, as aud
// may be either (RFC 7519 §4.1.3).
func (r *claimReader) strings(c map[string]any, name string) []string {
	switch v := c[name].(type) {
	case nil:
		return nil
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				r.err = errClaimType
				return nil
			}
			out = append(out, s)
		}
		return out
	default:
		r.err = errClaimType
		return nil
	}
}

// date reads a NumericDate (RFC 7519 §2): seconds since the epoch, possibly
// fractional.
func (r *claimReader) date(c map[string]any, name string) time.Time {
	switch v := c[name].(type) {
	case nil:
		return time.Time{}
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e12 {
			r.err = errClaimType
			return time.Time{}
		}
		sec, frac := math.Modf(v)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC()
	default:
		r.err = errClaimType
		return time.Time{}
	}
}
