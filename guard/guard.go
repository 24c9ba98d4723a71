package guard

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// maxTokenBytes bounds the tokens the guard will parse. Entra access
// tokens with many roles stay well under 16 KiB.
const maxTokenBytes = 64 << 10

// Guard validates bearer access tokens of one authority. It is safe for
// concurrent use; build one per authority and share it.
type Guard struct {
	s          *settings
	issuers    []string
	keys       *keyCache
	tenants    *tenantResolver // nil unless a tenant header is configured
	revs       *revocations    // nil when no single revocation feed is followed
	tenantRevs *tenantFeeds    // nil unless the feed is a {tenantid} template
	introspect *introspector   // nil unless Config.Introspection is set
	verified   *verifiedCache  // nil when the verified-token cache is off
	headers    headerCache     // protected headers of tokens that verified
}

// New checks cfg, fetches the authority's discovery document, its key set
// and its revocation feed, and returns a Guard. It fails, saying which URL,
// if one cannot be fetched: a resource server that cannot verify tokens
// should not start, and one that has not read the feed would accept tokens
// revoked long ago.
//
// The feed is then polled in the background until ctx ends or Close is
// called, so ctx should live as long as the guard, not just New: a context
// with a deadline for start-up would stop the guard learning of
// revocations. Call Close when the guard is no longer used.
func New(ctx context.Context, cfg Config) (*Guard, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
		// Not in OpenID Connect Discovery: tessera publishes its
		// revocation feed here.
		RevocationFeed        string `json:"revocation_feed_endpoint"`
		IntrospectionEndpoint string `json:"introspection_endpoint"`
	}
	if err := getJSON(ctx, s.client, s.discoveryURL, &doc); err != nil {
		return nil, fmt.Errorf("guard: fetch discovery document: %w", err)
	}
	if doc.Issuer == "" || doc.JWKSURI == "" {
		return nil, fmt.Errorf("guard: discovery document %s lacks issuer or jwks_uri", s.discoveryURL)
	}
	if !secureURL(doc.JWKSURI) {
		return nil, fmt.Errorf("guard: discovery document %s has jwks_uri %q, which is not an https URL", s.discoveryURL, doc.JWKSURI)
	}

	g := &Guard{
		s:        s,
		issuers:  s.issuers,
		verified: newVerifiedCache(s.verifiedSize),
		keys: &keyCache{
			uri: doc.JWKSURI, client: s.client, now: s.now, log: s.log,
			minInterval: s.minRefresh, maxAge: s.refresh,
		},
	}
	if len(g.issuers) == 0 {
		g.issuers = issuerSiblings(doc.Issuer)
	}
	if err := g.keys.refresh(ctx); err != nil {
		return nil, fmt.Errorf("guard: fetch key set: %w", err)
	}
	if s.tenantHeader != "" {
		g.tenants = &tenantResolver{
			base:   &url.URL{Scheme: s.authority.Scheme, Host: s.authority.Host},
			client: s.client, now: s.now, log: s.log,
		}
	}
	if s.introspect != nil {
		endpoint := s.introspect.Endpoint
		if endpoint == "" {
			endpoint = strings.TrimSpace(doc.IntrospectionEndpoint)
		}
		switch {
		case endpoint == "":
			return nil, fmt.Errorf("guard: discovery document %s names no introspection_endpoint; set Introspection.Endpoint", s.discoveryURL)
		case !secureURL(endpoint):
			return nil, fmt.Errorf("guard: discovery document %s has introspection_endpoint %q, which is not an https URL", s.discoveryURL, endpoint)
		}
		g.introspect = newIntrospector(*s.introspect, endpoint, s)
		return g, nil
	}
	if err := g.followRevocations(ctx, doc.RevocationFeed, doc.Issuer); err != nil {
		return nil, err
	}
	return g, nil
}

// followRevocations reads the whole revocation feed once, so the guard
// knows every live revocation before it admits a request, and starts the
// background polling.
func (g *Guard) followRevocations(ctx context.Context, discovered, issuer string) error {
	s := g.s
	if s.revPoll < 0 {
		return nil
	}
	feed := s.revFeed
	if feed == "" {
		feed = strings.TrimSpace(discovered)
		if feed != "" && !secureURL(feed) {
			return fmt.Errorf("guard: discovery document %s has revocation_feed_endpoint %q, which is not an https URL", s.discoveryURL, feed)
		}
	}
	if feed == "" {
		s.log.Warn("guard: the authority publishes no revocation feed; revoked tokens are accepted until they expire",
			"discovery", s.discoveryURL)
		return nil
	}
	if strings.Contains(feed, "{tenantid}") {
		// A multi-tenant authority (/common) has one feed per tenant and
		// names them by a template: the guard follows the feed of each
		// tenant whose tokens it sees (revocations_multi.go).
		g.tenantRevs = newTenantFeeds(ctx, feed, s)
		return nil
	}
	r := newRevocations(feed, tenantOfIssuer(issuer), s)
	if err := r.poll(ctx); err != nil {
		return fmt.Errorf("guard: read revocation feed: %w", err)
	}
	r.start(ctx)
	g.revs = r
	return nil
}

