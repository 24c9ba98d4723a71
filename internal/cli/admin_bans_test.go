package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/directory"
)

// tessera admin bans list shows a locked user and banned addresses the
// same way through both backends, in every output format; remove lifts
// each exactly once (then exit 3), by user or by address, an IPv6 ban by
// its /64 through the remote API's escaped path; and the lifts are in the
// audit log.
func TestAdminBans(t *testing.T) {
	f := newAdminFixture(t)
	dir, _, home := f.directory()
	ctx := context.Background()
	f.run(0, append(f.local(), "tenant", "set-policy", "--lockout-threshold", "3")...)
	alice := decodeAdminJSON[adminapi.User](t, f.runIn(0, testPassword, append(f.local(), "user", "create", "--upn", "alice", "--password-stdin")...))
	for range 3 {
		_, _ = dir.AuthenticateUser(ctx, home.ID, "alice", "wrong password, wrong")
	}
	for _, addr := range []string{"203.0.113.7", "2001:db8:1:2::/64"} {
		_, err := f.store().RecordAddressFailure(ctx, home.ID, addr,
			directory.AddressFailure{At: time.Now(), Window: time.Hour, Threshold: 1, BanFor: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
	}

	bans := decodeAdminJSON[[]adminapi.Ban](t, f.both("bans", "list"))
	if len(bans) != 3 || bans[0].Type != "user" || bans[0].ObjectID != alice.ID || bans[0].FailedSignIns != 3 || bans[0].LockedUntil == nil ||
		bans[1].Address != "2001:db8:1:2::/64" || bans[2].Address != "203.0.113.7" || bans[2].Failures != 1 || bans[2].BannedUntil == nil {
		t.Fatalf("bans list: %+v", bans)
	}
	if got := f.both("bans", "list", "--query", "[?type=='address'].address", "-o", "tsv"); got != "2001:db8:1:2::/64\n203.0.113.7\n" {
		t.Errorf("--query addresses -o tsv = %q", got)
	}
	table := f.both("bans", "list", "-o", "table")
	for _, want := range []string{"address", "bannedUntil", "userPrincipalName", "alice@default", "203.0.113.7"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	// TSV rows all have one column per field, whatever the type.
	for _, line := range strings.Split(strings.TrimSuffix(f.both("bans", "list", "-o", "tsv"), "\n"), "\n") {
		if n := strings.Count(line, "\t"); n != 8 {
			t.Errorf("tsv row with %d tabs: %q", n, line)
		}
	}

	f.run(0, append(f.remote(), "bans", "remove", "--user", "alice")...)
	f.run(ExitNotFound, append(f.local(), "bans", "remove", "--user", "alice")...)
	if _, err := dir.AuthenticateUser(ctx, home.ID, "alice", testPassword); err != nil {
		t.Errorf("sign-in after bans remove --user: %v", err)
	}
	f.run(0, append(f.local(), "bans", "remove", "--address", "203.0.113.7")...)
	f.run(ExitNotFound, append(f.remote(), "bans", "remove", "--address", "203.0.113.7")...)
	f.run(0, append(f.remote(), "bans", "remove", "--address", "2001:db8:1:2::/64")...)
	if got := f.both("bans", "list"); strings.TrimSpace(got) != "[]" {
		t.Errorf("after the lifts: %s", got)
	}

	// The fixture's remote server keeps no audit log; the local one does,
	// and holds the one lift made locally.
	events := decodeAdminJSON[[]map[string]any](t, f.run(0, append(f.local(), "audit", "list", "--kind", "admin.ban.remove", "--since", "1h")...))
	if len(events) != 1 || events[0]["target"] != "203.0.113.7" || events[0]["before"] == nil {
		t.Errorf("admin.ban.remove events: %+v", events)
	}
}

func TestAdminBansExitCodes(t *testing.T) {
	f := newAdminFixture(t)
	both := func(want int, args ...string) {
		t.Helper()
		f.run(want, append(f.local(), args...)...)
		f.run(want, append(f.remote(), args...)...)
	}
	both(ExitUsage, "bans", "remove")
	both(ExitUsage, "bans", "remove", "--user", "alice", "--address", "192.0.2.1")
	both(ExitUsage, "bans", "remove", "--address", "not-an-address")
	both(ExitNotFound, "bans", "remove", "--user", "nobody")
	both(ExitNotFound, "bans", "remove", "--address", "192.0.2.1")
	both(ExitNotFound, "bans", "list", "--tenant", "nowhere")
	f.run(ExitAuth, "--server", f.server.URL, "--token", tenantOnlyToken, "bans", "list")
}
