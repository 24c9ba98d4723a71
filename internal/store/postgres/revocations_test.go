package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/session"
)

var feedExpires = t0.AddDate(1, 0, 0)

func tokenRevocation(tenantID, jti string) session.Revocation {
	return session.Revocation{TenantID: tenantID, Kind: session.RevokeToken, Value: jti, RevokedAt: t0,
		ExpiresAt: feedExpires}
}

// holdFeed appends value to tenant's feed in a transaction it leaves
// open (rolled back at the test's end unless committed): the feed's
// counter row stays locked, as by another instance in the middle of an
// append.
func holdFeed(t *testing.T, s *Store, tenant, value string) pgx.Tx {
	t.Helper()
	tx, err := s.pool.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if err := appendRevocations(t.Context(), tx, tenant, []feedEntry{{session.RevokeToken, value}}, t0, feedExpires); err != nil {
		t.Fatal(err)
	}
	return tx
}

// blockedBy reports whether some backend waits for a lock that the backend
// pid holds.
func blockedBy(ctx context.Context, s *Store, pid int) (bool, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))`,
		pid).Scan(&n)
	return n > 0, err
}

// A follower reads "entries after the last sequence number I saw". If an
// entry could commit with a higher number while one with a lower number is
// still in flight, the follower would read the higher one, move its cursor
// past the lower one and never see it: a revoked token would stay valid at
// that resource server. So while one transaction holds an appended entry
// uncommitted, a second append must wait for it, and once both commit
// their numbers must follow their commit order.
func TestFeedNumbersFollowCommitOrder(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	addTestTenant(t, s, "a")

	// The first append, held open.
	tx := holdFeed(t, s, "a", "first")
	var pid int
	if err := tx.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}

	// The second, on another connection, as another instance would.
	second := make(chan error, 1)
	go func() { second <- s.AppendRevocation(ctx, "a", tokenRevocation("a", "second")) }()

	// It must end up waiting for the first: had it committed instead, a
	// follower could read it now, ahead of the first.
	for deadline := time.Now().Add(10 * time.Second); ; {
		select {
		case err := <-second:
			list, _ := s.ListRevocations(ctx, "a", 0, t0, 10)
			t.Fatalf("an append committed while an earlier one was in flight (err %v): a follower now reads %+v and skips the first", err, list)
		default:
		}
		blocked, err := blockedBy(ctx, s, pid)
		if err != nil {
			t.Fatal(err)
		}
		if blocked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second append neither committed nor waited for the first")
		}
		time.Sleep(5 * time.Millisecond)
	}
	list, err := s.ListRevocations(ctx, "a", 0, t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("a follower reads %+v while both appends are in flight", list)
	}

	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	list, err = s.ListRevocations(ctx, "a", 0, t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Value != "first" || list[1].Value != "second" || list[0].Seq >= list[1].Seq {
		t.Fatalf("feed after both commits: %+v, want first then second, numbered in that order", list)
	}
}

// An append that rolls back leaves no entry and does not hold up the next.
func TestFeedRolledBackAppendLeavesNoEntry(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	addTestTenant(t, s, "a")
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := appendRevocations(ctx, tx, "a", []feedEntry{{session.RevokeToken, "lost"}}, t0, feedExpires); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendRevocation(ctx, "a", tokenRevocation("a", "kept")); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListRevocations(ctx, "a", 0, t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Value != "kept" {
		t.Fatalf("feed: %+v, want only kept", list)
	}
}

// Followers polling while many instances append, each append held open a
// little, see every entry: none is ever skipped by a cursor.
func TestFeedFollowersMissNothing(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	addTestTenant(t, s, "a")
	const writers, perWriter = 8, 10

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				tx, err := s.pool.Begin(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				err = appendRevocations(ctx, tx, "a", []feedEntry{{session.RevokeToken, fmt.Sprint(w, "-", i)}},
					t0, feedExpires)
				if err == nil {
					// Hold the entry uncommitted for a while, varying by
					// writer, so that commits come in another order than
					// appends would without the counter's lock.
					time.Sleep(time.Duration(w%3) * time.Millisecond)
					err = tx.Commit(ctx)
				}
				if err != nil {
					tx.Rollback(ctx)
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	seen := map[string]bool{}
	var cursor int64
	follow := func() {
		list, err := s.ListRevocations(ctx, "a", cursor, t0, 5)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range list {
			if seen[r.Value] {
				t.Fatalf("entry %s read twice", r.Value)
			}
			seen[r.Value] = true
			cursor = r.Seq
		}
	}
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		follow()
	}
	// Every writer has committed: a last pass catches up.
	for range writers * perWriter {
		follow()
	}
	if len(seen) != writers*perWriter {
		all, _ := s.ListRevocations(ctx, "a", 0, t0, writers*perWriter+1)
		t.Fatalf("the follower saw %d of %d entries; the feed holds %d", len(seen), writers*perWriter, len(all))
	}
}

// Every refresh appends to the feed, and appends are serialised on the
// counter row: the appends of one process must go in one transaction per
// group, or the cluster's refresh rate is one WAL flush per entry. While
// one group waits (here, on a lock another instance holds), every append
// that arrives joins the next group.
func TestFeedAppendsAreGrouped(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	addTestTenant(t, s, "a")

	tx := holdFeed(t, s, "a", "held")
	before := s.feed.committed.Load()
	const n = 50
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- s.AppendRevocation(ctx, "a", tokenRevocation("a", fmt.Sprint("jti-", i))) }()
	}
	for s.feed.waiting.Load() < n {
		time.Sleep(time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// The group that was waiting on the lock when the others came, and
	// one group of everyone else.
	if got := s.feed.committed.Load() - before; got > 2 {
		t.Errorf("%d appends made while one group waited went in %d transactions, want at most 2", n, got)
	}
	feed, err := s.ListRevocations(ctx, "a", 0, t0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, r := range feed {
		if i > 0 && r.Seq <= feed[i-1].Seq {
			t.Errorf("feed out of order: %d after %d", r.Seq, feed[i-1].Seq)
		}
		seen[r.Value] = true
	}
	if len(feed) != n+1 || !seen["held"] {
		t.Errorf("feed has %d entries, want %d", len(feed), n+1)
	}
}

// One caller's bad entry (a tenant that does not exist) fails that caller
// alone; the others in its group are written.
func TestFeedGroupIsolatesErrors(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	addTestTenant(t, s, "a")

	tx := holdFeed(t, s, "a", "held")
	const n = 10
	type result struct {
		tenant string
		err    error
	}
	results := make(chan result, n+1)
	for i := range n {
		go func() {
			results <- result{"a", s.AppendRevocation(ctx, "a", tokenRevocation("a", fmt.Sprint("ok-", i)))}
		}()
	}
	go func() {
		results <- result{"nope", s.AppendRevocation(ctx, "nope", tokenRevocation("nope", "bad"))}
	}()
	for s.feed.waiting.Load() < n+1 {
		time.Sleep(time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for range n + 1 {
		r := <-results
		switch {
		case r.tenant == "nope" && !errors.Is(r.err, session.ErrNotFound):
			t.Errorf("append for an unknown tenant: %v, want session.ErrNotFound", r.err)
		case r.tenant == "a" && r.err != nil:
			t.Errorf("append grouped with a bad one failed: %v", r.err)
		}
	}
	feed, err := s.ListRevocations(ctx, "a", 0, t0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(feed) != n+1 {
		t.Errorf("feed has %d entries, want %d", len(feed), n+1)
	}
}

// Superseded entries of one grant and audience that meet in one group
// (refreshes reported at once; here they queue while another instance
// holds the counter) are written as one upsert: the latest generation's
// entry is the one left, and no append fails (one INSERT … ON CONFLICT
// cannot update a row twice, so the group must not hand it two rows of
// one key).
func TestFeedGroupSupersedes(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	addTestTenant(t, s, "a")

	tx := holdFeed(t, s, "a", "held")
	before := s.feed.committed.Load()
	const n = 40
	errs := make(chan error, n)
	for i := range n {
		go func() {
			aud := fmt.Sprint("api://", i%2)
			errs <- s.AppendRevocation(ctx, "a", session.Revocation{TenantID: "a", Kind: session.RevokeSuperseded, Value: "grant-1",
				Audience: aud, Prior: fmt.Sprint("jti-", i), Generation: int64(i), RevokedAt: t0, ExpiresAt: feedExpires})
		}()
	}
	for s.feed.waiting.Load() < n {
		time.Sleep(time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := s.feed.committed.Load() - before; got > 2 {
		t.Errorf("%d appends made while one group waited went in %d transactions, want at most 2", n, got)
	}
	feed, err := s.ListRevocations(ctx, "a", 0, t0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range feed {
		if r.Kind == session.RevokeSuperseded {
			got[r.Audience] = r.Prior
		}
	}
	if len(feed) != 3 || got["api://0"] != "jti-38" || got["api://1"] != "jti-39" {
		t.Errorf("feed %+v: want the held entry and, per audience, the latest generation's", feed)
	}
}
