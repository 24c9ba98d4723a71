package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

func testDeviceCodeRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, s.CreateDeviceCode(ctx, "a", newDeviceCode("a", "1", t0), 0), session.ErrNotFound)
	addTenant(t, s, "a")
	d := newDeviceCode("a", "1", t0)
	must(t, s.CreateDeviceCode(ctx, "a", d, 0))
	got, err := s.GetDeviceCodeByUserCode(ctx, "a", d.UserCodeHash)
	must(t, err)
	wantEqual(t, got, d)

	bare := newDeviceCode("a", "2", t0)
	bare.Scopes = nil
	must(t, s.CreateDeviceCode(ctx, "a", bare, 0))
	got, err = s.GetDeviceCodeByUserCode(ctx, "a", bare.UserCodeHash)
	must(t, err)
	bare.Scopes = []string{}
	wantEqual(t, got, bare)

	_, err = s.GetDeviceCodeByUserCode(ctx, "a", hash("user-code-9"))
	wantErr(t, err, session.ErrNotFound)
	sameHash := newDeviceCode("a", "3", t0)
	sameHash.Hash = d.Hash
	wantErr(t, s.CreateDeviceCode(ctx, "a", sameHash, 0), directory.ErrConflict)
}

// A user code is unique among live device codes only: once its device code
// has expired it may be drawn again.
func testDeviceUserCodeReuse(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	d1 := newDeviceCode("a", "1", t0)
	must(t, s.CreateDeviceCode(ctx, "a", d1, 0))
	d2 := newDeviceCode("a", "2", d1.ExpiresAt.Add(-1e3))
	d2.UserCodeHash = d1.UserCodeHash
	wantErr(t, s.CreateDeviceCode(ctx, "a", d2, 0), directory.ErrConflict)
	d2 = newDeviceCode("a", "2", d1.ExpiresAt)
	d2.UserCodeHash = d1.UserCodeHash
	must(t, s.CreateDeviceCode(ctx, "a", d2, 0))
	got, err := s.GetDeviceCodeByUserCode(ctx, "a", d1.UserCodeHash)
	must(t, err)
	wantEqual(t, got, d2)
}

func testApproveDeviceCode(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	addGrant(t, s, "a", "grant-1", "", t0)
	d := newDeviceCode("a", "1", t0)
	must(t, s.CreateDeviceCode(ctx, "a", d, 0))

	_, err := Approve(ctx, s, "a", hash("user-code-9"), "user-1", "grant-1", at(1))
	wantErr(t, err, session.ErrNotFound)
	// An approval names a grant of that user and client in the tenant.
	_, err = Approve(ctx, s, "a", d.UserCodeHash, "user-1", "grant-missing", at(1))
	wantErr(t, err, session.ErrNotFound)
	for _, bad := range [][2]string{{"user-1", ""}, {"user-2", "grant-1"}, {"", "grant-1"}} {
		if _, err := Approve(ctx, s, "a", d.UserCodeHash, bad[0], bad[1], at(1)); err == nil {
			t.Fatalf("approval by %q with grant %q succeeded", bad[0], bad[1])
		}
	}
	// Past its expiry a device code cannot be decided.
	_, err = Approve(ctx, s, "a", d.UserCodeHash, "user-1", "grant-1", d.ExpiresAt)
	wantErr(t, err, session.ErrExpired)
	got, err := s.GetDeviceCodeByUserCode(ctx, "a", d.UserCodeHash)
	must(t, err)
	wantEqual(t, got, d)

	approved, err := Approve(ctx, s, "a", d.UserCodeHash, "user-1", "grant-1", at(1))
	must(t, err)
	d.Status, d.UserID, d.GrantID = session.DeviceApproved, "user-1", "grant-1"
	wantEqual(t, approved, d)
	got, err = s.GetDeviceCodeByUserCode(ctx, "a", d.UserCodeHash)
	must(t, err)
	wantEqual(t, got, d)

	// The first decision stands.
	_, err = Approve(ctx, s, "a", d.UserCodeHash, "", "", at(2))
	wantErr(t, err, session.ErrUsed)

	denied := newDeviceCode("a", "2", t0)
	must(t, s.CreateDeviceCode(ctx, "a", denied, 0))
	got, err = Approve(ctx, s, "a", denied.UserCodeHash, "", "", at(1))
	must(t, err)
	denied.Status = session.DeviceDenied
	wantEqual(t, got, denied)
	_, err = Approve(ctx, s, "a", denied.UserCodeHash, "user-1", "grant-1", at(2))
	wantErr(t, err, session.ErrUsed)
}

