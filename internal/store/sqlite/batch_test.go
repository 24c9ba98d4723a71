package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

var batchT0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// batchFixture is a store with tenant "t", grant "g" and its refresh token
// "rt-1", and a record of the batch sizes its writer ran.
func batchFixture(t *testing.T) (*Store, func() []int) {
	t.Helper()
	ctx := t.Context()
	s := openTemp(t, filepath.Join(t.TempDir(), "batch.db"))
	var mu sync.Mutex
	var sizes []int
	// Set before any write is queued: the channel send orders it before
	// the writer reads it.
	s.batch.afterBatch = func(n int) { mu.Lock(); sizes = append(sizes, n); mu.Unlock() }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateTenant(ctx, directory.Tenant{ID: "t", Domain: "t.example", CreatedAt: batchT0}))
	must(s.CreateGrant(ctx, "t", grantAt("g")))
	must(s.CreateRefreshToken(ctx, "t", session.RefreshToken{Hash: []byte("rt-1"), GrantID: "g", CreatedAt: batchT0,
		ExpiresAt: batchT0.Add(time.Hour)}))
	return s, func() []int { mu.Lock(); defer mu.Unlock(); return append([]int(nil), sizes...) }
}

func grantAt(id string) session.Grant {
	return session.Grant{ID: id, UserID: "u", ClientID: "c", CreatedAt: batchT0, ExpiresAt: batchT0.AddDate(0, 0, 90)}
}

// together runs the calls as one batch: the writer is held busy by a
// blocking write until all of them are queued behind it, so the next
// batch is exactly these calls. It returns their errors, in order.
func together(t *testing.T, s *Store, calls ...func() error) []error {
	t.Helper()
	return togetherThen(t, s, func() {}, calls...)
}

// togetherThen is together that calls queued once every call is queued,
// before the writer takes them.
func togetherThen(t *testing.T, s *Store, queued func(), calls ...func() error) []error {
	t.Helper()
	release := make(chan struct{})
	started := make(chan struct{})
	blocker := make(chan error, 1)
	go func() {
		blocker <- s.batch.do(context.Background(), func(*sql.Tx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Go(func() { errs[i] = call() })
	}
	for len(s.batch.ops) < len(calls) {
		runtime.Gosched()
	}
	queued()
	close(release)
	wg.Wait()
	if err := <-blocker; err != nil {
		t.Fatal(err)
	}
	return errs
}

// One batch, one commit, and each operation's failure is its own: a
// logical failure (a rotation of a token that does not exist) and a broken
// constraint (a grant stored twice) roll back to their savepoints while
// the rotation and the new grant beside them commit.
func TestBatchFailureIsolated(t *testing.T) {
	s, sizes := batchFixture(t)
	ctx := t.Context()
	now := batchT0.Add(time.Minute)
	next := session.RefreshToken{Hash: []byte("rt-2"), GrantID: "g", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	errs := together(t, s,
		func() error {
			_, _, ok, err := s.MarkRefreshTokenUsed(ctx, "t", []byte("rt-1"), next, []byte("sealed"), session.Revocation{}, now)
			if err == nil && !ok {
				err = errors.New("not rotated")
			}
			return err
		},
		func() error {
			late := batchT0.Add(2 * time.Hour)
			_, _, _, err := s.MarkRefreshTokenUsed(ctx, "t", []byte("rt-9"), session.RefreshToken{Hash: []byte("rt-3"), GrantID: "g",
				CreatedAt: late, ExpiresAt: late.Add(time.Hour)}, nil, session.Revocation{}, late)
			return err
		},
		func() error { return s.CreateGrant(ctx, "t", grantAt("g")) },
		func() error { return s.CreateGrant(ctx, "t", grantAt("g-new")) },
	)
	if got := sizes(); len(got) == 0 || got[len(got)-1] != 4 {
		t.Fatalf("batch sizes %v, want the last batch to hold the 4 calls", got)
	}
	if errs[0] != nil || errs[3] != nil {
		t.Fatalf("rotation: %v, new grant: %v; want both to succeed", errs[0], errs[3])
	}
	if !errors.Is(errs[1], session.ErrNotFound) {
		t.Fatalf("rotation of a missing token: %v, want ErrNotFound", errs[1])
	}
	if !errors.Is(errs[2], directory.ErrConflict) {
		t.Fatalf("duplicate grant: %v, want ErrConflict", errs[2])
	}
	if _, err := s.GetGrant(ctx, "t", "g-new"); err != nil {
		t.Fatalf("the new grant was not committed: %v", err)
	}
	rt, _, err := s.GetRefreshToken(ctx, "t", []byte("rt-1"))
	if err != nil || string(rt.SuccessorHash) != "rt-2" {
		t.Fatalf("rt-1 = %+v, %v; want it rotated to rt-2", rt, err)
	}
	if _, _, err := s.GetRefreshToken(ctx, "t", []byte("rt-2")); err != nil {
		t.Fatalf("the successor was not committed: %v", err)
	}
	if _, _, err := s.GetRefreshToken(ctx, "t", []byte("rt-3")); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the failed rotation's successor: %v, want ErrNotFound", err)
	}
}

// An operation whose failure ends the whole transaction (here it rolls
// it back itself, as SQLite does on an interrupt or a full disk) takes
// the others' work with it; the writer runs them again without it.
func TestBatchRecoversFromLostTransaction(t *testing.T) {
	s, _ := batchFixture(t)
	ctx := t.Context()
	boom := errors.New("boom")
	errs := together(t, s,
		func() error { return s.CreateGrant(ctx, "t", grantAt("g-a")) },
		func() error {
			return s.batch.do(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "ROLLBACK"); err != nil {
					return err
				}
				return boom
			})
		},
		func() error { return s.CreateGrant(ctx, "t", grantAt("g-c")) },
	)
	if errs[0] != nil || !errors.Is(errs[1], boom) || errs[2] != nil {
		t.Fatalf("errors %v, want nil, boom, nil", errs)
	}
	for _, id := range []string{"g-a", "g-c"} {
		if _, err := s.GetGrant(ctx, "t", id); err != nil {
			t.Fatalf("grant %s was not committed: %v", id, err)
		}
	}
}

// A caller that gives up while its write is queued gets its context's
// error and the write is not run.
func TestBatchSkipsCancelled(t *testing.T) {
	s, _ := batchFixture(t)
	ctx, cancel := context.WithCancel(t.Context())
	errs := togetherThen(t, s, cancel, func() error { return s.CreateGrant(ctx, "t", grantAt("g-x")) })
	if !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("cancelled write: %v, want context.Canceled", errs[0])
	}
	if _, err := s.GetGrant(t.Context(), "t", "g-x"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("the cancelled write's grant: %v, want ErrNotFound", err)
	}
}

// Close answers instead of leaving callers waiting.
func TestBatchClosed(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "closed.db"))
	s.batch.close()
	if err := s.CreateGrant(t.Context(), "t", grantAt("g")); !errors.Is(err, errClosed) {
		t.Fatalf("write after close: %v, want errClosed", err)
	}
}
