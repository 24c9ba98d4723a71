package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

// TestEndProductLogin: the product logout ends a product login's grant for
// its user, and nothing else (review L3): a grant of the OAuth grants, or
// a product login named with another user's token, is refused and stays
// active.
func TestEndProductLogin(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	product := func(t *testing.T) session.Grant {
		t.Helper()
		g, err := e.svc.NewGrant(ctx, e.tenant, session.GrantSpec{UserID: e.user, ClientID: e.client,
			AuthTime: e.now, Lifetime: 24 * time.Hour, Channel: session.ChannelProductLogin})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	for _, tc := range []struct {
		name   string
		grant  func(t *testing.T) session.Grant
		user   string
		err    error
		active bool // afterwards
	}{
		{"a product login, for its user: ended", product, e.user, nil, false},
		{"a product login, with another user's token: refused", product, "someone-else", session.ErrNotProductLogin, true},
		{"an OAuth grant of the same client and user: refused", func(t *testing.T) session.Grant { return e.grant(t, "") }, e.user, session.ErrNotProductLogin, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.grant(t)
			if g.Channel != "" && g.Channel != session.ChannelProductLogin {
				t.Fatalf("channel %q", g.Channel)
			}
			err := e.svc.EndProductLogin(ctx, e.tenant, g.ID, tc.user)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("EndProductLogin: %v, want %v", err, tc.err)
			}
			_, aerr := e.svc.ActiveGrant(ctx, e.tenant, g.ID)
			if active := aerr == nil; active != tc.active {
				t.Errorf("active afterwards: %v (%v), want %v", active, aerr, tc.active)
			}
			if ended := e.feedHas(t, session.RevokeGrant, g.ID); ended == tc.active {
				t.Errorf("revocation feed entry: %v, want %v", ended, !tc.active)
			}
		})
	}
	t.Run("ending an ended login again is not an error", func(t *testing.T) {
		g := product(t)
		for range 2 {
			if err := e.svc.EndProductLogin(ctx, e.tenant, g.ID, e.user); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("an unknown grant: not found", func(t *testing.T) {
		if err := e.svc.EndProductLogin(ctx, e.tenant, "no-such-grant", e.user); !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
	})
}
