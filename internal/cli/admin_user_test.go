package cli

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

const testPassword = "correct horse battery staple"

// runIn is run with standard input.
func (f *adminFixture) runIn(want int, stdin string, args ...string) string {
	f.t.Helper()
	out, errOut, err := runAdminWith(f.deps, stdin, args...)
	got := 0
	if err != nil {
		got = ExitCode(err)
	}
	if got != want {
		f.t.Fatalf("tessera admin %s: exit %d (%v), want %d\nstderr: %s", strings.Join(args, " "), got, err, want, errOut)
	}
	for _, s := range []string{out, errOut} {
		if stdin != "" && strings.Contains(s, strings.TrimSpace(stdin)) {
			f.t.Fatalf("tessera admin %s printed the password", strings.Join(args, " "))
		}
	}
	return out
}

// directory opens the fixture's store as the server does, with its
// session layer, to check what the commands did.
func (f *adminFixture) directory() (*directory.Service, *session.Service, directory.Tenant) {
	f.t.Helper()
	ctx := context.Background()
	master, _, err := secrets.LoadOrCreateMasterKey("", f.data)
	if err != nil {
		f.t.Fatal(err)
	}
	keys, err := secrets.New(master)
	if err != nil {
		f.t.Fatal(err)
	}
	st := f.store()
	dir := directory.NewService(st, keys, directory.Options{})
	home, err := dir.ResolveTenant(ctx, "default")
	if err != nil {
		f.t.Fatal(err)
	}
	return dir, session.NewService(st, keys, keys, session.Options{}), home
}

// store opens the fixture's database, for the directory and session
// services above and for tests that plant rows below the domain's rules.
func (f *adminFixture) store() *sqlite.Store {
	f.t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(f.data, "tessera.db"))
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { st.Close() })
	return st
}

