package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/store"
)

func auditEvent(tenant, id string, t time.Time, kind string) audit.Event {
	return audit.Event{ID: id, TenantID: tenant, Time: t, Kind: kind, Actor: "actor-" + id, Target: "target-" + id,
		Outcome: audit.Success}
}

// testAuditRoundTrip: every field comes back as written, including details
// and before/after JSON; an event with none of them reads back with nil
// ones.
func testAuditRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	full := audit.Event{ID: "e1", TenantID: "a", Time: at(1), Kind: "admin.user.update", Actor: "user:admin-oid",
		Target: "user-oid", Outcome: audit.Failure, Reason: "conflict",
		Details: map[string]string{"grant": "client_credentials", "resource": "api://x"},
		Before:  json.RawMessage(`{"accountEnabled":true}`), After: json.RawMessage(`{"accountEnabled":false}`)}
	bare := auditEvent("a", "e2", at(2), audit.TokenIssued)
	must(t, s.AppendAudit(ctx, []audit.Event{full, bare}))
	must(t, s.AppendAudit(ctx, nil))
	page, err := s.ListAudit(ctx, "a", audit.Query{Limit: 10})
	must(t, err)
	wantEqual(t, page, audit.Page{Events: []audit.Event{full, bare}})
	// An event stored twice (a batch retried after a commit whose answer
	// was lost) is refused, and the whole batch with it.
	if err := s.AppendAudit(ctx, []audit.Event{auditEvent("a", "e3", at(3), "x"), full}); err == nil {
		t.Fatal("a repeated event id was stored")
	}
	page, err = s.ListAudit(ctx, "a", audit.Query{Limit: 10})
	must(t, err)
	if len(page.Events) != 2 {
		t.Fatalf("a refused batch left %d events, want 2", len(page.Events))
	}
	wantErr(t, s.AppendAudit(ctx, []audit.Event{{ID: "e4", Time: at(4), Kind: "x"}}), audit.ErrBadQuery)
	_, err = s.ListAudit(ctx, "a", audit.Query{})
	wantErr(t, err, audit.ErrBadQuery)
	_, err = s.ListAudit(ctx, "", audit.Query{Limit: 1})
	wantErr(t, err, audit.ErrBadQuery)
	_, err = s.ListAudit(ctx, "a", audit.Query{Limit: 1, Cursor: "nonsense"})
	wantErr(t, err, audit.ErrBadCursor)
}

// testAuditQuery: time bounds (Since inclusive, Until exclusive), kind
// exactly or by family, and paging by cursor through events that share a
// time.
func testAuditQuery(t *testing.T, s store.Store) {
	ctx := t.Context()
	var all []audit.Event
	kinds := []string{audit.SignInSuccess, audit.SignInFailure, audit.TokenIssued, "signins.other", "admin.user.update"}
	for i := range 10 {
		// Two events per second, so that pages split inside one time.
		all = append(all, auditEvent("a", fmt.Sprintf("id-%02d", i), at(i/2), kinds[i%len(kinds)]))
	}
	must(t, s.AppendAudit(ctx, all))
	ids := func(p audit.Page) []string {
		out := []string{}
		for _, e := range p.Events {
			out = append(out, e.ID)
		}
		return out
	}
	page, err := s.ListAudit(ctx, "a", audit.Query{Since: at(1), Until: at(3), Limit: 100})
	must(t, err)
	wantEqual(t, ids(page), []string{"id-02", "id-03", "id-04", "id-05"})

	page, err = s.ListAudit(ctx, "a", audit.Query{Kind: "signin", Limit: 100})
	must(t, err)
	wantEqual(t, ids(page), []string{"id-00", "id-01", "id-05", "id-06"})
	page, err = s.ListAudit(ctx, "a", audit.Query{Kind: audit.SignInFailure, Limit: 100})
	must(t, err)
	wantEqual(t, ids(page), []string{"id-01", "id-06"})
	page, err = s.ListAudit(ctx, "a", audit.Query{Kind: "admin.user", Limit: 100})
	must(t, err)
	wantEqual(t, ids(page), []string{"id-04", "id-09"})
	// A LIKE wildcard in the kind is matched literally.
	page, err = s.ListAudit(ctx, "a", audit.Query{Kind: "sign%", Limit: 100})
	must(t, err)
	wantEqual(t, ids(page), []string{})

	var got []string
	q := audit.Query{Since: at(0), Limit: 3}
	for range 10 {
		page, err := s.ListAudit(ctx, "a", q)
		must(t, err)
		got = append(got, ids(page)...)
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	wantEqual(t, got, []string{"id-00", "id-01", "id-02", "id-03", "id-04", "id-05", "id-06", "id-07", "id-08", "id-09"})
}

// testAuditTenancy: a tenant's list never shows another tenant's events,
// whatever the query; AllTenants shows both.
func testAuditTenancy(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.AppendAudit(ctx, []audit.Event{
		auditEvent("a", "a1", at(1), audit.TokenIssued),
		auditEvent("b", "b1", at(1), audit.TokenIssued),
		auditEvent("b", "b2", at(2), audit.SignInFailure),
	}))
	for _, q := range []audit.Query{{Limit: 10}, {Kind: audit.SignInFailure, Limit: 10}, {Since: at(2), Limit: 10},
		{Limit: 10, Cursor: audit.Cursor{Time: at(1), ID: "a"}.String()}} {
		page, err := s.ListAudit(ctx, "a", q)
		must(t, err)
		for _, e := range page.Events {
			if e.TenantID != "a" {
				t.Fatalf("tenant a's list %+v shows %+v", q, e)
			}
		}
	}
	page, err := s.ListAudit(ctx, "c", audit.Query{Limit: 10})
	must(t, err)
	wantEqual(t, page, audit.Page{Events: []audit.Event{}})
	page, err = s.ListAudit(ctx, audit.AllTenants, audit.Query{Limit: 10})
	must(t, err)
	if len(page.Events) != 3 {
		t.Fatalf("every tenant's list has %d events, want 3", len(page.Events))
	}
}

// testAuditPurge: retention deletes events older than the cut-off, of
// every tenant, at most limit at a time, and nothing newer.
func testAuditPurge(t *testing.T, s store.Store) {
	ctx := t.Context()
	var evs []audit.Event
	for i := range 6 {
		evs = append(evs, auditEvent([]string{"a", "b"}[i%2], fmt.Sprintf("p%d", i), at(i), audit.TokenIssued))
	}
	must(t, s.AppendAudit(ctx, evs))
	n, err := s.PurgeAudit(ctx, at(4), 3)
	must(t, err)
	wantEqual(t, n, int64(3))
	n, err = s.PurgeAudit(ctx, at(4), 3)
	must(t, err)
	wantEqual(t, n, int64(1))
	page, err := s.ListAudit(ctx, audit.AllTenants, audit.Query{Limit: 10})
	must(t, err)
	wantEqual(t, page.Events, []audit.Event{evs[4], evs[5]})
}
