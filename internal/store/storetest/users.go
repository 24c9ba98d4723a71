package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/store"
)

func testUserRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	u := newUser("a", "user-1", t0)
	must(t, s.CreateUser(ctx, "a", u))
	got, err := s.GetUser(ctx, "a", "user-1")
	must(t, err)
	wantEqual(t, got, u)

	// The name keeps the case it was written with, and matches in any.
	for _, upn := range []string{u.UserPrincipalName, strings.ToLower(u.UserPrincipalName), strings.ToUpper(u.UserPrincipalName)} {
		got, err := s.GetUserByUPN(ctx, "a", upn)
		must(t, err)
		wantEqual(t, got, u)
	}

	// Listed by creation time, then id.
	later := newUser("a", "user-0", at(1))
	sameTime := newUser("a", "user-2", t0)
	must(t, s.CreateUser(ctx, "a", later))
	must(t, s.CreateUser(ctx, "a", sameTime))
	list, err := s.ListUsers(ctx, "a")
	must(t, err)
	wantEqual(t, list, []directory.User{u, sameTime, later})

	// An update replaces every field, the name included, but the
	// brute-force state: that changes only through RecordSignInFailure and
	// ResetSignInFailures, so an update from a copy read before a failure
	// was counted (an administrator's edit, a rehash at sign-in, on any
	// instance) cannot erase it.
	upd := u
	upd.UserPrincipalName = "Renamed@Contoso.Example"
	upd.DisplayName, upd.Mail, upd.MailVerified, upd.Enabled, upd.PasswordHash = "Renamed", "", false, false, ""
	upd.FailedSignIns, upd.LastFailureAt, upd.LockedUntil = 0, time.Time{}, time.Time{}
	upd.CreatedAt, upd.UpdatedAt = at(-5), at(9)
	must(t, s.UpdateUser(ctx, "a", upd))
	got, err = s.GetUser(ctx, "a", "user-1")
	must(t, err)
	upd.FailedSignIns, upd.LastFailureAt, upd.LockedUntil = u.FailedSignIns, u.LastFailureAt, u.LockedUntil
	wantEqual(t, got, upd)
	got, err = s.GetUserByUPN(ctx, "a", "renamed@contoso.example")
	must(t, err)
	wantEqual(t, got, upd)
	_, err = s.GetUserByUPN(ctx, "a", u.UserPrincipalName)
	wantErr(t, err, directory.ErrNotFound)

	// The old name is free again; a deleted user is gone.
	again := newUser("a", "user-9", at(2))
	again.UserPrincipalName = strings.ToUpper(u.UserPrincipalName)
	must(t, s.CreateUser(ctx, "a", again))
	must(t, s.DeleteUser(ctx, "a", "user-9"))
	_, err = s.GetUser(ctx, "a", "user-9")
	wantErr(t, err, directory.ErrNotFound)

	// A user written without its TenantID is stored under the call's.
	noTenant := newUser("", "user-3", at(3))
	must(t, s.CreateUser(ctx, "a", noTenant))
	got, err = s.GetUser(ctx, "a", "user-3")
	must(t, err)
	noTenant.TenantID = "a"
	wantEqual(t, got, noTenant)
}

func testUserErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetUser(ctx, "a", "user-1")
	wantErr(t, err, directory.ErrNotFound)
	_, err = s.GetUserByUPN(ctx, "a", "user-1@contoso.example")
	wantErr(t, err, directory.ErrNotFound)
	wantErr(t, s.CreateUser(ctx, "a", newUser("a", "user-1", t0)), directory.ErrNotFound) // no tenant yet

	addTenant(t, s, "a")
	u1 := newUser("a", "user-1", t0)
	u2 := newUser("a", "user-2", at(1))
	must(t, s.CreateUser(ctx, "a", u1))
	must(t, s.CreateUser(ctx, "a", u2))

	sameID := newUser("a", "user-1", t0)
	sameID.UserPrincipalName = "other@contoso.example"
	wantErr(t, s.CreateUser(ctx, "a", sameID), directory.ErrConflict)
	sameName := newUser("a", "user-3", t0)
	sameName.UserPrincipalName = strings.ToUpper(u1.UserPrincipalName)
	wantErr(t, s.CreateUser(ctx, "a", sameName), directory.ErrConflict)

	taken := u2
	taken.UserPrincipalName = strings.ToLower(u1.UserPrincipalName)
	wantErr(t, s.UpdateUser(ctx, "a", taken), directory.ErrConflict)
	wantErr(t, s.UpdateUser(ctx, "a", newUser("a", "user-9", t0)), directory.ErrNotFound)
	wantErr(t, s.DeleteUser(ctx, "a", "user-9"), directory.ErrNotFound)
	_, err = s.RecordSignInFailure(ctx, "a", "user-9", directory.SignInFailure{At: at(1), Threshold: 3, LockUntil: at(100)})
	wantErr(t, err, directory.ErrNotFound)
	wantErr(t, s.ResetSignInFailures(ctx, "a", "user-9"), directory.ErrNotFound)

	// Nothing failed left a trace.
	list, err := s.ListUsers(ctx, "a")
	must(t, err)
	wantEqual(t, list, []directory.User{u1, u2})
}

