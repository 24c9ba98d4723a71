package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// A group of rotations is one transaction: when one of its statements
// fails in the database, none of the group commits, and each rotation is
// run again alone, so that the others are told the truth (rotated, and
// durable) and only the failing one fails.
func TestRotationGroupFailureIsolated(t *testing.T) {
	s := openTest(t)
	// One group at a time, so that the two rotations below share one.
	s.rotations.close()
	s.rotations = startFeedWriter(s, 1)
	ctx := t.Context()
	addTestTenant(t, s, "a")
	for _, g := range []string{"grant-x", "grant-a", "grant-b"} {
		mustDo(t, s.CreateGrant(ctx, "a", testGrant("a", g, "")))
		mustDo(t, s.CreateRefreshToken(ctx, "a", testRefreshToken("a", g+"-1", g, t0)))
	}
	superseding := func(g string) session.Revocation {
		return session.Revocation{TenantID: "a", Kind: session.RevokeSuperseded, Value: g, Audience: "api://one",
			RevokedAt: t0, ExpiresAt: feedExpires, Generation: 1}
	}
	now := t0.Add(time.Second)
	rotate := func(g string, next session.RefreshToken) error {
		_, _, ok, err := s.MarkRefreshTokenUsed(ctx, "a", []byte("rt "+g+"-1"), next, []byte("sealed"), superseding(g), now)
		if err == nil && !ok {
			err = errors.New("not rotated")
		}
		return err
	}
	// The feed's counter is held: the first group waits on it, and the
	// next two rotations gather into one group behind it.
	tx := holdFeed(t, s, "a", "held")
	errs := make(chan error, 3)
	go func() { errs <- rotate("grant-x", testRefreshToken("a", "grant-x-2", "grant-x", now)) }()
	for s.rotations.waiting.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	results := map[string]chan error{"grant-a": make(chan error, 1), "grant-b": make(chan error, 1)}
	go func() { results["grant-a"] <- rotate("grant-a", testRefreshToken("a", "grant-a-2", "grant-a", now)) }()
	// grant-b's successor takes a hash that is stored already: the
	// database refuses it (unique violation) inside the group.
	go func() { results["grant-b"] <- rotate("grant-b", testRefreshToken("a", "grant-x-1", "grant-b", now)) }()
	for s.rotations.waiting.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	mustDo(t, tx.Commit(ctx))
	mustDo(t, <-errs)
	mustDo(t, <-results["grant-a"])
	if err := <-results["grant-b"]; !errors.Is(err, directory.ErrConflict) {
		t.Fatalf("the refused rotation: %v, want ErrConflict", err)
	}
	if _, _, err := s.GetRefreshToken(ctx, "a", []byte("rt grant-a-2")); err != nil {
		t.Fatalf("the rotation beside the refused one is not durable: %v", err)
	}
	b, _, err := s.GetRefreshToken(ctx, "a", []byte("rt grant-b-1"))
	mustDo(t, err)
	if !b.UsedAt.IsZero() {
		t.Fatal("the refused rotation marked its token used")
	}
	feed, err := s.ListRevocations(ctx, "a", 0, t0, 100)
	mustDo(t, err)
	seen := map[string]bool{}
	for _, r := range feed {
		seen[r.Value] = true
	}
	if !seen["grant-x"] || !seen["grant-a"] || seen["grant-b"] {
		t.Fatalf("feed %+v: want the superseded entries of grant-x and grant-a only", feed)
	}
}
