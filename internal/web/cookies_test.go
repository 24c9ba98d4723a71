package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/web"
)

// TestCookiePrefixes (RFC 6265bis §4.1.3.2): over TLS the CSRF and SSO
// cookies are __Host- cookies, so Secure, Path=/ and no Domain, which a
// sibling subdomain cannot set or shadow; the InsecureCookies mode for
// plain HTTP keeps the bare names, which a browser accepts without Secure.
func TestCookiePrefixes(t *testing.T) {
	for _, tc := range []struct {
		rule     string
		insecure bool
		prefix   string
	}{
		{"RFC 6265bis §4.1.3.2 __Host- over TLS", false, "__Host-"},
		{"plain HTTP (InsecureCookies): no prefix, no Secure", true, ""},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			e := newEnvWith(t, func(c *web.Config) { c.InsecureCookies = tc.insecure })
			b := e.browser()
			page := b.get(e.authorizeURL(nil))
			signedIn := b.signIn(page, "alice", password)
			var set []*http.Cookie
			for _, a := range []answer{page, signedIn} {
				set = append(set, (&http.Response{Header: a.header}).Cookies()...)
			}
			want := map[string]bool{tc.prefix + "tessera_csrf": false, tc.prefix + "tessera_sso_" + strings.ReplaceAll(e.tenant.ID, "-", ""): false}
			for _, c := range set {
				if _, ok := want[c.Name]; !ok {
					t.Errorf("cookie %q: want one of %v", c.Name, want)
					continue
				}
				want[c.Name] = true
				if c.Secure == tc.insecure || c.Path != "/" || c.Domain != "" {
					t.Errorf("%s: Secure %v Path %q Domain %q", c.Name, c.Secure, c.Path, c.Domain)
				}
			}
			for name, seen := range want {
				if !seen {
					t.Errorf("no %s cookie was set", name)
				}
			}
		})
	}
}
