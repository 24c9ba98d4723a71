package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

// testPurge: expired state goes, live state stays, and a grant stays as
// long as anything refers to it.
func testPurge(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	old := newGrant("a", "grant-old", "", t0)
	old.ExpiresAt = t0.Add(time.Hour)
	must(t, s.CreateGrant(ctx, "a", old))
	live := addGrant(t, s, "a", "grant-live", "", t0)

	// The old grant, its code and refresh token all end within the hour.
	oldCode := newCode("a", "code-old", "grant-old", t0)
	must(t, s.CreateCode(ctx, "a", oldCode))
	oldRT := newRefreshToken("a", "rt-old", "grant-old", t0)
	oldRT.ExpiresAt = t0.Add(30 * time.Minute)
	must(t, s.CreateRefreshToken(ctx, "a", oldRT))
	liveRT := newRefreshToken("a", "rt-live", "grant-live", t0)
	must(t, s.CreateRefreshToken(ctx, "a", liveRT))
	oldDevice := newDeviceCode("a", "old", t0)
	must(t, s.CreateDeviceCode(ctx, "a", oldDevice, 0))
	must(t, s.AppendRevocation(ctx, "a", session.Revocation{TenantID: "a", Kind: session.RevokeToken, Value: "jti-old", RevokedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	must(t, s.AppendRevocation(ctx, "a", session.Revocation{TenantID: "a", Kind: session.RevokeToken, Value: "jti-live", RevokedAt: t0, ExpiresAt: farAhead}))

	// Sixteen minutes later, the device code has expired and goes at
	// once; the code, expired too, stays a day, to be answered "expired".
	n, err := s.Purge(ctx, session.PurgeBefore{Expired: t0.Add(16 * time.Minute), Answered: t0.Add(16*time.Minute - 24*time.Hour)}, 1000)
	must(t, err)
	if n != 1 {
		t.Errorf("purged %d rows, want the expired device code alone", n)
	}
	_, err = s.GetDeviceCodeByUserCode(ctx, "a", oldDevice.UserCodeHash)
	wantErr(t, err, session.ErrNotFound)
	if _, err := s.GetCode(ctx, "a", oldCode.Hash); err != nil {
		t.Errorf("a code was purged within a day of its expiry: %v", err)
	}

	// A day later, everything that expired goes; the live grant's refresh
	// token keeps it.
	n, err = s.Purge(ctx, session.PurgeBefore{Expired: t0.Add(24 * time.Hour), Answered: t0.Add(24 * time.Hour)}, 1000)
	must(t, err)
	if n < 4 {
		t.Errorf("purged %d rows, want at least code, refresh token, feed entry and grant", n)
	}
	_, err = s.GetCode(ctx, "a", oldCode.Hash)
	wantErr(t, err, session.ErrNotFound)
	_, _, err = s.GetRefreshToken(ctx, "a", oldRT.Hash)
	wantErr(t, err, session.ErrNotFound)
	if _, _, err := s.GetRefreshToken(ctx, "a", liveRT.Hash); err != nil {
		t.Errorf("a live refresh token was purged: %v", err)
	}
	if _, err := s.GetGrant(ctx, "a", live.ID); err != nil {
		t.Errorf("a live grant was purged: %v", err)
	}
	_, err = s.GetGrant(ctx, "a", old.ID)
	wantErr(t, err, session.ErrNotFound)
	feed, err := s.ListRevocations(ctx, "a", 0, t0, 100)
	must(t, err)
	if len(feed) != 1 || feed[0].Value != "jti-live" {
		t.Errorf("feed after purge: %+v, want only the live entry", feed)
	}
}

// testPurgeBatches: one Purge deletes at most limit rows of a kind, and
// repeated purges go through the backlog.
func testPurgeBatches(t *testing.T, s store.Store) {
	ctx := t.Context()
	addTenant(t, s, "a")
	for i := range 5 {
		must(t, s.CreateDeviceCode(ctx, "a", newDeviceCode("a", fmt.Sprint(i), t0), 0))
	}
	live := newDeviceCode("a", "live", t0.Add(time.Hour))
	must(t, s.CreateDeviceCode(ctx, "a", live, 0))
	cut := session.PurgeBefore{Expired: t0.Add(time.Hour), Answered: t0}
	var got []int64
	for range 4 {
		n, err := s.Purge(ctx, cut, 2)
		must(t, err)
		got = append(got, n)
	}
	wantEqual(t, got, []int64{2, 2, 1, 0})
	if _, err := s.GetDeviceCodeByUserCode(ctx, "a", live.UserCodeHash); err != nil {
		t.Errorf("a live device code was purged: %v", err)
	}
}
