package directory_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// TestPasswordHashingBounded: more concurrent sign-ins than slots never
// hash more than the slots at once; with every slot held, a sign-in waits
// briefly, then fails with ErrBusy without counting against the account
// (the lockout counts checked passwords only).
func TestPasswordHashingBounded(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	params := directory.PasswordParams{Memory: 1024, Time: 1, Threads: 1}
	fast := e.dir.WithPasswordParams(params)
	const pw = "correct horse battery staple"
	if _, err := fast.CreateUser(ctx, e.tenant.ID, directory.UserSpec{UserPrincipalName: "alice", Password: pw}); err != nil {
		t.Fatal(err)
	}

	t.Run("at most the slots hash at once", func(t *testing.T) {
		slots := directory.NewHashSlots(2, time.Minute)
		d := fast.WithHashSlots(slots)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Go(func() {
				_, err := d.AuthenticateUser(ctx, e.tenant.ID, "alice", pw)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("a sign-in that could wait failed: %v", err)
			}
		}
		if p := slots.Peak(); p < 1 || p > 2 {
			t.Errorf("%d hashes ran at once, bound 2", p)
		}
	})

	t.Run("the overflow is refused, not queued without bound", func(t *testing.T) {
		slots := directory.NewHashSlots(1, time.Millisecond)
		d := fast.WithHashSlots(slots)
		if err := slots.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
		for _, user := range []string{"alice", "nobody"} {
			_, err := d.AuthenticateUser(ctx, e.tenant.ID, user, "wrong password!!")
			if !errors.Is(err, directory.ErrBusy) {
				t.Errorf("%s with every slot held: %v, want ErrBusy", user, err)
			}
			if errors.Is(err, directory.ErrInvalidCredentials) {
				t.Errorf("%s: a password that was not checked was called wrong", user)
			}
		}
		u, err := d.GetUser(ctx, e.tenant.ID, "alice")
		if err != nil || u.FailedSignIns != 0 {
			t.Errorf("an unchecked sign-in counted as a failure: %d (%v)", u.FailedSignIns, err)
		}
		slots.Release()
		if _, err := d.AuthenticateUser(ctx, e.tenant.ID, "alice", pw); err != nil {
			t.Errorf("after the slot is free: %v", err)
		}
	})

	t.Run("a cancelled request stops waiting", func(t *testing.T) {
		slots := directory.NewHashSlots(1, time.Hour)
		d := fast.WithHashSlots(slots)
		slots.Acquire(ctx)
		defer slots.Release()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := d.AuthenticateUser(cctx, e.tenant.ID, "alice", pw); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled while waiting: %v", err)
		}
	})
}
