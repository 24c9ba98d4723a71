package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestSecurityAdminRefusesWhatTheDirectoryNoLongerGrants: one row per way
// an administrator loses its authority — each revocation the README
// promises, and the directory changing under a still-valid token. After
// the change the token is refused on a read route and on two write routes
// (a new user; re-granting itself the role), nothing is created, and the
// refusal is in the audit log with actor, tenant and route. Before the
// fix every row answered 200/201: the admin API read the token's roles
// and consulted neither the revocation feed nor the directory (review
// H1).
func TestSecurityAdminRefusesWhatTheDirectoryNoLongerGrants(t *testing.T) {
	e := newAdminEnv(t)
	B := e.b
	tb := "/tenants/" + B.ID
	off := false
	for i, tc := range []struct {
		name   string
		user   bool // a user's token from product login, else an app's
		change func(t *testing.T, p adminPrincipal, tok string)
		status int
		reason string
	}{
		{"RFC 7009: the client revoked its token", false, func(t *testing.T, p adminPrincipal, tok string) {
			status, body, _ := e.h.postForm("/"+B.ID+"/oauth2/v2.0/revoke", url.Values{"client_id": {p.clientID},
				"client_secret": {p.secret}, "token": {tok}}, "", "")
			if status != 200 {
				t.Fatalf("revoke: %d %v", status, body)
			}
		}, 401, "revoked"},
		{"service principal disabled", false, func(t *testing.T, p adminPrincipal, _ string) {
			e.must2xx(t, e.home, "PATCH", tb+"/servicePrincipals/"+p.clientID, map[string]any{"accountEnabled": false})
		}, 401, "revoked"},
		{"service principal deleted", false, func(t *testing.T, p adminPrincipal, _ string) {
			e.must2xx(t, e.home, "DELETE", tb+"/servicePrincipals/"+p.clientID, nil)
		}, 401, "revoked"},
		{"client secret removed", false, func(t *testing.T, p adminPrincipal, _ string) {
			creds := e.must2xx(t, e.home, "GET", tb+"/applications/"+p.clientID+"/credentials", nil)["value"].([]any)
			e.must2xx(t, e.home, "DELETE", tb+"/applications/"+p.clientID+"/credentials/"+creds[0].(map[string]any)["keyId"].(string), nil)
		}, 401, "revoked"},
		{"service principal's role assignment removed", false, func(t *testing.T, p adminPrincipal, _ string) {
			e.must2xx(t, e.home, "DELETE", tb+"/roleAssignments/"+p.assignment, nil)
		}, 403, "not_admin"},
		{"user disabled", true, func(t *testing.T, p adminPrincipal, _ string) {
			e.must2xx(t, e.home, "PATCH", tb+"/users/"+p.objectID, map[string]any{"accountEnabled": false})
		}, 401, "revoked"},
		{"user deleted", true, func(t *testing.T, p adminPrincipal, _ string) {
			e.must2xx(t, e.home, "DELETE", tb+"/users/"+p.objectID, nil)
		}, 401, "revoked"},
		{"user signed out (product logout revokes the grant)", true, func(t *testing.T, _ adminPrincipal, tok string) {
			req, _ := http.NewRequest("POST", e.h.srv.URL+"/api/v1/users/logout", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			if status, body, _ := e.h.do(req); status != 204 {
				t.Fatalf("logout: %d %v", status, body)
			}
		}, 401, "revoked"},
		{"user's role assignment removed", true, func(t *testing.T, p adminPrincipal, _ string) {
			e.must2xx(t, e.home, "DELETE", tb+"/roleAssignments/"+p.assignment, nil)
		}, 403, "not_admin"},
		// Last: disabling the CLI's client in B revokes every token it
		// was issued there.
		{"user's client disabled", true, func(t *testing.T, _ adminPrincipal, _ string) {
			e.must2xx(t, e.home, "PATCH", tb+"/servicePrincipals/"+directory.CLIClientID, map[string]any{"accountEnabled": &off})
		}, 401, "revoked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p adminPrincipal
			var tok string
			if tc.user {
				p = e.newAdminUser(t, B, fmt.Sprintf("admin-%d", i))
				tok, _ = e.loginToken(t, p)
			} else {
				p = e.newAdminApp(t, B, fmt.Sprintf("admin-%d", i))
				tok = e.appToken(t, p)
			}
			e.must2xx(t, tok, "GET", tb+"/users", nil) // the token works before
			tc.change(t, p, tok)

			status, body, hdr := e.call(t, tok, "GET", tb+"/users", nil)
			wantRefused(t, "GET users", status, body, hdr, tc.status)
			intruder := fmt.Sprintf("intruder-%d", i)
			status, body, hdr = e.call(t, tok, "POST", tb+"/users", map[string]any{"userPrincipalName": intruder})
			wantRefused(t, "POST users", status, body, hdr, tc.status)
			regrant := map[string]any{"principal": p.objectID, "resource": directory.AdminAPIIdentifierURI, "role": directory.AdminRole}
			status, body, hdr = e.call(t, tok, "POST", tb+"/roleAssignments", regrant)
			wantRefused(t, "POST roleAssignments (re-grant itself)", status, body, hdr, tc.status)

			// Nothing changed.
			if status, _, _ := e.call(t, e.home, "GET", tb+"/users/"+intruder, nil); status != 404 {
				t.Errorf("the refused POST users created %s (GET %d)", intruder, status)
			}
			ras := e.must2xx(t, e.home, "GET", tb+"/roleAssignments?resource="+url.QueryEscape(directory.AdminAPIIdentifierURI), nil)["value"].([]any)
			for _, ra := range ras {
				if ra.(map[string]any)["principalId"] == p.objectID && ra.(map[string]any)["id"] != p.assignment {
					t.Errorf("the refused re-grant created assignment %v", ra)
				}
			}

			// Audited: who, in which tenant, on which route, why.
			seen := map[string]bool{}
			for _, ev := range refusals(e.h) {
				if ev.Actor == p.objectID {
					seen[ev.Details["method"]+" "+ev.Details["route"]] = ev.TenantID == B.ID && ev.Reason == tc.reason &&
						ev.Details["status"] == fmt.Sprint(tc.status) && ev.Outcome == "failure"
				}
			}
			for _, route := range []string{"GET /admin/v1/tenants/{tenant}/users", "POST /admin/v1/tenants/{tenant}/users",
				"POST /admin/v1/tenants/{tenant}/roleAssignments"} {
				if !seen[route] {
					t.Errorf("no audit event admin.refused for %s by %s in tenant %s with reason %s and status %d (saw %v)",
						route, p.objectID, B.ID, tc.reason, tc.status, seen)
				}
			}
		})
	}
}

