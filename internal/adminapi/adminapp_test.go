package adminapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

// The built-in admin API application answers every widening edit with a
// 400 the OpenAPI document describes, saying why, and changes nothing;
// the display name and a lifetime up to an hour still change.
func TestBuiltInAdminApplication(t *testing.T) {
	e := newEnv(t)
	admin, err := e.dir.EnsureAdminApplication(t.Context(), e.contoso.ID)
	if err != nil {
		t.Fatal(err)
	}
	app := tenantPath(e.contoso, "/applications/"+admin.App.AppID)
	sp := tenantPath(e.contoso, "/servicePrincipals/"+admin.App.AppID)
	before := e.do("GET", app, tokAdminA, nil).must(t, http.StatusOK).body
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"lifetime of a day", "PATCH", app, map[string]any{"accessTokenLifetimeSeconds": 86400}},
		{"identifier URI", "PATCH", app, map[string]any{"identifierUris": []string{directory.AdminAPIIdentifierURI, "api://other"}}},
		{"public client", "PATCH", app, map[string]any{"publicClient": true}},
		{"secret", "POST", app + "/credentials", map[string]any{"type": "secret"}},
		{"delete", "DELETE", app, nil},
		{"service principal assignment-free", "PATCH", sp, map[string]any{"appRoleAssignmentRequired": false}},
		{"delete service principal", "DELETE", sp, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tokAdminA, tc.body).must(t, http.StatusBadRequest)
			if eb := r.errorBody(t); eb.Code != "BadRequest" || !strings.Contains(eb.Message, "built in") {
				t.Errorf("error %+v", eb)
			}
			if after := e.do("GET", app, tokAdminA, nil).must(t, http.StatusOK).body; string(after) != string(before) {
				t.Errorf("the application changed:\n%s\nwas\n%s", after, before)
			}
		})
	}
	r := e.do("PATCH", app, tokAdminA, map[string]any{"displayName": "Contoso admin", "accessTokenLifetimeSeconds": 3600}).must(t, http.StatusOK)
	var got Application
	r.json(t, &got)
	if got.DisplayName != "Contoso admin" || got.AccessTokenLifetimeSeconds != 3600 {
		t.Errorf("allowed edit: %+v", got)
	}
}
