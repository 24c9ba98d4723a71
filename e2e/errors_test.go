package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// snapshot is every object of the home tenant and the key ring, as JSON.
func snapshot(t *testing.T, h *harness) string {
	t.Helper()
	ctx := context.Background()
	d, tid := h.srv.Directory, h.tenant()
	var parts []any
	tenants, _ := d.ListTenants(ctx)
	apps, _ := d.ListApplications(ctx, tid)
	sps, _ := d.ListServicePrincipals(ctx, tid)
	parts = append(parts, tenants, apps, sps)
	for _, app := range apps {
		creds, _ := d.ListCredentials(ctx, tid, app.AppID)
		for i := range creds {
			creds[i].SecretHash = append([]byte(nil), creds[i].SecretHash...)
		}
		parts = append(parts, creds)
	}
	for _, sp := range sps {
		as, _ := d.ListRoleAssignments(ctx, tid, directory.AssignmentFilter{Principal: sp.ObjectID})
		parts = append(parts, as)
	}
	keys, _ := h.srv.Keys.ListKeys(ctx)
	parts = append(parts, keys)
	b, err := json.Marshal(parts)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var volatile = regexp.MustCompile(`(Trace ID|Correlation ID|Timestamp): [^\r\n]*`)

func TestTokenErrorsChangeNothing(t *testing.T) {
	h := start(t)
	a := setupApps(t, h)
	adm := h.adminToken()
	ctx := context.Background()
	tid := h.tenant()

	// An expired secret: made by the directory as of two years ago.
	past := h.srv.Directory.WithClock(func() time.Time { return time.Now().Add(-2 * 365 * 24 * time.Hour) })
	_, expiredSecret, err := past.AddSecret(ctx, tid, a.noRole, directory.SecretSpec{ExpiresAt: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// A removed secret.
	removed := h.admin(adm, "secret", "add", "--id", a.noRole)
	h.cli("admin", "secret", "remove", "--id", a.noRole, "--key-id", removed["keyId"].(string), "--server", h.srv.URL, "--token", adm, "--ca-file", h.srv.CAFile)
	// A disabled service principal.
	disabled := h.admin(adm, "app", "create", "--display-name", "Disabled client")["appId"].(string)
	h.admin(adm, "sp", "create", "--id", disabled)
	disabledSecret := h.admin(adm, "secret", "add", "--id", disabled)["secretText"].(string)
	h.admin(adm, "sp", "update", "--id", disabled, "--enabled=false")
	// A resource that requires assignment.
	locked := h.admin(adm, "app", "create", "--display-name", "Locked API", "--app-role", "Reader")["appId"].(string)
	h.admin(adm, "sp", "create", "--id", locked, "--assignment-required")

	v2 := "/" + tid + "/oauth2/v2.0/token"
	v1 := "/default/oauth2/token"
	cc := func(client, secret, scope string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {client}, "client_secret": {secret}, "scope": {scope}}
	}
	apiScope := "api://" + a.api + "/.default"
	type call struct {
		name       string
		path       string
		form       url.Values
		basic      [2]string
		status     int
		code       string
		aadsts     float64
		wwwAuth    bool
		contentTyp string
	}
	calls := []call{
		{name: "wrong secret", path: v2, form: cc(a.client, a.clientSecret+"x", apiScope), status: 401, code: "invalid_client", aadsts: 7000215},
		{name: "unknown client", path: v2, form: cc("3f1c7a52-9d0e-4b7a-8c61-0a2b3c4d5e6f", a.clientSecret, apiScope), status: 401, code: "invalid_client", aadsts: 7000215},
		{name: "expired secret", path: v2, form: cc(a.noRole, expiredSecret, apiScope), status: 401, code: "invalid_client", aadsts: 7000215},
		{name: "removed secret", path: v2, form: cc(a.noRole, removed["secretText"].(string), apiScope), status: 401, code: "invalid_client", aadsts: 7000215},
		{name: "wrong secret by HTTP Basic", path: v2, form: url.Values{"grant_type": {"client_credentials"}, "scope": {apiScope}}, basic: [2]string{a.client, "nope"}, status: 401, code: "invalid_client", wwwAuth: true},
		{name: "disabled service principal", path: v2, form: cc(disabled, disabledSecret, apiScope), status: 400, code: "unauthorized_client"},
		{name: "no role on a resource requiring assignment", path: v2, form: cc(a.client, a.clientSecret, locked+"/.default"), status: 400, code: "unauthorized_client", aadsts: 501051},
		{name: "unknown resource (v2)", path: v2, form: cc(a.client, a.clientSecret, "api://nothing/.default"), status: 400, code: "invalid_scope", aadsts: 500011},
		{name: "unknown resource (v1)", path: v1, form: url.Values{"grant_type": {"client_credentials"}, "client_id": {a.client}, "client_secret": {a.clientSecret}, "resource": {"api://nothing"}}, status: 400, code: "invalid_resource"},
		{name: "scope without /.default", path: v2, form: cc(a.client, a.clientSecret, "api://"+a.api+"/Reader"), status: 400, code: "invalid_scope"},
		{name: "two resources", path: v2, form: cc(a.client, a.clientSecret, apiScope+" api://"+a.other+"/.default"), status: 400, code: "invalid_scope"},
		{name: "missing scope", path: v2, form: url.Values{"grant_type": {"client_credentials"}, "client_id": {a.client}, "client_secret": {a.clientSecret}}, status: 400, code: "invalid_request"},
		{name: "missing resource (v1)", path: v1, form: url.Values{"grant_type": {"client_credentials"}, "client_id": {a.client}, "client_secret": {a.clientSecret}}, status: 400, code: "invalid_request"},
		{name: "missing grant_type", path: v2, form: url.Values{"client_id": {a.client}}, status: 400, code: "invalid_request"},
		{name: "unsupported grant type", path: v2, form: url.Values{"grant_type": {"urn:example:magic"}, "client_id": {a.client}, "client_secret": {a.clientSecret}}, status: 400, code: "unsupported_grant_type"},
		{name: "parameter twice (RFC 6749 §3.2)", path: v2, form: url.Values{"grant_type": {"client_credentials"}, "client_id": {a.client}, "client_secret": {a.clientSecret}, "scope": {apiScope, apiScope}}, status: 400, code: "invalid_request"},
		{name: "secret in body and Basic (RFC 6749 §2.3)", path: v2, form: cc(a.client, a.clientSecret, apiScope), basic: [2]string{a.client, a.clientSecret}, status: 400, code: "invalid_request"},
		{name: "JSON body", path: v2, form: cc(a.client, a.clientSecret, apiScope), contentTyp: "application/json", status: 400, code: "invalid_request"},
		{name: "unknown tenant", path: "/nosuchtenant/oauth2/v2.0/token", form: cc(a.client, a.clientSecret, apiScope), status: 400, code: "invalid_request", aadsts: 90002},
		{name: "secret of another tenant's client", path: "/" + tid + "/oauth2/v2.0/token", form: cc(h.srv.Bootstrap.ClientID, "tss_"+strings.Repeat("A", 43), apiScope), status: 401, code: "invalid_client"},
	}
	var invalidClientDescription string
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(t, h)
			req, _ := http.NewRequest("POST", h.srv.URL+c.path, strings.NewReader(c.form.Encode()))
			ct := "application/x-www-form-urlencoded"
			if c.contentTyp != "" {
				ct = c.contentTyp
			}
			req.Header.Set("Content-Type", ct)
			if c.basic[0] != "" {
				req.SetBasicAuth(url.QueryEscape(c.basic[0]), url.QueryEscape(c.basic[1]))
			}
			status, body, hdr := h.do(req)
			if status != c.status || body["error"] != c.code {
				t.Fatalf("got %d %v, want %d %s", status, body, c.status, c.code)
			}
			if codes, _ := body["error_codes"].([]any); c.aadsts != 0 && (len(codes) != 1 || codes[0] != c.aadsts) {
				t.Errorf("error_codes %v, want [%v]", body["error_codes"], c.aadsts)
			}
			desc, _ := body["error_description"].(string)
			for _, f := range []string{"timestamp", "trace_id", "correlation_id"} {
				if body[f] == nil || !strings.Contains(desc, body[f].(string)) && f != "timestamp" {
					t.Errorf("%s missing or not in the description: %v", f, body)
				}
			}
			if hdr.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", hdr.Get("Cache-Control"))
			}
			if got := hdr.Get("WWW-Authenticate"); c.wwwAuth != (got != "") {
				t.Errorf("WWW-Authenticate %q", got)
			}
			if c.code == "invalid_client" && !c.wwwAuth {
				// Unknown client, wrong, expired and removed secret read the same.
				d := volatile.ReplaceAllString(desc, "")
				if invalidClientDescription == "" {
					invalidClientDescription = d
				} else if d != invalidClientDescription {
					t.Errorf("invalid_client descriptions differ:\n%q\n%q", d, invalidClientDescription)
				}
			}
			if after := snapshot(t, h); after != before {
				t.Error("a refused request changed the store")
			}
		})
	}
	h.assertNotLogged(a.clientSecret, expiredSecret, disabledSecret, removed["secretText"].(string))
}
