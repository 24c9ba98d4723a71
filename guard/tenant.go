package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// How long tenant-domain answers are cached. A known domain rarely moves;
// an unknown one may be created, so it is retried sooner; an outage is
// retried soonest.
const (
	tenantTTL        = time.Hour
	unknownTenantTTL = 5 * time.Minute
	failedTenantTTL  = 10 * time.Second
	maxTenantEntries = 4096
)

var errNoSuchTenant = errors.New("no tenant has this domain")

// tenantEntry is a cached answer: tid, or err when the domain resolved to
// no tenant.
type tenantEntry struct {
	tid     string
	err     error
	expires time.Time
}

// tenantResolver turns a tenant domain name into its tenant id by reading
// the issuer of that domain's discovery document, the way Entra tenants are
// addressed by any of their verified domains.
type tenantResolver struct {
	base   *url.URL // scheme://host of the authority
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	cache   sync.Map // domain -> tenantEntry
	entries atomic.Int64
	flight  singleflight.Group
}

// matches reports whether the header value names tenant tid: a GUID is
// compared case-insensitively, anything else is resolved as a domain.
func (t *tenantResolver) matches(ctx context.Context, header, tid string) error {
	header = strings.TrimSpace(header)
	switch {
	case header == "":
		return errors.New("tenant header missing")
	case isGUID(header):
		if strings.EqualFold(header, tid) {
			return nil
		}
		return fmt.Errorf("tenant header %s does not match token tid %s", header, tid)
	}
	domain := strings.ToLower(header)
	if !validDomain(domain) {
		return fmt.Errorf("tenant header is neither a GUID nor a domain name")
	}
	got, err := t.resolve(ctx, domain)
	if err != nil {
		return fmt.Errorf("resolve tenant domain %s: %w", domain, err)
	}
	if !strings.EqualFold(got, tid) {
		return fmt.Errorf("tenant domain %s is tenant %s, token tid is %s", domain, got, tid)
	}
	return nil
}

// resolve returns the tenant id for domain from the cache or, once per
// domain however many requests ask at the same time, from the authority.
func (t *tenantResolver) resolve(ctx context.Context, domain string) (string, error) {
	now := t.now()
	if v, ok := t.cache.Load(domain); ok {
		if e := v.(tenantEntry); now.Before(e.expires) {
			return e.tid, e.err
		}
	}
	ch := t.flight.DoChan(domain, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpTimeout)
		defer cancel()
		tid, err := t.lookup(fctx, domain)
		ttl := tenantTTL
		switch {
		case errors.Is(err, errNoSuchTenant):
			ttl = unknownTenantTTL
		case err != nil:
			ttl = failedTenantTTL
			t.log.Warn("guard: tenant domain lookup failed", "domain", domain, "err", err)
		}
		t.store(domain, tenantEntry{tid: tid, err: err, expires: t.now().Add(ttl)})
		return tid, err
	})
	select {
	case r := <-ch:
		tid, _ := r.Val.(string)
		return tid, r.Err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// store caches e, keeping the cache bounded: when full, expired entries
// are dropped, and if it is still full the answer is simply not cached.
func (t *tenantResolver) store(domain string, e tenantEntry) {
	if _, loaded := t.cache.Swap(domain, e); loaded {
		return
	}
	if t.entries.Add(1) <= maxTenantEntries {
		return
	}
	now := t.now()
	t.cache.Range(func(k, v any) bool {
		if !now.Before(v.(tenantEntry).expires) {
			if _, ok := t.cache.LoadAndDelete(k); ok {
				t.entries.Add(-1)
			}
		}
		return true
	})
	if t.entries.Load() > maxTenantEntries {
		if _, ok := t.cache.LoadAndDelete(domain); ok {
			t.entries.Add(-1)
		}
	}
}

// lookup reads {scheme://host}/{domain}/v2.0/.well-known/openid-configuration
// and takes the tenant id from the first path segment of its issuer.
func (t *tenantResolver) lookup(ctx context.Context, domain string) (string, error) {
	u := *t.base
	u.Path = "/" + domain + "/v2.0/.well-known/openid-configuration"
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := getJSON(ctx, t.client, u.String(), &doc); err != nil {
		var se *statusError
		if errors.As(err, &se) && se.status >= 400 && se.status < 500 {
			return "", errNoSuchTenant
		}
		return "", err
	}
	iss, err := url.Parse(doc.Issuer)
	if err != nil {
		return "", fmt.Errorf("issuer %q is not a URL", doc.Issuer)
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(iss.Path, "/"), "/")
	if !isGUID(first) {
		// e.g. Entra's "common", whose issuer is a {tenantid} template.
		return "", errNoSuchTenant
	}
	return strings.ToLower(first), nil
}

// validDomain reports whether s is a DNS name (RFC 1123 labels), so that a
// header value can never change the path or host of the lookup URL.
func validDomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// tenantHeaderError wraps a tenant mismatch for the middleware.
func tenantHeaderError(cause error) *Error { return newError(ReasonTenant, cause) }
