package guard_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

// A token answered from the verified-token cache is still held to the
// revocation feed: revoked after it was cached, it is refused on the next
// request, for each kind of entry.
func TestCachedTokenRevoked(t *testing.T) {
	for _, kind := range []string{"sid", "jti", "oid", "client"} {
		t.Run(kind, func(t *testing.T) {
			idp, clk := authority(t)
			g := guardFor(t, idp, clk, nil)
			claims := idp.V2Claims(resourceID)
			tok := idp.Mint(t, claims)
			for range 2 { // the second is a cache hit
				if refused(t, g, tok) {
					t.Fatal("refused before any revocation")
				}
			}
			value := map[string]string{"sid": guardtest.SessionID, "jti": claims["jti"].(string),
				"oid": guardtest.UserOID, "client": guardtest.ClientID}[kind]
			idp.Revoke(kind, value, clk.Now(), clk.Now().Add(guardtest.Lifetime))
			pollNow(t, g)
			if !refused(t, g, tok) {
				t.Fatalf("cached token accepted after its %s was revoked", kind)
			}
		})
	}
}

// exp and nbf are checked against the guard's clock on every request.
func TestCachedTokenExpires(t *testing.T) {
	idp, g, clk := setup(t, nil)
	tok := idp.Mint(t, idp.V2Claims(resourceID))
	for range 2 {
		if _, err := g.Validate(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(guardtest.Lifetime + guard.DefaultClockSkew)
	if _, err := g.Validate(context.Background(), tok); reasonOf(err) != guard.ReasonExpired {
		t.Fatalf("cached token past exp and skew: %v", err)
	}
}

// A token whose key the authority no longer publishes is refused once the
// guard has refetched the key set, cached or not.
func TestCachedTokenOfRetiredKey(t *testing.T) {
	idp, g, clk := setup(t, nil)
	k := idp.NewKey(t, "RS256")
	idp.Publish(k)
	clk.Advance(guard.DefaultMinRefreshInterval)
	tok := idp.Mint(t, idp.V2Claims(resourceID), guardtest.SignWith(k))
	for range 2 {
		if _, err := g.Validate(context.Background(), tok); err != nil {
			t.Fatalf("token of the new key: %v", err)
		}
	}
	// A token of the long-published key, cached too, must survive the
	// refetch: the key set changed, its key did not.
	kept := idp.Mint(t, idp.V2Claims(resourceID))
	if _, err := g.Validate(context.Background(), kept); err != nil {
		t.Fatal(err)
	}
	idp.Unpublish(k.ID)
	// An unknown kid makes the guard refetch the key set.
	clk.Advance(guard.DefaultMinRefreshInterval)
	stranger := idp.Mint(t, idp.V2Claims(resourceID), guardtest.SignWith(idp.NewKey(t, "RS256")))
	if _, err := g.Validate(context.Background(), stranger); reasonOf(err) != guard.ReasonUnknownKey {
		t.Fatalf("stranger: %v", err)
	}
	if _, err := g.Validate(context.Background(), tok); reasonOf(err) != guard.ReasonUnknownKey {
		t.Fatalf("cached token of a retired key: %v", err)
	}
	if _, err := g.Validate(context.Background(), kept); err != nil {
		t.Fatalf("cached token of a key still published: %v", err)
	}
}

// Each caller gets a principal of its own: what one request changes in
// it, the next does not see.
func TestCachedPrincipalIsACopy(t *testing.T) {
	idp, g, _ := setup(t, nil)
	c := idp.AppClaims(resourceID, "Reader")
	c["scp"] = "a b"
	tok := idp.Mint(t, c)
	p1, err := g.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	p1.Roles[0], p1.Scopes[0], p1.Audience[0], p1.Subject = "Admin", "x", "y", "z"
	p1.Roles = append(p1.Roles, "Owner")
	p2, err := g.Validate(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p1 == p2 || p2.Roles[0] != "Reader" || len(p2.Roles) != 1 || p2.Scopes[0] != "a" ||
		p2.Audience[0] != resourceID || p2.Subject != guardtest.AppOID {
		t.Fatalf("second principal changed by the first caller: %+v", p2)
	}
	if v, ok := p2.Claim("idtyp"); !ok || v != "app" {
		t.Fatalf("Claim(idtyp) = %v, %v", v, ok)
	}
}

// With the cache off, and with one too small for the tokens in use,
// validation gives the same answers.
func TestVerifiedTokenCacheSizes(t *testing.T) {
	for _, size := range []int{-1, 1, 3} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			idp, g, clk := setup(t, func(c *guard.Config) { c.VerifiedTokenCacheSize = size })
			var tokens []string
			for range 5 {
				tokens = append(tokens, idp.Mint(t, idp.V2Claims(resourceID)))
			}
			for range 3 {
				for _, tok := range tokens {
					if _, err := g.Validate(context.Background(), tok); err != nil {
						t.Fatal(err)
					}
				}
			}
			clk.Advance(2 * guardtest.Lifetime)
			for _, tok := range tokens {
				if _, err := g.Validate(context.Background(), tok); reasonOf(err) != guard.ReasonExpired {
					t.Fatalf("expired: %v", err)
				}
			}
		})
	}
}

// Many goroutines validating the same and different tokens (run with
// -race).
func TestVerifiedTokenCacheConcurrent(t *testing.T) {
	idp, g, _ := setup(t, func(c *guard.Config) { c.VerifiedTokenCacheSize = 4 })
	tokens := make([]string, 8)
	for i := range tokens {
		tokens[i] = idp.Mint(t, idp.V2Claims(resourceID))
	}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				p, err := g.Validate(context.Background(), tokens[(w+i)%len(tokens)])
				if err != nil {
					t.Error(err)
					return
				}
				p.Roles = append(p.Roles, "x")
				if len(p.Scopes) > 0 {
					p.Scopes[0] = "changed"
				}
			}
		})
	}
	wg.Wait()
	p, err := g.Validate(context.Background(), tokens[0])
	if err != nil || p.Scopes[0] != "user_impersonation" || len(p.Roles) != 0 {
		t.Fatalf("after concurrent callers: %+v, %v", p, err)
	}
}

// BenchmarkValidateCache reports a token presented on every request (a
// cache hit: a hash and a lookup) and distinct tokens (a miss: full RS256
// verification, then an insertion into a cache too small to keep them).
func BenchmarkValidateCache(b *testing.B) {
	idp, hit, clk := setup(b, nil)
	tok := idp.Mint(b, idp.V2Claims(resourceID))
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := hit.Validate(context.Background(), tok); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hit/parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := hit.Validate(context.Background(), tok); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	// 16 entries in 16 shards of one: every token is evicted long before
	// it comes round again.
	miss := guardFor(b, idp, clk, func(c *guard.Config) { c.VerifiedTokenCacheSize = 16 })
	distinct := make([]string, 256)
	for i := range distinct {
		distinct[i] = idp.Mint(b, idp.V2Claims(resourceID))
	}
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := miss.Validate(context.Background(), distinct[i%len(distinct)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