// TestSecurityAdminH1Sequence is the review's H1 repro, in order: B's
// admin client gets a token, revokes it (RFC 7009), the home operator
// removes its role and disables it (introspection says inactive); the
// token then lists users, re-enables its service principal and re-grants
// itself the role — 200, 200, 201 before the fix. Then the same for a home
// tenant (system) administrator on the server-wide routes.
func TestSecurityAdminH1Sequence(t *testing.T) {
	e := newAdminEnv(t)
	home, err := e.h.srv.Directory.ResolveTenant(t.Context(), e.h.tenant())
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range []directory.Tenant{e.b, home} {
		t.Run(tn.Domain, func(t *testing.T) {
			tb := "/tenants/" + tn.ID
			c2 := e.newAdminApp(t, tn, "h1 admin")
			probe := e.newAdminApp(t, tn, "h1 introspector") // a resource server of the tenant
			t2 := e.appToken(t, c2)

			status, body, _ := e.h.postForm("/"+tn.ID+"/oauth2/v2.0/revoke", url.Values{"client_id": {c2.clientID}, "client_secret": {c2.secret}, "token": {t2}}, "", "")
			if status != 200 {
				t.Fatalf("revoke: %d %v", status, body)
			}
			e.must2xx(t, e.home, "DELETE", tb+"/roleAssignments/"+c2.assignment, nil)
			e.must2xx(t, e.home, "PATCH", tb+"/servicePrincipals/"+c2.clientID, map[string]any{"accountEnabled": false})
			status, body, _ = e.h.postForm("/"+tn.ID+"/oauth2/v2.0/introspect", url.Values{"client_id": {probe.clientID}, "client_secret": {probe.secret}, "token": {t2}}, "", "")
			if status != 200 || body["active"] != false {
				t.Fatalf("introspection: %d %v, want active false", status, body)
			}

			status, body, hdr := e.call(t, t2, "GET", tb+"/users", nil)
			wantRefused(t, "list users", status, body, hdr, 401)
			status, body, hdr = e.call(t, t2, "PATCH", tb+"/servicePrincipals/"+c2.clientID, map[string]any{"accountEnabled": true})
			wantRefused(t, "re-enable its service principal", status, body, hdr, 401)
			status, body, hdr = e.call(t, t2, "POST", tb+"/roleAssignments",
				map[string]any{"principal": c2.clientID, "resource": directory.AdminAPIIdentifierURI, "role": directory.AdminRole})
			wantRefused(t, "re-grant itself the role (persistence)", status, body, hdr, 401)
			if tn.ID == home.ID {
				// The system administrator's routes: tenants and keys.
				status, body, hdr = e.call(t, t2, "GET", "/tenants", nil)
				wantRefused(t, "list tenants", status, body, hdr, 401)
				status, body, hdr = e.call(t, t2, "POST", "/tenants", map[string]any{"domain": "h1-persistence"})
				wantRefused(t, "create a tenant", status, body, hdr, 401)
				status, body, hdr = e.call(t, t2, "POST", "/keys/rotate", nil)
				wantRefused(t, "rotate keys", status, body, hdr, 401)
				if _, err := e.h.srv.Directory.ResolveTenant(t.Context(), "h1-persistence"); err == nil {
					t.Error("the refused POST tenants created the tenant")
				}
			}

			// Nothing changed: still disabled, still without the role.
			sp := e.must2xx(t, e.home, "GET", tb+"/servicePrincipals/"+c2.clientID, nil)
			if sp["accountEnabled"] != false {
				t.Errorf("the service principal is enabled again: %v", sp)
			}
			ras := e.must2xx(t, e.home, "GET", tb+"/roleAssignments?principal="+c2.clientID, nil)["value"].([]any)
			if len(ras) != 0 {
				t.Errorf("the principal holds assignments again: %v", ras)
			}
		})
	}
}

