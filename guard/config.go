package guard

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Defaults for the zero values of Config.
const (
	DefaultClockSkew          = time.Minute
	DefaultMinRefreshInterval = 5 * time.Second
	DefaultRefreshInterval    = 10 * time.Minute
	DefaultRealm              = "tessera"
	// DefaultRevocationPollInterval is how often the revocation feed is
	// polled: a revoked token is refused within about this long.
	DefaultRevocationPollInterval = 10 * time.Second
	httpTimeout                   = 10 * time.Second
)

// Config says which tokens a Guard accepts. Only Authority and Audiences
// are required.
type Config struct {
	// Authority is the token issuer's base URL, e.g.
	// https://127.0.0.1:8443/{tenant}/v2.0 or the v1 form
	// https://127.0.0.1:8443/{tenant}. Its discovery document
	// (Authority + "/.well-known/openid-configuration") names the issuer
	// and the jwks_uri. It must be https, except on a loopback host.
	Authority string
	// Audiences are the accepted aud values. For "api://{GUID}" the bare
	// GUID is accepted too, and the other way round, as Entra puts the
	// identifier URI in v1 tokens and the app id in v2 tokens.
	Audiences []string
	// Issuers overrides the accepted iss values. By default the discovered
	// issuer and its v1/v2 sibling (https://host/{tid}/v2.0 and
	// https://host/{tid}/) are accepted. An issuer containing "{tenantid}"
	// (Entra's multi-tenant discovery) matches with the token's tid put in.
	Issuers []string
	// Algorithms is the JWS alg allowlist (RFC 8725 §3.1); default RS256
	// and ES256. "none" and the HMAC algorithms are refused: a resource
	// server holds only public keys, so an HS* token it accepts is one
	// anybody could have made with those public keys.
	Algorithms []string
	// ClockSkew is tolerated on exp and nbf (RFC 7519 §4.1.4, §4.1.5);
	// default one minute. Negative means none.
	ClockSkew time.Duration
	// TenantHeader, when set (e.g. "X-Tenant-ID"), is a request header the
	// middleware requires (400 invalid_request without it); it must name
	// the token's tenant by id or by one of its domain names (403 when it
	// names another).
	TenantHeader string
	// MinRefreshInterval bounds how often the key set is refetched, so a
	// flood of tokens with unknown kids costs at most one fetch per
	// interval; default 5s.
	MinRefreshInterval time.Duration
	// RefreshInterval is the age after which the key set is refreshed in
	// the background; default 10 minutes.
	RefreshInterval time.Duration
	// Realm is the RFC 6750 §3 realm of challenges; default "tessera".
	Realm string
	// RevocationPollInterval is how often the authority's revocation feed
	// is polled for revoked sessions, users, clients and tokens; default
	// 10s (a little less, with jitter, so that many guards do not poll in
	// step). Negative turns revocation checking off: revoked tokens are
	// then accepted until they expire.
	RevocationPollInterval time.Duration
	// RevocationFeed is the revocation feed's URL; by default the
	// discovery document's revocation_feed_endpoint. When there is
	// neither, the guard cannot learn of revocations and says so once in
	// the log. It must be https, except on a loopback host. A URL with
	// "{tenantid}" (a multi-tenant authority's, /common or /organizations)
	// names one feed per tenant: the guard follows the feed of each tenant
	// whose tokens it accepts, reading it whole before it admits that
	// tenant's first token.
	RevocationFeed string
	// RevocationTenants bounds how many tenants' feeds a guard on a
	// multi-tenant authority follows at once; default
	// DefaultRevocationTenants. A feed no token has needed for 15 to 20
	// minutes is dropped (and read afresh when one does). While that many
	// are followed and none has gone unused for 5 minutes, a token of
	// another tenant is refused with 503 temporarily_unavailable: the
	// guard cannot check it.
	RevocationTenants int
	// Introspection, when set, makes the guard ask the authority about
	// every token (RFC 7662) instead of following the revocation feed.
	Introspection *IntrospectionConfig
	// VerifiedTokenCacheSize bounds the cache of tokens the guard has
	// verified, keyed by the SHA-256 of the whole token, so that a client
	// presenting the same token on every call costs a hash and a lookup
	// instead of a signature verification. Only the signature, issuer,
	// audience and tenant checks are skipped; exp and nbf, revocation (or
	// introspection), and the middleware's tenant header and requirements
	// are checked on every request, and a token whose key is no longer
	// published is verified again, and refused. Default
	// DefaultVerifiedTokenCacheSize (10,000 tokens, 1 to 2 KB each for
	// tessera's tokens); negative turns the cache off. When full, a random
	// entry makes room.
	VerifiedTokenCacheSize int
	// HTTPClient fetches discovery documents and key sets; default a
	// client with a 10s timeout.
	HTTPClient *http.Client
	// Logger receives refusals (at debug level, with their cause) and key
	// fetch failures; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// allowedAlgorithms are the asymmetric signature algorithms the guard can
// verify. HS* and "none" are deliberately absent (RFC 8725 §2.1, §3.1).
var allowedAlgorithms = map[string]jose.SignatureAlgorithm{
	"RS256": jose.RS256, "RS384": jose.RS384, "RS512": jose.RS512,
	"PS256": jose.PS256, "PS384": jose.PS384, "PS512": jose.PS512,
	"ES256": jose.ES256, "ES384": jose.ES384, "ES512": jose.ES512,
	"EdDSA": jose.EdDSA,
}

// settings is a checked Config with defaults applied.
type settings struct {
	authority    *url.URL
	discoveryURL string
	audiences    map[string]bool
	issuers      []string
	algorithms   []jose.SignatureAlgorithm
	skew         time.Duration
	tenantHeader string
	minRefresh   time.Duration
	refresh      time.Duration
	realm        string
	revPoll      time.Duration // <0: revocations are not followed
	revFeed      string        // explicit feed URL, or ""
	revTenants   int           // bound on the tenant feeds of a {tenantid} feed
	introspect   *IntrospectionConfig
	verifiedSize int // <=0: no verified-token cache
	client       *http.Client
	log          *slog.Logger
	now          func() time.Time
}

// check validates the whole configuration and reports every problem at
// once, so an operator fixes them in one go.
func (c Config) check() (*settings, error) {
	var errs []error
	s := &settings{
		audiences:    map[string]bool{},
		skew:         c.ClockSkew,
		tenantHeader: http.CanonicalHeaderKey(strings.TrimSpace(c.TenantHeader)),
		minRefresh:   orDefault(c.MinRefreshInterval, DefaultMinRefreshInterval),
		refresh:      orDefault(c.RefreshInterval, DefaultRefreshInterval),
		realm:        c.Realm,
		revPoll:      c.RevocationPollInterval,
		client:       c.HTTPClient,
		log:          c.Logger,
		now:          c.Now,
	}

	u, err := url.Parse(strings.TrimSuffix(c.Authority, "/"))
	switch {
	case c.Authority == "":
		errs = append(errs, errors.New("authority is required"))
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		errs = append(errs, fmt.Errorf("authority %q is not an absolute http(s) URL", c.Authority))
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		// Keys fetched over plain HTTP could be replaced on the way.
		errs = append(errs, fmt.Errorf("authority %q must use https (http is allowed on loopback only)", c.Authority))
	case u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("authority %q must not have a query or fragment", c.Authority))
	default:
		s.authority = u
		s.discoveryURL = u.String() + "/.well-known/openid-configuration"
	}

	if len(c.Audiences) == 0 {
		errs = append(errs, errors.New("at least one audience is required"))
	}
	for _, a := range c.Audiences {
		a = strings.TrimSpace(a)
		if a == "" {
			errs = append(errs, errors.New("an audience is empty"))
			continue
		}
		for _, v := range audienceForms(a) {
			s.audiences[v] = true
		}
	}
	for _, iss := range c.Issuers {
		if iss = strings.TrimSpace(iss); iss != "" {
			s.issuers = append(s.issuers, iss)
		}
	}

	algs := c.Algorithms
	if len(algs) == 0 {
		algs = []string{"RS256", "ES256"}
	}
	for _, a := range algs {
		alg, ok := allowedAlgorithms[a]
		switch {
		case ok:
			s.algorithms = append(s.algorithms, alg)
		case strings.EqualFold(a, "none"):
			errs = append(errs, errors.New(`algorithm "none" is never accepted (RFC 8725 §3.1)`))
		case strings.HasPrefix(strings.ToUpper(a), "HS"):
			errs = append(errs, fmt.Errorf("algorithm %q is symmetric; a resource server verifies with public keys only (RFC 8725 §2.1)", a))
		default:
			errs = append(errs, fmt.Errorf("algorithm %q is not supported", a))
		}
	}

	if c.ClockSkew == 0 {
		s.skew = DefaultClockSkew
	} else if c.ClockSkew < 0 {
		s.skew = 0
	}
	if c.TenantHeader != "" && !validHeaderName(strings.TrimSpace(c.TenantHeader)) {
		errs = append(errs, fmt.Errorf("tenant header %q is not a valid header name", c.TenantHeader))
	}
	if s.realm == "" {
		s.realm = DefaultRealm
	}
	if strings.ContainsAny(s.realm, "\"\\\r\n") {
		errs = append(errs, errors.New(`realm must not contain '"', '\' or line breaks`))
	}
	if s.revPoll == 0 {
		s.revPoll = DefaultRevocationPollInterval
	}
	if feed := strings.TrimSpace(c.RevocationFeed); feed != "" {
		if !secureURL(feed) {
			errs = append(errs, fmt.Errorf("revocation feed %q must be an absolute https URL (http is allowed on loopback only)", c.RevocationFeed))
		}
		s.revFeed = feed
	}
	switch s.revTenants = c.RevocationTenants; {
	case s.revTenants == 0:
		s.revTenants = DefaultRevocationTenants
	case s.revTenants < 0:
		errs = append(errs, fmt.Errorf("revocation tenants %d is negative", c.RevocationTenants))
	}
	switch s.verifiedSize = c.VerifiedTokenCacheSize; {
	case s.verifiedSize == 0:
		s.verifiedSize = DefaultVerifiedTokenCacheSize
	case s.verifiedSize < 0:
		s.verifiedSize = 0
	}
	if c.Introspection != nil {
		ic := *c.Introspection
		errs = append(errs, ic.check()...)
		s.introspect = &ic
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: httpTimeout}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("guard: invalid config: %w", err)
	}
	return s, nil
}

