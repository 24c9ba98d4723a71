package web_test

import (
	"net/http"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/web"
)

// TestSignInBusy: with every password hashing slot held past the wait,
// the sign-in page answers 503 with Retry-After (RFC 9110 §15.6.4) and
// signs no one in.
func TestSignInBusy(t *testing.T) {
	slots := directory.NewHashSlots(1, 1)
	e := newEnvWith(t, func(c *web.Config) { c.Directory = c.Directory.WithHashSlots(slots) })
	b := e.browser()
	page := b.get(e.authorizeURL(nil))
	slots.Acquire(t.Context())
	a := b.signIn(page, "alice", password)
	slots.Release()
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" || b.ssoCookie() != "" {
		t.Errorf("status %d, Retry-After %q, SSO cookie %q: want 503, a Retry-After and no session", a.status, a.header.Get("Retry-After"), b.ssoCookie())
	}
}
