package directory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

type revocations struct{ users, clients []string }

func (r *revocations) RevokeUser(_ context.Context, _, id string) error {
	r.users = append(r.users, id)
	return nil
}

func (r *revocations) RevokeClient(_ context.Context, _, id string) error {
	r.clients = append(r.clients, id)
	return nil
}

const pw = "correct horse battery staple"

func TestUserPasswordsAreArgon2idAndUpgradeOnSignIn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u, err := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "Alice", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	if u.UserPrincipalName != "alice@contoso" || !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("upn %q hash %q", u.UserPrincipalName, u.PasswordHash)
	}
	if _, err := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "ALICE@contoso", Password: pw}); !errors.Is(err, directory.ErrConflict) {
		t.Errorf("second alice: %v, want ErrConflict", err)
	}
	if _, err := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "bob", Password: "short"}); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("short password: %v, want ErrInvalid", err)
	}
	got, err := e.dir.AuthenticateUser(ctx, e.tenant.ID, "alice", pw)
	if err != nil || got.ObjectID != u.ObjectID {
		t.Fatalf("sign-in with the bare name: %v", err)
	}

	// Raised parameters: the next successful sign-in stores a new hash.
	stronger := e.dir.WithPasswordParams(directory.PasswordParams{Memory: 32 * 1024, Time: 3, Threads: 1})
	if _, err := stronger.AuthenticateUser(ctx, e.tenant.ID, "alice@contoso", pw); err != nil {
		t.Fatal(err)
	}
	after, _ := e.dir.GetUser(ctx, e.tenant.ID, u.ObjectID)
	if !strings.HasPrefix(after.PasswordHash, "$argon2id$v=19$m=32768,t=3,p=1$") {
		t.Errorf("hash not upgraded: %q", after.PasswordHash)
	}
}

func TestSignInFailuresSlowDownThenLock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u, _ := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "alice", Password: pw})

	// Unknown user and wrong password are the same error.
	_, errUnknown := e.dir.AuthenticateUser(ctx, e.tenant.ID, "mallory", pw)
	_, errWrong := e.dir.AuthenticateUser(ctx, e.tenant.ID, "alice", "wrong password!!")
	if !errors.Is(errUnknown, directory.ErrInvalidCredentials) || !errors.Is(errWrong, directory.ErrInvalidCredentials) {
		t.Fatalf("unknown: %v, wrong: %v", errUnknown, errWrong)
	}
	for i := 2; i <= directory.SlowdownAfter; i++ {
		e.now = e.now.Add(time.Minute)
		e.dir.AuthenticateUser(ctx, e.tenant.ID, "alice", "wrong password!!")
	}
	// Right away, even the right password must wait: no password is tried.
	_, err := e.dir.AuthenticateUser(ctx, e.tenant.ID, "alice", pw)
	var le *directory.LockedError
	if !errors.As(err, &le) || le.Locked || !le.Until.After(e.now) {
		t.Fatalf("after %d failures: %v, want a slow-down", directory.SlowdownAfter, err)
	}
	// Keep failing, each after its delay, until the account locks.
	var locked bool
	for i := 0; i < directory.DefaultLockoutThreshold && !locked; i++ {
		e.now = e.now.Add(2 * time.Minute)
		_, err = e.dir.AuthenticateUser(ctx, e.tenant.ID, "alice", "wrong password!!")
		locked = errors.As(err, &le) && le.Locked
	}
	if !locked || !le.Until.Equal(e.now.Add(directory.DefaultLockoutDuration)) {
		t.Fatalf("never locked, or locked until %v: %v", le, err)
	}
	if _, err := e.dir.AuthenticateUser(ctx, e.tenant.ID, "alice", pw); !errors.As(err, &le) || !le.Locked {
		t.Errorf("right password while locked: %v", err)
	}
	e.now = e.now.Add(directory.DefaultLockoutDuration + time.Second)
	if _, err := e.dir.AuthenticateUser(ctx, e.tenant.ID, "alice", pw); err != nil {
		t.Errorf("right password after the lock: %v", err)
	}
	again, _ := e.dir.GetUser(ctx, e.tenant.ID, u.ObjectID)
	if again.FailedSignIns != 0 || !again.LockedUntil.IsZero() {
		t.Errorf("a successful sign-in left failures %d, lock %v", again.FailedSignIns, again.LockedUntil)
	}
}

func TestDisablingAndDeletingRevoke(t *testing.T) {
	r := &revocations{}
	e := newEnvWith(t, func(o *directory.Options) { o.Revoker = r })
	ctx := context.Background()
	u, _ := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "alice", Password: pw})
	if _, err := e.dir.SetUserEnabled(ctx, e.tenant.ID, "alice", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.AuthenticateUser(ctx, e.tenant.ID, "alice", pw); !errors.Is(err, directory.ErrUserDisabled) {
		t.Errorf("disabled user signs in: %v", err)
	}
	if _, err := e.dir.AuthenticateUser(ctx, e.tenant.ID, "alice", "wrong password!!"); !errors.Is(err, directory.ErrInvalidCredentials) {
		t.Errorf("a disabled user with a wrong password learns it is disabled: %v", err)
	}
	app := e.app(t, directory.ApplicationSpec{DisplayName: "client"}, true)
	cred, _, _ := e.dir.AddSecret(ctx, e.tenant.ID, app.AppID, directory.SecretSpec{})
	e.dir.RemoveCredential(ctx, e.tenant.ID, app.AppID, cred.KeyID)
	e.dir.DeleteUser(ctx, e.tenant.ID, u.ObjectID)
	if len(r.users) != 2 || r.users[0] != u.ObjectID || len(r.clients) != 1 || r.clients[0] != app.AppID {
		t.Errorf("revocations %+v", r)
	}
	if _, err := e.dir.GetUser(ctx, e.tenant.ID, "alice"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("deleted user: %v", err)
	}
}

