package adminapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/directory"
)

// An admin change is in the audit log at once, with who made it and the
// object before and after; disabling a user also records the revocation
// of what the user held. Neither the password set nor a secret added
// reaches an audit row or the log.
func TestAuditAdminChanges(t *testing.T) {
	e := newEnv(t)
	users := tenantPath(e.contoso, "/users")
	var alice User
	e.do("POST", users, tokAdminA, UserCreate{UserPrincipalName: "alice", Password: alicePassword}).must(t, 201).json(t, &alice)
	e.do("PATCH", users+"/"+alice.ID, tokAdminA, map[string]any{"accountEnabled": false}).must(t, 200)
	app, err := e.dir.CreateApplication(t.Context(), e.contoso.ID, directory.ApplicationSpec{DisplayName: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	var secret SecretCredential
	e.do("POST", tenantPath(e.contoso, "/applications/"+app.AppID+"/credentials"), tokAdminA,
		map[string]any{"type": "secret"}).must(t, 201).json(t, &secret)

	var page AuditList
	e.do("GET", tenantPath(e.contoso, "/audit"), tokAdminA, nil).must(t, 200).json(t, &page)
	byKind := map[string]audit.Event{}
	for _, ev := range page.Value {
		if ev.TenantID != e.contoso.ID {
			t.Fatalf("tenant contoso's audit shows %+v", ev)
		}
		byKind[ev.Kind] = ev
	}
	upd, ok := byKind["admin.user.update"]
	if !ok {
		t.Fatalf("no admin.user.update in %+v", page.Value)
	}
	var before, after User
	if err := json.Unmarshal(upd.Before, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(upd.After, &after); err != nil {
		t.Fatal(err)
	}
	if upd.Actor != "a" || upd.Details["client_id"] != "c-a" || upd.Target != alice.ID || !before.AccountEnabled || after.AccountEnabled {
		t.Errorf("admin.user.update = %+v", upd)
	}
	if ev := byKind[audit.RevokeUser]; ev.Target != alice.ID {
		t.Errorf("disabling recorded no revocation of the user's grants: %+v", page.Value)
	}
	for _, k := range []string{"admin.user.create", "admin.credential.addSecret"} {
		if _, ok := byKind[k]; !ok {
			t.Errorf("no %s in %+v", k, page.Value)
		}
	}
	raw, _ := json.Marshal(page)
	for _, s := range []string{alicePassword, secret.SecretText} {
		if s == "" {
			t.Fatal("the test has no secret to look for")
		}
		if strings.Contains(string(raw), s) || strings.Contains(e.log.String(), s) {
			t.Errorf("a secret reached the audit log or the log: %q", s)
		}
	}

	// A kind family, a page at a time; another tenant's admin sees none
	// of it.
	var p1, p2 AuditList
	e.do("GET", tenantPath(e.contoso, "/audit")+"?kind=admin.user&limit=1", tokAdminA, nil).must(t, 200).json(t, &p1)
	if len(p1.Value) != 1 || p1.Next == "" {
		t.Fatalf("kind=admin.user&limit=1: %+v", p1)
	}
	e.do("GET", tenantPath(e.contoso, "/audit")+"?kind=admin.user&cursor="+p1.Next, tokAdminA, nil).must(t, 200).json(t, &p2)
	if len(p2.Value) != 1 || p2.Next != "" {
		t.Fatalf("second page: %+v", p2)
	}
	if got := p1.Value[0].Kind + " " + p2.Value[0].Kind; got != "admin.user.create admin.user.update" && got != "admin.user.update admin.user.create" {
		t.Errorf("pages of admin.user: %s", got)
	}
	e.do("GET", tenantPath(e.home, "/audit"), tokAdminA, nil).must(t, 403)
	e.do("GET", "/admin/v1/audit", tokAdminA, nil).must(t, 403)
	e.do("GET", tenantPath(e.contoso, "/audit")+"?since=yesterday", tokAdminA, nil, invalidRequest).must(t, 400)
	e.do("GET", tenantPath(e.contoso, "/audit")+"?limit=0", tokAdminA, nil, invalidRequest).must(t, 400)
	e.do("GET", tenantPath(e.contoso, "/audit")+"?cursor=x", tokAdminA, nil).must(t, 400)
}

// A key rotation is a server-wide event: only the every-tenant list, for
// system admins, shows it.
func TestAuditKeyRotation(t *testing.T) {
	e := newEnv(t)
	e.do("POST", "/admin/v1/keys/rotate", tokSystem, nil).must(t, 200)
	var page AuditList
	e.do("GET", "/admin/v1/audit?kind=key&since=2000-01-01T00:00:00Z", tokSystem, nil).must(t, 200).json(t, &page)
	if len(page.Value) != 1 {
		t.Fatalf("key events: %+v", page.Value)
	}
	ev := page.Value[0]
	if ev.Kind != audit.KeyRotate || ev.TenantID != audit.ServerWide || ev.Actor != "sys" || ev.Target != "k2" || len(ev.Before) == 0 || len(ev.After) == 0 {
		t.Errorf("key.rotate = %+v", ev)
	}
	e.do("GET", tenantPath(e.home, "/audit")+"?kind=key", tokSystem, nil).must(t, 200).json(t, &page)
	if len(page.Value) != 0 {
		t.Errorf("a tenant's list shows a server-wide event: %+v", page.Value)
	}
}
