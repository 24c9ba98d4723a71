package guard_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

func introspecting(ttl time.Duration) func(*guard.Config) {
	return func(c *guard.Config) {
		c.Introspection = &guard.IntrospectionConfig{
			ClientID: guardtest.IntrospectionClientID, ClientSecret: guardtest.IntrospectionSecret, CacheTTL: ttl,
		}
	}
}

// RFC 7662: the guard asks about every token that passes its own checks,
// and only those; a revocation takes effect at the next request, with no
// feed involved.
func TestIntrospection(t *testing.T) {
	idp, clk := authority(t)
	g := guardFor(t, idp, clk, introspecting(0))
	if n := len(idp.FeedRequests()); n != 0 {
		t.Fatalf("introspection mode read the feed %d times", n)
	}
	if err := g.PollNow(context.Background()); !errors.Is(err, guard.ErrNoRevocationFeed) {
		t.Fatalf("PollNow: %v", err)
	}

	tok := idp.Mint(t, idp.V2Claims(resourceID))
	for range 2 {
		if refused(t, g, tok) {
			t.Fatal("active token refused")
		}
	}
	if n := idp.IntrospectionRequests(); n != 2 {
		t.Fatalf("%d introspection requests for 2 validations without a cache", n)
	}
	idp.Revoke(guardtest.KindSession, guardtest.SessionID, t0, t0.Add(time.Hour))
	if !refused(t, g, tok) {
		t.Fatal("revoked token admitted")
	}

	// Tokens the guard refuses itself are never sent.
	before := idp.IntrospectionRequests()
	expired := idp.V2Claims(resourceID)
	expired["exp"] = t0.Add(-time.Hour).Unix()
	for _, tc := range []struct {
		tok  string
		want guard.Reason
	}{
		{idp.Mint(t, idp.V2Claims(resourceID), guardtest.SignWith(idp.NewKey(t, "ES256"))), guard.ReasonUnknownKey},
		{idp.Mint(t, expired), guard.ReasonExpired},
		{idp.Mint(t, idp.V2Claims(guardtest.NewGUID())), guard.ReasonAudience},
	} {
		if _, err := g.Validate(context.Background(), tc.tok); reasonOf(err) != tc.want {
			t.Fatalf("Validate: %v, want %s", err, tc.want)
		}
	}
	if n := idp.IntrospectionRequests() - before; n != 0 {
		t.Fatalf("%d tokens the guard refused itself were introspected", n)
	}
}

// Active answers are reused for CacheTTL; inactive ones never.
func TestIntrospectionCache(t *testing.T) {
	idp, clk := authority(t)
	g := guardFor(t, idp, clk, introspecting(time.Minute))
	tok := idp.Mint(t, idp.V2Claims(resourceID))
	for range 3 {
		if refused(t, g, tok) {
			t.Fatal("active token refused")
		}
	}
	if n := idp.IntrospectionRequests(); n != 1 {
		t.Fatalf("%d requests, want 1 within the TTL", n)
	}
	idp.Revoke(guardtest.KindSubject, guardtest.UserOID, t0, t0.Add(time.Hour))
	clk.Advance(time.Minute - time.Second)
	if refused(t, g, tok) {
		t.Fatal("the cached answer was not reused within the TTL")
	}
	clk.Advance(time.Second)
	for range 2 {
		if !refused(t, g, tok) {
			t.Fatal("the cached answer outlived the TTL")
		}
	}
	if n := idp.IntrospectionRequests(); n != 3 {
		t.Fatalf("%d requests, want 3: inactive answers are not cached", n)
	}
}

