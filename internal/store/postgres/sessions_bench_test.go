package postgres

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// benchSessionStore is a store on a fresh schema with tenant a.
func benchSessionStore(b *testing.B) *Store {
	s := openTest(b)
	if err := s.CreateTenant(b.Context(), directory.Tenant{ID: "a", Domain: "a.example", CreatedAt: t0}); err != nil {
		b.Fatal(err)
	}
	return s
}

// The session layer's hot write: one refresh, one statement (see
// rotateRefreshToken). Each call waits for its commit's WAL flush.
func BenchmarkRotateRefreshToken(b *testing.B) {
	s := benchSessionStore(b)
	if err := s.CreateGrant(b.Context(), "a", testGrant("a", "grant-1", "")); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateRefreshToken(b.Context(), "a", testRefreshToken("a", "0", "grant-1", t0)); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		now := t0.Add(time.Duration(i+1) * time.Millisecond)
		next := testRefreshToken("a", fmt.Sprint(i+1), "grant-1", now)
		if _, _, ok, err := s.MarkRefreshTokenUsed(b.Context(), "a", []byte(fmt.Sprint("rt ", i)), next, []byte("sealed"),
			session.Revocation{}, now); err != nil || !ok {
			b.Fatal(err)
		}
		i++
	}
}

// Concurrent refreshes of separate grants, as many clients make them:
// they share no row, so they should not queue on each other's locks.
func BenchmarkRotateRefreshTokenParallel(b *testing.B) {
	s := benchSessionStore(b)
	var worker atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		g := fmt.Sprint("grant-", worker.Add(1))
		if err := s.CreateGrant(b.Context(), "a", testGrant("a", g, "")); err != nil {
			b.Error(err)
			return
		}
		if err := s.CreateRefreshToken(b.Context(), "a", testRefreshToken("a", g+"-0", g, t0)); err != nil {
			b.Error(err)
			return
		}
		for i := 0; pb.Next(); i++ {
			now := t0.Add(time.Duration(i+1) * time.Millisecond)
			next := testRefreshToken("a", fmt.Sprint(g, "-", i+1), g, now)
			if _, _, ok, err := s.MarkRefreshTokenUsed(b.Context(), "a", []byte(fmt.Sprint("rt ", g, "-", i)), next,
				[]byte("sealed"), session.Revocation{}, now); err != nil || !ok {
				b.Error(err)
				return
			}
		}
	})
}