func TestScopesAndConsent(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	api := e.app(t, directory.ApplicationSpec{DisplayName: "api", IdentifierURIs: []string{"api://studies"},
		Scopes: []directory.Scope{{Value: "read", Enabled: true}, {Value: "write", Enabled: true}, {Value: "default", Enabled: true}}}, true)
	other := e.app(t, directory.ApplicationSpec{DisplayName: "other", Scopes: []directory.Scope{{Value: "x", Enabled: true}}}, true)
	client := e.app(t, directory.ApplicationSpec{DisplayName: "client", PublicClient: true}, true)
	user, _ := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "alice", Password: pw})

	q, err := e.dir.ParseScopes(ctx, e.tenant.ID, "openid offline_access api://studies/read "+other.AppID+"/.default openid", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(q.OIDC, " ") != "openid offline_access" || len(q.Resources) != 2 || q.Resources[0].Resource.App.AppID != api.AppID || !q.Resources[1].Default {
		t.Fatalf("parsed %+v", q)
	}
	for _, bad := range []string{"api://studies/delete", "User.Read", "api://nowhere/read", "api://studies/"} {
		if _, err := e.dir.ParseScopes(ctx, e.tenant.ID, bad, ""); err == nil {
			t.Errorf("scope %q accepted", bad)
		}
	}

	granted, missing, err := e.dir.Permissions(ctx, e.tenant.ID, client, user.ObjectID, q)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(missing.Strings(), " "); got != "openid offline_access api://studies/read "+other.AppID+"/x" {
		t.Errorf("missing before consent: %q", got)
	}
	if err := e.dir.Consent(ctx, e.tenant.ID, client.AppID, user.ObjectID, missing); err != nil {
		t.Fatal(err)
	}
	_, missing, _ = e.dir.Permissions(ctx, e.tenant.ID, client, user.ObjectID, q)
	if !missing.Empty() {
		t.Errorf("missing after consent: %v", missing.Strings())
	}
	if got := strings.Join(granted.Strings(), " "); got != "openid offline_access api://studies/read "+other.AppID+"/x" {
		t.Errorf("granted %q", got)
	}

	// Another user has consented to nothing; an admin consent covers all.
	bob, _ := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "bob", Password: pw})
	q2, _ := e.dir.ParseScopes(ctx, e.tenant.ID, "api://studies/write", "")
	if _, missing, _ := e.dir.Permissions(ctx, e.tenant.ID, client, bob.ObjectID, q2); len(missing.Resources) != 1 {
		t.Errorf("bob needs consent: %v", missing.Strings())
	}
	e.dir.Consent(ctx, e.tenant.ID, client.AppID, directory.AllPrincipals, q2)
	if _, missing, _ := e.dir.Permissions(ctx, e.tenant.ID, client, bob.ObjectID, q2); !missing.Empty() {
		t.Errorf("admin consent not honoured: %v", missing.Strings())
	}

	// Pre-authorization needs no consent at all, and .default expands to it.
	pre := []directory.PreAuthorizedApplication{{AppID: client.AppID, Scopes: []string{"default"}}}
	e.dir.UpdateApplication(ctx, e.tenant.ID, api.AppID, directory.ApplicationPatch{PreAuthorized: &pre})
	carol, _ := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "carol", Password: pw})
	q3, _ := e.dir.ParseScopes(ctx, e.tenant.ID, "api://studies/.default", "")
	granted, missing, _ = e.dir.Permissions(ctx, e.tenant.ID, client, carol.ObjectID, q3)
	if !missing.Empty() || !strings.Contains(strings.Join(granted.Strings(), " "), "api://studies/default") {
		t.Errorf("pre-authorized .default: granted %v missing %v", granted.Strings(), missing.Strings())
	}
}

// Setting a password and enabling a user are how an administrator lifts a
// lockout: both clear it, through the store's own reset (UpdateUser leaves
// the brute-force state alone).
func TestAdministratorLiftsALockout(t *testing.T) {
	for _, lift := range []struct {
		name string
		do   func(e *env, ctx context.Context) error
	}{
		{"SetPassword", func(e *env, ctx context.Context) error {
			_, err := e.dir.SetPassword(ctx, e.tenant.ID, "alice", pw)
			return err
		}},
		{"SetUserEnabled", func(e *env, ctx context.Context) error {
			_, err := e.dir.SetUserEnabled(ctx, e.tenant.ID, "alice", true)
			return err
		}},
	} {
		t.Run(lift.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "alice", Password: pw})
			var le *directory.LockedError
			for i := 0; i < 100; i++ {
				e.now = e.now.Add(2 * time.Minute)
				if _, err := e.dir.AuthenticateUser(ctx, e.tenant.ID, "alice", "wrong password!!"); errors.As(err, &le) && le.Locked {
					break
				}
			}
			if le == nil || !le.Locked {
				t.Fatal("never locked")
			}
			if err := lift.do(e, ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := e.dir.AuthenticateUser(ctx, e.tenant.ID, "alice", pw); err != nil {
				t.Fatalf("after %s: %v", lift.name, err)
			}
		})
	}
}
