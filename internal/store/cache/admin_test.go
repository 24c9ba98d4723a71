package cache_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

// The admin API decides at every request whether its caller holds the
// admin role now (directory.AdminAuthorityOf). These tests hold that
// decision to the cache's promises: no query once warm, a change made
// here seen at the next request, a change made by another process seen
// after the next poll and never later than MaxStale, and a user's sign-in
// failures flushing nothing.

// counting counts the reads the admin authority check makes of the store.
type counting struct {
	*sqlite.Store
	reads atomic.Int64
}

func (c *counting) GetApplicationByIdentifierURI(ctx context.Context, tenantID, uri string) (directory.Application, error) {
	c.reads.Add(1)
	return c.Store.GetApplicationByIdentifierURI(ctx, tenantID, uri)
}

func (c *counting) GetServicePrincipalByAppID(ctx context.Context, tenantID, appID string) (directory.ServicePrincipal, error) {
	c.reads.Add(1)
	return c.Store.GetServicePrincipalByAppID(ctx, tenantID, appID)
}

func (c *counting) GetUserEnabled(ctx context.Context, tenantID, objectID string) (bool, error) {
	c.reads.Add(1)
	return c.Store.GetUserEnabled(ctx, tenantID, objectID)
}

func (c *counting) ListRoleAssignmentsByPrincipal(ctx context.Context, tenantID, principalID string) ([]directory.RoleAssignment, error) {
	c.reads.Add(1)
	return c.Store.ListRoleAssignmentsByPrincipal(ctx, tenantID, principalID)
}

// adminWorld is a world with an administrator of each kind: the client
// (an app-only token's service principal) and a user signing in through
// it, both holding the admin role.
type adminWorld struct {
	*world
	reads     *counting
	admin     directory.Resource
	clientSP  directory.ServicePrincipal
	user      directory.User
	userRole  directory.RoleAssignment
	appRole   directory.RoleAssignment
	userToken directory.AdminCaller
	appToken  directory.AdminCaller
}

