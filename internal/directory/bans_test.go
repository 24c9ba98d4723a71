package directory_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/secrets"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

// banEnv is a directory banning an address after 3 failed sign-ins in 15
// minutes, for an hour, with an audit log to read back.
type banEnv struct {
	*env
	rec *audit.Recorder
}

var banPolicy = directory.AddressBanPolicy{Failures: 3, Window: 15 * time.Minute, Duration: time.Hour}

func newBanEnv(t *testing.T, p directory.AddressBanPolicy) *banEnv {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "d.db"))
	if err != nil {
		t.Fatal(err)
	}
	master := make([]byte, 32)
	rand.Read(master)
	keys, _ := secrets.New(master)
	e := &banEnv{env: &env{now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}}
	e.rec = audit.NewRecorder(st, audit.Options{Now: func() time.Time { return e.now }})
	t.Cleanup(func() {
		e.rec.Close(context.Background())
		st.Close()
	})
	e.dir = directory.NewService(st, keys, directory.Options{Now: func() time.Time { return e.now }, Audit: e.rec, AddressBans: p})
	if e.tenant, err = e.dir.CreateTenant(context.Background(), directory.TenantSpec{Domain: "contoso"}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *banEnv) signIn(tenantID, upn, password, addr string) error {
	via := directory.SignInVia{Channel: "web"}
	if addr != "" {
		via.Address = netip.MustParseAddr(addr)
	}
	_, err := e.dir.AuthenticateUserVia(context.Background(), tenantID, upn, password, via)
	return err
}

func addressBanned(err error) bool {
	var le *directory.LockedError
	return errors.As(err, &le) && le.Address && le.Locked
}

