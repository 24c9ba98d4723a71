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
)

// BenchmarkMiddleware serves GET /account/me, a handler that does almost
// nothing, with and without the guard in front, and reports the latency
// the guard adds at the median and the 99th percentile (each request
// timed on its own; a benchmark's clock, not an assertion) and the RS256
// validations per second on one core.
func BenchmarkMiddleware(b *testing.B) {
	idp := guardtest.NewAuthority(b)
	clock := func() time.Time { return now }
	idp.Now = clock
	g, err := guard.New(context.Background(), guard.Config{
		Authority: idp.URL(), Audiences: []string{"api://" + appID}, HTTPClient: idp.Client(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clock,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(g.Close)
	token := idp.Mint(b, idp.V2Claims(appID))
	guarded := studies.NewHandler(g)
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{}`)
	})
	serve := func(b *testing.B, h http.Handler) []time.Duration {
		req := httptest.NewRequest("GET", "/account/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		times := make([]time.Duration, 0, 1024)
		for b.Loop() {
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
	b.Run("bare", func(b *testing.B) { base = serve(b, bare) })
	b.Run("guarded", func(b *testing.B) {
		b.ReportAllocs()
		times := serve(b, guarded)
		b.ReportMetric(pct(times, 0.5)-pct(base, 0.5), "p50-added-µs")
		b.ReportMetric(pct(times, 0.99)-pct(base, 0.99), "p99-added-µs")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validations/s")
	})
}