// Issuers returns the iss values the guard accepts.
func (g *Guard) Issuers() []string { return slices.Clone(g.issuers) }

// Validate checks a compact JWS access token as RFC 8725 §3 asks of a JWT
// consumer (allowlisted algorithm that fits the key, signature, issuer,
// audience, lifetime) and returns the principal it describes. Errors are
// *Error values.
//
// A token seen before is answered from the verified-token cache (see
// Config.VerifiedTokenCacheSize): its lifetime and revocation are checked
// again, its signature is not, as long as its key is still published.
func (g *Guard) Validate(ctx context.Context, rawToken string) (*Principal, error) {
	if rawToken == "" || len(rawToken) > maxTokenBytes {
		return nil, newError(ReasonMalformed, fmt.Errorf("token length %d", len(rawToken)))
	}
	var sum [sha256.Size]byte
	pre := signingInputSum{len: -1}
	if g.verified != nil {
		sum, pre.sum, pre.len = tokenSums(rawToken)
		if e := g.verified.get(&sum); e != nil {
			if g.keys.stillPublished(e) {
				if err := g.checkLifetime(e.p, g.s.now()); err != nil {
					if err.Reason == ReasonExpired {
						g.verified.remove(&sum, e) // for good: clocks move on
					}
					return nil, err
				}
				return g.notRevoked(ctx, rawToken, e.p)
			}
			// Its key is gone: validated afresh, the token is refused,
			// or accepted under the key now published for its kid.
			g.verified.remove(&sum, e)
		}
	}
	p, e, err := g.verify(ctx, rawToken, pre)
	if err != nil {
		return nil, err
	}
	if g.verified != nil {
		// Revocation is not a reason to leave a token out: it is checked
		// on every hit, and a revoked token replayed is refused cheaply.
		g.verified.put(&sum, e)
	}
	return g.notRevoked(ctx, rawToken, p)
}

// verify runs the checks whose outcome depends only on the token and the
// configuration (and, for the lifetime, the clock): the ones the
// verified-token cache lets a repeated token skip.
func (g *Guard) verify(ctx context.Context, rawToken string, pre signingInputSum) (*Principal, *verifiedEntry, error) {
	jws, key, set, err := g.checkSignature(ctx, rawToken, pre)
	if err != nil {
		return nil, nil, err
	}
	p, err := principalFromPayload(jws.payload)
	if err != nil {
		return nil, nil, newError(ReasonMalformed, err)
	}
	if err := g.checkClaims(p); err != nil {
		return nil, nil, err
	}
	if !accessTokenMarked(jws.typ, p) {
		return nil, nil, newError(ReasonNotAccessToken, fmt.Errorf("typ %q and neither azp nor appid", jws.typ))
	}
	if g.verified == nil {
		return p, nil, nil
	}
	e := &verifiedEntry{p: p, kid: jws.kid, key: key.Key}
	e.set.Store(set)
	return p, e, nil
}

// signingInputSum is the SHA-256 of a token's first len bytes, computed
// with the verified-token cache's key (see tokenSums); len -1 is none.
type signingInputSum struct {
	sum [sha256.Size]byte
	len int
}

// checkSignature parses rawToken and verifies its signature with the key
// its kid names: the JWS half of verify. pre may hold the SHA-256 of the
// signing input already. Errors are *Error values.
func (g *Guard) checkSignature(ctx context.Context, rawToken string, pre signingInputSum) (compactJWS, jose.JSONWebKey, *keySet, error) {
	var none jose.JSONWebKey
	// The allowlist is applied while parsing, so "none" and HS* never get
	// as far as a key (RFC 8725 §3.1).
	jws, err := parseCompactWith(rawToken, g.s.algorithms, &g.headers)
	if err != nil {
		var alg errAlgorithm
		if errors.As(err, &alg) {
			return jws, none, nil, newError(ReasonAlgorithm, alg)
		}
		return jws, none, nil, newError(ReasonMalformed, err)
	}
	// Every token tessera and Entra issue names its key; trying every key
	// for a token that does not would only help someone probing.
	if jws.kid == "" {
		return jws, none, nil, newError(ReasonUnknownKey, errors.New("token header has no kid"))
	}
	key, set, err := g.keys.lookup(ctx, jws.kid)
	if err != nil {
		return jws, none, nil, err
	}
	if !fits(key, jws.alg) {
		return jws, none, nil, newError(ReasonAlgorithm, fmt.Errorf("alg %s does not fit key %s", jws.alg, jws.kid))
	}
	if err := jws.verifySum(key, pre); err != nil {
		return jws, none, nil, newError(ReasonSignature, err)
	}
	g.headers.add(rawToken[:strings.IndexByte(rawToken, '.')], &jws)
	return jws, key, set, nil
}