// TestSecurityAdminRefusalsAudited (review L8): a tenant administrator
// probing another tenant and the server-wide routes leaves a trace — who,
// from which tenant, on which route, aimed at which tenant — and a flood
// of refused requests, unauthenticated or not, writes one row per caller,
// route and reason a minute, not one per request. No token reaches the
// log or the audit log.
func TestSecurityAdminRefusalsAudited(t *testing.T) {
	e := newAdminEnv(t)
	B := e.b
	p := e.newAdminApp(t, B, "prober")
	tok := e.appToken(t, p)
	for range 20 {
		status, body, hdr := e.call(t, tok, "GET", "/tenants/default/users", nil)
		wantRefused(t, "B's admin on the home tenant", status, body, hdr, 403)
	}
	status, body, hdr := e.call(t, tok, "GET", "/tenants", nil)
	wantRefused(t, "B's admin on the server-wide tenants route", status, body, hdr, 403)

	const garbage = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJub2JvZHkifQ.not-a-signature"
	for range 200 {
		status, body, hdr := e.call(t, "", "GET", "/tenants/default/users", nil)
		if status != 401 || hdr.Get("WWW-Authenticate") != `Bearer realm="tessera-admin"` { // RFC 6750 §3.1: no error code
			t.Fatalf("no token: %d %v %q", status, body, hdr.Get("WWW-Authenticate"))
		}
		status, body, hdr = e.call(t, garbage, "GET", "/tenants/default/users", nil)
		wantRefused(t, "a forged token", status, body, hdr, 401)
	}

	count := map[string]int{}
	for _, ev := range refusals(e.h) {
		key := ev.TenantID + " " + ev.Actor + " " + ev.Reason + " " + ev.Details["method"] + " " + ev.Details["route"] + " " + ev.Details["path_tenant"]
		count[key]++
	}
	for key, want := range map[string]int{
		B.ID + " " + p.objectID + " other_tenant GET /admin/v1/tenants/{tenant}/users default": 1,
		B.ID + " " + p.objectID + " not_system_admin GET /admin/v1/tenants ":                   1,
		"-  no_token GET /admin/v1/tenants/{tenant}/users ":                                    1,
		"-  invalid_token GET /admin/v1/tenants/{tenant}/users ":                               1,
	} {
		if count[key] != want {
			t.Errorf("audit events %q: %d, want %d (all: %v)", key, count[key], want, count)
		}
	}
	if len(count) != 4 {
		t.Errorf("420 refused requests wrote %d kinds of audit event, want 4: %v", len(count), count)
	}
	e.h.assertNotLogged(garbage, tok)
}
