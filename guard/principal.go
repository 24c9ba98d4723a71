package guard

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Principal is the caller as a validated access token describes it.
//
// Each Validate returns a Principal of its own: changing its fields or
// the elements of its slices affects no other request, even when the
// guard answered from its cache of verified tokens.
type Principal struct {
	Subject  string   // sub: the caller, pairwise per application
	ObjectID string   // oid: the user or service principal, stable across applications
	TenantID string   // tid, lower case
	ClientID string   // azp (v2) or appid (v1): the application that got the token
	Issuer   string   // iss
	Version  string   // ver: "1.0" or "2.0"
	Audience []string // aud; nil when the token has none
	Roles    []string // application roles (roles claim); nil when none
	Scopes   []string // delegated scopes (scp claim, split on spaces); nil for app-only tokens

	IssuedAt  time.Time // zero if the token has no iat
	NotBefore time.Time // zero if the token has no nbf
	ExpiresAt time.Time
	TokenID   string // uti, or jti when there is no uti
	// SessionID is sid: the sign-in (tessera's grant) the token was issued
	// from; every token of one sign-in shares it. Empty in app-only tokens.
	SessionID string

	// payload is the token's JSON claims set, which Claims and Claim
	// decode on demand; "" for a Principal the guard did not make.
	payload string
	// The claims the fields above choose between, as the revocation feed
	// may name either: jti and uti (TokenID), azp and appid (ClientID).
	jti, uti, azp, appid string
	// idtyp is Entra's token type claim: "app" or "user" (see
	// IsApplication); "" when the token has none.
	idtyp string
}

// Claims returns every claim of the token, as encoding/json decodes a JSON
// object into a map[string]any: numbers are float64, arrays []any. The map
// is decoded anew on each call and belongs to the caller; to read one
// claim, Claim is cheaper. A Principal the guard did not make (a literal
// in a test, say) has no claims: Claims returns an empty map.
//
// Claims replaces the Claims field of earlier versions, which the guard
// filled on every validation although most handlers read only the fields
// above: decoding every claim was most of a validation's allocations. Where
// code read p.Claims["name"], it now calls p.Claim("name").
func (p *Principal) Claims() map[string]any {
	m := map[string]any{}
	if p.payload != "" {
		// Validate has checked that the payload decodes (see scanPayload).
		_ = json.Unmarshal([]byte(p.payload), &m)
	}
	return m
}

// Claim returns the token's claim name as encoding/json decodes it into an
// interface value (a string, float64, bool, []any, map[string]any or nil
// for JSON null), and whether the token has that claim. Names are matched
// exactly; when a claim appears twice in the token, its last value is the
// one returned, as in Claims.
func (p *Principal) Claim(name string) (any, bool) {
	raw, ok := memberValue(p.payload, name)
	if !ok {
		return nil, false
	}
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return nil, false // unreachable: Validate has checked the payload
	}
	return v, true
}

// clone returns a copy of p that shares no mutable memory with it: the
// guard's cache keeps p, the caller gets the copy.
func (p *Principal) clone() *Principal {
	c := *p
	if n := len(p.Audience) + len(p.Roles) + len(p.Scopes); n > 0 {
		all := make([]string, 0, n)
		all = append(append(append(all, p.Audience...), p.Roles...), p.Scopes...)
		c.Audience, c.Roles, c.Scopes = splitLists(all, len(p.Audience), len(p.Roles))
	}
	return &c
}

// splitLists cuts all into the audience, roles and scopes, each with its
// capacity clipped so that an append to one cannot overwrite the next.
func splitLists(all []string, nAud, nRoles int) (aud, roles, scopes []string) {
	part := func(i, j int) []string {
		if i == j {
			return nil
		}
		return all[i:j:j]
	}
	return part(0, nAud), part(nAud, nAud+nRoles), part(nAud+nRoles, len(all))
}

// HasRole reports whether the token carries application role r.
func (p *Principal) HasRole(r string) bool { return slices.Contains(p.Roles, r) }

