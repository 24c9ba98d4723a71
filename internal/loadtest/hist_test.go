package loadtest

import (
	"math"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Four workers' histograms of 1..10,000 µs (every value once, dealt round
// robin) merge into the distribution of the whole: the percentiles of
// 1..N are known exactly, and HDR's three significant digits hold them to
// 0.1 %.
func TestMergedPercentilesOfKnownData(t *testing.T) {
	parts := make([]*hdrhistogram.Histogram, 4)
	for i := range parts {
		parts[i] = newHist()
	}
	whole := newHist()
	for v := 1; v <= 10_000; v++ {
		d := time.Duration(v) * time.Microsecond
		record(parts[v%4], d)
		record(whole, d)
	}
	merged := mergeHists(append(parts, nil)) // a worker that never ran adds nothing
	if merged.TotalCount() != 10_000 {
		t.Fatalf("merged count %d, want 10000", merged.TotalCount())
	}
	s := Summarize(merged)
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"p50", s.P50, 5}, {"p90", s.P90, 9}, {"p99", s.P99, 9.9}, {"max", s.Max, 10}} {
		if math.Abs(c.got-c.want)/c.want > 0.001 {
			t.Errorf("%s = %v ms, want %v ms within 0.1%%", c.name, c.got, c.want)
		}
	}
	if w := Summarize(whole); w != s {
		t.Errorf("merged %+v differs from recorded whole %+v", s, w)
	}
}

func TestRecordClampsIntoRange(t *testing.T) {
	h := newHist()
	record(h, 0)
	record(h, 2*time.Minute) // beyond 60 s: counted as 60 s, not dropped
	if h.TotalCount() != 2 {
		t.Fatalf("count %d, want 2", h.TotalCount())
	}
	if s := Summarize(h); math.Abs(s.Max-60_000)/60_000 > 0.001 {
		t.Errorf("max %v ms, want 60000", s.Max)
	}
	if s := Summarize(newHist()); s != (Summary{}) {
		t.Errorf("empty histogram summary %+v", s)
	}
}

// The progress line's coarse histogram: every value lands in a bucket
// whose upper bound is at most 1/16 above it, and quantiles read from it
// are that close.
func TestLiveHistogram(t *testing.T) {
	for _, us := range []int64{0, 1, 15, 16, 17, 31, 32, 33, 1000, 65_535, 60_000_000} {
		i := liveIndex(us)
		up := liveUpper(i)
		if up < us || float64(up-us) > float64(us)/16+1 {
			t.Errorf("%d µs: bucket %d ends at %d", us, i, up)
		}
		if i > 0 && liveUpper(i-1) >= us {
			t.Errorf("%d µs: the previous bucket %d already ends at %d", us, i-1, liveUpper(i-1))
		}
	}
	var l liveHist
	for v := 1; v <= 10_000; v++ {
		l.add(time.Duration(v) * time.Microsecond)
	}
	var counts [liveBuckets]int64
	l.snapshotInto(&counts)
	if p99 := liveQuantile(&counts, 0.99); p99 < 9900 || p99 > 9900*17/16 {
		t.Errorf("live p99 %d µs, want 9900 to +1/16", p99)
	}
	var empty [liveBuckets]int64
	if q := liveQuantile(&empty, 0.99); q != 0 {
		t.Errorf("empty p99 %d", q)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 14231: "14,231", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
