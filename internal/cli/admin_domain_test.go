package cli

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/directory"
)

// Domains, bound user names and chosen application ids through the CLI,
// locally and remotely: one set of rules (the admin API's), the same
// answers and exit codes.
func TestAdminDomainsAndNames(t *testing.T) {
	f := newAdminFixture(t)
	f.run(0, append(f.local(), "tenant", "create", "--domain", "fabrikam")...)
	added := decodeAdminJSON[adminapi.TenantDomain](t, f.run(0, append(f.local(), "tenant", "domain", "add", "--tenant", "fabrikam", "--domain", "Fabrikam.Example")...))
	if added.Domain != "fabrikam.example" || added.Primary {
		t.Fatalf("added %+v", added)
	}
	listed := decodeAdminJSON[[]adminapi.TenantDomain](t, f.both("tenant", "domain", "list", "--tenant", "fabrikam"))
	if len(listed) != 2 || listed[0].Domain != "fabrikam" || !listed[0].Primary || listed[1].Domain != "fabrikam.example" {
		t.Fatalf("listed %+v", listed)
	}
	both := func(want int, args ...string) {
		t.Helper()
		f.run(want, append(f.local(), args...)...)
		f.run(want, append(f.remote(), args...)...)
	}
	both(ExitError, "tenant", "domain", "add", "--tenant", "default", "--domain", "fabrikam.example") // another tenant's: conflict
	both(ExitUsage, "tenant", "domain", "remove", "--tenant", "fabrikam", "--domain", "fabrikam")     // its own
	both(ExitUsage, "tenant", "domain", "add", "--tenant", "fabrikam")
	both(ExitUsage, "user", "create", "--tenant", "fabrikam", "--upn", "alice@default")

	alice := decodeAdminJSON[adminapi.User](t, f.run(0, append(f.local(), "user", "create", "--tenant", "fabrikam",
		"--upn", "alice@fabrikam.example", "--mail", "alice@mail.example", "--mail-verified")...))
	if !alice.MailVerified || alice.UserPrincipalName != "alice@fabrikam.example" {
		t.Fatalf("created %+v", alice)
	}
	both(ExitUsage, "tenant", "domain", "remove", "--tenant", "fabrikam", "--domain", "fabrikam.example") // alice is named in it
	renamed := decodeAdminJSON[adminapi.User](t, f.run(0, append(f.remote(), "user", "update", "--tenant", "fabrikam",
		"--id", "alice@fabrikam.example", "--upn", "alice", "--mail", "alice@new.example")...))
	if renamed.ID != alice.ID || renamed.UserPrincipalName != "alice@fabrikam" || renamed.MailVerified {
		t.Fatalf("renamed %+v", renamed)
	}
	both(ExitUsage, "user", "update", "--tenant", "fabrikam", "--id", "alice@fabrikam")
	f.run(0, append(f.remote(), "tenant", "domain", "remove", "--tenant", "fabrikam", "--domain", "fabrikam.example")...)
	both(ExitNotFound, "tenant", "domain", "remove", "--tenant", "fabrikam", "--domain", "fabrikam.example")

	// An appId is the operator's to choose (the local CLI is one), not a
	// tenant administrator's.
	const id = "3b9e2f10-6c4d-4e8f-a1b2-c3d4e5f60718"
	app := decodeAdminJSON[adminapi.Application](t, f.run(0, append(f.local(), "app", "create", "--tenant", "fabrikam", "--display-name", "moved", "--app-id", id)...))
	if app.AppID != id {
		t.Fatalf("created %+v", app)
	}
	both(ExitError, "app", "create", "--tenant", "default", "--display-name", "again", "--app-id", id) // taken in fabrikam
	both(ExitUsage, "app", "create", "--display-name", "cli", "--app-id", directory.CLIClientID)

	l, err := openLocal(context.Background(), f.data, "")
	if err != nil {
		t.Fatal(err)
	}
	dir, keys, closeStore := l.dir, l.keys, l.close
	defer closeStore()
	fab, err := dir.ResolveTenant(context.Background(), "fabrikam")
	if err != nil {
		t.Fatal(err)
	}
	tenantAdmin := tokenTable{"fabrikam-admin": {TenantID: fab.ID, Subject: "b", Roles: []string{directory.AdminRole}}}
	srv := httptest.NewServer(adminapi.New(adminapi.Config{Directory: dir, Keys: keys, Auth: tenantAdmin, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	asTenantAdmin := []string{"--server", srv.URL, "--token", "fabrikam-admin"}
	const other = "3b9e2f10-6c4d-4e8f-a1b2-c3d4e5f60719"
	_, errOut, err := runAdmin(append(asTenantAdmin, "app", "create", "--tenant", "fabrikam", "--display-name", "squat", "--app-id", other)...)
	if ExitCode(err) != ExitAuth || !strings.Contains(err.Error()+errOut, "only an administrator of the home tenant may choose an appId") {
		t.Errorf("a tenant admin choosing an appId: exit %d, %v %s", ExitCode(err), err, errOut)
	}
	if _, err := dir.GetApplication(context.Background(), fab.ID, other); err == nil {
		t.Error("the refused application exists")
	}
	f.run(ExitAuth, append(asTenantAdmin, "tenant", "domain", "add", "--tenant", "fabrikam", "--domain", "mine.example")...)
	f.run(0, append(asTenantAdmin, "tenant", "domain", "list", "--tenant", "fabrikam")...)
}
