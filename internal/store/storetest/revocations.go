package storetest

import (
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store"
)

func testRevocationFeed(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, s.AppendRevocation(ctx, "a", session.Revocation{Kind: session.RevokeToken, Value: "jti-1",
		RevokedAt: t0, ExpiresAt: at(100)}), session.ErrNotFound)
	addTenant(t, s, "a")
	addTenant(t, s, "b")

	// Entries of both tenants interleaved; Seq is assigned by the store,
	// whatever the caller sets.
	var want []session.Revocation
	for _, r := range []session.Revocation{
		{Kind: session.RevokeGrant, Value: "grant-1", RevokedAt: at(1), ExpiresAt: at(100)},
		{Kind: session.RevokeSubject, Value: "user-1", RevokedAt: at(2), ExpiresAt: at(50)},
		{Kind: session.RevokeClient, Value: "client-1", RevokedAt: at(3), ExpiresAt: at(200)},
		{Kind: session.RevokeToken, Value: "jti-1", RevokedAt: at(4), ExpiresAt: at(300)},
	} {
		r.TenantID, r.Seq = "a", 999
		must(t, s.AppendRevocation(ctx, "a", r))
		must(t, s.AppendRevocation(ctx, "b", session.Revocation{TenantID: "b", Kind: session.RevokeToken,
			Value: "b-" + r.Value, RevokedAt: r.RevokedAt, ExpiresAt: r.ExpiresAt}))
		r.Seq = 0
		want = append(want, r)
	}
	all, err := s.ListRevocations(ctx, "a", 0, t0, 10)
	must(t, err)
	wantEqual(t, entries(all), want)
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("sequence numbers do not increase: %d after %d", all[i].Seq, all[i-1].Seq)
		}
	}
	bFeed, err := s.ListRevocations(ctx, "b", 0, t0, 10)
	must(t, err)
	if len(bFeed) != 4 || bFeed[0].Value != "b-grant-1" || bFeed[0].Seq <= all[0].Seq || bFeed[0].Seq >= all[1].Seq {
		t.Fatalf("tenant b's feed is %+v", bFeed)
	}

	for _, tc := range []struct {
		name  string
		after int64
		now   time.Time
		limit int
		want  []session.Revocation
	}{
		{"after a sequence number", all[1].Seq, t0, 10, all[2:]},
		{"after the last", all[3].Seq, t0, 10, []session.Revocation{}},
		{"limited", 0, t0, 2, all[:2]},
		{"limited after", all[0].Seq, t0, 2, all[1:3]},
		{"expired entries left out (at their expiry)", 0, at(50), 10, []session.Revocation{all[0], all[2], all[3]}},
		{"all expired", 0, at(300), 10, []session.Revocation{}},
	} {
		got, err := s.ListRevocations(ctx, "a", tc.after, tc.now, tc.limit)
		must(t, err)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: got %d entries, want %d", tc.name, len(got), len(tc.want))
		}
		wantEqual(t, got, tc.want)
	}

	if _, err := s.ListRevocations(ctx, "a", 0, t0, 0); err == nil {
		t.Fatal("ListRevocations accepted a limit of 0")
	}
	if err := s.AppendRevocation(ctx, "a", session.Revocation{Kind: "nonsense", Value: "x", ExpiresAt: at(100)}); err == nil {
		t.Fatal("AppendRevocation accepted an unknown kind")
	}
	if err := s.AppendRevocation(ctx, "a", session.Revocation{TenantID: "b", Kind: session.RevokeToken, Value: "x", ExpiresAt: at(100)}); err == nil {
		t.Fatal("AppendRevocation accepted an entry of tenant b in tenant a")
	}
	got, err := s.ListRevocations(ctx, "a", 0, t0, 10)
	must(t, err)
	wantEqual(t, got, all)
}
