package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// Issue 13, item 5 (the review's M2): an unknown name and an existing one
// with wrong passwords are indistinguishable on each way a password is
// tried — the product login, the password grant, the sign-in page — in
// status, body, Retry-After and schedule, and each attempt costs one
// argon2id check (counted through the server's hashing slots, not
// timed). OWASP ASVS 2.2.1 / NIST SP 800-63B §5.2.2: throttling must not
// tell which accounts exist.

// volatileParts are the parts of an answer that differ between any two
// attempts: trace and correlation ids, timestamps, the time a wait ends.
var volatileParts = regexp.MustCompile(`(Trace ID|Correlation ID|Timestamp): [^\r\n"]*|` +
	`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ|\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ|\d\d:\d\d:\d\d UTC on \d+ \w+ \d{4}|` +
	`"(trace_id|correlation_id|timestamp)":"[^"]*"`)

// attempt is what a caller sees of one sign-in attempt.
type attempt struct {
	status     int
	body       string // with the volatile parts masked
	retryAfter bool   // a Retry-After header of whole seconds, at most the lockout
}

func (a attempt) String() string {
	return fmt.Sprintf("%d retry-after=%v %s", a.status, a.retryAfter, a.body)
}

func TestSecurityNoUserEnumerationThroughSlowDown(t *testing.T) {
	h := start(t)
	u := setupUserApps(t, h)
	u.adminConsent(t, h, "openid profile offline_access api://studies/read")
	ctx := context.Background()
	d := h.srv.Directory
	// Three failures lock the name: the third attempt is checked and
	// locks, the fourth and fifth meet the lock. Loopback is exempt from
	// the per-address limits and bans by default, so only the name's
	// schedule answers.
	if _, err := d.SetTenantPolicy(ctx, h.tenant(), directory.TenantPolicy{LockoutThreshold: 3, ProductLoginResource: "api://studies"}); err != nil {
		t.Fatal(err)
	}
	retryAfter := func(hdr http.Header) bool {
		n, err := strconv.Atoi(hdr.Get("Retry-After"))
		return err == nil && n >= 1 && n <= int(directory.DefaultLockoutDuration.Seconds())
	}
	mask := func(s string) string { return volatileParts.ReplaceAllString(s, "<volatile>") }
	channels := []struct {
		name string
		try  func(t *testing.T, user string) attempt
	}{
		{"product login", func(t *testing.T, user string) attempt {
			raw, _ := json.Marshal(map[string]string{"username": user, "password": "not the password", "tenant": "default", "resource": "api://studies"})
			req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/users/login", strings.NewReader(string(raw)))
			req.Header.Set("Content-Type", "application/json")
			status, body, hdr := h.do(req)
			b, _ := json.Marshal(body)
			return attempt{status, mask(string(b)), retryAfter(hdr)}
		}},
		{"password grant", func(t *testing.T, user string) attempt {
			status, body, hdr := h.postForm("/"+h.tenant()+"/oauth2/v2.0/token", url.Values{"grant_type": {"password"},
				"client_id": {u.native.AppID}, "username": {user}, "password": {"not the password"}, "scope": {"openid api://studies/read"}}, "", "")
			b, _ := json.Marshal(body)
			return attempt{status, mask(string(b)), retryAfter(hdr)}
		}},
		{"sign-in page", func(t *testing.T, user string) attempt {
			p, next := banWebSignIn(t, h, u, user, "not the password")
			if next != nil {
				t.Fatalf("a wrong password signed in: %s", next)
			}
			return attempt{p.status, p.kind + ": " + mask(p.message()), false}
		}},
	}
	slots := d.HashSlots()
	for _, ch := range channels {
		t.Run(ch.name, func(t *testing.T) {
			// A user of its own per channel: the lock is the name's,
			// whichever way it is tried.
			known := "ann-" + strings.ReplaceAll(ch.name, " ", "-")
			if _, err := d.CreateUser(ctx, h.tenant(), directory.UserSpec{UserPrincipalName: known, Password: alicePassword}); err != nil {
				t.Fatal(err)
			}
			schedules := map[string][]attempt{}
			for _, name := range []string{known, "nobody-" + known} {
				for i := range 5 {
					before := slots.Taken()
					a := ch.try(t, name)
					if n := slots.Taken() - before; n != 1 {
						t.Errorf("%s, attempt %d (%s): %d password hashes, want 1", name, i+1, a, n)
					}
					schedules[name] = append(schedules[name], a)
				}
			}
			k, unknown := schedules[known], schedules["nobody-"+known]
			if k[0].body == k[4].body {
				t.Fatalf("the existing name was never locked: %v", k)
			}
			for i := range k {
				if k[i] != unknown[i] {
					t.Errorf("attempt %d: existing name %s\n\tunknown name %s", i+1, k[i], unknown[i])
				}
			}
			t.Logf("schedule of both names: %v", k)
		})
	}
}
