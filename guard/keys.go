package guard

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// maxDocumentBytes bounds discovery documents and key sets read from the
// network; real ones are a few kilobytes.
const maxDocumentBytes = 1 << 20

// minRSABits is the smallest RSA modulus accepted (RFC 7518 §3.3).
const minRSABits = 2048

var errThrottled = errors.New("key set refetched less than the minimum interval ago")

// keySet is an immutable snapshot of the issuer's public signing keys. It
// is replaced whole, never changed, so readers need no lock.
type keySet struct {
	byKID     map[string]jose.JSONWebKey
	fetchedAt time.Time
}

// keyCache holds the current keySet behind an atomic pointer and refetches
// it through one single flight, at most once per minimum interval, so that
// a flood of tokens with forged kids becomes at most one fetch per interval
// (STYLE: "refetch keys for an unknown kid through a single flight").
type keyCache struct {
	uri         string
	client      *http.Client
	now         func() time.Time
	log         *slog.Logger
	minInterval time.Duration
	maxAge      time.Duration

	set         atomic.Pointer[keySet]
	lastAttempt atomic.Int64 // UnixNano of the last fetch attempt
	background  atomic.Bool  // a background refresh is running
	flight      singleflight.Group

	// afterBackground, when set (by tests), is called when a background
	// refresh ends.
	afterBackground func(error)
}

// lookup is key, also returning the key set the key was found in.
func (c *keyCache) lookup(ctx context.Context, kid string) (jose.JSONWebKey, *keySet, error) {
	if s := c.set.Load(); s != nil {
		if k, ok := s.byKID[kid]; ok {
			c.refreshIfOld(s)
			return k, s, nil
		}
	}
	if err := c.refresh(ctx); err != nil && !errors.Is(err, errThrottled) {
		return jose.JSONWebKey{}, nil, newError(ReasonUnknownKey, fmt.Errorf("refetch key set for kid %q: %w", kid, err))
	}
	if s := c.set.Load(); s != nil {
		if k, ok := s.byKID[kid]; ok {
			return k, s, nil
		}
	}
	return jose.JSONWebKey{}, nil, newError(ReasonUnknownKey, fmt.Errorf("kid %q is not in the key set", kid))
}

// current returns the key set, starting a background refresh when it is
// older than the maximum age. Requests answered from the verified-token
// cache read the keys through it, so that keys keep being refreshed, and
// retired keys noticed, when no token needs a signature checked.
func (c *keyCache) current() *keySet {
	s := c.set.Load()
	if s != nil {
		c.refreshIfOld(s)
	}
	return s
}

func (c *keyCache) refreshIfOld(s *keySet) {
	if c.now().Sub(s.fetchedAt) >= c.maxAge {
		c.refreshInBackground()
	}
}

// refreshInBackground starts one refresh without making the request that
// noticed the stale set wait for it; the current keys keep serving.
func (c *keyCache) refreshInBackground() {
	if last := c.lastAttempt.Load(); last != 0 && c.now().Sub(time.Unix(0, last)) < c.minInterval {
		return // a failed refresh is retried once per interval, not per request
	}
	if !c.background.CompareAndSwap(false, true) {
		return
	}
	go func() {
		err := c.refresh(context.Background())
		c.background.Store(false)
		if err != nil && !errors.Is(err, errThrottled) {
			c.log.Warn("guard: background key set refresh failed", "jwks_uri", c.uri, "err", err)
		}
		if c.afterBackground != nil {
			c.afterBackground(err)
		}
	}()
}

// refresh refetches the key set unless one was fetched (or tried) less than
// the minimum interval ago. Concurrent callers share one fetch. A caller
// whose context ends stops waiting; the shared fetch goes on for the others.
func (c *keyCache) refresh(ctx context.Context) error {
	ch := c.flight.DoChan("jwks", func() (any, error) {
		now := c.now()
		if last := c.lastAttempt.Load(); last != 0 && now.Sub(time.Unix(0, last)) < c.minInterval {
			return nil, errThrottled
		}
		c.lastAttempt.Store(now.UnixNano())
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpTimeout)
		defer cancel()
		s, err := c.fetch(fctx)
		if err != nil {
			return nil, err
		}
		c.set.Store(s)
		return nil, nil
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetch downloads and parses the key set. A key that cannot be used is
// skipped rather than failing the whole set, so one odd key (an unknown
// kty, an encryption key) does not lock every token out.
func (c *keyCache) fetch(ctx context.Context) (*keySet, error) {
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := getJSON(ctx, c.client, c.uri, &raw); err != nil {
		return nil, err
	}
	s := &keySet{byKID: map[string]jose.JSONWebKey{}, fetchedAt: c.now()}
	for i, b := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(b); err != nil {
			c.log.Warn("guard: skipping unparsable key", "jwks_uri", c.uri, "index", i, "err", err)
			continue
		}
		if why := unusable(k); why != "" {
			c.log.Warn("guard: skipping key", "jwks_uri", c.uri, "kid", k.KeyID, "why", why)
			continue
		}
		if _, dup := s.byKID[k.KeyID]; dup {
			c.log.Warn("guard: skipping key with duplicate kid", "jwks_uri", c.uri, "kid", k.KeyID)
			continue
		}
		s.byKID[k.KeyID] = k.Public()
	}
	if len(s.byKID) == 0 {
		return nil, fmt.Errorf("key set %s has no usable signing keys", c.uri)
	}
	return s, nil
}

// unusable says why a published key cannot verify tokens, or "".
func unusable(k jose.JSONWebKey) string {
	if k.KeyID == "" {
		return "no kid"
	}
	if k.Use != "" && k.Use != "sig" {
		return "use is not sig"
	}
	switch pub := k.Public().Key.(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return "RSA modulus shorter than 2048 bits"
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		// Symmetric ("oct") keys in particular: a public key set never
		// holds a secret, and accepting one reopens alg confusion.
		return "not an RSA, EC or Ed25519 public key"
	}
	return ""
}

// fits reports whether key k may verify a signature made with alg. The
// allowlist alone is not enough (RFC 8725 §2.1, §3.1): the key's type and
// curve must be the ones alg names, and a key that declares its alg
// (RFC 7517 §4.4) is used for that alg only.
func fits(k jose.JSONWebKey, alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		switch jose.SignatureAlgorithm(alg) {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
			return true
		}
	case *ecdsa.PublicKey:
		switch jose.SignatureAlgorithm(alg) {
		case jose.ES256:
			return pub.Curve == elliptic.P256()
		case jose.ES384:
			return pub.Curve == elliptic.P384()
		case jose.ES512:
			return pub.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return jose.SignatureAlgorithm(alg) == jose.EdDSA
	}
	return false
}

// getJSON fetches url and decodes a JSON body of at most maxDocumentBytes.
func getJSON(ctx context.Context, client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDocumentBytes))
		return &statusError{url: url, status: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", url, err)
	}
	if len(body) > maxDocumentBytes {
		return fmt.Errorf("%s: document larger than %d bytes", url, maxDocumentBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s: not a JSON document: %w", url, err)
	}
	return nil
}

// statusError is a non-200 answer; the tenant resolver tells "no such
// tenant" (4xx) from an outage (5xx) by it.
type statusError struct {
	url    string
	status int
}

func (e *statusError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d", e.url, e.status)
}
