package loadtest

import (
	"math/bits"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to 60 s, to three
// significant digits: a p99 of 21.4 ms reads as 21.4, not 21 or 22.
const (
	histMin    = 1
	histMax    = 60_000_000
	histDigits = 3
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// record adds d, clamped into the histogram's range: a request slower than
// 60 s still counts, as 60 s, rather than vanishing from the percentiles.
func record(h *hdrhistogram.Histogram, d time.Duration) {
	us := min(max(d.Microseconds(), histMin), histMax)
	_ = h.RecordValue(us) // in range by construction
}

// mergeHists adds every histogram of parts into one new histogram. Each
// worker records into its own and they meet only here, after the run, so
// the request path takes no lock.
func mergeHists(parts []*hdrhistogram.Histogram) *hdrhistogram.Histogram {
	out := newHist()
	for _, p := range parts {
		if p != nil {
			out.Merge(p)
		}
	}
	return out
}

// Summary is a latency distribution in milliseconds.
type Summary struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Summarize reads the percentiles of h (recorded in µs) as milliseconds.
func Summarize(h *hdrhistogram.Histogram) Summary {
	if h == nil || h.TotalCount() == 0 {
		return Summary{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Summary{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		Max:   ms(h.Max()),
	}
}

// liveHist is a coarse latency histogram that one worker writes and the
// progress line reads at the same time, with atomics only: 16 buckets per
// power of two of microseconds (about 6 % wide), enough for a p99 shown
// once a second. The exact figures come from the HDR histograms.
type liveHist struct {
	buckets [liveBuckets]atomic.Int64
}

const (
	liveSub     = 16
	liveBuckets = 28 * liveSub // 2^27 µs > 60 s
)

func liveIndex(us int64) int {
	if us < liveSub {
		return int(max(us, 0))
	}
	shift := bits.Len64(uint64(us)) - 5 // us>>shift lies in [16, 32)
	return min(shift*liveSub+int(us>>shift), liveBuckets-1)
}

// liveUpper is the largest value that falls in bucket i.
func liveUpper(i int) int64 {
	if i < liveSub {
		return int64(i)
	}
	shift := i/liveSub - 1
	return (int64(i%liveSub+liveSub)+1)<<shift - 1
}

func (l *liveHist) add(d time.Duration) { l.buckets[liveIndex(d.Microseconds())].Add(1) }

// snapshotInto adds the current counts to dst.
func (l *liveHist) snapshotInto(dst *[liveBuckets]int64) {
	for i := range l.buckets {
		dst[i] += l.buckets[i].Load()
	}
}

// liveQuantile is the q-quantile (0..1) of counts, in µs; 0 when empty.
func liveQuantile(counts *[liveBuckets]int64, q float64) int64 {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := int64(q*float64(total) + 0.5)
	rank = max(rank, 1)
	var seen int64
	for i, c := range counts {
		seen += c
		if seen >= rank {
			return liveUpper(i)
		}
	}
	return liveUpper(liveBuckets - 1)
}
