package oauth_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/oauth"
	"github.com/tessera-id/tessera/internal/ratelimit"
)

// limited serves f's directory again, with limits, on a second server.
func (f *fixture) limited(l *ratelimit.Limits) *fixture {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	f.t.Cleanup(srv.Close)
	oauth.New(oauth.Config{Directory: f.dir, Sessions: f.sess, Keys: f.ring, PublicURL: srv.URL, Logger: slog.New(slog.DiscardHandler),
		Now: f.clock.Now, HomeTenant: f.tenant.ID, Limits: l}).Register(mux)
	g := *f
	g.srv = srv
	return &g
}

// TestAbuseLimits: each limit answers 429 with Retry-After in whole seconds
// and, at the OAuth endpoints, the token endpoint's error body, never
// cached. Removing a limiter fails its row.
func TestAbuseLimits(t *testing.T) {
	f := newFixture(t)
	addrs := ratelimit.NewAddresses(nil, nil, nil) // loopback is not exempt here
	tid := f.tenant.ID
	cc := func(secret string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {f.conf.AppID}, "client_secret": {secret}, "scope": {"api://studies/.default"}}
	}
	device := url.Values{"client_id": {f.public.AppID}, "scope": {"openid api://studies/read"}}
	// The guesses spray a new name each time: one name tried again and
	// again is slowed down by name (unknown or not), which would answer
	// 429 for its own reason.
	sprayed := 0
	nextName := func() string { sprayed++; return fmt.Sprintf("mallory%d", sprayed) }
	login := func(g *fixture) response {
		req, _ := http.NewRequest("POST", g.srv.URL+"/api/v1/users/login", strings.NewReader(`{"username":"`+nextName()+`","password":"wrong password!","tenant":"contoso","resource":"api://studies"}`))
		req.Header.Set("Content-Type", "application/json")
		return g.do(req)
	}
	for _, tc := range []struct {
		rule   string
		limits *ratelimit.Limits
		// send makes one request; the first burst (2) pass the limit,
		// the next is refused.
		send    func(g *fixture) response
		oauthy  bool
		refused int // how many of 3 requests are refused
	}{
		{"per confidential client, v2 token endpoint (RFC 6585 §4)", &ratelimit.Limits{Addresses: addrs, TokenClient: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response { return g.post("/"+tid+"/oauth2/v2.0/token", cc(f.confSecret)) }, true, 1},
		{"per confidential client, v1 token endpoint", &ratelimit.Limits{Addresses: addrs, TokenClient: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response { return g.post("/"+tid+"/oauth2/token", cc(f.confSecret)) }, true, 1},
		{"a client's budget is spent only once it authenticates (no DoS by naming its id)", &ratelimit.Limits{Addresses: addrs, TokenClient: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response { return g.post("/"+tid+"/oauth2/v2.0/token", cc("wrong")) }, true, 0},
		{"public clients are not limited per client id (shared by all their users)", &ratelimit.Limits{Addresses: addrs, TokenClient: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response { return g.post("/"+tid+"/oauth2/v2.0/devicecode", device) }, true, 0},
		{"per address, token endpoint, before authentication", &ratelimit.Limits{Addresses: addrs, TokenAddress: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response { return g.post("/"+tid+"/oauth2/v2.0/token", cc("wrong")) }, true, 1},
		{"per address, device authorization endpoint (RFC 8628 §5.2)", &ratelimit.Limits{Addresses: addrs, TokenAddress: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response { return g.post("/"+tid+"/oauth2/v2.0/devicecode", device) }, true, 1},
		{"per address, device authorization limit, v2 (RFC 8628 §5.2, on by default)", &ratelimit.Limits{Addresses: addrs, DeviceAddress: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response { return g.post("/"+tid+"/oauth2/v2.0/devicecode", device) }, true, 1},
		{"per address, device authorization limit, v1", &ratelimit.Limits{Addresses: addrs, DeviceAddress: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response {
				return g.post("/"+tid+"/oauth2/devicecode", url.Values{"client_id": {f.public.AppID}, "resource": {"api://studies"}})
			}, true, 1},
		{"per address, device authorization limit, AD FS", &ratelimit.Limits{Addresses: addrs, DeviceAddress: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response { return g.post("/adfs/oauth2/devicecode", device) }, true, 1},
		{"the device authorization limit does not touch the token endpoint", &ratelimit.Limits{Addresses: addrs, DeviceAddress: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response { return g.post("/"+tid+"/oauth2/v2.0/token", cc(f.confSecret)) }, true, 0},
		{"per address, AD FS token endpoint", &ratelimit.Limits{Addresses: addrs, TokenAddress: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response { return g.post("/adfs/oauth2/token", cc("wrong")) }, true, 1},
		{"per address, product login (password guessing)", &ratelimit.Limits{Addresses: addrs, SignIn: ratelimit.New(0.001, 2, ratelimit.Options{})},
			login, false, 1},
		{"per address, password grant shares the sign-in bucket (password spraying)", &ratelimit.Limits{Addresses: addrs, SignIn: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response {
				return g.post("/"+tid+"/oauth2/v2.0/token", url.Values{"grant_type": {"password"}, "client_id": {f.public.AppID},
					"username": {nextName()}, "password": {"wrong password!"}, "scope": {"openid"}})
			}, true, 1},
		{"the sign-in limit does not touch other grants", &ratelimit.Limits{Addresses: addrs, SignIn: ratelimit.New(0.001, 2, ratelimit.Options{})},
			func(g *fixture) response { return g.post("/"+tid+"/oauth2/v2.0/token", cc(f.confSecret)) }, true, 0},
		{"an exempt address is not limited per address", &ratelimit.Limits{Addresses: ratelimit.NewAddresses(nil, must(ratelimit.ParsePrefixes("127.0.0.0/8,::1")), nil),
			SignIn: ratelimit.New(0.001, 2, ratelimit.Options{}), TokenAddress: ratelimit.New(0.001, 2, ratelimit.Options{})}, login, false, 0},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			g := f.limited(tc.limits)
			refused := 0
			for i := range 3 {
				r := tc.send(g)
				if r.status != http.StatusTooManyRequests {
					continue
				}
				refused++
				if i < 2 {
					t.Errorf("request %d of a burst of 2 refused", i+1)
				}
				if n, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || n < 1 {
					t.Errorf("RFC 6585 §4: Retry-After %q, want whole seconds ≥ 1", r.header.Get("Retry-After"))
				}
				if r.header.Get("Cache-Control") != "no-store" {
					t.Errorf("RFC 6749 §5.1: a 429 has Cache-Control %q, want no-store", r.header.Get("Cache-Control"))
				}
				if tc.oauthy && (r.str("error") != "temporarily_unavailable" || r.aadsts() != 90055) {
					t.Errorf("OAuth error body: %s", r.raw)
				}
				if !tc.oauthy && r.str("error") != "too_many_requests" {
					t.Errorf("product API error body: %s", r.raw)
				}
			}
			if refused != tc.refused {
				t.Errorf("%d of 3 requests refused, want %d", refused, tc.refused)
			}
		})
	}
}
