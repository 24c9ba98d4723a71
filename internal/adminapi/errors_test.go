package adminapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

func TestUnauthorized(t *testing.T) {
	e := newEnv(t)
	// RFC 6750 §3.1: no error code when the request carried no token.
	res := e.do("GET", "/admin/v1/tenants", "", nil).must(t, 401)
	if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="tessera-admin"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
	if b := res.errorBody(t); b.Code != "Unauthorized" || b.TraceID == "" {
		t.Errorf("body %+v", b)
	}
	const forged = "forged-token-value-1234"
	res = e.do("GET", tenantPath(e.contoso, "/applications"), forged, nil).must(t, 401)
	if got := res.header.Get("WWW-Authenticate"); got != `Bearer realm="tessera-admin", error="invalid_token"` {
		t.Errorf("WWW-Authenticate %q", got)
	}
	if strings.Contains(e.log.String(), forged) {
		t.Error("a presented token is in the log")
	}
	if !strings.Contains(e.log.String(), "signature invalid") {
		t.Error("the authenticator's reason is not in the log")
	}
}

func TestForbidden(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		rule, method, path, token string
	}{
		{"every route needs the admin role", "GET", tenantPath(e.home, "/applications"), tokNoRole},
		{"system admin without the role is no admin", "GET", "/admin/v1/tenants", tokSysNoRl},
		{"a tenant admin cannot list tenants", "GET", "/admin/v1/tenants", tokAdminA},
		{"a tenant admin cannot create tenants", "POST", "/admin/v1/tenants", tokAdminA},
		{"a tenant admin cannot see keys", "GET", "/admin/v1/keys", tokAdminA},
		{"a tenant admin cannot rotate keys", "POST", "/admin/v1/keys/rotate", tokAdminA},
		{"tenant isolation: another tenant by domain", "GET", tenantPath(e.home, "/applications"), tokAdminA},
		{"tenant isolation: another tenant by id", "GET", "/admin/v1/tenants/" + e.home.ID + "/servicePrincipals", tokAdminA},
		{"tenant isolation: writes", "POST", tenantPath(e.home, "/applications"), tokAdminA},
		{"tenant isolation: the tenant itself", "GET", tenantPath(e.home, ""), tokAdminA},
		{"no oracle for other tenants' names", "GET", "/admin/v1/tenants/nowhere/applications", tokAdminA},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			var body any
			if c.method == "POST" {
				body = map[string]any{"domain": "x.example", "displayName": "x"}
				if strings.Contains(c.path, "applications") {
					body = ApplicationCreate{DisplayName: "x"}
				}
				if strings.Contains(c.path, "rotate") {
					body = nil
				}
			}
			res := e.do(c.method, c.path, c.token, body).must(t, 403)
			if got := res.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="insufficient_scope"`) {
				t.Errorf("WWW-Authenticate %q", got)
			}
			if b := res.errorBody(t); b.Code != "Forbidden" {
				t.Errorf("code %q", b.Code)
			}
		})
	}
	// Nothing was written in the other tenant.
	apps, _ := e.dir.ListApplications(t.Context(), e.home.ID)
	if len(apps) != 3 {
		t.Errorf("home tenant has %d applications, want only the admin API, the CLI and the management application", len(apps))
	}
	// The system admin may manage any tenant; for it a missing tenant is 404.
	e.do("GET", tenantPath(e.contoso, "/applications"), tokSystem, nil).must(t, 200)
	e.do("POST", tenantPath(e.contoso, "/applications"), tokSystem, ApplicationCreate{DisplayName: "by sys"}).must(t, 201)
	e.do("GET", "/admin/v1/tenants/nowhere/applications", tokSystem, nil).must(t, 404)
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	apps := tenantPath(e.home, "/applications")
	var app Application
	e.do("POST", apps, tokSystem, ApplicationCreate{DisplayName: "app"}).must(t, 201).json(t, &app)
	creds := apps + "/" + app.AppID + "/credentials"

	cases := []struct {
		rule, method, path string
		body               any
		opts               []reqOpt
		status             int
		message            string
	}{
		{"unknown fields are refused", "POST", apps, `{"displayName":"x","displayNmae":"y"}`, []reqOpt{invalidRequest, rawBody}, 400, `unknown field "displayNmae"`},
		{"not JSON", "POST", apps, `{"displayName":`, []reqOpt{invalidRequest, rawBody}, 400, "cut short"},
		{"syntax error", "POST", apps, `{"displayName" "x"}`, []reqOpt{invalidRequest, rawBody}, 400, "not valid JSON"},
		{"empty body", "POST", apps, ``, []reqOpt{invalidRequest, rawBody}, 400, "empty"},
		{"one object only", "POST", apps, `{"displayName":"x"} {}`, []reqOpt{invalidRequest, rawBody}, 400, "one JSON object"},
		{"wrong type, without Go type names", "POST", apps, `{"displayName":3}`, []reqOpt{invalidRequest, rawBody}, 400, `field "displayName" must not be a JSON number`},
		{"not an object", "POST", apps, `[1]`, []reqOpt{invalidRequest, rawBody}, 400, "must be a JSON object"},
		{"domain rule, message shown", "POST", apps, ApplicationCreate{DisplayName: " "}, nil, 400, "an application needs a display name"},
		{"lifetime range", "POST", apps, ApplicationCreate{DisplayName: "x", AccessTokenLifetimeSeconds: 1 << 62}, nil, 400, "lifetime must be between"},
		{"redirect URI rule (RFC 8252 §7.3)", "PATCH", apps + "/" + app.AppID, map[string]any{"redirectUris": []string{"http://evil.example/cb"}}, nil, 400, "loopback"},
		{"tenant domain rule", "POST", "/admin/v1/tenants", directory.TenantSpec{Domain: "common"}, nil, 400, "reserved"},
		{"credential type", "POST", creds, map[string]any{"type": "password"}, []reqOpt{invalidRequest}, 400, `type must be "secret" or "certificate"`},
		{"secret with a certificate", "POST", creds, CredentialCreate{Type: "secret", Certificate: "x"}, nil, 400, "takes no certificate"},
		{"certificate without one", "POST", creds, CredentialCreate{Type: "certificate"}, nil, 400, "needs the certificate"},
		{"certificate is not one", "POST", creds, CredentialCreate{Type: "certificate", Certificate: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, nil, 400, "not an X.509 certificate"},
		{"private key refused", "POST", creds, CredentialCreate{Type: "certificate", Certificate: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}, nil, 400, "never send a private key"},
		{"secret expiry in the past", "POST", creds, map[string]any{"type": "secret", "endDateTime": "2020-01-01T00:00:00Z"}, nil, 400, "in the past"},
		{"date-time format", "POST", creds, `{"type":"secret","endDateTime":"tomorrow"}`, []reqOpt{invalidRequest, rawBody}, 400, "RFC 3339"},
		{"service principal needs appId", "POST", tenantPath(e.home, "/servicePrincipals"), map[string]any{}, []reqOpt{invalidRequest}, 400, "appId"},
		{"assignment needs all three", "POST", tenantPath(e.home, "/roleAssignments"), map[string]any{"principal": "x"}, []reqOpt{invalidRequest}, 400, "all required"},
		{"role must exist", "POST", tenantPath(e.home, "/roleAssignments"), directory.AssignmentSpec{Principal: directory.AdminAPIIdentifierURI, Resource: directory.AdminAPIIdentifierURI, Role: "Nope"}, nil, 400, `no app role "Nope"`},
	}
	for _, c := range cases {
		t.Run(c.rule, func(t *testing.T) {
			res := e.do(c.method, c.path, tokSystem, c.body, c.opts...).must(t, c.status)
			b := res.errorBody(t)
			if b.Code != "BadRequest" || !strings.Contains(b.Message, c.message) {
				t.Errorf("error %+v, want message containing %q", b, c.message)
			}
			if strings.Contains(b.Message, "adminapi.") || strings.Contains(b.Message, "Go struct") {
				t.Errorf("message names Go types: %q", b.Message)
			}
		})
	}

	big := `{"displayName":"` + strings.Repeat("x", maxBody) + `"}`
	res := e.do("POST", apps, tokSystem, big, invalidRequest, rawBody).must(t, http.StatusRequestEntityTooLarge)
	if b := res.errorBody(t); b.Code != "PayloadTooLarge" {
		t.Errorf("code %q", b.Code)
	}
}

func TestNotFoundAndConflict(t *testing.T) {
	e := newEnv(t)
	apps := tenantPath(e.home, "/applications")
	var app Application
	e.do("POST", apps, tokSystem, ApplicationCreate{DisplayName: "a", IdentifierURIs: []string{"api://a"}}).must(t, 201).json(t, &app)

	notFound := []struct{ method, path, message string }{
		{"GET", apps + "/api:%2F%2Fnope", `application "api://nope" does not exist in tenant default`},
		{"GET", apps + "/00000000-0000-0000-0000-000000000000", "does not exist"},
		{"PATCH", apps + "/api:%2F%2Fnope", "does not exist"},
		{"DELETE", apps + "/api:%2F%2Fnope", "does not exist"},
		{"GET", apps + "/api:%2F%2Fnope/credentials", "does not exist"},
		{"DELETE", apps + "/" + app.AppID + "/credentials/00000000-0000-0000-0000-000000000000", "has no credential"},
		{"GET", tenantPath(e.home, "/servicePrincipals/") + app.AppID, "service principal"},
		{"PATCH", tenantPath(e.home, "/servicePrincipals/") + app.AppID, "service principal"},
		{"DELETE", tenantPath(e.home, "/servicePrincipals/") + app.AppID, "service principal"},
		{"POST", tenantPath(e.home, "/servicePrincipals"), `application "api://nope"`},
		{"GET", tenantPath(e.home, "/roleAssignments?principal=api://nope"), "principal or the resource"},
		{"DELETE", tenantPath(e.home, "/roleAssignments/00000000-0000-0000-0000-000000000000"), "role assignment"},
		{"GET", "/admin/v1/tenants/nowhere", `tenant "nowhere" does not exist`},
	}
	for _, c := range notFound {
		var body any
		switch {
		case c.method == "PATCH":
			body = map[string]any{}
		case c.method == "POST":
			body = directory.ServicePrincipalSpec{AppID: "api://nope"}
		}
		b := e.do(c.method, c.path, tokSystem, body).must(t, 404).errorBody(t)
		if b.Code != "NotFound" || !strings.Contains(b.Message, c.message) {
			t.Errorf("%s %s: %+v, want %q", c.method, c.path, b, c.message)
		}
		if strings.Contains(b.Message, "sqlite") || strings.Contains(b.Message, "not found:") {
			t.Errorf("%s %s: the store's detail leaks: %q", c.method, c.path, b.Message)
		}
	}

	conflicts := []struct {
		path string
		body any
	}{
		{apps, ApplicationCreate{DisplayName: "b", IdentifierURIs: []string{"api://a"}}},
		{apps, ApplicationCreate{DisplayName: "b", AppID: app.AppID}},
		{"/admin/v1/tenants", directory.TenantSpec{Domain: "contoso.example"}},
	}
	for _, c := range conflicts {
		if b := e.do("POST", c.path, tokSystem, c.body).must(t, 409).errorBody(t); b.Code != "Conflict" {
			t.Errorf("POST %s: %+v", c.path, b)
		}
	}
	e.do("POST", tenantPath(e.home, "/servicePrincipals"), tokSystem, directory.ServicePrincipalSpec{AppID: app.AppID}).must(t, 201)
	e.do("POST", tenantPath(e.home, "/servicePrincipals"), tokSystem, directory.ServicePrincipalSpec{AppID: app.AppID}).must(t, 409)
	two := []string{"api://b"}
	e.do("POST", apps, tokSystem, ApplicationCreate{DisplayName: "b", IdentifierURIs: two}).must(t, 201)
	taken := []string{"api://a"}
	e.do("PATCH", apps+"/api:%2F%2Fb", tokSystem, ApplicationPatch{IdentifierURIs: &taken}).must(t, 409)
}

func TestUnknownRoutes(t *testing.T) {
	e := newEnv(t)
	res := e.do("GET", "/admin/v1/nothing", tokSystem, nil, unrouted).must(t, 404)
	if b := res.errorBody(t); b.Code != "NotFound" {
		t.Errorf("%+v", b)
	}
	res = e.do("PUT", "/admin/v1/tenants", tokSystem, nil, unrouted).must(t, 405)
	if b := res.errorBody(t); b.Code != "MethodNotAllowed" || !strings.Contains(res.header.Get("Allow"), "POST") {
		t.Errorf("%+v %v", b, res.header)
	}
}

// failingRepo is the real store with one call failing as a broken disk
// would, with detail that must stay in the log.
type failingRepo struct{ directory.Repository }

const internalDetail = "disk I/O error at /var/lib/tessera/tessera.db"

func (failingRepo) ListApplications(context.Context, string) ([]directory.Application, error) {
	return nil, errors.New(internalDetail)
}

func TestInternalErrorsHideDetail(t *testing.T) {
	e := newEnv(t, withRepo(func(r directory.Repository) directory.Repository { return failingRepo{r} }))
	e.keys.err = errors.New("unseal key k1: " + internalDetail)
	for _, path := range []string{tenantPath(e.home, "/applications"), "/admin/v1/keys"} {
		res := e.do("GET", path, tokSystem, nil).must(t, 500)
		b := res.errorBody(t)
		if b.Code != "InternalError" || b.TraceID == "" {
			t.Fatalf("%+v", b)
		}
		if strings.Contains(string(res.body), "disk") || strings.Contains(string(res.body), "/var/lib") {
			t.Fatalf("the answer leaks internals: %s", res.body)
		}
		// The operator finds the cause in the log by the trace id.
		found := false
		for _, line := range strings.Split(e.log.String(), "\n") {
			if strings.Contains(line, b.TraceID) && strings.Contains(line, internalDetail) && strings.Contains(line, `"level":"ERROR"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("no log line with trace id %s and the cause:\n%s", b.TraceID, e.log.String())
		}
	}
}

type panickingAuth struct{}

func (panickingAuth) Authenticate(*http.Request) (Caller, error) { panic("boom: internal state") }

func TestPanicBecomesInternalError(t *testing.T) {
	e := newEnv(t)
	e.handler = New(Config{Directory: e.dir, Keys: e.keys, Auth: panickingAuth{}, Logger: slog.New(slog.DiscardHandler)})
	res := e.do("GET", "/admin/v1/tenants", tokSystem, nil).must(t, 500)
	if strings.Contains(string(res.body), "boom") {
		t.Fatalf("panic value leaks: %s", res.body)
	}
}
