package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// reportProgress writes, every interval until done closes, the elapsed
// time, requests so far, the rate and p99 of the last interval, and the
// errors so far:
//
//	12s  req 14,231  rps 1,186  p99 21ms  err 0
func reportProgress(w io.Writer, every time.Duration, stats []*workerStats, done <-chan struct{}) {
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	start := time.Now()
	var prevN int64
	var prev [liveBuckets]int64
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		var n, errs int64
		var cur [liveBuckets]int64
		for _, s := range stats {
			n += s.n.Load()
			errs += s.errs.Load()
			s.live.snapshotInto(&cur)
		}
		window := cur
		for i := range window {
			window[i] -= prev[i]
		}
		p99 := time.Duration(liveQuantile(&window, 0.99)) * time.Microsecond
		fmt.Fprintf(w, "%3.0fs  req %s  rps %s  p99 %s  err %s\n", time.Since(start).Seconds(), thousands(n),
			thousands(int64(float64(n-prevN)/every.Seconds()+0.5)), shortDuration(p99), thousands(errs))
		prevN, prev = n, cur
	}
}

func shortDuration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1fms", float64(d)/1e6)
}

// thousands writes n with commas: 14,231.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Report is the JSON shape of a result; bench/compare.sh reads it with jq,
// so its field names are a contract.
type Report struct {
	Scenario    string             `json:"scenario"`
	Unit        string             `json:"unit"`
	Requests    int64              `json:"requests"`
	Errors      map[string]int64   `json:"errors"`
	DurationS   float64            `json:"duration_s"`
	RPS         float64            `json:"rps"`
	LatencyMS   Summary            `json:"latency_ms"`
	Phases      map[string]Summary `json:"phases,omitempty"`
	Server      *ServerUsage       `json:"server"`
	Interrupted bool               `json:"interrupted,omitempty"`
	Verified    *Verification      `json:"verified,omitempty"`
}

// Report gives the result its JSON shape, numbers rounded for reading.
func (r *Result) Report() Report {
	out := Report{
		Scenario: r.Scenario, Unit: r.Unit, Requests: r.Requests, Errors: r.Errors,
		DurationS: round(r.Elapsed.Seconds(), 3), RPS: round(r.RPS(), 1),
		LatencyMS: roundSummary(Summarize(r.Latency)), Server: r.Server, Interrupted: r.Interrupted, Verified: r.Verified,
	}
	if out.Errors == nil {
		out.Errors = map[string]int64{}
	}
	if len(r.Phases) > 0 {
		out.Phases = map[string]Summary{}
		for name, h := range r.Phases {
			out.Phases[name] = roundSummary(Summarize(h))
		}
	}
	if out.Server != nil {
		s := *out.Server
		s.CPUSeconds, s.CPUMicrosPerRequest = round(s.CPUSeconds, 3), round(s.CPUMicrosPerRequest, 1)
		s.RSSMB, s.RSSMBBefore = round(s.RSSMB, 1), round(s.RSSMBBefore, 1)
		out.Server = &s
	}
	return out
}

func roundSummary(s Summary) Summary {
	return Summary{Count: s.Count, P50: round(s.P50, 3), P90: round(s.P90, 3), P99: round(s.P99, 3), Max: round(s.Max, 3)}
}

func round(v float64, digits int) float64 {
	p, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', digits, 64), 64)
	return p
}

// WriteJSON writes exactly one JSON object, and a newline.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	return enc.Encode(r.Report())
}

// WriteTable writes the result for a person to read.
func (r *Result) WriteTable(w io.Writer) error {
	rep := r.Report()
	unit := rep.Unit
	if unit == "" {
		unit = "requests"
	}
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "%-18s %s\n", k, v) }
	row("scenario", rep.Scenario)
	if rep.Interrupted {
		row("interrupted", "yes: the numbers cover the run until the stop")
	}
	row(unit, thousands(rep.Requests))
	row("errors", thousands(r.ErrorCount()))
	for _, k := range slices.Sorted(maps.Keys(rep.Errors)) {
		row("  "+k, thousands(rep.Errors[k]))
	}
	row("duration", fmt.Sprintf("%.2fs", rep.DurationS))
	row(unit+"/s", fmt.Sprintf("%.1f", rep.RPS))
	lat := func(name string, s Summary) {
		row(name, fmt.Sprintf("p50 %.2f  p90 %.2f  p99 %.2f  max %.2f", s.P50, s.P90, s.P99, s.Max))
	}
	lat("latency (ms)", rep.LatencyMS)
	for _, name := range slices.Sorted(maps.Keys(rep.Phases)) {
		lat("  "+name+" (ms)", rep.Phases[name])
	}
	if s := rep.Server; s != nil {
		row("server cpu", fmt.Sprintf("%.2fs  (%.0f µs per %s)", s.CPUSeconds, s.CPUMicrosPerRequest, strings.TrimSuffix(unit, "s")))
		row("server rss", fmt.Sprintf("%.1f MB before, %.1f MB after", s.RSSMBBefore, s.RSSMB))
	}
	if v := rep.Verified; v != nil {
		row("verified", fmt.Sprintf("%s checked, %s lost", thousands(v.Checked), thousands(v.Lost)))
		for _, k := range slices.Sorted(maps.Keys(v.Errors)) {
			row("  "+k, thousands(v.Errors[k]))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
