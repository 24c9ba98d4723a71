package account

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
)

// maxBody bounds what is read from the identity provider: a token response
// is a few kilobytes, and a misdirected URL must not fill memory.
const maxBody = 1 << 20

// maxLifetime bounds expires_in to a year, far beyond any real token.
const maxLifetime = 365 * 24 * 3600

// Client talks to the identity provider. Every field may be left zero;
// tests set them to a fake server's client, a fixed clock, a browser that
// is an HTTP client, and a sleep that returns at once. A Client must not
// be copied after first use.
type Client struct {
	HTTP *http.Client
	Now  func() time.Time

	// Status receives what the person at the keyboard must see while a
	// sign-in waits: the device code message, the URL opened, progress.
	// The CLI passes its stderr; nil discards.
	Status io.Writer
	// OpenBrowser shows url to the person signing in; nil opens the
	// system browser (OpenSystemBrowser).
	OpenBrowser func(ctx context.Context, url string) error
	// Sleep waits d or until ctx ends; nil uses a timer.
	Sleep func(ctx context.Context, d time.Duration) error

	// flight makes concurrent refreshes of the same token in this process
	// one network request (see refresh.go).
	flight singleflight.Group
}

func (c *Client) status() io.Writer {
	if c.Status != nil {
		return c.Status
	}
	return io.Discard
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// NewHTTPClient returns a client that trusts the system's CAs (which on
// Linux honour SSL_CERT_FILE and SSL_CERT_DIR) and, if caFile is not empty,
// the CA certificates in it: tessera serves with its own local CA by default.
func NewHTTPClient(caFile string) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}, nil
}

// Discovery is the part of an OpenID Provider's metadata the CLI uses, and
// the tenant GUID read from its issuer.
type Discovery struct {
	Issuer                      string `json:"issuer"`
	AuthorizationEndpoint       string `json:"authorization_endpoint"`
	TokenEndpoint               string `json:"token_endpoint"`
	DeviceAuthorizationEndpoint string `json:"device_authorization_endpoint"` // RFC 8628 §4
	RevocationEndpoint          string `json:"revocation_endpoint"`           // RFC 7009 §3 via RFC 8414; Entra has none
	JWKSURI                     string `json:"jwks_uri"`
	// AuthorizationResponseIss means every authorization response carries
	// iss (RFC 9207 §3), so one without it must be refused.
	AuthorizationResponseIss bool `json:"authorization_response_iss_parameter_supported"`

	// TenantID is the tenant GUID, or "" for a multi-tenant alias
	// (organizations, common), whose issuer is the template
	// {authority}/{tenantid}/v2.0: the tenant is known only once a user
	// has signed in.
	TenantID string `json:"-"`
}

// multiTenant are the {tenant} values that stand for "whichever tenant the
// user signs in to" at Entra.
var multiTenant = map[string]bool{"organizations": true, "common": true, "consumers": true}

// tenantTemplate is the placeholder Entra puts in a multi-tenant issuer.
const tenantTemplate = "{tenantid}"

// IsMultiTenant reports whether tenant is one of Entra's aliases for any
// tenant, which a user sign-in may use and a service principal may not.
func IsMultiTenant(tenant string) bool { return multiTenant[strings.ToLower(tenant)] }

// Discover fetches {authority}/{tenant}/v2.0/.well-known/openid-configuration
// and resolves tenant (a GUID or a domain name) to the tenant GUID, which
// is the path segment before v2.0 in the issuer, as az resolves domains.
// For a multi-tenant alias TenantID stays empty.
func (c *Client) Discover(ctx context.Context, authority, tenant string) (Discovery, error) {
	if err := checkTenant(tenant); err != nil {
		return Discovery{}, err
	}
	u := NormalizeAuthority(authority) + "/" + url.PathEscape(tenant) + "/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Discovery{}, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return Discovery{}, TransportError(u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return Discovery{}, TransportError(u, err)
	}
	if resp.StatusCode != http.StatusOK {
		if se := parseServerError(resp.StatusCode, body, ""); se != nil {
			return Discovery{}, se
		}
		if resp.StatusCode == http.StatusNotFound {
			return Discovery{}, fmt.Errorf("tenant %q not found at %s: check --tenant and --authority", tenant, authority)
		}
		return Discovery{}, fmt.Errorf("%s answered HTTP %d: check --authority", u, resp.StatusCode)
	}
	var d Discovery
	if err := json.Unmarshal(body, &d); err != nil {
		return Discovery{}, fmt.Errorf("%s did not answer with OpenID Provider metadata (%v): check --authority", u, err)
	}
	if IsMultiTenant(tenant) && strings.Contains(d.Issuer, tenantTemplate) {
		return d, nil
	}
	d.TenantID, err = tenantFromIssuer(d.Issuer)
	if err != nil {
		return Discovery{}, fmt.Errorf("%s: %w", u, err)
	}
	return d, nil
}

