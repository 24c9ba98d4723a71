package adminapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
)

// The refusal log writes the first refusal of a caller, route and reason
// at once and counts the rest of its minute, handing the count over with
// the next event of that key or when any later refusal sweeps the ended
// window: a flood is bounded rows, and no refusal goes uncounted.
func TestRefusalsAggregate(t *testing.T) {
	var l refusals
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	k := refusalKey{tenant: audit.ServerWide, reason: ReasonNoToken, method: "GET", route: "/admin/v1/tenants", status: 401}
	other := k
	other.reason = ReasonInvalidToken

	if got := l.note(k, t0); !reflect.DeepEqual(got, []refusalCount{{k, 1}}) {
		t.Fatalf("first refusal: %v", got)
	}
	for i := range 999 {
		if got := l.note(k, t0.Add(time.Duration(i)*time.Millisecond)); got != nil {
			t.Fatalf("refusal %d in the window wrote %v", i+2, got)
		}
	}
	// The next minute: the 999 held are written with the new one.
	if got := l.note(k, t0.Add(refusalWindow)); !reflect.DeepEqual(got, []refusalCount{{k, 999}, {k, 1}}) {
		t.Fatalf("first refusal of the next window: %v", got)
	}
	l.note(k, t0.Add(refusalWindow+time.Second))
	// Another key, after that window ended, sweeps the count held.
	if got := l.note(other, t0.Add(3*refusalWindow)); !reflect.DeepEqual(got, []refusalCount{{k, 1}, {other, 1}}) {
		t.Fatalf("sweep: %v", got)
	}
	if _, held := l.seen[k]; held {
		t.Error("a swept key is still held")
	}
}

// Past maxRefusalKeys, new callers are counted under their route and
// reason alone: memory stays bounded, the refusals still counted.
func TestRefusalsBounded(t *testing.T) {
	var l refusals
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxRefusalKeys {
		l.note(refusalKey{tenant: "t", actor: fmt.Sprint(i), reason: "revoked", method: "GET", route: "/r", status: 401}, t0)
	}
	got := l.note(refusalKey{tenant: "t", actor: "one too many", reason: "revoked", method: "GET", route: "/r", status: 401}, t0)
	want := refusalKey{tenant: audit.ServerWide, reason: "revoked", method: "GET", route: "/r", status: 401}
	if !reflect.DeepEqual(got, []refusalCount{{want, 1}}) {
		t.Fatalf("over the bound: %v", got)
	}
	l.note(refusalKey{tenant: "t", actor: "yet another", reason: "revoked", method: "GET", route: "/r", status: 401}, t0)
	if len(l.seen) != maxRefusalKeys+1 || l.seen[want].pending != 1 {
		t.Fatalf("%d keys held, overflow pending %d", len(l.seen), l.seen[want].pending)
	}
}

// Every 401 and 403 of the API reaches the audit log with who (as far as
// the authenticator verified), the tenant, the route pattern and the
// reason; never the token.
func TestRefusalsAudited(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		token, method, path string
		want                audit.Event
	}{
		{"", "GET", "/admin/v1/tenants", audit.Event{TenantID: audit.ServerWide, Reason: ReasonNoToken,
			Details: map[string]string{"method": "GET", "route": "/admin/v1/tenants", "status": "401", "count": "1"}}},
		{"forged-token-value", "DELETE", tenantPath(e.home, "/users/x"), audit.Event{TenantID: audit.ServerWide, Reason: ReasonInvalidToken,
			Details: map[string]string{"method": "DELETE", "route": "/admin/v1/tenants/{tenant}/users/{user}", "status": "401", "count": "1"}}},
		{tokNoRole, "GET", tenantPath(e.home, "/applications"), audit.Event{TenantID: e.home.ID, Actor: "x", Reason: "not_admin",
			Details: map[string]string{"method": "GET", "route": "/admin/v1/tenants/{tenant}/applications", "status": "403", "count": "1",
				"client_id": "c-x", "path_tenant": e.home.Domain}}},
		{tokAdminA, "GET", tenantPath(e.home, "/users"), audit.Event{TenantID: e.contoso.ID, Actor: "a", Reason: ReasonOtherTenant,
			Details: map[string]string{"method": "GET", "route": "/admin/v1/tenants/{tenant}/users", "status": "403", "count": "1",
				"client_id": "c-a", "path_tenant": e.home.Domain}}},
		{tokAdminA, "POST", "/admin/v1/keys/rotate", audit.Event{TenantID: e.contoso.ID, Actor: "a", Reason: ReasonNotSystemAdmin,
			Details: map[string]string{"method": "POST", "route": "/admin/v1/keys/rotate", "status": "403", "count": "1", "client_id": "c-a"}}},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusForbidden {
				t.Fatalf("status %d", rec.Code)
			}
			page, err := e.audit.List(t.Context(), audit.AllTenants, audit.Query{Kind: KindRefused, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var found []audit.Event
			for _, ev := range page.Events {
				if ev.Reason == tc.want.Reason && ev.Details["route"] == tc.want.Details["route"] && ev.Details["method"] == tc.method {
					found = append(found, ev)
				}
			}
			if len(found) != 1 {
				t.Fatalf("%d matching events: %+v", len(found), page.Events)
			}
			ev := found[0]
			if ev.TenantID != tc.want.TenantID || ev.Actor != tc.want.Actor || ev.Outcome != audit.Failure || !reflect.DeepEqual(ev.Details, tc.want.Details) {
				t.Errorf("event %+v\nwant %+v", ev, tc.want)
			}
		})
	}
}
