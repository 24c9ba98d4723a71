package guard

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/guard/guardtest"
)

const testResource = "a3c1a0f2-6f52-4b1e-9d7a-1f0c2b3d4e5f"

// setupInternal is a guard of a test authority on a clock moved by hand.
func setupInternal(t *testing.T) (*guardtest.Authority, *Guard, *atomic.Int64) {
	idp := guardtest.NewAuthority(t)
	now := new(atomic.Int64)
	now.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	idp.Now = clock
	g, err := New(context.Background(), Config{
		Authority: idp.URL(), Audiences: []string{testResource}, HTTPClient: idp.Client(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return idp, g, now
}

// Requests answered from the cache keep the key set refreshed: once a
// refresh has dropped the key of a cached token, the token is refused.
func TestCacheHitsRefreshKeys(t *testing.T) {
	idp, g, now := setupInternal(t)
	done := make(chan error, 1)
	g.keys.afterBackground = func(err error) { done <- err }
	tok := idp.Mint(t, idp.V2Claims(testResource))
	for range 2 {
		if _, err := g.Validate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	idp.Unpublish(idp.RSA.ID)
	now.Add(int64(DefaultRefreshInterval))
	if _, err := g.Validate(context.Background(), tok); err != nil {
		t.Fatalf("before the background refresh has ended: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cache hit on an old key set started no refresh")
	}
	_, err := g.Validate(context.Background(), tok)
	if e, ok := err.(*Error); !ok || e.Reason != ReasonUnknownKey {
		t.Fatalf("cached token of a withdrawn key: %v", err)
	}
}

// The cache never holds more than its size, however many tokens pass.
func TestVerifiedCacheBounded(t *testing.T) {
	for _, size := range []int{1, 3, 64, 100, 10000} {
		c := newVerifiedCache(size)
		for i := range 3 * size {
			sum := sha256.Sum256(fmt.Append(nil, i))
			c.put(&sum, &verifiedEntry{})
		}
		if n := c.len(); n > size || n < size/2 {
			t.Errorf("size %d: %d entries after %d insertions", size, n, 3*size)
		}
	}
	for _, size := range []int{0, -1} {
		if c := newVerifiedCache(size); c != nil {
			t.Errorf("size %d: a cache of %d shards", size, len(c.shards))
		}
	}
}

// Config: zero is the default size, negative turns the cache off.
func TestVerifiedTokenCacheSizeConfig(t *testing.T) {
	for in, want := range map[int]int{0: DefaultVerifiedTokenCacheSize, -1: 0, 5: 5} {
		s, err := Config{Authority: "https://login.example/t/v2.0", Audiences: []string{"api"}, VerifiedTokenCacheSize: in}.check()
		if err != nil || s.verifiedSize != want {
			t.Errorf("VerifiedTokenCacheSize %d: %d, %v; want %d", in, s.verifiedSize, err, want)
		}
	}
}

// Only a token that passed every check is cached, once.
func TestOnlyValidTokensCached(t *testing.T) {
	idp, g, _ := setupInternal(t)
	tok := idp.Mint(t, idp.V2Claims(testResource))
	for range 3 {
		if _, err := g.Validate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	bad := idp.V2Claims(testResource)
	bad["aud"] = "someone-else"
	if _, err := g.Validate(context.Background(), idp.Mint(t, bad)); err == nil {
		t.Fatal("accepted another audience")
	}
	if n := g.verified.len(); n != 1 {
		t.Fatalf("%d cached tokens, want 1", n)
	}
}

// len counts the entries (for tests).
func (c *verifiedCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}
