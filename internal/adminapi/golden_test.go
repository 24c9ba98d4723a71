package adminapi

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// covered records every operation of openapi.yaml a test has called.
var covered sync.Map

// TestMain fails a full run that left an operation of the description
// untested: a route described but never exercised could have drifted.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" && specDoc != nil {
		var missing []string
		for path, item := range specDoc.Paths.Map() {
			for method := range item.Operations() {
				if _, ok := covered.Load(method + " " + path); !ok {
					missing = append(missing, method+" "+path)
				}
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			fmt.Fprintf(os.Stderr, "operations of openapi.yaml no test calls:\n  %v\n", missing)
			code = 1
		}
	}
	os.Exit(code)
}

var (
	secretRE = regexp.MustCompile(`"(secretText)":\s*"tss_[^"]*"`)
	traceRE  = regexp.MustCompile(`"(traceId)":\s*"[^"]*"`)
)

// golden compares an answer, indented, with testdata/golden/name.json.
// The directory's clock and random source are fixed, so ids and times
// are stable; a secret's text and trace ids are masked.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	got := secretRE.ReplaceAll(buf.Bytes(), []byte(`"$1": "tss_<masked>"`))
	got = traceRE.ReplaceAll(got, []byte(`"$1": "<trace>"`))
	got = append(bytes.TrimSpace(got), '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (go test -update rewrites it after review):\n%s", name, path, got)
	}
}

// TestGoldenShapes pins the JSON of every kind of answer, so that a renamed
// or dropped field is a visible diff in review.
func TestGoldenShapes(t *testing.T) {
	e := newEnv(t)
	pem, err := os.ReadFile("testdata/client-cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	tp := func(rest string) string { return tenantPath(e.contoso, rest) }

	golden(t, "tenant", e.do("POST", "/admin/v1/tenants", tokSystem, directory.TenantSpec{Domain: "fabrikam.example", DisplayName: "Fabrikam"}).must(t, 201).body)
	golden(t, "tenant_list", e.do("GET", "/admin/v1/tenants", tokSystem, nil).must(t, 200).body)

	res := e.do("POST", tp("/applications"), tokAdminA, ApplicationCreate{
		DisplayName:    "orders api",
		IdentifierURIs: []string{"api://orders"},
		Scopes:         []Scope{{Value: "Orders.Read", AdminConsentDisplayName: "Read orders", AdminConsentDescription: "Lets the app read orders"}},
		AppRoles:       []AppRole{{Value: "Reader", Description: "Reads orders"}, {Value: "Writer", AllowedMemberTypes: []string{"Application"}}},
		RedirectURIs:   []string{"https://orders.example/signin"},
		PublicClient:   false,
		PreAuthorized:  []directory.PreAuthorizedApplication{{AppID: "11111111-2222-3333-4444-555555555555", Scopes: []string{"Orders.Read"}}},
	}).must(t, 201)
	golden(t, "application", res.body)
	var app Application
	res.json(t, &app)

	res = e.do("POST", tp("/servicePrincipals"), tokAdminA, directory.ServicePrincipalSpec{AppID: app.AppID}).must(t, 201)
	golden(t, "service_principal", res.body)

	creds := tp("/applications/" + app.AppID + "/credentials")
	golden(t, "secret_credential", e.do("POST", creds, tokAdminA, CredentialCreate{Type: "secret", DisplayName: "ci"}).must(t, 201).body)
	golden(t, "certificate_credential", e.do("POST", creds, tokAdminA, CredentialCreate{Type: "certificate", Certificate: string(pem)}).must(t, 201).body)
	golden(t, "credential_list", e.do("GET", creds, tokAdminA, nil).must(t, 200).body)

	res = e.do("POST", tp("/roleAssignments"), tokAdminA, directory.AssignmentSpec{Principal: app.AppID, Resource: "api://orders", Role: "Writer"}).must(t, 201)
	golden(t, "role_assignment", res.body)

	res = e.do("POST", tp("/users"), tokAdminA, UserCreate{UserPrincipalName: "alice", DisplayName: "Alice", Mail: "alice@contoso.example", Password: "correct horse battery staple"}).must(t, 201)
	golden(t, "user", res.body)
	var alice User
	res.json(t, &alice)
	golden(t, "user_list", e.do("GET", tp("/users"), tokAdminA, nil).must(t, 200).body)

	golden(t, "consent", e.do("POST", tp("/consents"), tokAdminA, ConsentCreate{ClientID: app.AppID, Resource: "api://orders", Scopes: []string{"Orders.Read"}}).must(t, 200).body)
	e.do("POST", tp("/consents"), tokAdminA, ConsentCreate{ClientID: app.AppID, Resource: "openid", Scopes: []string{"openid", "profile"}, Principal: alice.ID}).must(t, 200)
	golden(t, "consent_list", e.do("GET", tp("/consents?client="+app.AppID), tokAdminA, nil).must(t, 200).body)

	three, grace := 3, int64(-1)
	golden(t, "tenant_policy", e.do("PUT", tp("/policy"), tokAdminA, TenantPolicyUpdate{RefreshGraceSeconds: &grace, PasswordGrantDisabled: true,
		ProductLoginResource: "api://orders", LockoutThreshold: &three}).must(t, 200).body)

	for range three {
		_, _ = e.dir.AuthenticateUser(t.Context(), e.contoso.ID, "alice", "wrong password, wrong")
	}
	e.banAddress(t, e.contoso, "192.0.2.7")
	golden(t, "ban_list", e.do("GET", tp("/bans"), tokAdminA, nil).must(t, 200).body)

	golden(t, "key_list", e.do("GET", "/admin/v1/keys", tokSystem, nil).must(t, 200).body)
	golden(t, "error_not_found", e.do("GET", tp("/applications/api:%2F%2Fnope"), tokAdminA, nil).must(t, 404).body)

	if !slices.Contains(app.AppRoles[1].AllowedMemberTypes, "Application") {
		t.Fatal("unexpected role")
	}
}
