package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/config"
)

// TestAbuseLimitsServed drives the configured limits through a real
// server: the flags reach the endpoints, X-Forwarded-For counts only from
// a trusted proxy, loopback is exempt by default, and a refusal still
// carries the headers every response does.
func TestAbuseLimitsServed(t *testing.T) {
	login := func(h *harness, xff string) *http.Response {
		req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/users/login",
			strings.NewReader(`{"username":"mallory","password":"not the password","tenant":"default","resource":"api://none"}`))
		req.Header.Set("Content-Type", "application/json")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := h.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	tight := func(c *config.Config) { c.RateExempt, c.RateSignIn, c.RateSignInBurst = "", 0.001, 2 }

	t.Run("the sign-in limit answers 429 with Retry-After, HSTS and nosniff", func(t *testing.T) {
		h := startWith(t, t.TempDir(), freeAddr(t), tight)
		var last *http.Response
		for range 3 {
			last = login(h, "")
		}
		if last.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("3rd login from one address with a burst of 2: %d, want 429", last.StatusCode)
		}
		if n, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("RFC 6585 §4: Retry-After %q", last.Header.Get("Retry-After"))
		}
		if last.Header.Get("Strict-Transport-Security") != "max-age=31536000" || last.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("RFC 6797 HSTS %q, nosniff %q", last.Header.Get("Strict-Transport-Security"), last.Header.Get("X-Content-Type-Options"))
		}
	})

	t.Run("X-Forwarded-For counts only from a trusted proxy", func(t *testing.T) {
		h := startWith(t, t.TempDir(), freeAddr(t), func(c *config.Config) { tight(c); c.TrustedProxies = "127.0.0.1,::1" })
		for range 2 {
			login(h, "198.51.100.1")
		}
		if s := login(h, "198.51.100.1").StatusCode; s != http.StatusTooManyRequests {
			t.Errorf("3rd login of one client behind the proxy: %d, want 429", s)
		}
		if s := login(h, "198.51.100.2").StatusCode; s == http.StatusTooManyRequests {
			t.Error("another client behind the same proxy shares the first one's bucket")
		}

		spoofed := startWith(t, t.TempDir(), freeAddr(t), tight) // no trusted proxies
		for i := range 3 {
			if s := login(spoofed, "203.0.113."+strconv.Itoa(i)).StatusCode; i == 2 && s != http.StatusTooManyRequests {
				t.Errorf("a forged X-Forwarded-For from an untrusted peer escaped the limit: %d", s)
			}
		}
	})

	t.Run("loopback is exempt by default (--rate-exempt)", func(t *testing.T) {
		h := startWith(t, t.TempDir(), freeAddr(t), func(c *config.Config) { c.RateSignIn, c.RateSignInBurst = 0.001, 2 })
		for i := range 5 {
			if s := login(h, "").StatusCode; s == http.StatusTooManyRequests {
				t.Fatalf("login %d from loopback throttled under the default --rate-exempt", i+1)
			}
		}
	})
}
