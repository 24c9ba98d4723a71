package storetest

import (
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
)

// Isolation is tested with two tenants holding objects under the same ids,
// keys and identifier URIs, each with a display name naming its tenant, so
// that a query missing its tenant filter returns the wrong row or too many.

// sharedAppID is the application id both tenants register: a well-known
// id, the only kind two tenants may both hold (Repository.CreateApplication).
const sharedAppID = directory.CLIClientID

// twin is what seedTwin stores in a tenant.
type twin struct {
	app     directory.Application // sharedAppID, shared id and URI
	only    directory.Application // "only-<tenant>"
	sp      directory.ServicePrincipal
	onlySP  directory.ServicePrincipal
	cred    directory.Credential
	onlyCrd directory.Credential
	assign  directory.RoleAssignment // sp-1 holds a role of sp-1
	onlyRA  directory.RoleAssignment
	tenant  directory.Tenant
	onlyURI string
}

func seedTwin(t *testing.T, s store.Store, tenantID string) twin {
	t.Helper()
	ctx := t.Context()
	w := twin{
		tenant:  addTenant(t, s, tenantID),
		onlyURI: "api://only-" + tenantID,
	}
	w.app = newApp(tenantID, sharedAppID, t0, "api://shared")
	w.only = newApp(tenantID, "only-"+tenantID, at(1), w.onlyURI)
	w.sp = newSP(tenantID, "sp-1", sharedAppID, t0)
	w.onlySP = newSP(tenantID, "sp-only-"+tenantID, w.only.AppID, at(1))
	w.cred = newSecret(tenantID, sharedAppID, "key-1", t0)
	w.onlyCrd = newSecret(tenantID, w.only.AppID, "key-only-"+tenantID, at(1))
	w.assign = newAssignment(tenantID, "ra-1", "sp-1", "sp-1", "role-1", t0)
	w.onlyRA = newAssignment(tenantID, "ra-only-"+tenantID, w.onlySP.ObjectID, "sp-1", "role-1", at(1))
	must(t, s.CreateApplication(ctx, tenantID, w.app))
	must(t, s.CreateApplication(ctx, tenantID, w.only))
	must(t, s.CreateServicePrincipal(ctx, tenantID, w.sp))
	must(t, s.CreateServicePrincipal(ctx, tenantID, w.onlySP))
	must(t, s.AddCredential(ctx, tenantID, w.cred))
	must(t, s.AddCredential(ctx, tenantID, w.onlyCrd))
	must(t, s.CreateRoleAssignment(ctx, tenantID, w.assign))
	must(t, s.CreateRoleAssignment(ctx, tenantID, w.onlyRA))
	return w
}

// snapshot is everything a tenant holds, as the store lists it.
type snapshot struct {
	apps        []directory.Application
	sps         []directory.ServicePrincipal
	creds       [][]directory.Credential
	assignments [][]directory.RoleAssignment
}

func takeSnapshot(t *testing.T, s store.Store, tenantID string) snapshot {
	t.Helper()
	ctx := t.Context()
	var snap snapshot
	var err error
	snap.apps, err = s.ListApplications(ctx, tenantID)
	must(t, err)
	snap.sps, err = s.ListServicePrincipals(ctx, tenantID)
	must(t, err)
	for _, app := range snap.apps {
		c, err := s.ListCredentials(ctx, tenantID, app.AppID)
		must(t, err)
		snap.creds = append(snap.creds, c)
	}
	for _, sp := range snap.sps {
		ra, err := s.ListRoleAssignmentsByResource(ctx, tenantID, sp.ObjectID)
		must(t, err)
		snap.assignments = append(snap.assignments, ra)
	}
	return snap
}

// Every read of tenant A returns A's rows only, even where B has rows
// under the same ids.
func testIsolationReads(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := seedTwin(t, s, "a")
	b := seedTwin(t, s, "b")

	for _, w := range []twin{a, b} {
		id := w.tenant.ID
		app, err := s.GetApplication(ctx, id, sharedAppID)
		must(t, err)
		wantEqual(t, app, w.app)
		app, err = s.GetApplicationByIdentifierURI(ctx, id, "api://shared")
		must(t, err)
		wantEqual(t, app, w.app)
		sp, err := s.GetServicePrincipal(ctx, id, "sp-1")
		must(t, err)
		wantEqual(t, sp, w.sp)
		sp, err = s.GetServicePrincipalByAppID(ctx, id, sharedAppID)
		must(t, err)
		wantEqual(t, sp, w.sp)

		want := snapshot{
			apps:        []directory.Application{w.app, w.only},
			sps:         []directory.ServicePrincipal{w.sp, w.onlySP},
			creds:       [][]directory.Credential{{w.cred}, {w.onlyCrd}},
			assignments: [][]directory.RoleAssignment{{w.assign, w.onlyRA}, {}},
		}
		wantEqual(t, takeSnapshot(t, s, id), want)
		byPrincipal, err := s.ListRoleAssignmentsByPrincipal(ctx, id, "sp-1")
		must(t, err)
		wantEqual(t, byPrincipal, []directory.RoleAssignment{w.assign})
	}

	// B's own ids are not found from A.
	_, err := s.GetApplication(ctx, "a", b.only.AppID)
	wantErr(t, err, directory.ErrNotFound)
	_, err = s.GetApplicationByIdentifierURI(ctx, "a", b.onlyURI)
	wantErr(t, err, directory.ErrNotFound)
	_, err = s.GetServicePrincipal(ctx, "a", b.onlySP.ObjectID)
	wantErr(t, err, directory.ErrNotFound)
	_, err = s.GetServicePrincipalByAppID(ctx, "a", b.only.AppID)
	wantErr(t, err, directory.ErrNotFound)
	creds, err := s.ListCredentials(ctx, "a", b.only.AppID)
	must(t, err)
	wantEqual(t, creds, []directory.Credential{})
	ras, err := s.ListRoleAssignmentsByPrincipal(ctx, "a", b.onlySP.ObjectID)
	must(t, err)
	wantEqual(t, ras, []directory.RoleAssignment{})
}