// endpoint is ep with a multi-tenant template filled in with tenant, or
// fallback when the metadata does not name the endpoint: Entra's paths are
// fixed, so an authority that omits one still gets the right URL.
func endpoint(ep, fallback, tenant string) string {
	if ep == "" {
		return fallback
	}
	return strings.ReplaceAll(ep, tenantTemplate, url.PathEscape(tenant))
}

// checkIssuer compares an issuer a token or an authorization response
// names with the discovered one (OIDC Core §3.1.3.7 step 2; RFC 9207 §2.4),
// and returns the tenant GUID it names. A multi-tenant issuer matches any
// tenant GUID in place of its template.
func (d Discovery) checkIssuer(iss string) (string, error) {
	if d.Issuer == "" {
		return "", errors.New("the authority's metadata names no issuer")
	}
	if pre, post, ok := strings.Cut(d.Issuer, tenantTemplate); ok {
		if mid, ok := strings.CutPrefix(iss, pre); ok {
			if tid, ok := strings.CutSuffix(mid, post); ok && IsGUID(tid) {
				return strings.ToLower(tid), nil
			}
		}
		return "", fmt.Errorf("issuer %q is not of the form %s", iss, d.Issuer)
	}
	if iss != d.Issuer {
		return "", fmt.Errorf("issuer %q is not the authority's issuer %s", iss, d.Issuer)
	}
	return d.TenantID, nil
}

func checkTenant(tenant string) error {
	if tenant == "" || strings.ContainsAny(tenant, "/?#") || strings.TrimSpace(tenant) != tenant {
		return fmt.Errorf("tenant %q is neither a GUID nor a domain name", tenant)
	}
	return nil
}

// tenantFromIssuer reads the tenant GUID from an issuer of Entra's shape,
// {authority}/{tenantGUID}/v2.0.
func tenantFromIssuer(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return "", fmt.Errorf("issuer %q is not a URL", issuer)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) >= 2 && segs[len(segs)-1] == "v2.0" && IsGUID(segs[len(segs)-2]) {
		return strings.ToLower(segs[len(segs)-2]), nil
	}
	return "", fmt.Errorf("issuer %q does not have the shape {authority}/{tenant-id}/v2.0", issuer)
}

// IsGUID reports whether s is a GUID in its 8-4-4-4-12 hex form, the only
// form Entra uses for tenant ids in URLs.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F') {
				return false
			}
		}
	}
	return true
}

// TokenEndpoint is the token endpoint of a tenant: the v2 one takes scope,
// the v1 one takes resource.
func TokenEndpoint(authority, tenantID string, v1 bool) string {
	base := NormalizeAuthority(authority) + "/" + url.PathEscape(tenantID)
	if v1 {
		return base + "/oauth2/token"
	}
	return base + "/oauth2/v2.0/token"
}

// Acquire gets a token for t by the client credentials grant (RFC 6749
// §4.4), authenticating with the profile's secret or with a client
// assertion signed by its certificate (RFC 7523 §2.2). It does not look at
// the cache; Token does.
func (c *Client) Acquire(ctx context.Context, p Profile, t Target) (Token, error) {
	if err := t.Validate(); err != nil {
		return Token{}, err
	}
	if p.Type == User {
		return Token{}, errors.New("a user's tokens come from its refresh token, not from client credentials: use Token")
	}
	now := c.now()
	endpoint := TokenEndpoint(p.Authority, p.TenantID, t.V1())
	form := url.Values{
		"grant_type": {"client_credentials"},
		"client_id":  {p.ClientID},
	}
	if t.V1() {
		form.Set("resource", strings.TrimSpace(t.Resource))
	} else {
		form.Set("scope", strings.Join(strings.Fields(t.Scope), " "))
	}
	switch {
	case p.ClientSecret != "":
		form.Set("client_secret", string(p.ClientSecret))
	case p.CertificateFile != "":
		cert, err := LoadCertificate(p.CertificateFile)
		if err != nil {
			return Token{}, err
		}
		assertion, err := cert.Assertion(p.ClientID, endpoint, now)
		if err != nil {
			return Token{}, fmt.Errorf("cannot sign the client assertion: %w", err)
		}
		form.Set("client_assertion_type", ClientAssertionType)
		form.Set("client_assertion", assertion)
	default:
		return Token{}, errors.New("the profile has neither a client secret nor a certificate: log in again")
	}

	body, err := c.postForm(ctx, endpoint, form, p.ClientSecret)
	if err != nil {
		return Token{}, err
	}
	return parseTokenResponse(body, now)
}