func TestAdminUsers(t *testing.T) {
	f := newAdminFixture(t)
	dir, sessions, home := f.directory()
	ctx := context.Background()

	// The password comes on stdin, with the newline echo adds.
	created := f.runIn(0, testPassword+"\n", append(f.local(), "user", "create", "--upn", "alice", "--display-name", "Alice Liddell", "--password-stdin")...)
	alice := decodeAdminJSON[adminapi.User](t, created)
	if alice.UserPrincipalName != "alice@default" || alice.DisplayName != "Alice Liddell" || !alice.AccountEnabled {
		t.Fatalf("created %s", created)
	}
	if _, err := dir.AuthenticateUser(ctx, home.ID, "alice", testPassword); err != nil {
		t.Fatalf("the password from stdin does not sign in: %v", err)
	}
	if got := f.both("user", "show", "--id", "alice@default"); got != created {
		t.Errorf("show differs from create:\n%s\n%s", got, created)
	}
	bob := decodeAdminJSON[adminapi.User](t, f.run(0, append(f.remote(), "user", "create", "--upn", "bob@default", "--disabled")...))
	if bob.AccountEnabled {
		t.Error("--disabled created an enabled user")
	}
	users := decodeAdminJSON[[]adminapi.User](t, f.both("user", "list"))
	if len(users) != 2 {
		t.Errorf("user list %+v", users)
	}
	if got := f.both("user", "show", "--id", alice.ID, "--query", "userPrincipalName", "-o", "tsv"); got != "alice@default\n" {
		t.Errorf("--query -o tsv = %q", got)
	}

	// set-password through the remote API, from stdin.
	const newPassword = "a much longer passphrase"
	f.runIn(0, newPassword, append(f.remote(), "user", "set-password", "--id", "alice@default", "--password-stdin")...)
	if _, err := dir.AuthenticateUser(ctx, home.ID, "alice", newPassword); err != nil {
		t.Fatalf("the new password does not sign in: %v", err)
	}

	// Disabling revokes what the user holds, through either backend: the
	// local one too (it has the session layer, as the server has).
	for _, backend := range [][]string{f.local(), f.remote()} {
		g, err := sessions.NewGrant(ctx, home.ID, session.GrantSpec{UserID: alice.ID, ClientID: directory.CLIClientID, AuthTime: time.Now(), Lifetime: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		u := decodeAdminJSON[adminapi.User](t, f.run(0, append(backend, "user", "disable", "--id", "alice@default")...))
		if u.AccountEnabled {
			t.Fatal("disable left the user enabled")
		}
		if _, err := sessions.ActiveGrant(ctx, home.ID, g.ID); !errors.Is(err, session.ErrRevoked) {
			t.Errorf("%s: the user's sign-in after disable: %v, want revoked", backend[0], err)
		}
		u = decodeAdminJSON[adminapi.User](t, f.run(0, append(backend, "user", "enable", "--id", alice.ID)...))
		if !u.AccountEnabled {
			t.Fatal("enable left the user disabled")
		}
	}

	// App roles are assigned to users by UPN, through either backend.
	api := decodeAdminJSON[adminapi.Application](t, f.run(0, append(f.local(), "app", "create", "--display-name", "orders-api", "--identifier-uri", "api://orders", "--app-role", "Reader")...))
	f.run(0, append(f.local(), "sp", "create", "--id", api.AppID)...)
	ra := decodeAdminJSON[directory.RoleAssignment](t, f.run(0, append(f.remote(), "role", "assign", "--assignee", "alice@default", "--resource", "api://orders", "--role", "Reader")...))
	if ra.PrincipalID != alice.ID || ra.PrincipalType != directory.PrincipalUser {
		t.Errorf("assignment %+v", ra)
	}
	listed := decodeAdminJSON[[]directory.RoleAssignment](t, f.both("role", "list", "--assignee", "alice@default"))
	if len(listed) != 1 || listed[0] != ra {
		t.Errorf("role list %+v", listed)
	}
	res, err := dir.ResolveResource(ctx, home.ID, "api://orders")
	if err != nil {
		t.Fatal(err)
	}
	if roles, err := dir.AuthorizeUser(ctx, home.ID, alice.ID, res); err != nil || strings.Join(roles, ",") != "Reader" {
		t.Errorf("alice's roles = %v, %v", roles, err)
	}

	f.run(0, append(f.remote(), "user", "delete", "--id", "bob@default")...)
	f.run(0, append(f.local(), "user", "delete", "--id", alice.ID)...)
	if got := f.both("user", "list"); strings.TrimSpace(got) != "[]" {
		t.Errorf("after delete: %s", got)
	}
	if got := f.both("role", "list", "--resource", "api://orders"); strings.TrimSpace(got) != "[]" {
		t.Errorf("the deleted user's assignments stay: %s", got)
	}
}

func TestAdminUserExitCodes(t *testing.T) {
	f := newAdminFixture(t)
	f.run(0, append(f.local(), "user", "create", "--upn", "alice")...)
	both := func(want int, stdin string, args ...string) {
		t.Helper()
		f.runIn(want, stdin, append(f.local(), args...)...)
		f.runIn(want, stdin, append(f.remote(), args...)...)
	}
	both(ExitNotFound, "", "user", "show", "--id", "nobody@default")
	both(ExitNotFound, "", "user", "disable", "--id", "nobody@default")
	both(ExitNotFound, testPassword, "user", "set-password", "--id", "nobody@default", "--password-stdin")
	both(ExitUsage, "", "user", "create")
	both(ExitUsage, "short\n", "user", "create", "--upn", "bob", "--password-stdin") // the directory's length rule
	both(ExitUsage, "", "user", "create", "--upn", "bob", "--password-stdin")        // empty stdin
	both(ExitUsage, testPassword, "user", "create", "--upn", "bob", "--password-stdin", "--password", testPassword)
	both(ExitUsage, "", "user", "set-password", "--id", "alice@default") // no password at all
	both(ExitUsage, strings.Repeat("x", maxPasswordInput+1), "user", "set-password", "--id", "alice@default", "--password-stdin")
	both(ExitError, "", "user", "create", "--upn", "ALICE@default") // conflict
	// --password works, for the scripts that cannot pipe.
	f.run(0, append(f.remote(), "user", "set-password", "--id", "alice@default", "--password", testPassword)...)

	// The help steers to stdin.
	out, _, err := runAdmin("user", "create", "--help")
	if err != nil || !strings.Contains(out, "--password-stdin") || !strings.Contains(out, "shell") {
		t.Errorf("user create --help does not explain --password-stdin:\n%s", out)
	}
}

func TestAdminConsents(t *testing.T) {
	f := newAdminFixture(t)
	api := decodeAdminJSON[adminapi.Application](t, f.run(0, append(f.local(), "app", "create", "--display-name", "orders-api",
		"--identifier-uri", "api://orders", "--scope", "Orders.Read", "--scope", "Orders.Write")...))
	f.run(0, append(f.local(), "sp", "create", "--id", api.AppID)...)
	client := decodeAdminJSON[adminapi.Application](t, f.run(0, append(f.local(), "app", "create", "--display-name", "orders-web")...))
	f.run(0, append(f.local(), "user", "create", "--upn", "alice")...)

	g := decodeAdminJSON[adminapi.ConsentGrant](t, f.run(0, append(f.remote(), "consent", "grant", "--client", client.AppID,
		"--resource", "api://orders", "--scope", "Orders.Read")...))
	if g.ConsentType != "AllPrincipals" || g.ResourceAppID != api.AppID || strings.Join(g.Scopes, " ") != "Orders.Read" {
		t.Fatalf("grant %+v", g)
	}
	// Scopes add up; several in one --scope as az takes them.
	g = decodeAdminJSON[adminapi.ConsentGrant](t, f.run(0, append(f.local(), "consent", "grant", "--client", client.AppID,
		"--resource", api.AppID, "--scope", "Orders.Write,Orders.Read")...))
	if strings.Join(g.Scopes, " ") != "Orders.Read Orders.Write" {
		t.Errorf("merged %+v", g)
	}
	f.run(0, append(f.local(), "consent", "grant", "--client", client.AppID, "--resource", "openid", "--scope", "openid profile", "--user", "alice@default")...)

	all := decodeAdminJSON[[]adminapi.ConsentGrant](t, f.both("consent", "list", "--client", client.AppID))
	if len(all) != 2 {
		t.Errorf("consent list %+v", all)
	}
	admin := decodeAdminJSON[[]adminapi.ConsentGrant](t, f.both("consent", "list", "--client", client.AppID, "--user", "AllPrincipals"))
	if len(admin) != 1 || admin[0].ConsentType != "AllPrincipals" {
		t.Errorf("admin consents %+v", admin)
	}

	f.run(0, append(f.remote(), "consent", "revoke", "--client", client.AppID, "--resource", "api://orders")...)
	f.run(ExitNotFound, append(f.local(), "consent", "revoke", "--client", client.AppID, "--resource", "api://orders")...)
	f.run(0, append(f.local(), "consent", "revoke", "--client", client.AppID, "--resource", "openid", "--user", "alice@default")...)
	if got := f.both("consent", "list", "--client", client.AppID); strings.TrimSpace(got) != "[]" {
		t.Errorf("after revoke: %s", got)
	}

	for _, backend := range [][]string{f.local(), f.remote()} {
		f.run(ExitUsage, append(backend, "consent", "grant", "--client", client.AppID, "--resource", "api://orders")...)
		f.run(ExitUsage, append(backend, "consent", "grant", "--client", client.AppID, "--resource", "api://orders", "--scope", "Orders.Delete")...)
		f.run(ExitNotFound, append(backend, "consent", "grant", "--client", client.AppID, "--resource", "api://nope", "--scope", "x")...)
		f.run(ExitUsage, append(backend, "consent", "list")...)
	}
}

func TestAdminTenantPolicy(t *testing.T) {
	f := newAdminFixture(t)
	before := decodeAdminJSON[adminapi.Tenant](t, f.both("tenant", "show"))
	if before.Policy.RefreshGraceSeconds != 5 || before.Policy.LockoutThreshold != 10 {
		t.Fatalf("defaults %+v", before.Policy)
	}
	api := decodeAdminJSON[adminapi.Application](t, f.run(0, append(f.local(), "app", "create", "--display-name", "product", "--identifier-uri", "api://product")...))
	f.run(0, append(f.local(), "sp", "create", "--id", api.AppID)...)

	after := decodeAdminJSON[adminapi.Tenant](t, f.run(0, append(f.remote(), "tenant", "set-policy", "--refresh-grace", "off",
		"--refresh-inactivity", "30d", "--password-grant", "off", "--product-login-resource", "api://product",
		"--lockout-threshold", "5", "--lockout-duration", "30m")...))
	want := before.Policy
	want.RefreshGraceSeconds, want.RefreshTokenInactivitySeconds, want.PasswordGrantDisabled = -1, 30*86400, true
	want.ProductLoginResource, want.LockoutThreshold, want.LockoutDurationSeconds = "api://product", 5, 1800
	if !reflect.DeepEqual(after.Policy, want) {
		t.Fatalf("set-policy: %+v, want %+v", after.Policy, want)
	}
	// Only the flags given change.
	after = decodeAdminJSON[adminapi.Tenant](t, f.run(0, append(f.local(), "tenant", "set-policy", "--session-lifetime", "2h", "--refresh-grace", "10s", "--password-grant", "on")...))
	want.SessionLifetimeSeconds, want.RefreshGraceSeconds, want.PasswordGrantDisabled = 7200, 10, false
	if !reflect.DeepEqual(after.Policy, want) {
		t.Fatalf("second set-policy: %+v, want %+v", after.Policy, want)
	}
	if got := f.both("tenant", "show", "--query", "policy.sessionLifetimeSeconds", "-o", "tsv"); got != "7200\n" {
		t.Errorf("show --query = %q", got)
	}
	f.run(0, append(f.local(), "tenant", "set-policy", "--product-login-resource", "")...)
	if got := f.both("tenant", "show", "--query", "policy.productLoginResource", "-o", "tsv"); got != "\n" {
		t.Errorf("cleared resource = %q", got)
	}
	// The allow-list: a repeatable flag that replaces the list; "" clears it.
	f.run(0, append(f.remote(), "tenant", "set-policy", "--product-login-resources", "api://product", "--product-login-resources", api.AppID)...)
	if got := f.both("tenant", "show", "--query", "policy.productLoginResources", "-o", "tsv"); got != "api://product\n"+api.AppID+"\n" {
		t.Errorf("allow-list = %q", got)
	}
	f.run(0, append(f.local(), "tenant", "set-policy", "--product-login-resources", "")...)
	if got := f.both("tenant", "show", "--query", "length(policy.productLoginResources)", "-o", "tsv"); got != "0\n" {
		t.Errorf("cleared allow-list = %q", got)
	}

	for _, backend := range [][]string{f.local(), f.remote()} {
		for _, args := range [][]string{
			{"tenant", "set-policy"}, // nothing to change
			{"tenant", "set-policy", "--refresh-grace", "soon"},
			{"tenant", "set-policy", "--refresh-grace", "2m"}, // the directory's bound
			{"tenant", "set-policy", "--refresh-lifetime", "1.5s"},
			{"tenant", "set-policy", "--refresh-lifetime", "-1h"},
			{"tenant", "set-policy", "--refresh-inactivity", "0d"},
			{"tenant", "set-policy", "--password-grant", "maybe"},
			{"tenant", "set-policy", "--lockout-threshold", "0"},
			{"tenant", "set-policy", "--product-login-resource", "api://nope"},
			{"tenant", "set-policy", "--product-login-resources", "api://nope"},
			{"tenant", "set-policy", "--refresh-inactivity", "400d"}, // longer than the lifetime
		} {
			f.run(ExitUsage, append(backend, args...)...)
		}
		f.run(ExitNotFound, append(backend, "tenant", "set-policy", "--tenant", "nowhere", "--refresh-grace", "off")...)
	}
	if got := decodeAdminJSON[adminapi.Tenant](t, f.both("tenant", "show")); got.Policy.SessionLifetimeSeconds != 7200 {
		t.Errorf("refused changes changed the policy: %+v", got.Policy)
	}
}

func TestPolicyDuration(t *testing.T) {
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"2160h", 2160 * time.Hour, true},
		{"15m", 15 * time.Minute, true},
		{"1.5d", 0, false},
		{"0s", 0, false},
		{"500ms", 0, false},
		{"d", 0, false},
	}
	for _, c := range cases {
		var p policyDuration
		err := p.Set(c.in)
		if (err == nil) != c.ok || p.d != c.want {
			t.Errorf("Set(%q) = %v, %v; want %v ok=%v", c.in, p.d, err, c.want, c.ok)
		}
	}
}
