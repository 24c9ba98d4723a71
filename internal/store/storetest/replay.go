package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
)

// ConsumeOnce judges expiry by the store's clock, so these tests use
// expiry times far in the past or the future of any plausible clock, never
// sleeps.
var (
	longAgo  = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	farAhead = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

func testConsumeOnceReplay(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.ConsumeOnce(ctx, "a", "jti-1", farAhead))
	wantErr(t, s.ConsumeOnce(ctx, "a", "jti-1", farAhead), directory.ErrReplay)
	// A later expiry does not make a live value usable again.
	wantErr(t, s.ConsumeOnce(ctx, "a", "jti-1", farAhead.AddDate(1, 0, 0)), directory.ErrReplay)
	must(t, s.ConsumeOnce(ctx, "a", "jti-2", farAhead))
}

func testConsumeOnceExpiry(t *testing.T, s store.Store) {
	ctx := t.Context()
	// An expired record may be overwritten, once.
	must(t, s.ConsumeOnce(ctx, "a", "jti-1", longAgo))
	must(t, s.ConsumeOnce(ctx, "a", "jti-1", farAhead))
	wantErr(t, s.ConsumeOnce(ctx, "a", "jti-1", farAhead), directory.ErrReplay)

	// However many expired records there are, and whatever an engine purges
	// and when, none of them blocks its key.
	// (Reusing them newest first makes an engine that purges oldest first
	// overwrite expired records as well as insert over purged ones.)
	const n = 100
	for i := range n {
		must(t, s.ConsumeOnce(ctx, "a", fmt.Sprintf("old-%d", i), longAgo))
	}
	for i := n - 1; i >= 0; i-- {
		must(t, s.ConsumeOnce(ctx, "a", fmt.Sprintf("old-%d", i), farAhead))
	}
	// …and the live ones are still live.
	for i := range n {
		wantErr(t, s.ConsumeOnce(ctx, "a", fmt.Sprintf("old-%d", i), farAhead), directory.ErrReplay)
	}
}
