package cache_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/cache"
	"github.com/tessera-id/tessera/internal/store/sqlite"
	"github.com/tessera-id/tessera/internal/store/storetest"
)

// The wrapper keeps the storage contract: the whole conformance suite runs
// through it (reads after writes in one process see the writes).
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		c, err := cache.New(t.Context(), openSQLite(t, filepath.Join(t.TempDir(), "c.db")), cache.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// clock is a settable time source: staleness is driven by the test, never
// by sleeping.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// world is one database file with two stores on it: ours (cached) and
// another process's (another *sqlite.Store, as `tessera admin --data`
// would open while the server runs).
type world struct {
	clock  *clock
	cached *cache.Store
	other  *sqlite.Store
	dir    *directory.Service // over the cache, as the server runs it
	elsewh *directory.Service // over the other store
	tenant directory.Tenant
	api    directory.Application
	client directory.Application
	secret string
	cred   directory.Credential
	role   directory.RoleAssignment
}

const maxStale = time.Second

// newWorld sets up a client with a secret and a role on an API. wrap, if
// not nil, stands between the cache and the SQLite store.
func newWorld(t *testing.T, wrap func(*sqlite.Store) store.Store) *world {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "w.db")
	w := &world{clock: &clock{}}
	w.clock.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	var st store.Store = openSQLite(t, path)
	if wrap != nil {
		st = wrap(st.(*sqlite.Store))
	}
	w.other = openSQLite(t, path)
	var err error
	w.cached, err = cache.New(ctx, st, cache.Options{MaxStale: maxStale, Now: w.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	master := make([]byte, 32)
	rand.Read(master)
	keys, err := secrets.New(master)
	if err != nil {
		t.Fatal(err)
	}
	w.dir = directory.NewService(w.cached, keys, directory.Options{})
	w.elsewh = directory.NewService(w.other, keys, directory.Options{})

	w.tenant = must(w.dir.CreateTenant(ctx, directory.TenantSpec{Domain: "cache.example"}))
	w.api = must(w.dir.CreateApplication(ctx, w.tenant.ID, directory.ApplicationSpec{DisplayName: "api",
		IdentifierURIs: []string{"api://cache-api"},
		AppRoles:       []directory.AppRole{{Value: "Reader", Enabled: true}}}))
	must(w.dir.CreateServicePrincipal(ctx, w.tenant.ID, directory.ServicePrincipalSpec{AppID: w.api.AppID}))
	w.client = must(w.dir.CreateApplication(ctx, w.tenant.ID, directory.ApplicationSpec{DisplayName: "client"}))
	must(w.dir.CreateServicePrincipal(ctx, w.tenant.ID, directory.ServicePrincipalSpec{AppID: w.client.AppID}))
	w.cred, w.secret, err = w.dir.AddSecret(ctx, w.tenant.ID, w.client.AppID, directory.SecretSpec{})
	if err != nil {
		t.Fatal(err)
	}
	w.role = must(w.dir.AssignRole(ctx, w.tenant.ID, directory.AssignmentSpec{Principal: w.client.AppID, Resource: w.api.AppID, Role: "Reader"}))
	return w
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// token runs the client-credentials decision as the token endpoint does:
// tenant, secret, resource, roles.
func (w *world) token(ctx context.Context) ([]string, error) {
	t, err := w.dir.ResolveTenant(ctx, "cache.example")
	if err != nil {
		return nil, err
	}
	c, err := w.dir.AuthenticateSecret(ctx, t.ID, w.client.AppID, w.secret)
	if err != nil {
		return nil, err
	}
	g, err := w.dir.AuthorizeClientCredentials(ctx, t.ID, c, "api://cache-api")
	if err != nil {
		return nil, err
	}
	return g.Roles, nil
}

func (w *world) wantRoles(t *testing.T, want ...string) {
	t.Helper()
	got, err := w.token(t.Context())
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("roles %q, want %q", got, want)
	}
}

func (w *world) wantFailure(t *testing.T, target error) {
	t.Helper()
	if _, err := w.token(t.Context()); !errors.Is(err, target) {
		t.Fatalf("token: got %v, want %v", err, target)
	}
}

// A revoked secret, a deleted or disabled service principal, a removed
// role: through this process, the next request sees it, with no poll.
func TestWritesThroughThisProcessInvalidateAtOnce(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name   string
		change func(w *world) error
		want   error // nil: the token is issued, without the role
	}{
		{"RemoveSecret", func(w *world) error {
			return w.dir.RemoveCredential(ctx, w.tenant.ID, w.client.AppID, w.cred.KeyID)
		}, directory.ErrInvalidClient},
		{"DeleteClientServicePrincipal", func(w *world) error {
			return w.dir.DeleteServicePrincipal(ctx, w.tenant.ID, w.client.AppID)
		}, directory.ErrClientDisabled},
		{"DisableClientServicePrincipal", func(w *world) error {
			off := false
			_, err := w.dir.UpdateServicePrincipal(ctx, w.tenant.ID, w.client.AppID, directory.ServicePrincipalPatch{Enabled: &off})
			return err
		}, directory.ErrClientDisabled},
		{"DeleteClientApplication", func(w *world) error {
			return w.dir.DeleteApplication(ctx, w.tenant.ID, w.client.AppID)
		}, directory.ErrInvalidClient},
		{"DeleteResourceServicePrincipal", func(w *world) error {
			return w.dir.DeleteServicePrincipal(ctx, w.tenant.ID, w.api.AppID)
		}, directory.ErrUnknownResource},
		{"RemoveRoleAssignment", func(w *world) error {
			return w.dir.RemoveRoleAssignment(ctx, w.tenant.ID, w.role.ID)
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, nil)
			w.wantRoles(t, "Reader")
			w.wantRoles(t, "Reader") // now from the cache
			if err := tc.change(w); err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				w.wantRoles(t)
			} else {
				w.wantFailure(t, tc.want)
			}
		})
	}
}

