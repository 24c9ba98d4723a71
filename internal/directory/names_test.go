package directory_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// outcome is what a caller can see of a sign-in attempt: the kind of
// error and, for a refusal, how long after the attempt it holds.
func outcome(err error, now time.Time) string {
	var le *directory.LockedError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, directory.ErrInvalidCredentials):
		return "invalid"
	case errors.As(err, &le):
		return fmt.Sprintf("locked=%v address=%v for %v", le.Locked, le.Address, le.Until.Sub(now))
	default:
		return "error: " + err.Error()
	}
}

// An unknown name and an existing one with wrong passwords are one
// schedule, attempt for attempt: the same answers, the same waits, the
// same lock, each attempt costing one hash; and after FailureMemory
// without a failure both start again (OWASP ASVS 2.2.1; the review's M2).
func TestUnknownNamesAreSlowedAndLockedAsUsersAre(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.dir.SetTenantPolicy(ctx, e.tenant.ID, directory.TenantPolicy{LockoutThreshold: 6, LockoutDuration: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "alice", Password: pw}); err != nil {
		t.Fatal(err)
	}
	// nopw exists but has no password: it signs in as no one, as an
	// unknown name.
	if _, err := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "nopw"}); err != nil {
		t.Fatal(err)
	}
	slots := e.dir.HashSlots()
	names := []string{"alice", "nobody", "nopw@contoso"}
	// Attempts at these offsets (seconds): bursts inside the waits,
	// others after them, through the lock and past it.
	steps := []int{0, 0, 0, 0, 1, 1, 3, 3, 7, 7, 15, 20, 3600, 3600 + 1, 3600 + 2, 3600 + 3}
	start := e.now
	schedule := map[string][]string{}
	for _, name := range names {
		for i, off := range steps {
			e.now = start.Add(time.Duration(off) * time.Second)
			before := slots.Taken()
			_, err := e.dir.AuthenticateUser(ctx, e.tenant.ID, name, fmt.Sprintf("wrong password %d", i))
			if n := slots.Taken() - before; n != 1 {
				t.Errorf("%s attempt %d (%s) took %d hashes, want 1", name, i, outcome(err, e.now), n)
			}
			schedule[name] = append(schedule[name], outcome(err, e.now))
		}
		// A day later, each name starts again.
		e.now = start.Add(3600*time.Second + 2*directory.FailureMemory)
		for i := range 3 {
			_, err := e.dir.AuthenticateUser(ctx, e.tenant.ID, name, "wrong password again")
			schedule[name] = append(schedule[name], fmt.Sprintf("day2 %d: %s", i, outcome(err, e.now)))
		}
	}
	want := strings.Join(schedule["alice"], "\n")
	if !strings.Contains(want, "locked=true") || !strings.Contains(want, "locked=false") || !strings.Contains(want, "invalid") {
		t.Fatalf("the schedule of an existing name never slowed down or locked:\n%s", want)
	}
	for _, name := range names[1:] {
		if got := strings.Join(schedule[name], "\n"); got != want {
			t.Errorf("%s's schedule differs from an existing name's:\n%s\n--- want ---\n%s", name, got, want)
		}
	}
}

// The dummy hash a Service verifies is made with its own parameters, not
// with those of whichever Service asked first.
func TestDummyHashHasTheServicesParameters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cheap := e.dir.WithPasswordParams(directory.PasswordParams{Memory: 1024, Time: 1, Threads: 1})
	dear := e.dir.WithPasswordParams(directory.PasswordParams{Memory: 8 * 1024, Time: 3, Threads: 1})
	for _, d := range []*directory.Service{cheap, dear} {
		if _, err := d.AuthenticateUser(ctx, e.tenant.ID, "nobody", "some password"); !errors.Is(err, directory.ErrInvalidCredentials) {
			t.Fatal(err)
		}
	}
	if got := directory.DummyHashOf(cheap); !strings.HasPrefix(got, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Errorf("cheap service's dummy hash %q", got)
	}
	if got := directory.DummyHashOf(dear); !strings.HasPrefix(got, "$argon2id$v=19$m=8192,t=3,p=1$") {
		t.Errorf("dear service's dummy hash %q", got)
	}
}