// Token serves t for p from s's cache while the cached token has more than
// MinRemaining left, and otherwise gets a new one and caches it: a service
// principal by its credentials, a user by redeeming the refresh token.
func (c *Client) Token(ctx context.Context, s *Store, p Profile, t Target) (Token, error) {
	if err := t.Validate(); err != nil {
		return Token{}, err
	}
	if tok, ok, err := s.CachedToken(p, t, c.now()); err != nil {
		return Token{}, err
	} else if ok {
		return tok, nil
	}
	if p.Type == User {
		return c.refreshShared(ctx, s, p, t)
	}
	tok, err := c.Acquire(ctx, p, t)
	if err != nil {
		return Token{}, err
	}
	if err := s.PutToken(p, t, tok, c.now()); err != nil {
		return Token{}, fmt.Errorf("got a token but cannot cache it in %s: %w", s.Dir(), err)
	}
	return tok, nil
}

// postForm posts form to endpoint (a token, device authorization or
// revocation endpoint) and returns the body of a 200 answer. An OAuth
// error comes back as a *ServerError with secret scrubbed from it.
func (c *Client) postForm(ctx context.Context, endpoint string, form url.Values, secret Secret) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, TransportError(endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, TransportError(endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		if se := parseServerError(resp.StatusCode, body, secret); se != nil {
			return nil, se
		}
		return nil, fmt.Errorf("%s answered HTTP %d without an OAuth error: check --authority", endpoint, resp.StatusCode)
	}
	return body, nil
}

func parseServerError(status int, body []byte, secret Secret) *ServerError {
	var se ServerError
	if json.Unmarshal(body, &se) != nil || se.Code == "" {
		return nil
	}
	se.StatusCode = status
	se.Description = scrub(se.Description, secret)
	return &se
}

// tokenResponse reads both endpoints' answers: v2 sends expires_in as a
// number, v1 (like Entra's) sends it and expires_on as strings.
type tokenResponse struct {
	TokenType   string  `json:"token_type"`
	AccessToken string  `json:"access_token"`
	ExpiresIn   flexInt `json:"expires_in"`
	ExpiresOn   flexInt `json:"expires_on"`
}

func parseTokenResponse(body []byte, now time.Time) (Token, error) {
	var r tokenResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return Token{}, fmt.Errorf("the token endpoint's answer is not a token response: %w", err)
	}
	if r.AccessToken == "" {
		return Token{}, errors.New("the token endpoint answered without an access_token")
	}
	tok := Token{AccessToken: r.AccessToken, TokenType: r.TokenType}
	if tok.TokenType == "" {
		tok.TokenType = "Bearer"
	}
	// expires_in is relative, so a client whose clock is off still caches
	// for the right length of time; expires_on is the fallback.
	// Bounds keep the arithmetic below from overflowing into a nonsense
	// expiry; real lifetimes are minutes to hours.
	if r.ExpiresIn.v < 0 || r.ExpiresIn.v > maxLifetime || r.ExpiresOn.v < 0 || r.ExpiresOn.v > 1<<40 {
		return Token{}, errors.New("the token endpoint answered with an impossible token lifetime")
	}
	switch {
	case r.ExpiresIn.set:
		tok.ExpiresOn = now.Add(time.Duration(r.ExpiresIn.v) * time.Second)
	case r.ExpiresOn.set:
		tok.ExpiresOn = time.Unix(r.ExpiresOn.v, 0)
	default:
		// No lifetime (RFC 6749 §5.1 only recommends one): never serve it
		// from the cache.
		tok.ExpiresOn = now
	}
	return tok, nil
}

// flexInt is a JSON integer that may arrive as a number or as a string.
type flexInt struct {
	v   int64
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		fl, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil {
			return fmt.Errorf("%q is not an integer", b)
		}
		v = int64(fl)
	}
	f.v, f.set = v, true
	return nil
}