// A change made by another process on the same file is seen after the
// next poll; before it, the cache may still answer from memory, but never
// past MaxStale from the last successful poll.
func TestWritesByAnotherProcessSeenAfterPoll(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t, nil)
	w.wantRoles(t, "Reader")
	if err := w.elsewh.RemoveCredential(ctx, w.tenant.ID, w.client.AppID, w.cred.KeyID); err != nil {
		t.Fatal(err)
	}
	// Served from memory: this is what the cache is for, and why the
	// bound below matters.
	w.wantRoles(t, "Reader")
	if err := w.cached.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	w.wantFailure(t, directory.ErrInvalidClient)
}

func TestRoleRemovedByAnotherProcessSeenAfterPoll(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t, nil)
	w.wantRoles(t, "Reader")
	if err := w.elsewh.RemoveRoleAssignment(ctx, w.tenant.ID, w.role.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.cached.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	w.wantRoles(t)
}

// A domain removed stops finding its tenant at once through this process,
// and after the next poll when another process removed it (the domain
// lookup is cached with the tenants).
func TestDomainRemovalReachesTheTenantLookup(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t, nil)
	for _, d := range []string{"one.example", "two.example"} {
		if _, err := w.dir.AddTenantDomain(ctx, w.tenant.ID, d); err != nil {
			t.Fatal(err)
		}
		if got, err := w.dir.ResolveTenant(ctx, d); err != nil || got.ID != w.tenant.ID {
			t.Fatalf("%s: %+v, %v", d, got, err)
		}
	}
	if err := w.dir.RemoveTenantDomain(ctx, w.tenant.ID, "one.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.dir.ResolveTenant(ctx, "one.example"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("a domain removed through the cache still resolves: %v", err)
	}
	if err := w.elsewh.RemoveTenantDomain(ctx, w.tenant.ID, "two.example"); err != nil {
		t.Fatal(err)
	}
	if err := w.cached.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.dir.ResolveTenant(ctx, "two.example"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("a domain removed by another process still resolves after a poll: %v", err)
	}
}

// Without a successful poll, entries stop being served MaxStale after the
// last one started: a stalled poller or an unreachable counter cannot
// keep a removed secret valid.
func TestNoPollNoCacheAfterMaxStale(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t, nil)
	w.wantRoles(t, "Reader")
	if err := w.elsewh.RemoveCredential(ctx, w.tenant.ID, w.client.AppID, w.cred.KeyID); err != nil {
		t.Fatal(err)
	}
	w.clock.advance(maxStale - time.Nanosecond)
	w.wantRoles(t, "Reader")
	w.clock.advance(time.Nanosecond)
	w.wantFailure(t, directory.ErrInvalidClient)
}

// failingVersion is a store whose change counter cannot be read.
type failingVersion struct {
	*sqlite.Store
	fail atomic.Bool
}

func (f *failingVersion) DirectoryVersion(ctx context.Context) (int64, error) {
	if f.fail.Load() {
		return 0, errors.New("counter unreachable")
	}
	return f.Store.DirectoryVersion(ctx)
}

func TestFailedPollKeepsTheDeadline(t *testing.T) {
	ctx := t.Context()
	var fv *failingVersion
	w := newWorld(t, func(s *sqlite.Store) store.Store {
		fv = &failingVersion{Store: s}
		return fv
	})
	w.wantRoles(t, "Reader")
	if err := w.elsewh.RemoveCredential(ctx, w.tenant.ID, w.client.AppID, w.cred.KeyID); err != nil {
		t.Fatal(err)
	}
	fv.fail.Store(true)
	w.clock.advance(maxStale / 2)
	if err := w.cached.Poll(ctx); err == nil {
		t.Fatal("poll succeeded with the counter unreachable")
	}
	w.wantRoles(t, "Reader") // still within the first deadline
	w.clock.advance(maxStale / 2)
	w.wantFailure(t, directory.ErrInvalidClient)
}

