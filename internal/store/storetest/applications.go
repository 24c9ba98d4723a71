package storetest

import (
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/token"
)

func testApplicationRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	want := newApp("a", "app-1", t0, "api://one", "https://api.example/one")
	must(t, s.CreateApplication(ctx, "a", want))

	got, err := s.GetApplication(ctx, "a", "app-1")
	must(t, err)
	wantEqual(t, got, want)
	for _, u := range want.IdentifierURIs {
		got, err := s.GetApplicationByIdentifierURI(ctx, "a", u)
		must(t, err)
		wantEqual(t, got, want)
	}

	// An object written without its TenantID is stored under the call's
	// tenant and read back naming it.
	noTenant := newApp("", "app-2", at(1))
	must(t, s.CreateApplication(ctx, "a", noTenant))
	got, err = s.GetApplication(ctx, "a", "app-2")
	must(t, err)
	noTenant.TenantID = "a"
	wantEqual(t, got, noTenant)
}

// Nil and empty slices are one value to the store: a nil slice, at any
// depth, is read back as an empty one.
func testNilSlicesReadBackEmpty(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	app := directory.Application{
		TenantID:      "a",
		AppID:         "app-1",
		AppRoles:      []directory.AppRole{{ID: "r", Value: "R"}},
		PreAuthorized: []directory.PreAuthorizedApplication{{AppID: "c"}},
		CreatedAt:     t0,
		UpdatedAt:     t0,
	}
	must(t, s.CreateApplication(ctx, "a", app))
	got, err := s.GetApplication(ctx, "a", "app-1")
	must(t, err)
	app.IdentifierURIs, app.RedirectURIs, app.Scopes = []string{}, []string{}, []directory.Scope{}
	app.AppRoles = []directory.AppRole{{ID: "r", Value: "R", AllowedMemberTypes: []string{}}}
	app.PreAuthorized = []directory.PreAuthorizedApplication{{AppID: "c", Scopes: []string{}}}
	wantEqual(t, got, app)

	cred := directory.Credential{TenantID: "a", AppID: "app-1", KeyID: "k", Type: directory.CredentialSecret}
	must(t, s.AddCredential(ctx, "a", cred))
	creds, err := s.ListCredentials(ctx, "a", "app-1")
	must(t, err)
	cred.SecretHash, cred.CertificateDER = []byte{}, []byte{}
	wantEqual(t, creds, []directory.Credential{cred})

	key := token.KeyRecord{ID: "k", Alg: "ES256", State: token.KeyActive}
	_, err = s.InitSigningKeys(ctx, []token.KeyRecord{key})
	must(t, err)
	keys, err := s.ListSigningKeys(ctx)
	must(t, err)
	key.Sealed, key.CertDER = []byte{}, []byte{}
	wantEqual(t, keys, []token.KeyRecord{key})
}

func testApplicationConflicts(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	one := newApp("a", "app-1", t0, "api://one")
	must(t, s.CreateApplication(ctx, "a", one))

	// The same appId again.
	wantErr(t, s.CreateApplication(ctx, "a", newApp("a", "app-1", at(1))), directory.ErrConflict)

	// A second application claiming a URI of the first: nothing of it is
	// stored, not even its other, free URI.
	two := newApp("a", "app-2", at(1), "api://two", "api://one")
	wantErr(t, s.CreateApplication(ctx, "a", two), directory.ErrConflict)
	_, err := s.GetApplication(ctx, "a", "app-2")
	wantErr(t, err, directory.ErrNotFound)
	_, err = s.GetApplicationByIdentifierURI(ctx, "a", "api://two")
	wantErr(t, err, directory.ErrNotFound)

	// An update claiming a URI of another application fails and changes
	// nothing.
	two.IdentifierURIs = []string{"api://two"}
	must(t, s.CreateApplication(ctx, "a", two))
	changed := two
	changed.DisplayName = "changed"
	changed.IdentifierURIs = []string{"api://two", "api://one"}
	wantErr(t, s.UpdateApplication(ctx, "a", changed), directory.ErrConflict)
	got, err := s.GetApplication(ctx, "a", "app-2")
	must(t, err)
	wantEqual(t, got, two)
	got, err = s.GetApplicationByIdentifierURI(ctx, "a", "api://one")
	must(t, err)
	wantEqual(t, got, one)
}

func testApplicationUpdateMovesURIs(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	app := newApp("a", "app-1", t0, "api://old", "api://kept")
	must(t, s.CreateApplication(ctx, "a", app))

	// Updating keeps the application's own URIs without a conflict.
	app.DisplayName = "renamed"
	app.IdentifierURIs = []string{"api://kept", "api://new"}
	app.Scopes = app.Scopes[:1]
	app.AppRoles = []directory.AppRole{}
	app.AccessTokenAcceptedVersion = 1
	app.AccessTokenLifetime = time.Hour
	app.PublicClient = false
	app.UpdatedAt = at(60)
	must(t, s.UpdateApplication(ctx, "a", app))

	got, err := s.GetApplication(ctx, "a", "app-1")
	must(t, err)
	wantEqual(t, got, app)
	got, err = s.GetApplicationByIdentifierURI(ctx, "a", "api://new")
	must(t, err)
	wantEqual(t, got, app)

	// The URI given up is free again.
	_, err = s.GetApplicationByIdentifierURI(ctx, "a", "api://old")
	wantErr(t, err, directory.ErrNotFound)
	must(t, s.CreateApplication(ctx, "a", newApp("a", "app-2", at(1), "api://old")))
}

func testApplicationNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	_, err := s.GetApplication(ctx, "a", "missing")
	wantErr(t, err, directory.ErrNotFound)
	_, err = s.GetApplicationByIdentifierURI(ctx, "a", "api://missing")
	wantErr(t, err, directory.ErrNotFound)
	wantErr(t, s.UpdateApplication(ctx, "a", newApp("a", "missing", t0)), directory.ErrNotFound)
	wantErr(t, s.DeleteApplication(ctx, "a", "missing"), directory.ErrNotFound)
	list, err := s.ListApplications(ctx, "a")
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("an update of a missing application created one: %+v", list)
	}
}

func testApplicationListOrder(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	c := newApp("a", "c", at(1))
	b := newApp("a", "b", at(2))
	a := newApp("a", "a", at(2))
	z := newApp("a", "z", at(0))
	for _, app := range []directory.Application{c, b, a, z} {
		must(t, s.CreateApplication(ctx, "a", app))
	}
	list, err := s.ListApplications(ctx, "a")
	must(t, err)
	wantEqual(t, list, []directory.Application{z, c, a, b})
}

// DeleteApplication takes with it the service principal, the credentials,
// the identifier URIs and every role assignment naming the service
// principal, and nothing else.
func testDeleteApplicationCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	must(t, s.CreateApplication(ctx, "a", newApp("a", "gone", t0, "api://gone")))
	must(t, s.CreateServicePrincipal(ctx, "a", newSP("a", "sp-gone", "gone", t0)))
	must(t, s.AddCredential(ctx, "a", newSecret("a", "gone", "k1", t0)))
	must(t, s.AddCredential(ctx, "a", newCertificate("a", "gone", "k2", t0)))

	kept := newApp("a", "kept", t0, "api://kept")
	keptSP := newSP("a", "sp-kept", "kept", t0)
	keptCred := newSecret("a", "kept", "k1", t0)
	must(t, s.CreateApplication(ctx, "a", kept))
	must(t, s.CreateServicePrincipal(ctx, "a", keptSP))
	must(t, s.AddCredential(ctx, "a", keptCred))

	asPrincipal := newAssignment("a", "ra-1", "sp-gone", "sp-kept", "role-1", at(1))
	asResource := newAssignment("a", "ra-2", "sp-kept", "sp-gone", "role-1", at(2))
	unrelated := newAssignment("a", "ra-3", "sp-kept", "sp-kept", "role-1", at(3))
	for _, ra := range []directory.RoleAssignment{asPrincipal, asResource, unrelated} {
		must(t, s.CreateRoleAssignment(ctx, "a", ra))
	}
	// Consents the application gave as a client or received as a resource
	// go with it; a consent between other applications stays.
	consent := func(client, resource string) directory.ConsentGrant {
		return directory.ConsentGrant{TenantID: "a", ClientID: client, ResourceAppID: resource, PrincipalID: directory.AllPrincipals,
			Scopes: []string{"read"}, CreatedAt: t0, UpdatedAt: t0}
	}
	keptConsent := consent("kept", "other")
	for _, c := range []directory.ConsentGrant{consent("gone", "kept"), consent("kept", "gone"), keptConsent} {
		must(t, s.PutConsent(ctx, "a", c))
	}

	must(t, s.DeleteApplication(ctx, "a", "gone"))

	asClient, err := s.ListConsents(ctx, "a", "gone", "")
	must(t, err)
	wantEqual(t, asClient, []directory.ConsentGrant{})
	ofKept, err := s.ListConsents(ctx, "a", "kept", "")
	must(t, err)
	wantEqual(t, ofKept, []directory.ConsentGrant{keptConsent})

	_, err = s.GetApplication(ctx, "a", "gone")
	wantErr(t, err, directory.ErrNotFound)
	_, err = s.GetServicePrincipalByAppID(ctx, "a", "gone")
	wantErr(t, err, directory.ErrNotFound)
	creds, err := s.ListCredentials(ctx, "a", "gone")
	must(t, err)
	wantEqual(t, creds, []directory.Credential{})
	byResource, err := s.ListRoleAssignmentsByResource(ctx, "a", "sp-kept")
	must(t, err)
	wantEqual(t, byResource, []directory.RoleAssignment{unrelated})
	byPrincipal, err := s.ListRoleAssignmentsByPrincipal(ctx, "a", "sp-kept")
	must(t, err)
	wantEqual(t, byPrincipal, []directory.RoleAssignment{unrelated})

	// The other application is untouched, and the URI is free.
	apps, err := s.ListApplications(ctx, "a")
	must(t, err)
	wantEqual(t, apps, []directory.Application{kept})
	sps, err := s.ListServicePrincipals(ctx, "a")
	must(t, err)
	wantEqual(t, sps, []directory.ServicePrincipal{keptSP})
	creds, err = s.ListCredentials(ctx, "a", "kept")
	must(t, err)
	wantEqual(t, creds, []directory.Credential{keptCred})
	must(t, s.CreateApplication(ctx, "a", newApp("a", "again", at(4), "api://gone")))

	// An application without a service principal deletes too.
	must(t, s.DeleteApplication(ctx, "a", "again"))
}