func (e *banEnv) events(t *testing.T, kind string) []audit.Event {
	t.Helper()
	page, err := e.rec.List(context.Background(), e.tenant.ID, audit.Query{Kind: kind, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

// Failed sign-ins from one address, unknown names and wrong passwords
// alike, ban it from the tenant; while banned even the right password is
// refused, without hashing; other addresses, exempt ones, other tenants
// and the account itself are untouched, and a success lifts nothing.
func TestAddressBan(t *testing.T) {
	e := newBanEnv(t, banPolicy)
	ctx := context.Background()
	alice, err := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "alice", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := e.dir.CreateTenant(ctx, directory.TenantSpec{Domain: "fabrikam"})
	if _, err := e.dir.CreateUser(ctx, other.ID, directory.UserSpec{UserPrincipalName: "alice", Password: pw}); err != nil {
		t.Fatal(err)
	}
	const attacker = "192.0.2.7"
	for _, name := range []string{"mallory", "trent"} {
		if err := e.signIn(e.tenant.ID, name, "guess guess guess", attacker); !errors.Is(err, directory.ErrInvalidCredentials) {
			t.Fatalf("unknown user: %v", err)
		}
	}
	// A success from the address before the threshold does not reset
	// its count.
	if err := e.signIn(e.tenant.ID, "alice", pw, attacker); err != nil {
		t.Fatalf("right password before the ban: %v", err)
	}
	e.now = e.now.Add(time.Minute)
	if err := e.signIn(e.tenant.ID, "alice", "wrong password!!", attacker); !errors.Is(err, directory.ErrInvalidCredentials) {
		t.Fatalf("third failure: %v", err)
	}

	err = e.signIn(e.tenant.ID, "alice", pw, attacker)
	if !addressBanned(err) {
		t.Fatalf("right password from a banned address: %v, want an address ban", err)
	}
	if le := (*directory.LockedError)(nil); errors.As(err, &le) && !le.Until.Equal(e.now.Add(time.Hour)) {
		t.Errorf("banned until %v, want an hour after the third failure", le.Until)
	}
	// No hashing while banned: with every hash slot taken, a banned
	// sign-in is still refused at once, and an unbanned one waits.
	slots := directory.NewHashSlots(1, 10*time.Millisecond)
	if err := slots.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	busy := e.dir.WithHashSlots(slots)
	if _, err := busy.AuthenticateUserVia(ctx, e.tenant.ID, "alice", pw, directory.SignInVia{Address: netip.MustParseAddr(attacker)}); !addressBanned(err) {
		t.Errorf("banned sign-in with no hash slot free: %v, want the ban (it must not hash)", err)
	}
	if _, err := busy.AuthenticateUserVia(ctx, e.tenant.ID, "alice", pw, directory.SignInVia{Address: netip.MustParseAddr("192.0.2.8")}); !errors.Is(err, directory.ErrBusy) {
		t.Errorf("unbanned sign-in with no hash slot free: %v, want ErrBusy", err)
	}
	slots.Release()

	for _, tc := range []struct {
		name, tenant, addr string
	}{
		{"another address", e.tenant.ID, "192.0.2.8"},
		{"an exempt (uncounted) address", e.tenant.ID, ""},
		{"the same address in another tenant", other.ID, attacker},
	} {
		if err := e.signIn(tc.tenant, "alice", pw, tc.addr); err != nil {
			t.Errorf("%s: %v, want a success", tc.name, err)
		}
	}
	if err := e.signIn(e.tenant.ID, "alice", pw, attacker); !addressBanned(err) {
		t.Errorf("a success elsewhere lifted the ban: %v", err)
	}
	// The account's own count saw one wrong password, and the successes
	// elsewhere cleared it: the address ban is not the account's.
	if u, _ := e.dir.GetUser(ctx, e.tenant.ID, alice.ObjectID); u.FailedSignIns != 0 || !u.LockedUntil.IsZero() {
		t.Errorf("alice: %d failures, locked until %v", u.FailedSignIns, u.LockedUntil)
	}

	evs := e.events(t, directory.AddressAuditKind)
	if len(evs) != 1 || evs[0].Target != attacker || evs[0].Details["failures"] != "3" || len(evs[0].After) == 0 {
		t.Errorf("ban events: %+v, want one for %s after 3 failures", evs, attacker)
	}
	refused := 0
	for _, ev := range e.events(t, audit.SignInFailure) {
		if ev.Reason == "address_banned" {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("%d sign-ins recorded as address_banned, want 3", refused)
	}

	e.now = e.now.Add(time.Hour)
	if err := e.signIn(e.tenant.ID, "alice", pw, attacker); err != nil {
		t.Errorf("right password after the ban ended: %v", err)
	}
}

// Failures outside the window do not add up; an IPv6 address is counted
// by its /64; 0 failures switches bans off. The sprayer tries a new name
// each time, as sprayers do: one name tried again and again is slowed
// down by name, unknown or not, and the attempts it refuses unchecked are
// not failures of the address.
func TestAddressBanWindowAndKeys(t *testing.T) {
	e := newBanEnv(t, banPolicy)
	for i := range 3 {
		e.now = e.now.Add(8 * time.Minute) // the first is out of the window by the third
		if err := e.signIn(e.tenant.ID, "mallory", "guess guess guess", "192.0.2.7"); !errors.Is(err, directory.ErrInvalidCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if err := e.signIn(e.tenant.ID, "mallory", "guess guess guess", "192.0.2.7"); addressBanned(err) {
		t.Errorf("3 failures spread over 24 minutes banned with a 15-minute window")
	}
	for i, addr := range []string{"2001:db8::1", "2001:db8::2", "2001:db8:0:0:ffff::3"} {
		err := e.signIn(e.tenant.ID, fmt.Sprintf("mallory%d", i), "guess guess guess", addr)
		if !errors.Is(err, directory.ErrInvalidCredentials) {
			t.Fatalf("IPv6 failure %d: %v", i+1, err)
		}
	}
	if err := e.signIn(e.tenant.ID, "mallory", "guess guess guess", "2001:db8::4"); !addressBanned(err) {
		t.Errorf("3 failures from one /64: %v, want a ban of the /64", err)
	}
	if err := e.signIn(e.tenant.ID, "mallory", "guess guess guess", "2001:db8:1::1"); addressBanned(err) {
		t.Errorf("another /64 is banned")
	}

	off := newBanEnv(t, directory.AddressBanPolicy{})
	for range 10 {
		off.signIn(off.tenant.ID, "mallory", "guess guess guess", "192.0.2.7")
	}
	if _, err := off.dir.Repository().GetAddressBan(context.Background(), off.tenant.ID, "192.0.2.7"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("bans off, yet failures were counted: %v", err)
	}
}

// An administrator lists and lifts: a locked user, a banned address; with
// nothing to lift, ErrNotFound.
func TestLiftLockoutAndAddressBan(t *testing.T) {
	e := newBanEnv(t, banPolicy)
	ctx := context.Background()
	if _, err := e.dir.SetTenantPolicy(ctx, e.tenant.ID, directory.TenantPolicy{LockoutThreshold: 2}); err != nil {
		t.Fatal(err)
	}
	alice, _ := e.dir.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "alice", Password: pw})
	if _, _, err := e.dir.LiftLockout(ctx, e.tenant.ID, "alice"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("lifting a lockout that is not there: %v", err)
	}
	for range 2 {
		e.signIn(e.tenant.ID, "alice", "wrong password!!", "")
	}
	locked, err := e.dir.ListLockedUsers(ctx, e.tenant.ID, "", 10)
	if err != nil || len(locked) != 1 || locked[0].ObjectID != alice.ObjectID {
		t.Fatalf("locked users: %+v, %v", locked, err)
	}
	before, after, err := e.dir.LiftLockout(ctx, e.tenant.ID, "alice@contoso")
	if err != nil || before.FailedSignIns != 2 || !before.LockedUntil.After(e.now) || after.FailedSignIns != 0 || !after.LockedUntil.IsZero() {
		t.Fatalf("lift: before %+v after %+v, %v", before, after, err)
	}
	if err := e.signIn(e.tenant.ID, "alice", pw, ""); err != nil {
		t.Errorf("right password after the lift: %v", err)
	}

	for i := range 3 { // three names: the tenant locks a name at its second failure
		e.signIn(e.tenant.ID, fmt.Sprintf("mallory%d", i), "guess guess guess", "192.0.2.7")
	}
	bans, err := e.dir.ListAddressBans(ctx, e.tenant.ID, "", 10)
	if err != nil || len(bans) != 1 || bans[0].Address != "192.0.2.7" || bans[0].Failures != 3 {
		t.Fatalf("bans: %+v, %v", bans, err)
	}
	if _, err := e.dir.LiftAddressBan(ctx, e.tenant.ID, "192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	if err := e.signIn(e.tenant.ID, "alice", pw, "192.0.2.7"); err != nil {
		t.Errorf("right password after the ban was lifted: %v", err)
	}
	if _, err := e.dir.LiftAddressBan(ctx, e.tenant.ID, "192.0.2.7"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("lifting a ban twice: %v", err)
	}
	if _, err := e.dir.LiftAddressBan(ctx, e.tenant.ID, "not-an-address"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("lifting a non-address: %v", err)
	}
}

func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"2001:db8::1":          "2001:db8::/64",
		"2001:db8::1%eth0":     "2001:db8::/64",
		"2001:db8:0:0:ff::/64": "2001:db8::/64",
	} {
		if got, err := directory.ParseAddressKey(in); err != nil || got != want {
			t.Errorf("ParseAddressKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "host.example", "192.0.2.0/24", "2001:db8::/48"} {
		if _, err := directory.ParseAddressKey(in); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("ParseAddressKey(%q): %v, want ErrInvalid", in, err)
		}
	}
	if directory.AddressKey(netip.Addr{}) != "" {
		t.Error("the zero Addr has a key")
	}
}
