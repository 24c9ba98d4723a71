package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/config"
	"github.com/tessera-id/tessera/internal/directory"
)

// xffLogin posts a product login for user through a "proxy" on loopback
// that names the client in X-Forwarded-For, and returns the status and
// the error code.
func xffLogin(t *testing.T, h *harness, xff, user, password string) (int, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"username": user, "password": password, "tenant": "default", "resource": "api://studies"})
	req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/users/login", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	status, out, _ := h.do(req)
	code, _ := out["error"].(string)
	return status, code
}

// studiesProductLogin names api://studies as the product login's resource.
func studiesProductLogin(t *testing.T, h *harness) {
	t.Helper()
	if _, err := h.srv.Directory.SetTenantPolicy(t.Context(), h.tenant(), directory.TenantPolicy{ProductLoginResource: "api://studies"}); err != nil {
		t.Fatal(err)
	}
}

// TestForwardedForHopsAreClients (review L5): behind a trusted proxy on
// loopback, whatever the proxy writes for the client (an address with a
// port, in brackets, with spaces, or something that is no address at all)
// is that client: limited per address and bannable, never the proxy
// itself, which is loopback and exempt (--rate-exempt). Before, a port or
// brackets made the walk stop at the proxy: no sign-in limit, no ban.
func TestForwardedForHopsAreClients(t *testing.T) {
	t.Run("the sign-in limit holds for every spelling of a hop", func(t *testing.T) {
		h := startWith(t, t.TempDir(), freeAddr(t), func(c *config.Config) {
			c.TrustedProxies, c.RateSignIn, c.RateSignInBurst = "127.0.0.1,::1", 0.001, 2
		})
		setupUserApps(t, h) // api://studies, so that a wrong password answers 401
		studiesProductLogin(t, h)
		for i, xff := range []string{
			"203.0.113.5",                       // the control: already limited before
			"203.0.113.6:4444",                  // Azure Application Gateway, IIS ARR
			"[2001:db8:6::1]",                   // IPv6 in brackets
			"[2001:db8:7::1]:4444",              // IPv6 with a port
			" 203.0.113.8 , 127.0.0.1",          // spaces, then the proxy's own hop
			"198.51.100.1, 203.0.113.9:80",      // the right-most hop counts, with its port
			"garbage",                           // no address at all
			"unknown",                           // what some proxies write for "hidden"
			"203.0.113.10:port",                 // a port that is not one
			"[2001:db8:a::1]:4444, 127.0.0.1:1", // a trusted hop with a port is still the proxy
		} {
			// A name of its own per client: unknown names are slowed
			// down and locked too, and only the address limit is tested.
			user := fmt.Sprintf("mallory-%d", i)
			var got []int
			for range 6 {
				status, _ := xffLogin(t, h, xff, user, "not the password")
				got = append(got, status)
			}
			if fmt.Sprint(got) != "[401 401 429 429 429 429]" {
				t.Errorf("X-Forwarded-For %q: six logins answered %v, want [401 401 429 429 429 429] (burst 2)", xff, got)
			}
		}
		// The proxy's own requests (no header) are loopback, still exempt.
		for i := range 4 {
			if status, _ := xffLogin(t, h, "", fmt.Sprintf("trent-%d", i), "not the password"); status == http.StatusTooManyRequests {
				t.Fatalf("login %d from the proxy itself throttled: loopback is exempt by default", i+1)
			}
		}
	})

	t.Run("failures behind any spelling ban that client, not the proxy", func(t *testing.T) {
		h := startWith(t, t.TempDir(), freeAddr(t), func(c *config.Config) {
			c.TrustedProxies, c.BanAddressFailures = "127.0.0.1,::1", 3
		})
		u := setupUserApps(t, h)
		studiesProductLogin(t, h)
		u.adminConsent(t, h, "openid profile offline_access api://studies/read")
		admin := h.adminToken()
		for _, xff := range []string{"198.51.100.7:5555", "[2001:db8:5::9]:443", "not-an-address"} {
			for _, name := range []string{"mallory", "trent", "eve"} {
				if status, code := xffLogin(t, h, xff, name, "spraying a password"); status != http.StatusUnauthorized {
					t.Fatalf("X-Forwarded-For %q: failed login of %s answered %d %s, want 401", xff, name, status, code)
				}
			}
			if status, code := xffLogin(t, h, xff, "alice", alicePassword); status != http.StatusTooManyRequests || code != "too_many_attempts" {
				t.Errorf("X-Forwarded-For %q after 3 failures: right password answered %d %q, want 429 too_many_attempts (banned)", xff, status, code)
			}
		}
		// The proxy itself was never banned: its own requests still sign in.
		if status, code := xffLogin(t, h, "", "alice", alicePassword); status != http.StatusOK {
			t.Errorf("login from the proxy itself: %d %q, want 200 (loopback is neither counted nor banned)", status, code)
		}
		bans := bansList(t, h, admin)
		var addrs []string
		for _, b := range bans {
			addrs = append(addrs, b.Address)
		}
		if len(bans) != 3 || addrs[0] == addrs[1] || addrs[1] == addrs[2] || addrs[0] == addrs[2] {
			t.Fatalf("bans %v: want the three clients, each its own", addrs)
		}
		for _, want := range []string{"198.51.100.7", "2001:db8:5::/64"} {
			if !strings.Contains(strings.Join(addrs, " "), want) {
				t.Errorf("bans %v: want %s, the hop without its port", addrs, want)
			}
		}
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a); err == nil && p.Addr().IsLoopback() {
				t.Errorf("bans %v: the proxy is banned", addrs)
			}
			if a == "127.0.0.1" {
				t.Errorf("bans %v: the proxy is banned", addrs)
			}
		}
	})
}
