package studies_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/examples/studies"
	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
)

const appID = "6d0c2b6a-3c5e-4f4e-9b1a-2a7c1c0e8f11"

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type api struct {
	idp *guardtest.Authority
	g   *guard.Guard
	h   http.Handler
}

func newAPI(t *testing.T) *api {
	t.Helper()
	idp := guardtest.NewAuthority(t)
	clock := func() time.Time { return now }
	idp.Now = clock
	g, err := guard.New(context.Background(), guard.Config{
		Authority: idp.URL(), Audiences: []string{"api://" + appID}, HTTPClient: idp.Client(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return &api{idp: idp, g: g, h: studies.NewHandler(g)}
}

func (a *api) get(t *testing.T, method, target, token string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	return rec
}

func (a *api) userToken(t *testing.T, scp string) string {
	c := a.idp.V2Claims(appID)
	c["scp"] = scp
	return a.idp.Mint(t, c)
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	return v
}

func TestAccess(t *testing.T) {
	a := newAPI(t)
	const list = "/api/v1/as-user/studies?limit=1"
	tests := []struct {
		rule   string
		method string
		path   string
		token  string
		status int
	}{
		{"RFC 6750 §3.1: no token", "GET", list, "", 401},
		{"RFC 6750 §3.1: invalid token", "GET", list, "e30.e30.e30", 401},
		{"application with role Reader", "GET", list, a.idp.Mint(t, a.idp.AppClaims(appID, "Reader")), 200},
		{"RFC 6750 §3.1: application without Reader", "GET", list, a.idp.Mint(t, a.idp.AppClaims(appID, "Writer")), 403},
		{"user with user_impersonation", "GET", list, a.userToken(t, "user_impersonation"), 200},
		{"user with default", "GET", list, a.userToken(t, "default"), 200},
		{"user with Studies.Read among others", "GET", list, a.userToken(t, "openid Studies.Read"), 200},
		{"RFC 6750 §3.1: user with only Studies.Write", "GET", list, a.userToken(t, "Studies.Write"), 403},
		{"v1 token with api:// audience", "GET", list, a.idp.Mint(t, a.idp.V1Claims("api://"+appID)), 200},
		{"/account/me takes any valid token", "GET", "/account/me", a.idp.Mint(t, a.idp.AppClaims(appID)), 200},
		{"/account/me without a token", "GET", "/account/me", "", 401},
		{"RFC 9110 §15.5.6: other methods", "POST", list, a.userToken(t, "user_impersonation"), 405},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			rec := a.get(t, tt.method, tt.path, tt.token)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			if tt.status == 403 && !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="insufficient_scope"`) {
				t.Fatalf("403 challenge %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func TestPagination(t *testing.T) {
	a := newAPI(t)
	tok := a.userToken(t, "user_impersonation")
	tests := []struct {
		rule  string
		query string
		want  studies.Pagination
	}{
		{"defaults: offset 0, limit 2000", "", studies.Pagination{Count: 2000, Total: 2345, Offset: 0, Limit: 2000}},
		{"second page past 2000", "?offset=2000", studies.Pagination{Count: 345, Total: 2345, Offset: 2000, Limit: 2000}},
		{"limit 1", "?limit=1", studies.Pagination{Count: 1, Total: 2345, Offset: 0, Limit: 1}},
		{"limit 2000 exactly", "?limit=2000&offset=1", studies.Pagination{Count: 2000, Total: 2345, Offset: 1, Limit: 2000}},
		{"page cut by the end", "?offset=2340&limit=10", studies.Pagination{Count: 5, Total: 2345, Offset: 2340, Limit: 10}},
		{"last item", "?offset=2344", studies.Pagination{Count: 1, Total: 2345, Offset: 2344, Limit: 2000}},
		{"offset at the end: empty page, not an error", "?offset=2345", studies.Pagination{Count: 0, Total: 2345, Offset: 2345, Limit: 2000}},
		{"offset far past the end", "?offset=9223372036854775807&limit=2000", studies.Pagination{Count: 0, Total: 2345, Offset: 9223372036854775807, Limit: 2000}},
		{"unknown parameters are ignored", "?sort=name&limit=3", studies.Pagination{Count: 3, Total: 2345, Offset: 0, Limit: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			rec := a.get(t, "GET", "/api/v1/as-user/studies"+tt.query, tok)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			page := decode[studies.Page](t, rec)
			if page.Meta.Pagination != tt.want || len(page.Data) != tt.want.Count {
				t.Fatalf("pagination %+v with %d items, want %+v", page.Meta.Pagination, len(page.Data), tt.want)
			}
			if !strings.Contains(rec.Body.String(), `"data":[`) {
				t.Fatalf("data is not a JSON array: %.80s", rec.Body.String())
			}
		})
	}
}

func TestPaginationRejected(t *testing.T) {
	a := newAPI(t)
	tok := a.userToken(t, "user_impersonation")
	const limitMsg = "limit must be an integer from 1 to 2000"
	const offsetMsg = "offset must be an integer of 0 or more"
	tests := []struct{ query, want string }{
		{"?limit=0", limitMsg},
		{"?limit=2001", limitMsg},
		{"?limit=-5", limitMsg},
		{"?limit=ten", limitMsg},
		{"?limit=", limitMsg},
		{"?limit=1.5", limitMsg},
		{"?limit=1&limit=2", limitMsg},
		{"?offset=-1", offsetMsg},
		{"?offset=x", offsetMsg},
		{"?offset=99999999999999999999", offsetMsg},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rec := a.get(t, "GET", "/api/v1/as-user/studies"+tt.query, tok)
			body := decode[map[string]string](t, rec)
			if rec.Code != 400 || body["error"] != "invalid_request" || body["error_description"] != tt.want {
				t.Fatalf("%d %v, want 400 invalid_request %q", rec.Code, body, tt.want)
			}
		})
	}
}

// The dataset is a function of the tenant: stable across requests and
// pages, different between tenants.
func TestDatasetDeterministic(t *testing.T) {
	a := newAPI(t)
	tok := a.userToken(t, "user_impersonation")
	page := func(tok, q string) []studies.Study {
		return decode[studies.Page](t, a.get(t, "GET", "/api/v1/as-user/studies"+q, tok)).Data
	}
	first := page(tok, "?limit=10")
	if !slices.Equal(first, page(tok, "?limit=10")) {
		t.Fatal("same page differs between requests")
	}
	if !slices.Equal(first[5:], page(tok, "?offset=5&limit=5")) {
		t.Fatal("overlapping pages disagree")
	}
	all := page(tok, "")
	all = append(all, page(tok, "?offset=2000")...)
	seen := map[string]bool{}
	for i, s := range all {
		if seen[s.OID] || s.Name == "" || s.ProtocolName == "" || s.Status == "" {
			t.Fatalf("study %d: %+v (duplicate oid: %v)", i, s, seen[s.OID])
		}
		seen[s.OID] = true
		if i > 0 && !s.CreatedAt.After(all[i-1].CreatedAt) {
			t.Fatalf("studies not ordered by creation at %d", i)
		}
	}

	other := guardtest.NewGUID()
	a.idp.AddTenant(other)
	c := a.idp.V2Claims(appID)
	c["tid"], c["iss"] = other, a.idp.Base()+"/"+other+"/v2.0"
	// The guard trusts only the home tenant's issuer, so check through a
	// guard of the other tenant.
	g, err := guard.New(context.Background(), guard.Config{
		Authority: a.idp.Base() + "/" + other + "/v2.0", Audiences: []string{appID}, HTTPClient: a.idp.Client(),
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/as-user/studies?limit=10", nil)
	req.Header.Set("Authorization", "Bearer "+a.idp.Mint(t, c))
	studies.NewHandler(g).ServeHTTP(rec, req)
	if theirs := decode[studies.Page](t, rec).Data; len(theirs) != 10 || theirs[0].OID == first[0].OID {
		t.Fatalf("other tenant's studies: %+v", theirs)
	}
}

// A user who signed out is refused with the tokens the sign-in gave,
// before they expire (RFC 6750 §3.1 invalid_token).
func TestRevokedSignInRefused(t *testing.T) {
	a := newAPI(t)
	tok := a.idp.Mint(t, a.idp.V1Claims("api://"+appID))
	if rec := a.get(t, "GET", "/account/me", tok); rec.Code != http.StatusOK {
		t.Fatalf("before sign-out: %d", rec.Code)
	}
	a.idp.Revoke(guardtest.KindSession, guardtest.SessionID, now, now.Add(guardtest.Lifetime))
	if err := a.g.PollNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	rec := a.get(t, "GET", "/account/me", tok)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Header().Get("WWW-Authenticate"), "has been revoked") {
		t.Fatalf("after sign-out: %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

func TestAccountMe(t *testing.T) {
	a := newAPI(t)
	rec := a.get(t, "GET", "/account/me", a.idp.Mint(t, a.idp.V1Claims("api://"+appID)))
	got := decode[studies.Me](t, rec)
	want := studies.Me{
		Subject: guardtest.UserSub, ObjectID: guardtest.UserOID, TenantID: a.idp.TenantID, ClientID: guardtest.ClientID,
		Roles: []string{}, Scopes: []string{"user_impersonation"}, TokenVersion: "1.0", Issuer: a.idp.IssuerV1(),
		Audience: []string{"api://" + appID}, ExpiresAt: now.Add(guardtest.Lifetime),
	}
	if !equalMe(got, want) {
		t.Fatalf("me\n got %+v\nwant %+v", got, want)
	}
	// Field names are the wire contract.
	var raw map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &raw)
	for _, k := range []string{"subject", "objectId", "tenantId", "clientId", "roles", "scopes", "tokenVersion", "issuer", "audience", "expiresAt"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("me lacks %q", k)
		}
	}
}

func equalMe(a, b studies.Me) bool {
	return a.Subject == b.Subject && a.ObjectID == b.ObjectID && a.TenantID == b.TenantID && a.ClientID == b.ClientID &&
		slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Scopes, b.Scopes) && a.TokenVersion == b.TokenVersion &&
		a.Issuer == b.Issuer && slices.Equal(a.Audience, b.Audience) && a.ExpiresAt.Equal(b.ExpiresAt)
}