// HasScope reports whether the token carries delegated scope s.
func (p *Principal) HasScope(s string) bool { return slices.Contains(p.Scopes, s) }

// IsApplication reports whether the token was issued to an application
// acting for itself (client credentials), not to one acting for a
// signed-in user. It decides as Microsoft documents for Entra's access
// tokens, which tessera's follow:
//
//   - idtyp, when the token has it, decides: "app" is an application,
//     anything else ("user") is not. Microsoft's access token claims
//     reference names this claim as the surest way for an API to tell an
//     app-only token from an app+user one; tessera puts it in every
//     access token, Entra when the API asks for the optional claim.
//   - Without idtyp, the token's own claims decide: a delegated token
//     carries scp (an app-only one never does) or sid (the user's
//     sign-in); an app-only token has oid equal to sub, the test
//     Microsoft's "Protected web API: verify scopes and app roles" gives
//     for APIs called by daemon apps. A token that shows neither is not
//     taken for an application.
//
// A missing scp alone does not make an application: tessera's
// product-login tokens carry roles and no scp, and are a user's.
func (p *Principal) IsApplication() bool {
	if p.idtyp != "" {
		return p.idtyp == "app"
	}
	return len(p.Scopes) == 0 && p.SessionID == "" && p.ObjectID != "" && p.ObjectID == p.Subject
}

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

// principalFromPayload reads the registered claims (RFC 7519 §4.1) and
// Entra's claims out of the JSON claims set. A claim of the wrong type is
// an error, never silently empty, so that e.g. an exp that is a string is
// not taken for "no expiry".
func principalFromPayload(payload string) (*Principal, error) {
	c, err := scanPayload(payload)
	if err != nil {
		return nil, err
	}
	var r claimReader
	p := &Principal{
		Subject:  r.str(c[claimSub]),
		ObjectID: r.str(c[claimOID]),
		TenantID: strings.ToLower(r.str(c[claimTID])),
		Issuer:   r.str(c[claimIss]),
		Version:  r.str(c[claimVer]),
		TokenID:  r.str(c[claimUTI]),
		ClientID: r.str(c[claimAzp]),
		payload:  payload,
		jti:      looseStr(c[claimJTI]),
		azp:      looseStr(c[claimAzp]),
		appid:    looseStr(c[claimAppID]),
		idtyp:    looseStr(c[claimIDTyp]),
	}
	p.uti = p.TokenID
	// The three lists share one allocation, built on the stack first.
	var buf [16]string
	lists := r.appendStrings(buf[:0], c[claimAud])
	nAud := len(lists)
	lists = r.appendStrings(lists, c[claimRoles])
	nRoles := len(lists) - nAud
	lists = appendFields(lists, r.str(c[claimScp]))
	if len(lists) > 0 {
		p.Audience, p.Roles, p.Scopes = splitLists(slices.Clone(lists), nAud, nRoles)
	}
	// The alternatives are read, and so type-checked, only when needed.
	if p.ClientID == "" {
		p.ClientID = r.str(c[claimAppID])
	}
	if p.TokenID == "" {
		p.TokenID = r.str(c[claimJTI])
	}
	p.SessionID = r.str(c[claimSID])
	p.IssuedAt = r.date(c[claimIat])
	p.NotBefore = r.date(c[claimNbf])
	p.ExpiresAt = r.date(c[claimExp])
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

// appendFields appends the space-separated words of s (scp, RFC 6749
// §3.3) to dst, splitting as strings.Fields does without allocating a
// slice of its own for the usual ASCII value.
func appendFields(dst []string, s string) []string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(dst, strings.Fields(s)...)
		}
	}
	for len(s) > 0 {
		i := 0
		for i < len(s) && asciiSpace(s[i]) {
			i++
		}
		s = s[i:]
		j := 0
		for j < len(s) && !asciiSpace(s[j]) {
			j++
		}
		if j > 0 {
			dst = append(dst, s[:j])
		}
		s = s[j:]
	}
	return dst
}

// asciiSpace is unicode.IsSpace for ASCII.
func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