// A user's name must be in a domain of its tenant; domains belong to one
// tenant; a user named outside them (from before the rule) cannot sign in
// until renamed, and only after the right password is that said.
func TestUserNamesAreBoundToTheirTenantsDomains(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b, err := e.dir.CreateTenant(ctx, directory.TenantSpec{Domain: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	for _, upn := range []string{"alice@contoso", "ALICE@Contoso", "alice@nowhere.example"} {
		if _, err := e.dir.CreateUser(ctx, b.ID, directory.UserSpec{UserPrincipalName: upn, Password: pw}); !errors.Is(err, directory.ErrInvalid) ||
			!strings.Contains(err.Error(), "not a domain of this tenant (its domains: fabrikam)") {
			t.Errorf("tenant fabrikam creating %s: %v", upn, err)
		}
	}
	// A domain added to b is b's; a's own or added domains are not b's to add.
	if _, err := e.dir.AddTenantDomain(ctx, b.ID, "Fabrikam.Example"); err != nil {
		t.Fatal(err)
	}
	u, err := e.dir.CreateUser(ctx, b.ID, directory.UserSpec{UserPrincipalName: "bob@fabrikam.example", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"contoso", "FABRIKAM.example"} {
		if _, err := e.dir.AddTenantDomain(ctx, e.tenant.ID, d); !errors.Is(err, directory.ErrConflict) {
			t.Errorf("adding %s to contoso: %v, want a conflict", d, err)
		}
	}
	for _, d := range []string{"common", "adfs", "not a domain", "11111111-1111-1111-1111-111111111111"} {
		if _, err := e.dir.AddTenantDomain(ctx, b.ID, d); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("adding %q: %v, want invalid", d, err)
		}
	}
	if _, err := e.dir.CreateTenant(ctx, directory.TenantSpec{Domain: "fabrikam.example"}); !errors.Is(err, directory.ErrConflict) {
		t.Errorf("a tenant named by fabrikam's domain: %v, want a conflict", err)
	}
	if err := e.dir.RemoveTenantDomain(ctx, b.ID, "fabrikam.example"); !errors.Is(err, directory.ErrInvalid) || !strings.Contains(err.Error(), "bob@fabrikam.example") {
		t.Errorf("removing a domain users are named in: %v", err)
	}
	if err := e.dir.RemoveTenantDomain(ctx, b.ID, "fabrikam"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("removing the tenant's own domain: %v", err)
	}
	// Renamed out of it, the domain can go.
	renamed, err := e.dir.UpdateUser(ctx, b.ID, u.ObjectID, directory.UserPatch{UserPrincipalName: ptr("bob")})
	if err != nil || renamed.UserPrincipalName != "bob@fabrikam" || renamed.ObjectID != u.ObjectID {
		t.Fatalf("rename: %+v, %v", renamed, err)
	}
	if _, err := e.dir.UpdateUser(ctx, b.ID, u.ObjectID, directory.UserPatch{UserPrincipalName: ptr("bob@contoso")}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("renaming into another tenant's domain: %v", err)
	}
	if err := e.dir.RemoveTenantDomain(ctx, b.ID, "fabrikam.example"); err != nil {
		t.Fatal(err)
	}

	// A user from before the rule, named in contoso's domain in tenant b.
	legacy := directory.User{TenantID: b.ID, ObjectID: "0b0b0b0b-0000-4000-8000-000000000001", UserPrincipalName: "alice@contoso",
		Enabled: true, CreatedAt: e.now, UpdatedAt: e.now}
	if legacy.PasswordHash, err = directory.HashPassword(rand.Reader, pw, directory.PasswordParams{Memory: 1024, Time: 1, Threads: 1}); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.Repository().CreateUser(ctx, b.ID, legacy); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.AuthenticateUser(ctx, b.ID, "alice@contoso", "wrong password!!"); !errors.Is(err, directory.ErrInvalidCredentials) {
		t.Errorf("legacy user, wrong password: %v", err)
	}
	if _, err := e.dir.AuthenticateUser(ctx, b.ID, "alice@contoso", pw); !errors.Is(err, directory.ErrNameNotBound) || !errors.Is(err, directory.ErrUserDisabled) {
		t.Errorf("legacy user, right password: %v, want ErrNameNotBound", err)
	}
	if err := e.dir.CheckNameBound(ctx, legacy); !errors.Is(err, directory.ErrNameNotBound) {
		t.Errorf("CheckNameBound(legacy): %v", err)
	}
	if _, err := e.dir.UpdateUser(ctx, b.ID, legacy.ObjectID, directory.UserPatch{UserPrincipalName: ptr("alice")}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.dir.AuthenticateUser(ctx, b.ID, "alice@fabrikam", pw); err != nil || got.ObjectID != legacy.ObjectID {
		t.Errorf("renamed legacy user: %v", err)
	}
}

// Mail is verified only by an administrator; a new address is not.
func TestMailIsVerifiedByAnAdministrator(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u, err := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "alice", Mail: "alice@mail.example", MailVerified: true})
	if err != nil || !u.MailVerified {
		t.Fatalf("%+v, %v", u, err)
	}
	u, err = e.dir.UpdateUser(ctx, e.tenant.ID, "alice", directory.UserPatch{Mail: ptr("alice@other.example")})
	if err != nil || u.Mail != "alice@other.example" || u.MailVerified {
		t.Fatalf("new mail: %+v, %v", u, err)
	}
	if _, err := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "bob", MailVerified: true}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("verified without a mail: %v", err)
	}
}

// Application ids: the well-known ones are the built-in applications'
// only, any other belongs to one tenant, and finds it.
func TestApplicationIDsBelongToOneTenant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b, err := e.dir.CreateTenantWithAdmin(ctx, directory.TenantSpec{Domain: "fabrikam"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{directory.CLIClientID, strings.ToUpper(directory.ManagementAppID)} {
		if _, err := e.dir.CreateApplication(ctx, e.tenant.ID, directory.ApplicationSpec{AppID: id, DisplayName: "mine"}); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("choosing the well-known id %s: %v", id, err)
		}
		if _, ok, err := e.dir.TenantOfApplication(ctx, id); ok || err != nil {
			t.Errorf("the tenant of %s was found: %v", id, err)
		}
	}
	app, err := e.dir.CreateApplication(ctx, e.tenant.ID, directory.ApplicationSpec{DisplayName: "pub", PublicClient: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.CreateApplication(ctx, b.ID, directory.ApplicationSpec{AppID: strings.ToUpper(app.AppID), DisplayName: "squat"}); !errors.Is(err, directory.ErrConflict) {
		t.Errorf("fabrikam registering contoso's client id: %v, want a conflict", err)
	}
	got, ok, err := e.dir.TenantOfApplication(ctx, strings.ToUpper(app.AppID))
	if err != nil || !ok || got.ID != e.tenant.ID {
		t.Errorf("tenant of %s: %+v %v %v", app.AppID, got, ok, err)
	}
}

func ptr[T any](v T) *T { return &v }
