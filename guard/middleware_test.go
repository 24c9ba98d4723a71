package guard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

// whoami answers 200 with the principal's subject, proving the middleware
// put it in the context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := guard.PrincipalFrom(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	fmt.Fprint(w, p.Subject)
})

type response struct {
	status    int
	challenge string
	body      string
	errCode   string
}

func do(tb testing.TB, h http.Handler, header http.Header) response {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, "/things", nil)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := response{status: rec.Code, challenge: rec.Header().Get("WWW-Authenticate"), body: rec.Body.String()}
	if rec.Code != http.StatusOK {
		var body map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			tb.Fatalf("error body is not JSON: %q", rec.Body.String())
		}
		res.errCode = body["error"]
		if body["error_description"] == "" {
			tb.Fatalf("error body without error_description: %q", rec.Body.String())
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			tb.Fatalf("error response without Cache-Control: no-store")
		}
	}
	return res
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

func TestMiddlewareResponses(t *testing.T) {
	idp, g, _ := setup(t, nil)
	user := idp.Mint(t, idp.V2Claims(resourceID))
	reader := idp.Mint(t, idp.AppClaims(resourceID, "Reader"))
	noRoles := idp.Mint(t, idp.AppClaims(resourceID))
	expired := idp.V2Claims(resourceID)
	expired["exp"] = t0.Add(-time.Hour).Unix()
	expiredTok := idp.Mint(t, expired)

	open := g.Middleware()(whoami)
	readers := g.Middleware(guard.AnyOf(guard.RequireRoles("Reader"), guard.RequireScopes("user_impersonation", "Studies.Read")))(whoami)
	writersOnly := g.Middleware(guard.RequireRoles("Writer"))(whoami)
	scopeOnly := g.Middleware(guard.RequireScopes("Studies.Write"))(whoami)
	both := g.Middleware(guard.RequireRoles("Reader"), guard.RequireRoles("Auditor"))(whoami)

	tests := []struct {
		rule      string
		h         http.Handler
		header    http.Header
		status    int
		code      string // error code in header and body
		challenge string // expected WWW-Authenticate, when checked exactly
	}{
		{"RFC 6750 §3.1: no credentials, challenge without error code", open, nil, 401, "", `Bearer realm="tessera"`},
		{"RFC 6750 §3.1: another scheme counts as no bearer token", open, http.Header{"Authorization": {"Basic dXNlcjpwYXNz"}}, 401, "", `Bearer realm="tessera"`},
		{"RFC 6750 §2.1: Bearer without a token", open, http.Header{"Authorization": {"Bearer "}}, 400, "invalid_request", ""},
		{"RFC 6750 §2.1: token outside the b64token syntax", open, http.Header{"Authorization": {"Bearer a b"}}, 400, "invalid_request", ""},
		{"RFC 6750 §3.1: two Authorization headers", open, http.Header{"Authorization": {"Bearer " + user, "Bearer " + user}}, 400, "invalid_request", ""},
		{"RFC 9110 §11.1: scheme is case-insensitive", open, http.Header{"Authorization": {"bearer " + user}}, 200, "", ""},
		{"RFC 6750 §3.1: malformed token", open, bearer("abc.def.ghi"), 401, "invalid_token", ""},
		{"RFC 6750 §3.1: expired token", open, bearer(expiredTok), 401, "invalid_token",
			`Bearer realm="tessera", error="invalid_token", error_description="the access token has expired"`},
		{"any valid token passes a middleware without requirements", open, bearer(reader), 200, "", ""},
		{"AnyOf: application with role Reader", readers, bearer(reader), 200, "", ""},
		{"AnyOf: user with scope user_impersonation", readers, bearer(user), 200, "", ""},
		{"RFC 6750 §3.1: AnyOf unmet, 403 naming the scopes", readers, bearer(noRoles), 403, "insufficient_scope",
			`Bearer realm="tessera", error="insufficient_scope", error_description="the access token lacks a required role or scope", scope="user_impersonation Studies.Read"`},
		{"RFC 6750 §3.1: role unmet, 403 without scope attribute", writersOnly, bearer(reader), 403, "insufficient_scope",
			`Bearer realm="tessera", error="insufficient_scope", error_description="the access token lacks a required application role"`},
		{"RFC 6750 §3.1: scope unmet", scopeOnly, bearer(user), 403, "insufficient_scope",
			`Bearer realm="tessera", error="insufficient_scope", error_description="the access token lacks a required scope", scope="Studies.Write"`},
		{"every requirement given to Middleware must hold", both, bearer(reader), 403, "insufficient_scope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			res := do(t, tt.h, tt.header)
			if res.status != tt.status {
				t.Fatalf("status %d, want %d (challenge %q, body %q)", res.status, tt.status, res.challenge, res.body)
			}
			if tt.status == 200 {
				if res.challenge != "" || (res.body != guardtest.UserSub && res.body != guardtest.AppOID) {
					t.Fatalf("admitted response: challenge %q body %q", res.challenge, res.body)
				}
				return
			}
			if res.errCode != tt.code {
				t.Fatalf("body error %q, want %q", res.errCode, tt.code)
			}
			if tt.code != "" && !strings.Contains(res.challenge, `error="`+tt.code+`"`) {
				t.Fatalf("challenge %q lacks error %q", res.challenge, tt.code)
			}
			if tt.challenge != "" && res.challenge != tt.challenge {
				t.Fatalf("challenge\n got %q\nwant %q", res.challenge, tt.challenge)
			}
			for _, tok := range []string{user, reader, noRoles, expiredTok} {
				if strings.Contains(res.body, tok) || strings.Contains(res.challenge, tok) {
					t.Fatal("response echoes the token")
				}
			}
		})
	}
}

