package guard_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

// multiTenant is a guard on the authority's /common, which names the
// revocation feed by a {tenantid} template, and a tenant besides the home
// one.
func multiTenant(t *testing.T) (*guardtest.Authority, *guard.Guard, *clock, string) {
	t.Helper()
	idp, clk := authority(t)
	other := guardtest.NewGUID()
	idp.AddTenant(other, "fabrikam.example")
	g := guardFor(t, idp, clk, func(c *guard.Config) { c.Authority = idp.Base() + "/common/v2.0" })
	return idp, g, clk, other
}

// claimsIn are V2Claims of tenant tid.
func claimsIn(idp *guardtest.Authority, tid string) guardtest.Claims {
	c := idp.V2Claims(resourceID)
	c["tid"], c["iss"] = tid, idp.Base()+"/"+tid+"/v2.0"
	return c
}

// feedReads counts the feed requests of tenant tid from the beginning
// (after=0). A feed without entries stays at 0, so each poll of it counts:
// compare only before the guard polls.
func feedReads(idp *guardtest.Authority, tid string) int {
	n := 0
	for _, r := range idp.FeedRequests() {
		if r.Tenant == tid && r.After == 0 {
			n++
		}
	}
	return n
}

// TestMultiTenantRevocations: a guard on a multi-tenant authority follows
// the feed of each tenant whose tokens it accepts. A tenant's feed is read
// whole before its first token is admitted (so a token revoked before the
// guard saw its tenant is refused), once however many of its tokens come
// at the same time, and then polled like a single feed; one tenant's
// revocations never touch another's tokens.
func TestMultiTenantRevocations(t *testing.T) {
	idp, g, _, other := multiTenant(t)
	ctx := context.Background()

	// Revoked in the other tenant before the guard saw any of its tokens.
	idp.RevokeIn(other, guardtest.KindSession, guardtest.SessionID, t0, t0.Add(time.Hour))
	if !refused(t, g, idp.Mint(t, claimsIn(idp, other))) {
		t.Fatal("a token revoked before its tenant's first token was admitted")
	}
	// The same sid in the home tenant is another sign-in.
	home := idp.Mint(t, idp.V2Claims(resourceID))
	if refused(t, g, home) {
		t.Fatal("the other tenant's revocation refused a home tenant token")
	}
	if feedReads(idp, idp.TenantID) != 1 || feedReads(idp, other) != 1 {
		t.Fatalf("feed requests %+v, want one first read per tenant", idp.FeedRequests())
	}

	// Once followed, a tenant's feed is polled: a revocation of a token
	// already admitted (and cached) reaches the guard at the next poll.
	idp.Revoke(guardtest.KindSubject, guardtest.UserOID, t0, t0.Add(time.Hour))
	if refused(t, g, home) {
		t.Fatal("refused before the feed was polled")
	}
	pollNow(t, g)
	if !refused(t, g, home) {
		t.Fatal("a revocation of a followed tenant did not reach the guard")
	}
	if g.RevocationsSynced().IsZero() {
		t.Fatal("RevocationsSynced is zero")
	}

	// Tokens of a third tenant arriving together start its feed once.
	third := guardtest.NewGUID()
	idp.AddTenant(third)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := g.Validate(ctx, idp.Mint(t, claimsIn(idp, third))); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("third tenant: %v", err)
	}
	if n := feedReads(idp, third); n != 1 {
		t.Fatalf("the third tenant's feed was started %d times", n)
	}
}

// TestMultiTenantRevocationsFailClosed: a token whose tenant's feed cannot
// be read is not admitted (503, the token could not be checked), the
// authority is not asked again for that tenant for a few seconds, and the
// tenant is followed once its feed answers.
func TestMultiTenantRevocationsFailClosed(t *testing.T) {
	idp, g, clk, other := multiTenant(t)
	tok := idp.Mint(t, claimsIn(idp, other))
	idp.FeedOutage(true)
	for range 3 {
		_, err := g.Validate(context.Background(), tok)
		var e *guard.Error
		if !errors.As(err, &e) || e.Reason != guard.ReasonUnavailable || e.Status() != http.StatusServiceUnavailable {
			t.Fatalf("feed down: %v, want unavailable", err)
		}
	}
	if n := feedReads(idp, other); n != 1 {
		t.Fatalf("the feed that failed was asked %d times, want once", n)
	}
	idp.FeedOutage(false)
	clk.Advance(10 * time.Second)
	if _, err := g.Validate(context.Background(), tok); err != nil {
		t.Fatalf("feed back: %v", err)
	}
}
