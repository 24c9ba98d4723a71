package sqlite

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

// Rotations of many refresh tokens at once, as many clients refreshing
// through the token endpoint do: 64 goroutines per core, each rotating its
// own chain. With one transaction (and one fsync) per rotation the rate is
// the disk's fsync rate; group commit shares each fsync among the
// rotations that queued meanwhile.
func BenchmarkRotateRefreshTokenParallel(b *testing.B) {
	s := benchStore(b)
	ctx := b.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := s.CreateGrant(ctx, "t", session.Grant{ID: "g", UserID: "u", ClientID: "c", CreatedAt: now,
		ExpiresAt: now.AddDate(1, 0, 0)}); err != nil {
		b.Fatal(err)
	}
	sealed := make([]byte, 2000)
	const parallelism = 64
	hash := func(chain int64, i int) []byte { return fmt.Appendf(make([]byte, 0, 32), "%08d%024d", chain, i) }
	for chain := range int64(parallelism * runtime.GOMAXPROCS(0)) {
		if err := s.CreateRefreshToken(ctx, "t", session.RefreshToken{Hash: hash(chain, 0), GrantID: "g", ClientID: "c",
			CreatedAt: now, ExpiresAt: now.AddDate(0, 0, 90)}); err != nil {
			b.Fatal(err)
		}
	}
	var chains atomic.Int64
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		chain := chains.Add(1) - 1
		hash := func(i int) []byte { return hash(chain, i) }
		i := 0
		for pb.Next() {
			next := session.RefreshToken{Hash: hash(i + 1), GrantID: "g", ClientID: "c", CreatedAt: now,
				ExpiresAt: now.AddDate(0, 0, 90)}
			if _, _, ok, err := s.MarkRefreshTokenUsed(ctx, "t", hash(i), next, sealed, session.Revocation{}, now); err != nil || !ok {
				b.Error(err)
				return
			}
			i++
		}
	})
}
