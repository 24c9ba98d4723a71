package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/internal/directory"
)

// TestMultiTenantGuardFollowsEachTenantsFeed: a guard, and tessera proxy,
// on the multi-tenant authorities /common/v2.0 and /organizations/v2.0
// start (discovery names the feed by a {tenantid} template, not a URL that
// answers 400), and refuse revoked tokens of every tenant they accept: a
// token revoked before the guard saw its tenant at once (the tenant's feed
// is read before its first token is admitted), one revoked later at the
// next poll of that tenant's feed; one tenant's revocations leave the
// other's tokens alone.
func TestMultiTenantGuardFollowsEachTenantsFeed(t *testing.T) {
	e := newSecEnv(t)
	h, ctx := e.h, context.Background()
	tb, err := h.srv.Directory.CreateTenant(ctx, directory.TenantSpec{Domain: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	A, B := e.tid, tb.ID
	// B registers its own API and client: an application id belongs to
	// one tenant. A multi-tenant API accepts both APIs' audiences.
	apiB, _, webB, secretB := e.populate(t, B)
	secret := map[string]string{A: e.webSecret, B: secretB}
	client := map[string]string{A: e.web.AppID, B: webB.AppID}
	audiences := []string{e.api.AppID, apiB.AppID}
	appToken := func(tid string) string {
		t.Helper()
		status, body, _ := h.postForm("/"+tid+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {client[tid]}, "client_secret": {secret[tid]}, "scope": {"api://studies/.default"}}, "", "")
		if status != 200 {
			t.Fatalf("client credentials in %s: %d %v", tid, status, body)
		}
		return body["access_token"].(string)
	}
	revoke := func(tid, tok string) {
		t.Helper()
		status, body, _ := h.postForm("/"+tid+"/oauth2/v2.0/revoke", url.Values{"client_id": {client[tid]},
			"client_secret": {secret[tid]}, "token": {tok}}, "", "")
		if status != 200 {
			t.Fatalf("revoke in %s: %d %v", tid, status, body)
		}
	}

	for _, alias := range []string{"common", "organizations"} {
		t.Run(alias, func(t *testing.T) {
			early := appToken(B)
			revoke(B, early)
			g, err := guard.New(ctx, guard.Config{Authority: h.srv.URL + "/" + alias + "/v2.0", Audiences: audiences,
				HTTPClient: h.http, RevocationPollInterval: time.Second})
			if err != nil {
				t.Fatalf("a guard on /%s/v2.0 does not start: %v", alias, err)
			}
			t.Cleanup(g.Close)
			var ge *guard.Error
			if _, err := g.Validate(ctx, early); !errors.As(err, &ge) || ge.Reason != guard.ReasonRevoked {
				t.Fatalf("a token revoked before the guard saw its tenant: %v, want revoked", err)
			}
			if n := g.RevocationsHeld(); n < 1 {
				t.Errorf("the guard holds %d revocations after refusing one of tenant B's feed, want it counted", n)
			}
			a, b := appToken(A), appToken(B)
			for name, tok := range map[string]string{"A": a, "B": b} {
				if _, err := g.Validate(ctx, tok); err != nil {
					t.Fatalf("tenant %s's token: %v", name, err)
				}
			}
			revoke(A, a)
			t.Logf("revoked in tenant A → guard on /%s: %v", alias, untilRejected(t, g, a, 30*time.Second))
			if _, err := g.Validate(ctx, b); err != nil {
				t.Errorf("tenant B's token after A's revocation: %v", err)
			}
		})
	}

	t.Run("tessera proxy on /common/v2.0", func(t *testing.T) {
		upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"tid":%q}`, r.Header.Get("X-Tessera-Tenant-Id"))
		}))
		defer upstream.Close()
		early := appToken(A)
		revoke(A, early)
		proxy := runProxy(t, h, upstream.URL, "--authority", h.srv.URL+"/common/v2.0", "--audience", audiences[0], "--audience", audiences[1], "--revocation-poll", "1s")
		call := func(tok string) (int, string, string) { return callProxy(t, proxy+"/studies", tok) }
		revoked := func(status int, challenge, body string) bool {
			return status == 401 && strings.Contains(challenge, `error="invalid_token"`) && strings.Contains(body, "revoked")
		}
		if status, challenge, body := call(early); !revoked(status, challenge, body) {
			t.Errorf("a token revoked before the proxy started: %d %q %s", status, challenge, body)
		}
		b := appToken(B)
		if status, _, body := call(b); status != 200 || !strings.Contains(body, B) {
			t.Fatalf("tenant B's token: %d %s", status, body)
		}
		revoke(B, b)
		deadline := time.Now().Add(30 * time.Second) // bounds a broken feed; not a timing assertion
		for {
			status, challenge, body := call(b)
			if revoked(status, challenge, body) {
				break
			}
			if status != 200 || time.Now().After(deadline) {
				t.Fatalf("tenant B's revoked token: %d %q %s", status, challenge, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if status, _, body := call(appToken(A)); status != 200 || !strings.Contains(body, A) {
			t.Errorf("a fresh token of tenant A: %d %s", status, body)
		}
	})
}
