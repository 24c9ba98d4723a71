package web_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/tessera-id/tessera/internal/ratelimit"
	"github.com/tessera-id/tessera/internal/web"
)

// TestSignInPagesLimited: the sign-in form and the device code entry are
// limited per address, in one shared bucket; the refusal is a page with
// 429 and Retry-After.
func TestSignInPagesLimited(t *testing.T) {
	for _, tc := range []struct {
		rule string
		try  func(e *env, b *browser) answer
	}{
		{"user code guessing, RFC 8628 §5.1", func(e *env, b *browser) answer {
			a := b.get(e.ts.URL + "/" + e.tenant.ID + "/devicelogin")
			return b.post(a, "device", map[string]string{"user_code": "BCDF-GHJK"})
		}},
		{"password guessing from one address (spraying across accounts)", func(e *env, b *browser) answer {
			return b.signIn(b.get(e.authorizeURL(nil)), "nobody", "wrong password here")
		}},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			e := newEnvWith(t, func(c *web.Config) {
				c.Limits = &ratelimit.Limits{Addresses: ratelimit.NewAddresses(nil, nil, nil), SignIn: ratelimit.New(0.001, 3, ratelimit.Options{})}
			})
			b := e.browser()
			for i := range 3 {
				if a := tc.try(e, b); a.status == http.StatusTooManyRequests {
					t.Fatalf("attempt %d of a burst of 3 refused", i+1)
				}
			}
			a := tc.try(e, b)
			if a.status != http.StatusTooManyRequests || a.page != "error" {
				t.Fatalf("4th attempt: status %d page %q, want 429 and the error page", a.status, a.page)
			}
			if n, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || n < 1 {
				t.Errorf("RFC 6585 §4: Retry-After %q", a.header.Get("Retry-After"))
			}
		})
	}
}
