package oauth_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/oauth"
)

// withSlots serves f again with password hashing bounded by slots.
func (f *fixture) withSlots(slots *directory.HashSlots) *fixture {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	f.t.Cleanup(srv.Close)
	oauth.New(oauth.Config{Directory: f.dir.WithHashSlots(slots), Sessions: f.sess, Keys: f.ring, PublicURL: srv.URL,
		Logger: slog.New(slog.DiscardHandler), Now: f.clock.Now, HomeTenant: f.tenant.ID}).Register(mux)
	g := *f
	g.srv = srv
	return &g
}

// TestSignInsBeyondHashSlots: concurrent sign-ins beyond the hashing
// slots never hash more than the slots at once, and when the slots stay
// busy past the brief wait the overflow is refused with 503 and
// Retry-After (RFC 9110 §15.6.4), as temporarily_unavailable/AADSTS90006
// at the token endpoint, never cached.
func TestSignInsBeyondHashSlots(t *testing.T) {
	f := newFixture(t)
	f.setPolicy(directory.TenantPolicy{ProductLoginResource: "api://studies"})
	grant := func(g *fixture) response {
		return g.token(url.Values{"grant_type": {"password"}, "client_id": {f.public.AppID}, "username": {"alice"},
			"password": {password}, "scope": {"openid api://studies/read"}})
	}
	login := func(g *fixture) response {
		req, _ := http.NewRequest("POST", g.srv.URL+"/api/v1/users/login", strings.NewReader(`{"username":"alice","password":"`+password+`","tenant":"contoso","resource":"api://studies"}`))
		req.Header.Set("Content-Type", "application/json")
		return g.do(req)
	}
	const slotsN, n = 2, 8
	for _, tc := range []struct {
		name string
		send func(*fixture) response
	}{{"password grant", grant}, {"product login", login}} {
		t.Run(tc.name, func(t *testing.T) {
			// Enough wait for all: none refused, at most cap at once.
			slots := directory.NewHashSlots(slotsN, time.Minute)
			g := f.withSlots(slots)
			statuses := concurrently(n, func() int { return tc.send(g).status })
			for _, s := range statuses {
				if s != http.StatusOK {
					t.Errorf("a sign-in that could wait got %d", s)
				}
			}
			if p := slots.Peak(); p > slotsN {
				t.Errorf("%d hashes at once, bound %d", p, slotsN)
			}

			// Every slot held past the wait: all n refused.
			slots = directory.NewHashSlots(slotsN, time.Millisecond)
			g = f.withSlots(slots)
			for range slotsN {
				slots.Acquire(t.Context())
			}
			defer func() {
				for range slotsN {
					slots.Release()
				}
			}()
			var mu sync.Mutex
			var last response
			statuses = concurrently(n, func() int {
				r := tc.send(g)
				mu.Lock()
				last = r
				mu.Unlock()
				return r.status
			})
			for _, s := range statuses {
				if s != http.StatusServiceUnavailable {
					t.Errorf("overflow answered %d, want 503", s)
				}
			}
			if last.header.Get("Retry-After") != "2" || last.header.Get("Cache-Control") != "no-store" || last.str("error") != "temporarily_unavailable" {
				t.Errorf("503: Retry-After %q, Cache-Control %q, body %s", last.header.Get("Retry-After"), last.header.Get("Cache-Control"), last.raw)
			}
			if tc.name == "password grant" && last.aadsts() != 90006 {
				t.Errorf("AADSTS %d, want 90006", last.aadsts())
			}
			if p := slots.Peak(); p != slotsN {
				t.Errorf("peak %d: a refused sign-in hashed", p)
			}
		})
	}
}

func concurrently(n int, fn func() int) []int {
	out := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = fn() })
	}
	wg.Wait()
	return out
}
