package studies_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/tessera-id/tessera/examples/studies"
	"github.com/tessera-id/tessera/guard"
	"github.com/tessera-id/tessera/guard/guardtest"
	"github.com/tessera-id/tessera/internal/cputime"
)

// BenchmarkMiddleware serves GET /account/me, a handler that does almost
// nothing, with and without the guard in front, and reports the latency
// the guard adds at the median and the 99th percentile (each request
// timed on its own; a benchmark's clock, not an assertion) and the RS256
// validations per second on one core.
//
// "guarded" presents one token on every request, as a client does until
// its token expires: after the first, the guard answers from its
// verified-token cache. "guarded-distinct" presents a different token on
// each request to a guard whose cache is too small to keep them: every
// request pays for a full RS256 verification.
func BenchmarkMiddleware(b *testing.B) {
	idp := guardtest.NewAuthority(b)
	clock := func() time.Time { return now }
	idp.Now = clock
	newGuard := func(cacheSize int) *guard.Guard {
		g, err := guard.New(context.Background(), guard.Config{
			Authority: idp.URL(), Audiences: []string{"api://" + appID}, HTTPClient: idp.Client(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock,
			VerifiedTokenCacheSize: cacheSize,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(g.Close)
		return g
	}
	requests := func(n int) []*http.Request {
		reqs := make([]*http.Request, n)
		for i := range reqs {
			reqs[i] = httptest.NewRequest("GET", "/account/me", nil)
			reqs[i].Header.Set("Authorization", "Bearer "+idp.Mint(b, idp.V2Claims(appID)))
		}
		return reqs
	}
	one := requests(1)
	guarded := studies.NewHandler(newGuard(0))
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	})
	var cpu time.Duration // the process's CPU time over the last serve
	serve := func(b *testing.B, h http.Handler, reqs []*http.Request) []time.Duration {
		times := make([]time.Duration, 0, 1024)
		i := 0
		start := cputime.Process()
		defer func() { cpu = cputime.Process() - start }()
		for b.Loop() {
			req := reqs[i%len(reqs)]
			i++
			rec := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(rec, req)
			times = append(times, time.Since(start))
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
		slices.Sort(times)
		return times
	}
	pct := func(times []time.Duration, p float64) float64 {
		return float64(times[int(float64(len(times)-1)*p)].Microseconds())
	}
	var base []time.Duration
	report := func(b *testing.B, times []time.Duration) {
		b.ReportMetric(pct(times, 0.5)-pct(base, 0.5), "p50-added-µs")
		b.ReportMetric(pct(times, 0.99)-pct(base, 0.99), "p99-added-µs")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validations/s")
		// What a core does alone, whatever else shares the machine.
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "validations/cpu-s")
	}
	b.Run("bare", func(b *testing.B) { base = serve(b, bare, one) })
	b.Run("guarded", func(b *testing.B) {
		b.ReportAllocs()
		report(b, serve(b, guarded, one))
	})
	// 16 entries in 16 shards of one: each token is evicted long before
	// it comes round again.
	distinct, missing := requests(256), studies.NewHandler(newGuard(16))
	b.Run("guarded-distinct", func(b *testing.B) {
		b.ReportAllocs()
		report(b, serve(b, missing, distinct))
	})
}