// A poll returns the device code as it was before it; the first poll after
// the approval redeems it.
func testPollDeviceCode(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	addGrant(t, s, "a", "grant-1", "", t0)
	_, err := Poll(ctx, s, "a", hash("device-9"), at(1))
	wantErr(t, err, session.ErrNotFound)
	d := newDeviceCode("a", "1", t0)
	must(t, s.CreateDeviceCode(ctx, "a", d, 0))

	pollAt := func(now time.Time, want session.DeviceCode) {
		t.Helper()
		got, err := Poll(ctx, s, "a", d.Hash, now)
		must(t, err)
		wantEqual(t, got, want)
	}
	pollAt(at(1), d)
	d.LastPolledAt = at(1)
	pollAt(at(2), d)
	d.LastPolledAt = at(2)

	_, err = Approve(ctx, s, "a", d.UserCodeHash, "user-1", "grant-1", at(3))
	must(t, err)
	d.Status, d.UserID, d.GrantID = session.DeviceApproved, "user-1", "grant-1"
	pollAt(at(4), d) // this poll gets the tokens…
	d.Status, d.LastPolledAt = session.DeviceRedeemed, at(4)
	pollAt(at(5), d) // …and no later one
	d.LastPolledAt = at(5)
	got, err := s.GetDeviceCodeByUserCode(ctx, "a", d.UserCodeHash)
	must(t, err)
	wantEqual(t, got, d)

	// Denied: every poll says so.
	denied := newDeviceCode("a", "2", t0)
	must(t, s.CreateDeviceCode(ctx, "a", denied, 0))
	_, err = Approve(ctx, s, "a", denied.UserCodeHash, "", "", at(1))
	must(t, err)
	for i := range 2 {
		got, err := Poll(ctx, s, "a", denied.Hash, at(2+i))
		must(t, err)
		wantEqual(t, got.Status, session.DeviceDenied)
	}

	// Past its expiry a poll sees the code as it is and changes nothing:
	// an approval that came too late is never redeemed.
	late := newDeviceCode("a", "3", t0)
	must(t, s.CreateDeviceCode(ctx, "a", late, 0))
	_, err = Approve(ctx, s, "a", late.UserCodeHash, "user-1", "grant-1", at(1))
	must(t, err)
	late.Status, late.UserID, late.GrantID = session.DeviceApproved, "user-1", "grant-1"
	for _, now := range []time.Time{late.ExpiresAt, late.ExpiresAt.Add(time.Hour)} {
		got, err := Poll(ctx, s, "a", late.Hash, now)
		must(t, err)
		wantEqual(t, got, late)
	}
}

// pendingCode is a device code of client in tenant, made at created.
func pendingCode(tenantID, client, name string, created time.Time) session.DeviceCode {
	d := newDeviceCode(tenantID, name, created)
	d.ClientID = client
	return d
}

// The cap on pending device codes (RFC 8628 §5.2): counted per tenant and
// client, over codes still pending and unexpired at the new code's
// creation; a refusal stores nothing and says when the first place frees.
func testDevicePendingLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	addTenant(t, s, "b")
	const max = 3
	create := func(d session.DeviceCode) error { return s.CreateDeviceCode(ctx, d.TenantID, d, max) }
	first := pendingCode("a", "client-1", "1", at(0))
	must(t, create(first))
	must(t, create(pendingCode("a", "client-1", "2", at(1))))
	must(t, create(pendingCode("a", "client-1", "3", at(2))))

	refused := func(d session.DeviceCode, freeAt time.Time) {
		t.Helper()
		err := create(d)
		var limit *session.PendingLimitError
		if !errors.As(err, &limit) || !errors.Is(err, session.ErrDevicePendingLimit) {
			t.Fatalf("code %d over the cap: %v, want a PendingLimitError", len(d.Hash), err)
		}
		wantEqual(t, *limit, session.PendingLimitError{Max: max, FreeAt: freeAt})
		_, err = s.GetDeviceCodeByUserCode(ctx, d.TenantID, d.UserCodeHash)
		wantErr(t, err, session.ErrNotFound)
	}
	refused(pendingCode("a", "client-1", "4", at(3)), first.ExpiresAt)

	// Another client, the same client in another tenant, and a call
	// without a cap are not counted against it.
	must(t, create(pendingCode("a", "client-2", "5", at(3))))
	must(t, create(pendingCode("b", "client-1", "6", at(3))))
	must(t, s.CreateDeviceCode(ctx, "a", pendingCode("a", "client-1", "7", at(3)), 0))
	refused(pendingCode("a", "client-1", "8", at(3)), first.ExpiresAt)

	// A decided code is no longer pending; an expired one no longer
	// counts.
	_, err := Approve(ctx, s, "a", hash("user-code-2"), "", "", at(4))
	must(t, err)
	_, err = Approve(ctx, s, "a", hash("user-code-7"), "", "", at(4))
	must(t, err)
	must(t, create(pendingCode("a", "client-1", "9", at(5))))
	refused(pendingCode("a", "client-1", "10", at(6)), first.ExpiresAt)
	must(t, create(pendingCode("a", "client-1", "10", first.ExpiresAt)))
	refused(pendingCode("a", "client-1", "11", first.ExpiresAt), at(2).Add(15*time.Minute))
}
