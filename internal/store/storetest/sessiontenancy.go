package storetest

import (
	"errors"
	"testing"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

// The isolation tests of users, consent and the session state, in the
// manner of tenancy.go: two tenants hold the same ids and hashes, their
// contents name their tenant, and each tenant also has ids of its own.

// sessionTwin is what seedSessionTwin stores in a tenant.
type sessionTwin struct {
	user    directory.User
	consent directory.ConsentGrant
	bs      session.BrowserSession
	grant   session.Grant // "grant-1", made in bs
	only    session.Grant // "only-<tenant>"
	rt      session.RefreshToken
	used    session.RefreshToken // rotated, holding a sealed response
	device  session.DeviceCode
	code    session.Code // of grant-1
	assign  directory.RoleAssignment
}

func seedSessionTwin(t *testing.T, s store.Store, tenantID string) sessionTwin {
	t.Helper()
	ctx := t.Context()
	addTenant(t, s, tenantID)
	w := sessionTwin{
		user:    newUser(tenantID, "user-1", t0),
		consent: newConsent(tenantID, "client-1", "api-1", "user-1", t0, "read-"+tenantID),
		bs:      newBrowserSession(tenantID, "bs-1", t0),
		grant:   newGrant(tenantID, "grant-1", "bs-1", t0),
		only:    newGrant(tenantID, "only-"+tenantID, "", t0),
		rt:      newRefreshToken(tenantID, "rt-1", "grant-1", t0),
		used:    newRefreshToken(tenantID, "rt-0", "grant-1", t0),
		device:  newDeviceCode(tenantID, "1", t0),
		code:    newCode(tenantID, "code-1", "grant-1", t0),
		assign:  newAssignment(tenantID, "ra-user-1", "user-1", "sp-1", "role-1", t0),
	}
	// Each tenant's grant-1 ends at another time, so that a grant read
	// from the wrong tenant (to cap a token's expiry) shows.
	w.grant.ExpiresAt = w.grant.ExpiresAt.AddDate(0, 0, int(tenantID[0]))
	w.assign.PrincipalType = directory.PrincipalUser
	must(t, s.CreateUser(ctx, tenantID, w.user))
	must(t, s.CreateRoleAssignment(ctx, tenantID, w.assign))
	must(t, s.PutConsent(ctx, tenantID, w.consent))
	must(t, s.CreateBrowserSession(ctx, tenantID, w.bs))
	must(t, s.CreateGrant(ctx, tenantID, w.grant))
	must(t, s.CreateGrant(ctx, tenantID, w.only))
	must(t, s.CreateRefreshToken(ctx, tenantID, w.rt))
	must(t, s.CreateRefreshToken(ctx, tenantID, w.used))
	_, err := Rotate(ctx, s, tenantID, w.used.Hash, newRefreshToken(tenantID, "rt-0-next", "grant-1", at(1)),
		[]byte("sealed-"+tenantID), at(1), grace, feedExpiry)
	must(t, err)
	w.used.UsedAt, w.used.SuccessorHash, w.used.SuccessorSealed = at(1), hash("rt-0-next"), []byte("sealed-"+tenantID)
	must(t, s.CreateDeviceCode(ctx, tenantID, w.device, 0))
	must(t, s.CreateCode(ctx, tenantID, w.code))
	must(t, s.AppendRevocation(ctx, tenantID, entry(tenantID, session.RevokeToken, "jti-"+tenantID, t0)))
	return w
}

// sessionSnapshot is what a tenant holds of the state above, as the store
// reads it (codes cannot be read without redeeming them: see the end of
// testIsolationSessionWrites).
type sessionSnapshot struct {
	users       []directory.User
	assignments []directory.RoleAssignment
	consents    []directory.ConsentGrant
	bs          session.BrowserSession
	grants      []session.Grant
	tokens      []session.RefreshToken
	device      session.DeviceCode
	feed        []session.Revocation
}

func takeSessionSnapshot(t *testing.T, s store.Store, w sessionTwin) sessionSnapshot {
	t.Helper()
	ctx := t.Context()
	id := w.user.TenantID
	var snap sessionSnapshot
	var err error
	snap.users, err = s.ListUsers(ctx, id)
	must(t, err)
	snap.assignments, err = s.ListRoleAssignmentsByPrincipal(ctx, id, "user-1")
	must(t, err)
	snap.consents, err = s.ListConsents(ctx, id, "client-1", "")
	must(t, err)
	snap.bs, err = s.GetBrowserSession(ctx, id, w.bs.IDHash)
	must(t, err)
	for _, gid := range []string{w.grant.ID, w.only.ID} {
		snap.grants = append(snap.grants, getGrant(t, s, id, gid))
	}
	snap.tokens = []session.RefreshToken{getToken(t, s, id, w.rt.Hash), getToken(t, s, id, w.used.Hash)}
	snap.device, err = s.GetDeviceCodeByUserCode(ctx, id, w.device.UserCodeHash)
	must(t, err)
	snap.feed = feed(t, s, id)
	return snap
}

func testIsolationSessionReads(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := seedSessionTwin(t, s, "a")
	b := seedSessionTwin(t, s, "b")
	for _, w := range []sessionTwin{a, b} {
		id := w.user.TenantID
		u, err := s.GetUser(ctx, id, "user-1")
		must(t, err)
		wantEqual(t, u, w.user)
		u, err = s.GetUserByUPN(ctx, id, w.user.UserPrincipalName)
		must(t, err)
		wantEqual(t, u, w.user)
		consents, err := s.ListConsents(ctx, id, "client-1", "user-1")
		must(t, err)
		wantEqual(t, consents, []directory.ConsentGrant{w.consent})
		_, g, err := s.GetRefreshToken(ctx, id, w.rt.Hash)
		must(t, err)
		wantEqual(t, g, w.grant)
		snap := takeSessionSnapshot(t, s, w)
		wantEqual(t, entries(snap.feed), []session.Revocation{entry(id, session.RevokeToken, "jti-"+id, t0)})
		snap.feed = nil
		wantEqual(t, snap, sessionSnapshot{
			users:       []directory.User{w.user},
			assignments: []directory.RoleAssignment{w.assign},
			consents:    []directory.ConsentGrant{w.consent},
			bs:          w.bs,
			grants:      []session.Grant{w.grant, w.only},
			tokens:      []session.RefreshToken{w.rt, w.used},
			device:      w.device,
		})
	}
	_, err := s.GetGrant(ctx, "a", b.only.ID)
	wantErr(t, err, session.ErrNotFound)
}

// No write in tenant A changes tenant B, on the ids both use or on those
// only B uses; and nothing of A can point at B's rows.
func testIsolationSessionWrites(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := seedSessionTwin(t, s, "a")
	b := seedSessionTwin(t, s, "b")
	before := takeSessionSnapshot(t, s, b)

	// B's own ids, asked for in A.
	wantErr(t, s.RevokeGrant(ctx, "a", b.only.ID, at(1), feedExpiry), session.ErrNotFound)
	wantErr(t, s.UpdateGrantScopes(ctx, "a", b.only.ID, []string{"x"}), session.ErrNotFound)
	wantErr(t, s.CreateCode(ctx, "a", newCode("a", "code-2", b.only.ID, t0)), session.ErrNotFound)
	wantErr(t, s.CreateRefreshToken(ctx, "a", newRefreshToken("a", "rt-2", b.only.ID, t0)), session.ErrNotFound)
	must(t, s.CreateBrowserSession(ctx, "b", newBrowserSession("b", "bs-only-b", t0)))
	wantErr(t, s.CreateGrant(ctx, "a", newGrant("a", "grant-2", "bs-only-b", t0)), session.ErrNotFound)
	_, err := Approve(ctx, s, "a", a.device.UserCodeHash, "user-1", b.only.ID, at(1))
	wantErr(t, err, session.ErrNotFound)
	wantEqual(t, takeSessionSnapshot(t, s, b), before)

	// The shared ids change in A only.
	a.user.DisplayName = "changed in a"
	must(t, s.UpdateUser(ctx, "a", a.user))
	_, err = s.RecordSignInFailure(ctx, "a", "user-1", directory.SignInFailure{At: at(1), Threshold: 1, LockUntil: at(100)})
	must(t, err)
	must(t, s.ResetSignInFailures(ctx, "a", "user-1"))
	must(t, s.PutConsent(ctx, "a", newConsent("a", "client-1", "api-1", "user-1", at(1), "more")))
	must(t, s.DeleteConsent(ctx, "a", "client-1", "api-1", "user-1"))
	must(t, s.UpdateGrantScopes(ctx, "a", "grant-1", []string{"changed"}))
	_, err = Redeem(ctx, s, "a", a.code.Hash, at(1))
	must(t, err)
	_, err = Rotate(ctx, s, "a", a.rt.Hash, newRefreshToken("a", "rt-2", "grant-1", at(2)),
		[]byte("sealed"), at(2), 0, feedExpiry)
	must(t, err)
	_, err = Approve(ctx, s, "a", a.device.UserCodeHash, "user-1", "grant-1", at(3))
	must(t, err)
	_, err = Poll(ctx, s, "a", a.device.Hash, at(4))
	must(t, err)
	wantEqual(t, takeSessionSnapshot(t, s, b), before)

	// Revocations and deletions too.
	_, err = Rotate(ctx, s, "a", a.rt.Hash, newRefreshToken("a", "rt-3", "grant-1", at(5)),
		[]byte("sealed"), at(5), 0, feedExpiry) // a reuse: revokes A's grant-1
	wantErr(t, err, session.ErrUsed)
	revoked, err := s.RevokeBrowserSession(ctx, "a", a.bs.IDHash, at(6), feedExpiry)
	must(t, err)
	wantEqual(t, revoked, []string{}) // grant-1 was revoked by the reuse
	must(t, s.RevokeGrant(ctx, "a", a.only.ID, at(7), feedExpiry))
	must(t, s.RevokeGrantsOf(ctx, "a", "user-1", "", at(8), feedExpiry))
	must(t, s.RevokeGrantsOf(ctx, "a", "", "client-1", at(9), feedExpiry))
	must(t, s.DeleteUser(ctx, "a", "user-1"))
	wantEqual(t, takeSessionSnapshot(t, s, b), before)

	// A grant in B's session, although A's session of the same id ended.
	must(t, s.CreateGrant(ctx, "b", newGrant("b", "grant-2", "bs-1", at(10))))
	wantEqual(t, takeSessionSnapshot(t, s, b), before)

	// B's values still work, and as B's: its code is unredeemed, its
	// tokens rotate and are capped by its own grant, its device code is
	// decided and polled.
	got, err := Redeem(ctx, s, "b", b.code.Hash, at(10))
	must(t, err)
	b.code.RedeemedAt = at(10)
	wantEqual(t, got, b.code)
	_, err = Rotate(ctx, s, "b", b.rt.Hash, newRefreshToken("b", "rt-2", "grant-1", at(10)),
		[]byte("sealed"), at(10), 0, feedExpiry)
	must(t, err)
	long := newRefreshToken("b", "rt-long", "grant-1", at(10))
	long.ExpiresAt = farAhead
	must(t, s.CreateRefreshToken(ctx, "b", long))
	long.ExpiresAt = b.grant.ExpiresAt
	wantEqual(t, getToken(t, s, "b", long.Hash), long)
	decided, err := Approve(ctx, s, "b", b.device.UserCodeHash, "user-1", "grant-1", at(10))
	must(t, err)
	b.device.Status, b.device.UserID, b.device.GrantID = session.DeviceApproved, "user-1", "grant-1"
	wantEqual(t, decided, b.device)
	polled, err := Poll(ctx, s, "b", b.device.Hash, at(11))
	must(t, err)
	wantEqual(t, polled, b.device)

	// A's user code, drawn again in A once its device code has expired,
	// takes over A's expired device code only.
	again := newDeviceCode("a", "2", a.device.ExpiresAt)
	again.UserCodeHash = a.device.UserCodeHash
	must(t, s.CreateDeviceCode(ctx, "a", again, 0))
	got2, err := s.GetDeviceCodeByUserCode(ctx, "b", b.device.UserCodeHash)
	must(t, err)
	b.device.Status, b.device.LastPolledAt = session.DeviceRedeemed, at(11)
	wantEqual(t, got2, b.device)
}

// Users, consents and the session state are created only in tenants that
// exist, and never from a value naming another tenant.
func testSessionObjectsOfAnotherTenant(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := seedSessionTwin(t, s, "a")
	b := seedSessionTwin(t, s, "b")
	before := []sessionSnapshot{takeSessionSnapshot(t, s, a), takeSessionSnapshot(t, s, b)}

	user := a.user
	user.TenantID = "b"
	for name, err := range map[string]error{
		"CreateUser":           s.CreateUser(ctx, "a", newUser("b", "user-9", t0)),
		"UpdateUser":           s.UpdateUser(ctx, "a", user),
		"PutConsent":           s.PutConsent(ctx, "a", newConsent("b", "client-1", "api-1", "user-1", t0, "x")),
		"CreateBrowserSession": s.CreateBrowserSession(ctx, "a", newBrowserSession("b", "bs-9", t0)),
		"CreateGrant":          s.CreateGrant(ctx, "a", newGrant("b", "grant-9", "", t0)),
		"CreateCode":           s.CreateCode(ctx, "a", newCode("b", "code-9", "grant-1", t0)),
		"CreateRefreshToken":   s.CreateRefreshToken(ctx, "a", newRefreshToken("b", "rt-9", "grant-1", t0)),
		"CreateDeviceCode":     s.CreateDeviceCode(ctx, "a", newDeviceCode("b", "9", t0), 0),
		"AppendRevocation":     s.AppendRevocation(ctx, "a", entry("b", session.RevokeToken, "jti-9", t0)),
		"RotateRefreshToken": func() error {
			_, err := Rotate(ctx, s, "a", a.rt.Hash, newRefreshToken("b", "rt-9", "grant-1", at(1)),
				[]byte("x"), at(1), grace, feedExpiry)
			return err
		}(),
	} {
		if err == nil {
			t.Errorf("%s accepted an object of tenant b in tenant a", name)
		}
	}
	wantEqual(t, []sessionSnapshot{takeSessionSnapshot(t, s, a), takeSessionSnapshot(t, s, b)}, before)

	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"CreateUser", s.CreateUser(ctx, "nope", newUser("nope", "user-1", t0)), directory.ErrNotFound},
		{"PutConsent", s.PutConsent(ctx, "nope", newConsent("nope", "client-1", "api-1", "user-1", t0)), directory.ErrNotFound},
		{"CreateBrowserSession", s.CreateBrowserSession(ctx, "nope", newBrowserSession("nope", "bs-1", t0)), session.ErrNotFound},
		{"CreateGrant", s.CreateGrant(ctx, "nope", newGrant("nope", "grant-1", "", t0)), session.ErrNotFound},
		{"CreateDeviceCode", s.CreateDeviceCode(ctx, "nope", newDeviceCode("nope", "1", t0), 0), session.ErrNotFound},
		{"AppendRevocation", s.AppendRevocation(ctx, "nope", entry("nope", session.RevokeToken, "jti", t0)), session.ErrNotFound},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s in a tenant that does not exist: got %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}