// notRevoked refuses a valid token that has been revoked. Only a token
// that is otherwise valid is looked up, so that an expired one is
// reported as expired. With the verified-token cache, p is the cached
// principal and the caller gets a copy.
func (g *Guard) notRevoked(ctx context.Context, rawToken string, p *Principal) (*Principal, error) {
	switch {
	case g.introspect != nil:
		if err := g.introspect.check(ctx, rawToken, p); err != nil {
			return nil, err
		}
	case g.revs != nil:
		if kind := g.revs.revoked(p); kind != "" {
			return nil, newError(ReasonRevoked, fmt.Errorf("revoked by %s", kind))
		}
	case g.tenantRevs != nil:
		kind, err := g.tenantRevs.revoked(ctx, p)
		if err != nil {
			return nil, err
		}
		if kind != "" {
			return nil, newError(ReasonRevoked, fmt.Errorf("revoked by %s", kind))
		}
	}
	if g.verified != nil {
		return p.clone(), nil
	}
	return p, nil
}

// checkClaims applies the lifetime, issuer, audience and tenant rules to a
// token whose signature holds.
func (g *Guard) checkClaims(p *Principal) *Error {
	if err := g.checkLifetime(p, g.s.now()); err != nil {
		return err
	}
	// The tenant comes before the issuer: a {tenantid} issuer template is
	// filled in with it.
	if p.TenantID == "" {
		return newError(ReasonNoTenant, errors.New("token has no tid"))
	}
	if !g.trustedIssuer(p.Issuer, p.TenantID) {
		return newError(ReasonIssuer, fmt.Errorf("iss %q", p.Issuer))
	}
	// RFC 7519 §4.1.3: the token must name us among its audiences.
	if !slices.ContainsFunc(p.Audience, func(a string) bool { return g.s.audiences[a] }) {
		return newError(ReasonAudience, fmt.Errorf("aud %q", p.Audience))
	}
	return nil
}

// accessTokenMarked reports whether a token bears an access token's mark,
// so that an ID token is not taken for one. An ID token is signed by the
// same keys, and when the API's registration is also a client, its aud is
// the API's id (OpenID Connect Core §2: aud is the client); a client
// holding a user's ID token must not call the API with it.
//
// RFC 9068 §2.1 marks a JWT access token with typ "at+jwt" (§4: the
// resource server checks it); an explicit one is accepted. tessera and
// Entra mark both kinds "JWT", so their access tokens are known by the
// client they were issued to: azp in v2 tokens, appid in v1 tokens, in
// every access token, delegated or app-only. Their ID tokens carry
// neither (Microsoft's ID token claims reference; tessera's IDClaims).
func accessTokenMarked(typ string, p *Principal) bool {
	// RFC 7515 §4.1.9: a media type; "application/" may be left out, and
	// media types compare case-insensitively (RFC 2045 §5.1).
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt") || p.azp != "" || p.appid != ""
}

// checkLifetime applies exp and nbf, allowing for the clock skew: the
// rules a cached token is held to on every request.
func (g *Guard) checkLifetime(p *Principal, now time.Time) *Error {
	// RFC 9068 §2.2 makes exp mandatory in access tokens; one without it
	// would never expire.
	if p.ExpiresAt.IsZero() {
		return newError(ReasonMalformed, errors.New("token has no exp"))
	}
	// RFC 7519 §4.1.4: reject on or after exp, allowing for skew.
	if !now.Before(p.ExpiresAt.Add(g.s.skew)) {
		return newError(ReasonExpired, fmt.Errorf("expired at %s", p.ExpiresAt))
	}
	// RFC 7519 §4.1.5: reject before nbf, allowing for skew.
	if !p.NotBefore.IsZero() && now.Add(g.s.skew).Before(p.NotBefore) {
		return newError(ReasonNotYetValid, fmt.Errorf("not before %s", p.NotBefore))
	}
	return nil
}

// trustedIssuer compares iss exactly (OpenID Connect Core §3.1.3.7) with
// the accepted issuers, filling Entra's "{tenantid}" template with tid.
func (g *Guard) trustedIssuer(iss, tid string) bool {
	for _, want := range g.issuers {
		if strings.Contains(want, "{tenantid}") {
			if !isGUID(tid) {
				continue
			}
			want = strings.ReplaceAll(want, "{tenantid}", tid)
		}
		if iss == want {
			return true
		}
	}
	return false
}
