package adminapi

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/directory"
)

// banAddress bans addr in the tenant now, as failed sign-ins from it
// would (their counting is the directory's, tested there).
func (e *env) banAddress(t *testing.T, tenant directory.Tenant, addr string) directory.AddressBan {
	t.Helper()
	b, err := e.repo.RecordAddressFailure(t.Context(), tenant.ID, addr,
		directory.AddressFailure{At: testNow.Add(-time.Minute), Window: time.Hour, Threshold: 1, BanFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The ban list shows locked users and banned addresses, a page at a time
// across both; each can be lifted once (then 404), the lift is in the
// audit log with the entry before and after, and another tenant's admin
// sees and lifts none of it.
func TestBansListedAndLifted(t *testing.T) {
	e := newEnv(t)
	two := 2
	e.do("PUT", tenantPath(e.contoso, "/policy"), tokAdminA, TenantPolicyUpdate{LockoutThreshold: &two}).must(t, 200)
	users := tenantPath(e.contoso, "/users")
	var alice User
	e.do("POST", users, tokAdminA, UserCreate{UserPrincipalName: "alice", Password: alicePassword}).must(t, 201).json(t, &alice)
	for range 2 {
		_, _ = e.dir.AuthenticateUser(t.Context(), e.contoso.ID, "alice", "wrong password, wrong")
	}
	e.banAddress(t, e.contoso, "192.0.2.7")
	e.banAddress(t, e.contoso, "2001:db8::/64")
	e.banAddress(t, e.home, "192.0.2.9")

	bans := tenantPath(e.contoso, "/bans")
	var all BanList
	e.do("GET", bans, tokAdminA, nil).must(t, 200).json(t, &all)
	if len(all.Value) != 3 || all.Next != "" {
		t.Fatalf("bans: %+v", all)
	}
	u, a := all.Value[0], all.Value[1]
	if u.Type != "user" || u.ObjectID != alice.ID || u.UserPrincipalName != "alice@contoso.example" || u.FailedSignIns != 2 ||
		u.LockedUntil == nil || !u.LockedUntil.Equal(testNow.Add(directory.DefaultLockoutDuration)) {
		t.Errorf("locked user: %+v", u)
	}
	if a.Type != "address" || a.Address != "192.0.2.7" || a.Failures != 1 || !a.BannedUntil.Equal(testNow.Add(59*time.Minute)) ||
		!a.FirstFailureAt.Equal(testNow.Add(-time.Minute)) {
		t.Errorf("banned address: %+v", a)
	}
	if all.Value[2].Address != "2001:db8::/64" {
		t.Errorf("IPv6 ban: %+v", all.Value[2])
	}

	// One entry a page: the cursor crosses from users to addresses.
	var seen []Ban
	q := "?limit=1"
	for range 4 {
		var p BanList
		e.do("GET", bans+q, tokAdminA, nil).must(t, 200).json(t, &p)
		seen = append(seen, p.Value...)
		if p.Next == "" {
			break
		}
		q = "?limit=1&cursor=" + url.QueryEscape(p.Next)
	}
	if got, _ := json.Marshal(seen); string(got) != mustJSON(t, all.Value) {
		t.Errorf("pages of one: %s, want %s", got, mustJSON(t, all.Value))
	}

	// Tenant A's admin cannot reach the home tenant's list or lift its ban.
	e.do("GET", tenantPath(e.home, "/bans"), tokAdminA, nil).must(t, 403)
	e.do("DELETE", tenantPath(e.home, "/bans/addresses/192.0.2.9"), tokAdminA, nil).must(t, 403)
	// Nor does lifting in A reach the home tenant's ban of another address.
	e.do("DELETE", bans+"/addresses/192.0.2.9", tokAdminA, nil).must(t, 404)

	e.do("DELETE", bans+"/users/alice", tokAdminA, nil).must(t, 204)
	e.do("DELETE", bans+"/users/alice", tokAdminA, nil).must(t, 404)
	e.do("DELETE", bans+"/users/nobody", tokAdminA, nil).must(t, 404)
	e.do("DELETE", bans+"/addresses/192.0.2.7", tokAdminA, nil).must(t, 204)
	e.do("DELETE", bans+"/addresses/192.0.2.7", tokAdminA, nil).must(t, 404)
	// An IPv6 ban lifts by any address of its /64, or by the /64 itself.
	e.do("DELETE", bans+"/addresses/2001:db8::42", tokAdminA, nil).must(t, 204)
	e.do("DELETE", bans+"/addresses/not-an-address", tokAdminA, nil).must(t, 400)

	var after BanList
	e.do("GET", bans, tokAdminA, nil).must(t, 200).json(t, &after)
	if len(after.Value) != 0 {
		t.Errorf("after the lifts: %+v", after)
	}
	if _, err := e.dir.AuthenticateUser(t.Context(), e.contoso.ID, "alice", alicePassword); err != nil {
		t.Errorf("sign-in after the lockout was lifted: %v", err)
	}
	var home BanList
	e.do("GET", tenantPath(e.home, "/bans"), tokSystem, nil).must(t, 200).json(t, &home)
	if len(home.Value) != 1 || home.Value[0].Address != "192.0.2.9" {
		t.Errorf("the home tenant's bans after contoso's lifts: %+v", home)
	}

	var page AuditList
	e.do("GET", tenantPath(e.contoso, "/audit")+"?kind=admin.ban", tokAdminA, nil).must(t, 200).json(t, &page)
	if len(page.Value) != 3 {
		t.Fatalf("admin.ban events: %+v", page.Value)
	}
	byTarget := map[string]audit.Event{}
	for _, ev := range page.Value {
		byTarget[ev.Target] = ev
	}
	lift := byTarget[alice.ID]
	var before, afterBan Ban
	if err := json.Unmarshal(lift.Before, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(lift.After, &afterBan); err != nil {
		t.Fatal(err)
	}
	if lift.Kind != "admin.ban.remove" || lift.Actor != "a" || lift.Target != alice.ID || lift.Details["type"] != "user" ||
		before.FailedSignIns != 2 || before.LockedUntil == nil || afterBan.FailedSignIns != 0 || afterBan.LockedUntil != nil {
		t.Errorf("user lift event: %+v (before %+v, after %+v)", lift, before, afterBan)
	}
	if ev := byTarget["192.0.2.7"]; ev.Kind != "admin.ban.remove" || ev.Details["type"] != "address" || len(ev.Before) == 0 || len(ev.After) != 0 {
		t.Errorf("address lift event: %+v", ev)
	}
}

func TestBanBadRequests(t *testing.T) {
	e := newEnv(t)
	bans := tenantPath(e.contoso, "/bans")
	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x", "?cursor=nope", "?cursor=user.", "?cursor=group.x"} {
		e.do("GET", bans+q, tokAdminA, nil, invalidRequest).must(t, 400)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
