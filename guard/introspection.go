package guard

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// maxIntrospectionCache bounds the cached "active" answers; past it,
// answers are not cached until expired ones are swept out.
const maxIntrospectionCache = 10000

// IntrospectionConfig makes the guard ask the authority whether each token
// is still active (RFC 7662) instead of following its revocation feed: a
// revocation then takes effect at once, or within CacheTTL, at the price
// of a request per token. Only tokens that pass every local check are
// asked about, so forged or expired ones cost no request.
type IntrospectionConfig struct {
	// Endpoint is the introspection endpoint; by default the discovery
	// document's introspection_endpoint. A "{tenantid}" in it (as a
	// multi-tenant authority's has) is filled with the token's tid. It
	// must be https, except on a loopback host: tokens are sent to it.
	Endpoint string
	// ClientID and ClientSecret are the resource server's own client
	// credentials, sent with client_secret_basic (RFC 6749 §2.3.1):
	// RFC 7662 §2.1 has the caller authenticate, so the endpoint is no
	// oracle for token scanners.
	ClientID     string
	ClientSecret string
	// CacheTTL is how long an "active" answer is reused for the same
	// token (never past its exp); default 0, ask every time. A token
	// revoked meanwhile is accepted until its answer ages out. "Inactive"
	// answers are never cached.
	CacheTTL time.Duration
}

// check validates the introspection settings.
func (c *IntrospectionConfig) check() []error {
	var errs []error
	if strings.TrimSpace(c.ClientID) == "" || c.ClientSecret == "" {
		errs = append(errs, errors.New("introspection needs the resource server's client id and secret"))
	}
	if c.Endpoint != "" && !secureURL(c.Endpoint) {
		errs = append(errs, fmt.Errorf("introspection endpoint %q must be an absolute https URL (http is allowed on loopback only)", c.Endpoint))
	}
	if c.CacheTTL < 0 {
		errs = append(errs, errors.New("introspection cache TTL must not be negative"))
	}
	return errs
}

// introspector asks the introspection endpoint about tokens, one request
// per token at a time (a single flight per token), and remembers "active"
// answers for at most the TTL.
type introspector struct {
	endpoint string
	basic    string // the Authorization header value
	ttl      time.Duration
	client   *http.Client
	now      func() time.Time
	log      *slog.Logger

	cache   sync.Map // [sha256.Size]byte of the token -> time.Time until which it is active
	entries atomic.Int64
	sweep   sync.Mutex
	flight  singleflight.Group
}

func newIntrospector(c IntrospectionConfig, endpoint string, s *settings) *introspector {
	// RFC 6749 §2.3.1: both halves are form-urlencoded before Basic.
	cred := url.QueryEscape(c.ClientID) + ":" + url.QueryEscape(c.ClientSecret)
	return &introspector{
		endpoint: endpoint,
		basic:    "Basic " + base64.StdEncoding.EncodeToString([]byte(cred)),
		ttl:      c.CacheTTL,
		client:   s.client, now: s.now, log: s.log,
	}
}

// check refuses p's token unless the endpoint says it is active. When the
// endpoint cannot answer, the token is refused too (503): admitting it
// would admit every revoked token during an outage.
func (in *introspector) check(ctx context.Context, raw string, p *Principal) *Error {
	key := sha256.Sum256([]byte(raw))
	if in.ttl > 0 {
		if v, ok := in.cache.Load(key); ok {
			if in.now().Before(v.(time.Time)) {
				return nil
			}
			if _, loaded := in.cache.LoadAndDelete(key); loaded {
				in.entries.Add(-1)
			}
		}
	}
	ch := in.flight.DoChan(string(key[:]), func() (any, error) {
		// The shared request outlives a caller that gives up.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpTimeout)
		defer cancel()
		return in.ask(fctx, raw, p.TenantID)
	})
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		return newError(ReasonUnavailable, ctx.Err())
	}
	if res.Err != nil {
		in.log.WarnContext(ctx, "guard: token introspection failed", "endpoint", in.endpoint, "err", res.Err)
		return newError(ReasonUnavailable, res.Err)
	}
	if !res.Val.(bool) {
		return newError(ReasonRevoked, errors.New("introspection: the token is not active"))
	}
	if in.ttl > 0 {
		in.remember(key, p.ExpiresAt)
	}
	return nil
}

// remember caches an active answer until the TTL or the token's exp,
// whichever is first.
func (in *introspector) remember(key [sha256.Size]byte, exp time.Time) {
	now := in.now()
	until := now.Add(in.ttl)
	if exp.Before(until) {
		until = exp
	}
	if in.entries.Load() >= maxIntrospectionCache {
		in.sweepExpired(now)
		if in.entries.Load() >= maxIntrospectionCache {
			return
		}
	}
	if _, loaded := in.cache.Swap(key, until); !loaded {
		in.entries.Add(1)
	}
}

func (in *introspector) sweepExpired(now time.Time) {
	if !in.sweep.TryLock() {
		return // another request is sweeping
	}
	defer in.sweep.Unlock()
	in.cache.Range(func(k, v any) bool {
		if !now.Before(v.(time.Time)) {
			if _, loaded := in.cache.LoadAndDelete(k); loaded {
				in.entries.Add(-1)
			}
		}
		return true
	})
}

// ask POSTs the token (RFC 7662 §2.1) and reads "active" (§2.2), the only
// member the answer must have.
func (in *introspector) ask(ctx context.Context, raw, tid string) (bool, error) {
	endpoint := in.endpoint
	if strings.Contains(endpoint, "{tenantid}") {
		if !isGUID(tid) {
			return false, fmt.Errorf("tid %q cannot fill the endpoint template", tid)
		}
		endpoint = strings.ReplaceAll(endpoint, "{tenantid}", tid)
	}
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", in.basic)
	resp, err := in.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes))
	if err != nil {
		return false, fmt.Errorf("read %s: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		// 401 here is our credentials, not the token (§2.3).
		return false, &statusError{url: endpoint, status: resp.StatusCode}
	}
	var answer struct {
		Active *bool `json:"active"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Active == nil {
		return false, fmt.Errorf("%s: answer is not an RFC 7662 introspection response", endpoint)
	}
	return *answer.Active, nil
}