// Deleting a user removes the role assignments it holds and the consents
// it gave, and nothing of other principals.
func testDeleteUserCascades(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	must(t, s.CreateUser(ctx, "a", newUser("a", "user-1", t0)))
	u2 := newUser("a", "user-2", t0)
	must(t, s.CreateUser(ctx, "a", u2))
	mine := newAssignment("a", "ra-1", "user-1", "sp-api", "role-1", t0)
	mine.PrincipalType = directory.PrincipalUser
	theirs := newAssignment("a", "ra-2", "user-2", "sp-api", "role-1", t0)
	theirs.PrincipalType = directory.PrincipalUser
	for _, ra := range []directory.RoleAssignment{mine, theirs} {
		must(t, s.CreateRoleAssignment(ctx, "a", ra))
	}
	theirConsent := newConsent("a", "client-1", "api-1", "user-2", at(1), "read")
	admin := newConsent("a", "client-1", "api-1", directory.AllPrincipals, at(2), "read")
	for _, c := range []directory.ConsentGrant{
		newConsent("a", "client-1", "api-1", "user-1", t0, "read"),
		newConsent("a", "client-2", "api-1", "user-1", t0, "write"),
		theirConsent, admin,
	} {
		must(t, s.PutConsent(ctx, "a", c))
	}

	must(t, s.DeleteUser(ctx, "a", "user-1"))

	ras, err := s.ListRoleAssignmentsByResource(ctx, "a", "sp-api")
	must(t, err)
	wantEqual(t, ras, []directory.RoleAssignment{theirs})
	consents, err := s.ListConsents(ctx, "a", "client-1", "")
	must(t, err)
	wantEqual(t, consents, []directory.ConsentGrant{theirConsent, admin})
	consents, err = s.ListConsents(ctx, "a", "client-2", "")
	must(t, err)
	wantEqual(t, consents, []directory.ConsentGrant{})
	users, err := s.ListUsers(ctx, "a")
	must(t, err)
	wantEqual(t, users, []directory.User{u2})
}

// RecordSignInFailure counts, locks at and after the threshold, never
// shortens a lock, and leaves the rest of the user alone.
func testSignInFailures(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	u := newUser("a", "user-1", t0)
	u.FailedSignIns, u.LastFailureAt, u.LockedUntil = 0, time.Time{}, time.Time{}
	must(t, s.CreateUser(ctx, "a", u))

	want := u
	record := func(i int, lockUntil time.Time) {
		t.Helper()
		got, err := s.RecordSignInFailure(ctx, "a", "user-1", directory.SignInFailure{At: at(i), Threshold: 3, LockUntil: lockUntil})
		must(t, err)
		want.FailedSignIns++
		want.LastFailureAt = at(i)
		wantEqual(t, got, want)
	}
	record(1, at(101))
	record(2, at(102))
	want.LockedUntil = at(103) // the third failure reaches the threshold
	record(3, at(103))
	want.LockedUntil = at(104) // a failure past it locks again
	record(4, at(104))
	record(5, at(50)) // an earlier lockUntil does not shorten the lock
	got, err := s.GetUser(ctx, "a", "user-1")
	must(t, err)
	wantEqual(t, got, want)

	// A reset clears count and lock; when the last failure was stays.
	must(t, s.ResetSignInFailures(ctx, "a", "user-1"))
	want.FailedSignIns, want.LockedUntil = 0, time.Time{}
	got, err = s.GetUser(ctx, "a", "user-1")
	must(t, err)
	wantEqual(t, got, want)

	// A threshold of zero or less never locks.
	for i := range 3 {
		got, err = s.RecordSignInFailure(ctx, "a", "user-1", directory.SignInFailure{At: at(10 + i), Threshold: 0, LockUntil: at(200)})
		must(t, err)
	}
	want.FailedSignIns, want.LastFailureAt = 3, at(12)
	wantEqual(t, got, want)
}

// GetUserEnabled reads what the stored user says, in its tenant only, and
// ErrNotFound for a user that is not (or no longer) there.
func testUserEnabled(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	addTenant(t, s, "b")
	u := newUser("a", "user-1", t0)
	must(t, s.CreateUser(ctx, "a", u))
	off := newUser("a", "user-2", t0)
	off.Enabled = false
	must(t, s.CreateUser(ctx, "a", off))

	enabled, err := s.GetUserEnabled(ctx, "a", "user-1")
	must(t, err)
	wantEqual(t, enabled, true)
	enabled, err = s.GetUserEnabled(ctx, "a", "user-2")
	must(t, err)
	wantEqual(t, enabled, false)
	_, err = s.GetUserEnabled(ctx, "b", "user-1")
	wantErr(t, err, directory.ErrNotFound)

	u.Enabled = false
	must(t, s.UpdateUser(ctx, "a", u))
	enabled, err = s.GetUserEnabled(ctx, "a", "user-1")
	must(t, err)
	wantEqual(t, enabled, false)

	must(t, s.DeleteUser(ctx, "a", "user-1"))
	_, err = s.GetUserEnabled(ctx, "a", "user-1")
	wantErr(t, err, directory.ErrNotFound)
}
