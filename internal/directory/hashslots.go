package directory

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"time"
)

// ErrBusy: as many passwords are being hashed as memory allows and none
// finished within the brief wait. Nothing was checked and nothing is
// counted against the account; the caller may retry shortly.
var ErrBusy = errors.New("password hashing at capacity")

// DefaultHashWait is how long a sign-in waits for a hashing slot before
// ErrBusy: long enough to absorb a burst, short enough that a flood
// cannot build an unbounded queue of waiting requests, each holding a
// connection and its password.
const DefaultHashWait = 2 * time.Second

// HashSlots bounds how many argon2id hashes run at once. Each costs its
// memory parameter (19 MiB by default) for as long as it runs, so a burst
// of sign-ins, most of them failures, must not be able to hash without
// bound and exhaust the process's memory. The server sizes the slots from
// the memory available (server.passwordHashSlots).
type HashSlots struct {
	sem    chan struct{}
	wait   time.Duration
	active atomic.Int64
	peak   atomic.Int64
	taken  atomic.Int64
}

// NewHashSlots returns n slots (at least 1); a hash waits at most wait
// (DefaultHashWait when 0) for one.
func NewHashSlots(n int, wait time.Duration) *HashSlots {
	if wait <= 0 {
		wait = DefaultHashWait
	}
	return &HashSlots{sem: make(chan struct{}, max(n, 1)), wait: wait}
}

// Acquire takes a slot, waiting at most the slots' wait, or less if ctx
// ends first: ErrBusy, or ctx's error.
func (h *HashSlots) Acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		h.enter()
		return nil
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		h.enter()
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *HashSlots) enter() {
	h.taken.Add(1)
	n := h.active.Add(1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// Release gives back a slot taken by Acquire.
func (h *HashSlots) Release() {
	h.active.Add(-1)
	<-h.sem
}

// Capacity is the number of slots.
func (h *HashSlots) Capacity() int { return cap(h.sem) }

// Peak is the most slots ever held at once.
func (h *HashSlots) Peak() int { return int(h.peak.Load()) }

// Taken is how many times a slot was taken: one per argon2id hash run,
// checks of real and of dummy hashes alike.
func (h *HashSlots) Taken() int64 { return h.taken.Load() }

// defaultHashSlots: one slot per core (argon2id with one lane is pure CPU
// while it holds the slot, so more slots than cores add memory, not
// throughput). The server replaces it with a count sized from memory.
func defaultHashSlots() *HashSlots { return NewHashSlots(runtime.GOMAXPROCS(0), 0) }

// verifyPassword is VerifyPassword in a hashing slot: a sign-in waits
// briefly for one, then fails with ErrBusy.
func (s *Service) verifyPassword(ctx context.Context, encoded, password string) (ok, rehash bool, err error) {
	if err := s.hashSlots.Acquire(ctx); err != nil {
		return false, false, err
	}
	defer s.hashSlots.Release()
	return VerifyPassword(encoded, password, s.passwordParams)
}

// hashPassword is HashPassword in a hashing slot. An administrator
// setting a password waits for a slot as long as the request lasts, rather
// than be refused: those calls are authenticated and few.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	for {
		err := s.hashSlots.Acquire(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrBusy) {
			return "", err
		}
	}
	defer s.hashSlots.Release()
	return HashPassword(s.rand, password, s.passwordParams)
}

// tryHashPassword is HashPassword if a slot is free within the brief
// wait, else ErrBusy.
func (s *Service) tryHashPassword(ctx context.Context, password string) (string, error) {
	if err := s.hashSlots.Acquire(ctx); err != nil {
		return "", err
	}
	defer s.hashSlots.Release()
	return HashPassword(s.rand, password, s.passwordParams)
}

// HashSlots returns the bound the service hashes passwords under.
func (s *Service) HashSlots() *HashSlots { return s.hashSlots }

// WithHashSlots returns a Service over the same storage whose password
// hashing is bounded by h: for tests that must see the bound.
func (s *Service) WithHashSlots(h *HashSlots) *Service {
	c := *s
	c.hashSlots = h
	return &c
}