func TestTenantHeader(t *testing.T) {
	idp, g, clk := setup(t, func(c *guard.Config) { c.TenantHeader = "X-Tenant-ID" })
	fabrikam := guardtest.NewGUID()
	idp.AddTenant(fabrikam, "fabrikam.example")
	h := g.Middleware()(whoami)
	tok := idp.Mint(t, idp.V2Claims(resourceID))
	with := func(v string) http.Header {
		hd := bearer(tok)
		hd.Set("X-Tenant-ID", v)
		return hd
	}

	tests := []struct {
		rule   string
		header http.Header
		status int
	}{
		{"RFC 6750 §3.1: tenant header required when configured (400 invalid_request: a required parameter is missing)", bearer(tok), 400},
		{"an empty tenant header is a missing one", with(" "), 400},
		{"the missing header is reported before an invalid token", http.Header{"Authorization": {"Bearer x.y.z"}}, 400},
		{"tenant id matches", with(idp.TenantID), 200},
		{"tenant id compared case-insensitively", with(strings.ToUpper(idp.TenantID)), 200},
		{"another tenant's id", with(fabrikam), 403},
		{"domain of the token's tenant", with("contoso.example"), 200},
		{"domain in upper case", with("Contoso.Example"), 200},
		{"domain of another tenant", with("fabrikam.example"), 403},
		{"domain no tenant has", with("nowhere.example"), 403},
		{"Entra's common alias is no tenant", with("common"), 403},
		{"not a domain name: no path injection into the lookup", with("../../contoso.example"), 403},
		{"invalid token is still 401 first", http.Header{"Authorization": {"Bearer x.y.z"}, "X-Tenant-Id": {idp.TenantID}}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			res := do(t, h, tt.header)
			if res.status != tt.status {
				t.Fatalf("status %d, want %d (%q)", res.status, tt.status, res.challenge)
			}
			if tt.status == 403 && (res.errCode != "insufficient_scope" ||
				!strings.Contains(res.challenge, `error_description="the access token is not valid for the requested tenant"`)) {
				t.Fatalf("403 body %q challenge %q", res.body, res.challenge)
			}
			if tt.status == 400 && (res.errCode != "invalid_request" ||
				!strings.Contains(res.challenge, `error_description="the request lacks the tenant header this API requires (X-Tenant-Id)"`)) {
				t.Fatalf("400 body %q challenge %q", res.body, res.challenge)
			}
		})
	}

	// Answers are cached, positive and negative, and a domain is looked up
	// once however many requests ask at the same time.
	before := idp.DiscoveryFetches()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { do(t, h, with("contoso.example")); do(t, h, with("nowhere.example")) })
	}
	wg.Wait()
	if got := idp.DiscoveryFetches() - before; got != 0 {
		t.Fatalf("%d lookups for cached domains, want 0", got)
	}
	// A domain that appears later is found once the negative answer expires.
	if res := do(t, h, with("later.example")); res.status != 403 {
		t.Fatalf("first ask: %d", res.status)
	}
	idp.AddTenant(idp.TenantID, "later.example")
	if res := do(t, h, with("later.example")); res.status != 403 || idp.DiscoveryFetches()-before != 1 {
		t.Fatalf("negative answer not cached: %d, %d lookups", res.status, idp.DiscoveryFetches()-before)
	}
	clk.Advance(6 * time.Minute)
	tok = idp.Mint(t, idp.V2Claims(resourceID)) // the old one is still valid, but keep it fresh
	if res := do(t, h, with("later.example")); res.status != 200 {
		t.Fatalf("after the negative TTL: %d", res.status)
	}
}

func TestPrincipalFrom(t *testing.T) {
	if _, ok := guard.PrincipalFrom(context.Background()); ok {
		t.Fatal("principal in an empty context")
	}
	want := &guard.Principal{Subject: "s"}
	if got, ok := guard.PrincipalFrom(guard.WithPrincipal(context.Background(), want)); !ok || got != want {
		t.Fatal("WithPrincipal/PrincipalFrom round trip")
	}
}