// No write in tenant A changes tenant B: neither on the ids both use nor on
// the ids only B uses.
func testIsolationWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := seedTwin(t, s, "a")
	b := seedTwin(t, s, "b")
	before := takeSnapshot(t, s, "b")

	// B's ids, asked for in A, are not found, and B is untouched.
	onlyApp := b.only
	onlyApp.TenantID = "a"
	onlySP := b.onlySP
	onlySP.TenantID = "a"
	wantErr(t, s.UpdateApplication(ctx, "a", onlyApp), directory.ErrNotFound)
	wantErr(t, s.UpdateServicePrincipal(ctx, "a", onlySP), directory.ErrNotFound)
	wantErr(t, s.DeleteCredential(ctx, "a", b.only.AppID, b.onlyCrd.KeyID), directory.ErrNotFound)
	wantErr(t, s.DeleteRoleAssignment(ctx, "a", b.onlyRA.ID), directory.ErrNotFound)
	wantErr(t, s.DeleteServicePrincipal(ctx, "a", b.onlySP.ObjectID), directory.ErrNotFound)
	wantErr(t, s.DeleteApplication(ctx, "a", b.only.AppID), directory.ErrNotFound)
	// B's identifier URI is free in A.
	must(t, s.CreateApplication(ctx, "a", newApp("a", "app-3", at(5), b.onlyURI)))

	// The shared ids change in A only.
	app := a.app
	app.DisplayName = "changed in a"
	app.IdentifierURIs = []string{"api://changed"}
	must(t, s.UpdateApplication(ctx, "a", app))
	sp := a.sp
	sp.DisplayName = "changed in a"
	must(t, s.UpdateServicePrincipal(ctx, "a", sp))
	wantEqual(t, takeSnapshot(t, s, "b"), before)

	must(t, s.DeleteCredential(ctx, "a", sharedAppID, "key-1"))
	must(t, s.DeleteRoleAssignment(ctx, "a", "ra-1"))
	wantEqual(t, takeSnapshot(t, s, "b"), before)

	// The cascades stay in A too.
	must(t, s.DeleteServicePrincipal(ctx, "a", "sp-1"))
	must(t, s.DeleteApplication(ctx, "a", sharedAppID))
	must(t, s.DeleteApplication(ctx, "a", a.only.AppID))
	wantEqual(t, takeSnapshot(t, s, "b"), before)
	got, err := s.GetApplicationByIdentifierURI(ctx, "b", "api://shared")
	must(t, err)
	wantEqual(t, got, b.app)
}

// Single-use values are per tenant: the same key is fresh in each.
func testIsolationConsumeOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	exp := at(3600).AddDate(100, 0, 0)
	must(t, s.ConsumeOnce(ctx, "a", "jti-1", exp))
	must(t, s.ConsumeOnce(ctx, "b", "jti-1", exp))
	wantErr(t, s.ConsumeOnce(ctx, "a", "jti-1", exp), directory.ErrReplay)
	wantErr(t, s.ConsumeOnce(ctx, "b", "jti-1", exp), directory.ErrReplay)
}

// Objects are created only in tenants that exist, and credentials only
// for applications that exist.
func testUnknownTenant(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	must(t, s.CreateApplication(ctx, "a", newApp("a", sharedAppID, t0)))
	wantErr(t, s.CreateApplication(ctx, "nope", newApp("nope", sharedAppID, t0)), directory.ErrNotFound)
	wantErr(t, s.CreateServicePrincipal(ctx, "nope", newSP("nope", "sp-1", sharedAppID, t0)), directory.ErrNotFound)
	wantErr(t, s.CreateRoleAssignment(ctx, "nope", newAssignment("nope", "ra-1", "x", "y", "z", t0)), directory.ErrNotFound)
	wantErr(t, s.AddCredential(ctx, "nope", newSecret("nope", sharedAppID, "k", t0)), directory.ErrNotFound)
}

// A value whose TenantID names another tenant than the call is refused
// and stored nowhere: it is a caller's bug at the tenant boundary.
func testObjectOfAnotherTenant(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := seedTwin(t, s, "a")
	seedTwin(t, s, "b")
	before := []snapshot{takeSnapshot(t, s, "a"), takeSnapshot(t, s, "b")}

	app := a.app
	app.TenantID = "b"
	sp := a.sp
	sp.TenantID = "b"
	for name, err := range map[string]error{
		"CreateApplication":      s.CreateApplication(ctx, "a", newApp("b", "app-9", t0)),
		"UpdateApplication":      s.UpdateApplication(ctx, "a", app),
		"CreateServicePrincipal": s.CreateServicePrincipal(ctx, "a", newSP("b", "sp-9", "app-9", t0)),
		"UpdateServicePrincipal": s.UpdateServicePrincipal(ctx, "a", sp),
		"AddCredential":          s.AddCredential(ctx, "a", newSecret("b", sharedAppID, "key-9", t0)),
		"CreateRoleAssignment":   s.CreateRoleAssignment(ctx, "a", newAssignment("b", "ra-9", "sp-1", "sp-1", "role-9", t0)),
	} {
		if err == nil {
			t.Errorf("%s accepted an object of tenant b in tenant a", name)
		}
	}
	wantEqual(t, []snapshot{takeSnapshot(t, s, "a"), takeSnapshot(t, s, "b")}, before)
}