// A caller that modifies what it read changes nothing in the cache.
func TestReadsAreCopies(t *testing.T) {
	ctx := t.Context()
	w := newWorld(t, nil)
	a := must(w.cached.GetApplication(ctx, w.tenant.ID, w.api.AppID))
	a.AppRoles[0].Value = "Tampered"
	a.IdentifierURIs[0] = "api://tampered"
	creds := must(w.cached.ListCredentials(ctx, w.tenant.ID, w.client.AppID))
	creds[0].SecretHash[0] ^= 0xff
	b := must(w.cached.GetApplication(ctx, w.tenant.ID, w.api.AppID))
	if b.AppRoles[0].Value != "Reader" || b.IdentifierURIs[0] != "api://cache-api" {
		t.Fatalf("cached application changed by a caller: %+v", b)
	}
	w.wantRoles(t, "Reader")
}

// Every method of directory.Repository is either served from the cache,
// invalidates it, or touches nothing the cache holds. A method added to
// the contract must be sorted here, so that a new write cannot slip past
// the invalidation.
func TestEveryRepositoryMethodIsClassified(t *testing.T) {
	cached := map[string]bool{"GetTenant": true, "GetTenantByDomain": true, "GetApplication": true,
		"GetApplicationByIdentifierURI": true, "GetServicePrincipalByAppID": true, "ListCredentials": true,
		"ListRoleAssignmentsByPrincipal": true, "GetUserEnabled": true}
	invalidating := map[string]bool{"CreateTenant": true, "UpdateTenant": true, "CreateApplication": true,
		"UpdateApplication": true, "DeleteApplication": true, "CreateServicePrincipal": true,
		"UpdateServicePrincipal": true, "DeleteServicePrincipal": true, "AddCredential": true,
		"DeleteCredential": true, "CreateRoleAssignment": true, "DeleteRoleAssignment": true, "UpdateUser": true, "DeleteUser": true,
		"AddTenantDomain": true, "DeleteTenantDomain": true}
	// Uncached reads, and writes to tables the cache does not hold
	// (users, consents, single-use values, address failures: a ban must
	// be read from the database on every sign-in so that every instance
	// sees it at once).
	passThrough := map[string]bool{"ListTenants": true, "ListApplications": true, "GetServicePrincipal": true,
		"ListServicePrincipals": true, "ListRoleAssignmentsByResource": true, "CreateUser": true, "GetUser": true,
		"GetUserByUPN": true, "ListUsers": true, "RecordSignInFailure": true,
		"ResetSignInFailures": true, "ListLockedUsers": true, "PutConsent": true, "ListConsents": true, "DeleteConsent": true,
		"ConsumeOnce": true, "RecordAddressFailure": true, "GetAddressBan": true, "ListAddressBans": true, "DeleteAddressBan": true,
		// The tenant of an application, at /adfs only (not the hot path);
		// a name's failures, like a user's, read fresh on every sign-in.
		"ListTenantDomains": true, "TenantOfApplication": true, "RecordNameFailure": true, "GetNameFailures": true}
	repo := reflect.TypeFor[directory.Repository]()
	for i := range repo.NumMethod() {
		name := repo.Method(i).Name
		if !cached[name] && !invalidating[name] && !passThrough[name] {
			t.Errorf("directory.Repository.%s is new: classify it here, and implement it in the cache if it reads or writes a cached table", name)
		}
	}
}

// gated holds a ListCredentials result between reading it from the store
// and handing it to the cache, so a test can run a write in that window.
type gated struct {
	*sqlite.Store
	armed   atomic.Bool
	read    chan struct{}
	release chan struct{}
}

func (g *gated) ListCredentials(ctx context.Context, tenantID, appID string) ([]directory.Credential, error) {
	cs, err := g.Store.ListCredentials(ctx, tenantID, appID)
	if g.armed.CompareAndSwap(true, false) {
		close(g.read)
		<-g.release
	}
	return cs, err
}

// A read that fetched the credentials before a removal and finishes after
// it must not put them back: the next read sees the removal.
func TestReadInFlightDuringInvalidationIsNotCached(t *testing.T) {
	ctx := t.Context()
	g := &gated{read: make(chan struct{}), release: make(chan struct{})}
	w := newWorld(t, func(s *sqlite.Store) store.Store {
		g.Store = s
		return g
	})
	g.armed.Store(true)
	done := make(chan []directory.Credential)
	go func() {
		cs, _ := w.cached.ListCredentials(ctx, w.tenant.ID, w.client.AppID)
		done <- cs
	}()
	<-g.read // the old list is read, not yet cached
	if err := w.dir.RemoveCredential(ctx, w.tenant.ID, w.client.AppID, w.cred.KeyID); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	if stale := <-done; len(stale) != 1 {
		t.Fatalf("the in-flight read returned %d credentials, want the 1 it read", len(stale))
	}
	if cs := must(w.cached.ListCredentials(ctx, w.tenant.ID, w.client.AppID)); len(cs) != 0 {
		t.Fatalf("after the removal the cache serves %d credentials", len(cs))
	}
	w.wantFailure(t, directory.ErrInvalidClient)
}
