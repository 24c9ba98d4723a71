package guard

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tessera-id/tessera/guard/guardtest"
)

// The key set is refreshed in the background once it is older than
// RefreshInterval, without making the request that noticed wait; a key
// withdrawn from the set stops verifying after that refresh.
func TestPeriodicRefresh(t *testing.T) {
	idp := guardtest.NewAuthority(t)
	var now atomic.Int64
	now.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	idp.Now = clock
	g, err := New(context.Background(), Config{
		Authority: idp.URL(), Audiences: []string{"api://x"}, HTTPClient: idp.Client(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	done := make(chan error, 1)
	g.keys.afterBackground = func(err error) { done <- err }

	withdrawn := g.keys.set.Load().byKID[idp.EC.ID]
	idp.Unpublish(idp.EC.ID)
	ctx := context.Background()

	now.Add(int64(DefaultRefreshInterval - time.Second))
	if _, err := g.keys.key(ctx, idp.EC.ID); err != nil {
		t.Fatalf("before the refresh interval: %v", err)
	}
	now.Add(int64(time.Second))
	if k, err := g.keys.key(ctx, idp.EC.ID); err != nil || k.KeyID != withdrawn.KeyID {
		t.Fatalf("stale set must still answer while refreshing: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("background refresh: %v", err)
	}
	if got := idp.KeySetFetches(); got != 2 {
		t.Fatalf("%d fetches, want 2", got)
	}
	if _, err := g.keys.key(ctx, idp.EC.ID); err == nil {
		t.Fatal("withdrawn key still served after refresh")
	}
}

// key returns the public key for kid, refetching the key set once (subject
// to the minimum interval) when kid is unknown.
func (c *keyCache) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	k, _, err := c.lookup(ctx, kid)
	return k, err
}