// Concurrent requests with one token share the cache safely.
func TestIntrospectionConcurrent(t *testing.T) {
	idp, clk := authority(t)
	g := guardFor(t, idp, clk, introspecting(time.Minute))
	tok := idp.Mint(t, idp.V2Claims(resourceID))
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Go(func() {
			if _, err := g.Validate(context.Background(), tok); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := idp.IntrospectionRequests(); n < 1 || n > 32 {
		t.Fatalf("%d requests", n)
	}
}

// When the endpoint cannot answer, the token is refused with 503 and no
// Bearer challenge: the token may be fine, the guard cannot tell.
func TestIntrospectionUnavailable(t *testing.T) {
	idp, clk := authority(t)
	tok := idp.Mint(t, idp.V2Claims(resourceID))

	g := guardFor(t, idp, clk, introspecting(0))
	idp.IntrospectionOutage(true)
	res := do(t, g.Middleware()(whoami), bearer(tok))
	if res.status != http.StatusServiceUnavailable || res.errCode != "temporarily_unavailable" || res.challenge != "" {
		t.Fatalf("outage: %d %q challenge %q", res.status, res.errCode, res.challenge)
	}
	idp.IntrospectionOutage(false)
	if res := do(t, g.Middleware()(whoami), bearer(tok)); res.status != http.StatusOK {
		t.Fatalf("after the outage: %d", res.status)
	}

	wrong := guardFor(t, idp, clk, func(c *guard.Config) {
		c.Introspection = &guard.IntrospectionConfig{ClientID: guardtest.IntrospectionClientID, ClientSecret: "wrong"}
	})
	if _, err := wrong.Validate(context.Background(), tok); reasonOf(err) != guard.ReasonUnavailable {
		t.Fatalf("wrong credentials: %v", err)
	}
}

// A multi-tenant authority's endpoint template is filled with the
// token's tenant.
func TestIntrospectionMultiTenant(t *testing.T) {
	idp, clk := authority(t)
	other := guardtest.NewGUID()
	idp.AddTenant(other)
	g := guardFor(t, idp, clk, func(c *guard.Config) {
		c.Authority = idp.Base() + "/common/v2.0"
		introspecting(0)(c)
	})
	c := idp.V2Claims(resourceID)
	c["tid"], c["iss"] = other, idp.Base()+"/"+other+"/v2.0"
	tok := idp.Mint(t, c)
	if refused(t, g, tok) {
		t.Fatal("active token of the other tenant refused")
	}
	idp.Revoke(guardtest.KindSession, guardtest.SessionID, t0, t0.Add(time.Hour)) // the home tenant's feed
	if refused(t, g, tok) {
		t.Fatal("refused by another tenant's revocation")
	}
	idp.RevokeIn(other, guardtest.KindSession, guardtest.SessionID, t0, t0.Add(time.Hour))
	if !refused(t, g, tok) {
		t.Fatal("revoked in its own tenant, still admitted")
	}
}

func TestIntrospectionConfig(t *testing.T) {
	idp, clk := authority(t)
	t.Run("credentials and an https endpoint are required", func(t *testing.T) {
		_, err := guard.New(context.Background(), guard.Config{
			Authority: "https://127.0.0.1/t/v2.0", Audiences: []string{"a"},
			Introspection: &guard.IntrospectionConfig{Endpoint: "http://idp.example/introspect", CacheTTL: -1},
		})
		for _, want := range []string{"client id and secret", "must be an absolute https URL", "must not be negative"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("New: %v, want %q", err, want)
			}
		}
	})
	t.Run("no endpoint discovered or configured", func(t *testing.T) {
		idp.PublishIntrospection(false)
		defer idp.PublishIntrospection(true)
		cfg := guard.Config{Authority: idp.URL(), Audiences: []string{resourceID}, HTTPClient: idp.Client(), Logger: quiet, Now: clk.Now}
		introspecting(0)(&cfg)
		if _, err := guard.New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "introspection_endpoint") {
			t.Fatalf("New: %v", err)
		}
		cfg.Introspection.Endpoint = idp.IntrospectionURL()
		g, err := guard.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		if refused(t, g, idp.Mint(t, idp.V2Claims(resourceID))) || idp.IntrospectionRequests() != 1 {
			t.Fatal("the configured endpoint was not asked")
		}
	})
}
