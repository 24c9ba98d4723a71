package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/directory"
)

// The security_admin_*_test.go files check the admin API's trust
// boundary (issue 13, review findings H1 and L8): authority comes from the
// directory at each request, never from the token's roles; a revoked token
// or a principal gone, disabled or stripped of the role is refused on
// every route; the admin API application's tokens live at most an hour;
// every refusal is audited.

// adminEnv is a server with a second tenant, fabrikam ("B"), and the home
// tenant's bootstrap admin token, with which the operator cleans up.
type adminEnv struct {
	h    *harness
	home string // the home (system) administrator's token
	b    directory.Tenant
}

func newAdminEnv(t *testing.T) *adminEnv {
	t.Helper()
	h := start(t)
	e := &adminEnv{h: h, home: h.adminToken()}
	var err error
	if e.b, err = h.srv.Directory.CreateTenantWithAdmin(context.Background(), directory.TenantSpec{Domain: "fabrikam"}); err != nil {
		t.Fatal(err)
	}
	// Administrators sign in through the product login too (loginToken):
	// each tenant's policy names the admin API as its resource.
	for _, tn := range []string{h.tenant(), e.b.ID} {
		if _, err := h.srv.Directory.SetTenantPolicy(context.Background(), tn, directory.TenantPolicy{ProductLoginResource: directory.AdminAPIIdentifierURI}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// adminPrincipal is an administrator made for one test row.
type adminPrincipal struct {
	tenant     directory.Tenant
	objectID   string // the service principal's or the user's
	clientID   string // an app's client id
	secret     string
	upn        string // a user's name
	password   string
	assignment string // the Tessera.Admin assignment's id
}

// newAdminApp registers a confidential client holding Tessera.Admin in
// tenant t, as an operator would.
func (e *adminEnv) newAdminApp(t *testing.T, tn directory.Tenant, name string) adminPrincipal {
	t.Helper()
	ctx := context.Background()
	d := e.h.srv.Directory
	app, err := d.CreateApplication(ctx, tn.ID, directory.ApplicationSpec{DisplayName: name})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := d.CreateServicePrincipal(ctx, tn.ID, directory.ServicePrincipalSpec{AppID: app.AppID})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := d.AddSecret(ctx, tn.ID, app.AppID, directory.SecretSpec{})
	if err != nil {
		t.Fatal(err)
	}
	ra, err := d.AssignRole(ctx, tn.ID, directory.AssignmentSpec{Principal: app.AppID, Resource: directory.AdminAPIIdentifierURI, Role: directory.AdminRole})
	if err != nil {
		t.Fatal(err)
	}
	return adminPrincipal{tenant: tn, objectID: sp.ObjectID, clientID: app.AppID, secret: secret, assignment: ra.ID}
}

// newAdminUser creates a user with a password holding Tessera.Admin in t.
func (e *adminEnv) newAdminUser(t *testing.T, tn directory.Tenant, name string) adminPrincipal {
	t.Helper()
	ctx := context.Background()
	d := e.h.srv.Directory
	u, err := d.CreateUser(ctx, tn.ID, directory.UserSpec{UserPrincipalName: name, Password: alicePassword})
	if err != nil {
		t.Fatal(err)
	}
	ra, err := d.AssignRole(ctx, tn.ID, directory.AssignmentSpec{Principal: u.ObjectID, Resource: directory.AdminAPIIdentifierURI, Role: directory.AdminRole})
	if err != nil {
		t.Fatal(err)
	}
	return adminPrincipal{tenant: tn, objectID: u.ObjectID, upn: u.UserPrincipalName, password: alicePassword, assignment: ra.ID}
}

// appToken is p's admin API token by client credentials (v2).
func (e *adminEnv) appToken(t *testing.T, p adminPrincipal) string {
	t.Helper()
	status, body, _ := e.h.postForm("/"+p.tenant.ID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {p.clientID}, "client_secret": {p.secret}, "scope": {directory.AdminAPIIdentifierURI + "/.default"}}, "", "")
	wantTokens(t, status, body)
	return body["access_token"].(string)
}

// loginToken is p's admin API token from product login (the CLI's
// client, a grant of its own: the token carries its sid).
func (e *adminEnv) loginToken(t *testing.T, p adminPrincipal) (string, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"username": p.upn, "password": p.password, "tenant": p.tenant.ID, "resource": directory.AdminAPIIdentifierURI})
	req, _ := http.NewRequest("POST", e.h.srv.URL+"/api/v1/users/login", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	status, body, _ := e.h.do(req)
	if status != 200 || body["access_token"] == nil {
		t.Fatalf("product login of %s: %d %v", p.upn, status, body)
	}
	return body["access_token"].(string), body
}

// call sends an admin API request with a bearer token ("" for none).
func (e *adminEnv) call(t *testing.T, tok, method, path string, in any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, e.h.srv.URL+"/admin/v1"+path, rd)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return e.h.do(req)
}

// must2xx is call that must succeed.
func (e *adminEnv) must2xx(t *testing.T, tok, method, path string, in any) map[string]any {
	t.Helper()
	status, body, _ := e.call(t, tok, method, path, in)
	if status/100 != 2 {
		t.Fatalf("%s %s: %d %v", method, path, status, body)
	}
	return body
}

// wantRefused fails unless the answer is the admin API's refusal: status,
// Graph's error code, and RFC 6750 §3's WWW-Authenticate error.
func wantRefused(t *testing.T, what string, status int, body map[string]any, hdr http.Header, want int) {
	t.Helper()
	code, bearer := "Unauthorized", `error="invalid_token"`
	if want == http.StatusForbidden {
		code, bearer = "Forbidden", `error="insufficient_scope"`
	}
	errBody, _ := body["error"].(map[string]any)
	if status != want || errBody["code"] != code || !strings.Contains(hdr.Get("WWW-Authenticate"), bearer) {
		t.Errorf("%s: got %d %v (WWW-Authenticate %q), want %d %s with %s", what, status, body, hdr.Get("WWW-Authenticate"), want, code, bearer)
	}
}

// refusals are the admin.refused events of the audit log.
func refusals(h *harness) []audit.Event {
	var out []audit.Event
	for _, ev := range h.auditEvents() {
		if ev.Kind == "admin.refused" {
			out = append(out, ev)
		}
	}
	return out
}
