package guard_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

// A flood of tokens with forged kids must not become a flood of key set
// fetches: unknown kids are refetched through one single flight, at most
// once per MinRefreshInterval.
func TestUnknownKidFloodIsBounded(t *testing.T) {
	idp, g, clk := setup(t, nil)
	before := idp.KeySetFetches() // the fetch New made
	clk.Advance(guard.DefaultMinRefreshInterval)

	claims := idp.V2Claims(resourceID)
	const n = 1000
	tokens := make([]string, n)
	for i := range tokens {
		// Signed by a real key, so each one reaches the key lookup.
		tokens[i] = idp.Mint(t, claims, guardtest.SignWith(guardtest.Key{
			ID: fmt.Sprintf("forged-%d-%s", i, guardtest.NewGUID()), Algorithm: "ES256", Signer: idp.EC.Signer,
		}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, tok := range tokens {
		wg.Go(func() {
			if _, err := g.Validate(context.Background(), tok); reasonOf(err) != guard.ReasonUnknownKey {
				errs <- fmt.Errorf("forged kid: %v", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The clock stands still, so exactly one refetch is allowed.
	if got := idp.KeySetFetches() - before; got != 1 {
		t.Fatalf("%d key set fetches for %d forged kids, want 1", got, n)
	}
	// The next interval allows one more.
	clk.Advance(guard.DefaultMinRefreshInterval)
	for _, tok := range tokens[:10] {
		_, _ = g.Validate(context.Background(), tok)
	}
	if got := idp.KeySetFetches() - before; got != 2 {
		t.Fatalf("%d fetches after the next interval, want 2", got)
	}
}

// Key rotation: a key published after the guard started is found by the
// refetch its unknown kid triggers (STYLE: publish before signing).
func TestKeyRotation(t *testing.T) {
	idp, g, clk := setup(t, nil)
	next := idp.NewKey(t, "RS256")
	idp.Publish(next)
	tok := idp.Mint(t, idp.V2Claims(resourceID), guardtest.SignWith(next))

	// Within the minimum interval of New's fetch the new kid is unknown.
	if _, err := g.Validate(context.Background(), tok); reasonOf(err) != guard.ReasonUnknownKey {
		t.Fatalf("within min interval: %v", err)
	}
	clk.Advance(guard.DefaultMinRefreshInterval)
	if _, err := g.Validate(context.Background(), tok); err != nil {
		t.Fatalf("after refetch: %v", err)
	}
	// The old keys still verify: they are still published.
	if _, err := g.Validate(context.Background(), idp.Mint(t, idp.V2Claims(resourceID))); err != nil {
		t.Fatalf("old key: %v", err)
	}
}

// A failing key set endpoint leaves the current keys in use.
func TestRefetchFailureKeepsKeys(t *testing.T) {
	idp, g, clk := setup(t, nil)
	good := idp.Mint(t, idp.V2Claims(resourceID))
	idp.Unpublish(idp.RSA.ID)
	idp.Unpublish(idp.EC.ID) // the set is now empty, which the guard refuses to load
	clk.Advance(time.Minute)
	forged := idp.Mint(t, idp.V2Claims(resourceID), guardtest.SignWith(idp.NewKey(t, "ES256")))
	if _, err := g.Validate(context.Background(), forged); reasonOf(err) != guard.ReasonUnknownKey {
		t.Fatalf("forged: %v", err)
	}
	if _, err := g.Validate(context.Background(), good); err != nil {
		t.Fatalf("known key after failed refetch: %v", err)
	}
}