// audienceForms returns a and its equivalent: Entra puts "api://{appId}"
// (the identifier URI) in v1 tokens and "{appId}" in v2 tokens for the same
// resource.
func audienceForms(a string) []string {
	if id, ok := strings.CutPrefix(a, "api://"); ok && isGUID(id) {
		return []string{a, id, "api://" + strings.ToLower(id), strings.ToLower(id)}
	}
	if isGUID(a) {
		return []string{a, "api://" + a, strings.ToLower(a), "api://" + strings.ToLower(a)}
	}
	return []string{a}
}

// issuerSiblings returns the discovered issuer and its other-version form:
// https://host/{tid}/v2.0 <-> https://host/{tid}/.
func issuerSiblings(iss string) []string {
	if base, ok := strings.CutSuffix(iss, "/v2.0"); ok {
		return []string{iss, base + "/"}
	}
	if strings.HasSuffix(iss, "/") {
		return []string{iss, iss + "v2.0"}
	}
	return []string{iss}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// secureURL reports whether raw is an absolute https URL, or http on a
// loopback host: documents that decide which tokens are trusted must not be
// replaceable on the way.
func secureURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname()))
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validHeaderName reports whether s is an RFC 9110 §5.1 field name (token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// isGUID reports whether s has the 8-4-4-4-12 hex form of a GUID.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
