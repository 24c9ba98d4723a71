package guard_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/tessera-id/tessera/guard"
)

func TestProxy(t *testing.T) {
	idp, g, _ := setup(t, nil)
	var hits atomic.Int64
	var got atomic.Pointer[http.Header]
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h := r.Header.Clone()
		got.Store(&h)
		w.WriteHeader(http.StatusTeapot)
	}))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)
	proxy := httptest.NewServer(guard.NewProxy(g, u, guard.AnyOf(guard.RequireRoles("Reader"), guard.RequireScopes("user_impersonation"))))
	defer proxy.Close()

	call := func(tok string, extra http.Header) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, proxy.URL+"/api/things?x=1", nil)
		for k, vs := range extra {
			req.Header[k] = vs
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	// Refusals are answered by the proxy; the upstream sees nothing.
	if s := call("", nil); s != http.StatusUnauthorized {
		t.Fatalf("no token: %d", s)
	}
	if s := call(idp.Mint(t, idp.AppClaims(resourceID)), nil); s != http.StatusForbidden {
		t.Fatalf("no role: %d", s)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("upstream saw %d refused requests", n)
	}

	claims := idp.AppClaims(resourceID, "Reader", "Auditor")
	tok := idp.Mint(t, claims)
	forged := http.Header{
		"X-Tessera-Subject":   {"admin"},
		"X-Tessera-Roles":     {"Admin"},
		"X-Tessera-Scopes":    {"everything"},
		"X-Tessera-Elevation": {"yes"},
	}
	if s := call(tok, forged); s != http.StatusTeapot {
		t.Fatalf("admitted request: %d", s)
	}
	h := *got.Load()
	want := map[string]string{
		guard.HeaderSubject:   claims["sub"].(string),
		guard.HeaderObjectID:  claims["oid"].(string),
		guard.HeaderTenantID:  idp.TenantID,
		guard.HeaderClientID:  claims["azp"].(string),
		guard.HeaderRoles:     "Reader,Auditor",
		guard.HeaderScopes:    "",
		guard.HeaderTokenType: guard.TokenTypeApp,
		"X-Tessera-Elevation": "",
		"Authorization":       "Bearer " + tok, // kept for the upstream
	}
	for k, v := range want {
		if h.Get(k) != v {
			t.Errorf("upstream header %s = %q, want %q", k, h.Get(k), v)
		}
	}
	if vs := h.Values(guard.HeaderRoles); len(vs) != 1 {
		t.Errorf("forged role header survived next to the real one: %q", vs)
	}

	// A user token: scopes forwarded, the roles header set and empty (a
	// header left out would let a forged spelling of it stand alone).
	if s := call(idp.Mint(t, idp.V2Claims(resourceID)), forged); s != http.StatusTeapot {
		t.Fatalf("user token: %d", s)
	}
	h = *got.Load()
	if h.Get(guard.HeaderScopes) != "user_impersonation" || !slices.Equal(h.Values(guard.HeaderRoles), []string{""}) ||
		h.Get(guard.HeaderTokenType) != guard.TokenTypeUser {
		t.Errorf("user token headers: scopes %q roles %q type %q", h.Get(guard.HeaderScopes), h.Values(guard.HeaderRoles), h.Get(guard.HeaderTokenType))
	}
}

func TestProxyUpstreamDown(t *testing.T) {
	idp, g, _ := setup(t, nil)
	down := httptest.NewServer(http.NotFoundHandler())
	u, _ := url.Parse(down.URL)
	down.Close()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("Authorization", "Bearer "+idp.Mint(t, idp.V2Claims(resourceID)))
	guard.NewProxy(g, u).ServeHTTP(rec, req)
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", rec.Code)
	}
}