func newAdminWorld(t *testing.T) *adminWorld {
	t.Helper()
	ctx := t.Context()
	cnt := &counting{}
	w := &adminWorld{reads: cnt, world: newWorld(t, func(s *sqlite.Store) store.Store {
		cnt.Store = s
		return cnt
	})}
	tid := w.tenant.ID
	w.admin = must(w.dir.EnsureAdminApplication(ctx, tid))
	w.clientSP = must(w.dir.GetServicePrincipal(ctx, tid, w.client.AppID))
	w.user = must(w.dir.CreateUser(ctx, tid, directory.UserSpec{UserPrincipalName: "ada", Password: "correct horse battery"}))
	spec := directory.AssignmentSpec{Resource: directory.AdminAPIIdentifierURI, Role: directory.AdminRole}
	spec.Principal = w.user.ObjectID
	w.userRole = must(w.dir.AssignRole(ctx, tid, spec))
	spec.Principal = w.client.AppID
	w.appRole = must(w.dir.AssignRole(ctx, tid, spec))
	w.userToken = directory.AdminCaller{TenantID: tid, ObjectID: w.user.ObjectID, ClientID: w.client.AppID, Audience: w.admin.App.AppID}
	w.appToken = directory.AdminCaller{TenantID: tid, ObjectID: w.clientSP.ObjectID, ClientID: w.client.AppID, App: true, Audience: w.admin.App.AppID}
	// The set-up's own writes moved the version: learn it now, so that
	// the tests' polls flush only for what the tests change.
	if err := w.cached.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

// want checks the decision for c: "" for authority held, else the reason.
func (w *adminWorld) want(t *testing.T, c directory.AdminCaller, refused string) {
	t.Helper()
	got, err := w.dir.AdminAuthorityOf(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	if got.Held != (refused == "") || got.Refused != refused {
		t.Fatalf("authority %+v, want refused %q", got, refused)
	}
}

// Once warm, deciding costs no query, for a user's token as for an app's.
func TestAdminAuthorityWarmCostsNoQuery(t *testing.T) {
	w := newAdminWorld(t)
	w.want(t, w.userToken, "")
	w.want(t, w.appToken, "")
	before := w.reads.reads.Load()
	for range 50 {
		w.want(t, w.userToken, "")
		w.want(t, w.appToken, "")
	}
	if n := w.reads.reads.Load() - before; n != 0 {
		t.Fatalf("100 warm decisions read the store %d times, want 0", n)
	}
}

// Through this process, a change is seen by the next decision, no poll.
func TestAdminAuthorityChangesHereSeenAtOnce(t *testing.T) {
	ctx := t.Context()
	off := false
	for _, tc := range []struct {
		name    string
		change  func(w *adminWorld) error
		caller  func(w *adminWorld) directory.AdminCaller
		refused string
	}{
		{"UserDisabled", func(w *adminWorld) error {
			_, err := w.dir.SetUserEnabled(ctx, w.tenant.ID, w.user.ObjectID, false)
			return err
		}, (*adminWorld).user1, directory.AdminRefusedPrincipalDisabled},
		{"UserDeleted", func(w *adminWorld) error {
			return w.dir.DeleteUser(ctx, w.tenant.ID, w.user.ObjectID)
		}, (*adminWorld).user1, directory.AdminRefusedPrincipalMissing},
		{"UserRoleRemoved", func(w *adminWorld) error {
			return w.dir.RemoveRoleAssignment(ctx, w.tenant.ID, w.userRole.ID)
		}, (*adminWorld).user1, directory.AdminRefusedNotAdmin},
		{"UsersClientDisabled", func(w *adminWorld) error {
			_, err := w.dir.UpdateServicePrincipal(ctx, w.tenant.ID, w.client.AppID, directory.ServicePrincipalPatch{Enabled: &off})
			return err
		}, (*adminWorld).user1, directory.AdminRefusedClientDisabled},
		{"ServicePrincipalDisabled", func(w *adminWorld) error {
			_, err := w.dir.UpdateServicePrincipal(ctx, w.tenant.ID, w.client.AppID, directory.ServicePrincipalPatch{Enabled: &off})
			return err
		}, (*adminWorld).app1, directory.AdminRefusedPrincipalDisabled},
		{"ServicePrincipalDeleted", func(w *adminWorld) error {
			return w.dir.DeleteServicePrincipal(ctx, w.tenant.ID, w.client.AppID)
		}, (*adminWorld).app1, directory.AdminRefusedPrincipalMissing},
		{"AppRoleRemoved", func(w *adminWorld) error {
			return w.dir.RemoveRoleAssignment(ctx, w.tenant.ID, w.appRole.ID)
		}, (*adminWorld).app1, directory.AdminRefusedNotAdmin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newAdminWorld(t)
			w.want(t, tc.caller(w), "")
			w.want(t, tc.caller(w), "") // from the cache
			if err := tc.change(w); err != nil {
				t.Fatal(err)
			}
			w.want(t, tc.caller(w), tc.refused)
		})
	}
}

func (w *adminWorld) user1() directory.AdminCaller { return w.userToken }
func (w *adminWorld) app1() directory.AdminCaller  { return w.appToken }

// By another process (another instance, `tessera admin --data`): the
// cache may answer from memory until its next poll, never past MaxStale.
func TestAdminAuthorityChangesElsewhereSeenAfterPoll(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name    string
		change  func(w *adminWorld) error
		refused string
	}{
		{"UserDisabled", func(w *adminWorld) error {
			_, err := w.elsewh.SetUserEnabled(ctx, w.tenant.ID, w.user.ObjectID, false)
			return err
		}, directory.AdminRefusedPrincipalDisabled},
		{"UserDeleted", func(w *adminWorld) error {
			return w.elsewh.DeleteUser(ctx, w.tenant.ID, w.user.ObjectID)
		}, directory.AdminRefusedPrincipalMissing},
		{"RoleRemoved", func(w *adminWorld) error {
			return w.elsewh.RemoveRoleAssignment(ctx, w.tenant.ID, w.userRole.ID)
		}, directory.AdminRefusedNotAdmin},
	} {
		t.Run(tc.name+"/Poll", func(t *testing.T) {
			w := newAdminWorld(t)
			w.want(t, w.userToken, "")
			if err := tc.change(w); err != nil {
				t.Fatal(err)
			}
			w.want(t, w.userToken, "") // from memory: the bound below is what matters
			if err := w.cached.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			w.want(t, w.userToken, tc.refused)
		})
		t.Run(tc.name+"/MaxStale", func(t *testing.T) {
			w := newAdminWorld(t)
			w.want(t, w.userToken, "")
			if err := tc.change(w); err != nil {
				t.Fatal(err)
			}
			w.clock.advance(maxStale - time.Nanosecond)
			w.want(t, w.userToken, "")
			w.clock.advance(time.Nanosecond)
			w.want(t, w.userToken, tc.refused)
		})
	}
}

// A user's failed sign-ins (written at every wrong password, on any
// instance) and their reset flush nothing: the next decision is still
// served from memory after a poll.
func TestSignInFailuresFlushNothing(t *testing.T) {
	ctx := t.Context()
	w := newAdminWorld(t)
	w.want(t, w.userToken, "")
	for range 3 {
		if _, err := w.elsewh.AuthenticateUser(ctx, w.tenant.ID, "ada", "wrong password!"); err == nil {
			t.Fatal("a wrong password signed in")
		}
	}
	if _, err := w.elsewh.AuthenticateUser(ctx, w.tenant.ID, "ada", "correct horse battery"); err != nil {
		// The slowdown after three failures may refuse at once; the
		// failures were counted either way.
		t.Logf("sign-in after failures: %v", err)
	}
	if err := w.cached.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	before := w.reads.reads.Load()
	w.want(t, w.userToken, "")
	if n := w.reads.reads.Load() - before; n != 0 {
		t.Fatalf("after sign-in failures elsewhere and a poll, the decision read the store %d times, want 0", n)
	}
}
