package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fake is a scenario whose workers run do and count their calls.
type fake struct {
	calls atomic.Int64
	do    func(ctx context.Context, call int64, rec *Recorder) error
}

func (f *fake) scenario() Scenario {
	return Scenario{Name: "fake", Unit: "requests", NewWorker: func(context.Context, int) (Worker, error) { return fakeWorker{f}, nil }}
}

type fakeWorker struct{ f *fake }

func (w fakeWorker) Do(ctx context.Context, rec *Recorder) error {
	n := w.f.calls.Add(1)
	if w.f.do == nil {
		return nil
	}
	return w.f.do(ctx, n, rec)
}

func TestRequestsBoundRunsExactly(t *testing.T) {
	for _, conc := range []int{1, 7, 32} {
		f := &fake{}
		res, err := Run(context.Background(), f.scenario(), Options{Concurrency: conc, Requests: 100})
		if err != nil {
			t.Fatal(err)
		}
		if f.calls.Load() != 100 || res.Requests != 100 || res.Latency.TotalCount() != 100 {
			t.Errorf("concurrency %d: %d calls, %d requests, %d latencies; want exactly 100", conc, f.calls.Load(), res.Requests, res.Latency.TotalCount())
		}
		if res.ErrorCount() != 0 || res.Interrupted {
			t.Errorf("concurrency %d: errors %v interrupted %v", conc, res.Errors, res.Interrupted)
		}
	}
}

// The duration bound stops a run that nothing else would: the test ends
// only if Run returns.
func TestDurationBoundStops(t *testing.T) {
	f := &fake{do: func(context.Context, int64, *Recorder) error { time.Sleep(time.Millisecond); return nil }}
	res, err := Run(context.Background(), f.scenario(), Options{Concurrency: 4, Duration: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Requests != f.calls.Load() || res.Interrupted {
		t.Errorf("%d requests of %d calls, interrupted %v", res.Requests, f.calls.Load(), res.Interrupted)
	}
}

// Warm-up requests are sent but not counted.
func TestWarmupIsNotMeasured(t *testing.T) {
	f := &fake{}
	res, err := Run(context.Background(), f.scenario(), Options{Concurrency: 2, Requests: 10, Warmup: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 10 || f.calls.Load() <= 10 {
		t.Errorf("%d requests measured of %d sent; want 10 measured after a warm-up", res.Requests, f.calls.Load())
	}
}

// Cancelling the context is a hard stop: requests in flight end at once
// and count neither as results nor as errors.
func TestCancelStopsHard(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var blocked sync.WaitGroup
	blocked.Add(4)
	f := &fake{do: func(ctx context.Context, n int64, _ *Recorder) error {
		if n <= 20 {
			return nil
		}
		if n <= 24 {
			blocked.Done()
		}
		<-ctx.Done() // a request that would never end by itself
		return ctx.Err()
	}}
	go func() { blocked.Wait(); cancel() }()
	res, err := Run(ctx, f.scenario(), Options{Concurrency: 4, Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Requests != 20 || res.ErrorCount() != 0 {
		t.Errorf("interrupted %v, %d requests, errors %v; want interrupted, 20, none", res.Interrupted, res.Requests, res.Errors)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestErrorsCountedByKind(t *testing.T) {
	kinds := []error{
		nil,
		&Failure{Kind: "invalid_grant"},
		failf("status_401", "POST /token"),
		fmt.Errorf("post: %w", timeoutErr{}),
		&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
		fmt.Errorf("read: %w", syscall.ECONNRESET),
		errors.New("something else"),
	}
	f := &fake{do: func(_ context.Context, n int64, _ *Recorder) error { return kinds[(n-1)%int64(len(kinds))] }}
	res, err := Run(context.Background(), f.scenario(), Options{Concurrency: 3, Requests: int64(10 * len(kinds))})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"invalid_grant": 10, "status_401": 10, "timeout": 10, "conn_refused": 10, "conn_reset": 10, "transport": 10}
	if fmt.Sprint(res.Errors) != fmt.Sprint(want) || res.Requests != 70 {
		t.Errorf("errors %v of %d requests, want %v of 70", res.Errors, res.Requests, want)
	}
}

// A Readier's work is not timed, and its failure counts as the request's.
type readyWorker struct {
	ready func() error
	did   *atomic.Int64
}

func (w readyWorker) Ready(context.Context) error         { return w.ready() }
func (w readyWorker) Do(context.Context, *Recorder) error { w.did.Add(1); return nil }

func TestReadyFailureCounts(t *testing.T) {
	var n, did atomic.Int64
	sc := Scenario{Name: "ready", NewWorker: func(context.Context, int) (Worker, error) {
		return readyWorker{did: &did, ready: func() error {
			if n.Add(1)%2 == 0 {
				return &Failure{Kind: "invalid_grant"}
			}
			return nil
		}}, nil
	}}
	res, err := Run(context.Background(), sc, Options{Concurrency: 1, Requests: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 10 || res.Errors["invalid_grant"] != 5 || did.Load() != 5 || res.Latency.TotalCount() != 5 {
		t.Errorf("%d requests, errors %v, %d done, %d timed", res.Requests, res.Errors, did.Load(), res.Latency.TotalCount())
	}
}

func TestNewWorkerFailureAbortsTheRun(t *testing.T) {
	sc := Scenario{Name: "broken", NewWorker: func(_ context.Context, id int) (Worker, error) {
		if id == 2 {
			return nil, errors.New("login refused")
		}
		return fakeWorker{&fake{}}, nil
	}}
	if _, err := Run(context.Background(), sc, Options{Concurrency: 4, Requests: 10}); err == nil {
		t.Fatal("a run whose user could not be prepared went ahead")
	}
	if _, err := Run(context.Background(), (&fake{}).scenario(), Options{Concurrency: 4}); err == nil {
		t.Fatal("a run without a bound went ahead")
	}
}

// A server that is busy while the users sign in (503 or 429 from its
// bounded password hashing) is waited for and asked again: preparation is
// not measured. A user it refuses for any other reason, or keeps refusing,
// still ends the run.
func TestPreparationWaitsWhenBusy(t *testing.T) {
	var calls atomic.Int64
	busy := &Failure{Kind: "temporarily_unavailable", Busy: true, RetryAfter: time.Millisecond}
	sc := Scenario{Name: "busy", NewWorker: func(_ context.Context, id int) (Worker, error) {
		if id == 1 && calls.Add(1) <= 3 {
			return nil, busy
		}
		return fakeWorker{&fake{}}, nil
	}}
	if _, err := Run(context.Background(), sc, Options{Concurrency: 4, Requests: 10}); err != nil {
		t.Fatalf("a user the server was busy for three times: %v", err)
	}
	if calls.Load() != 4 {
		t.Errorf("user 1 was prepared %d times, want 4", calls.Load())
	}

	var tries atomic.Int64
	always := Scenario{Name: "always busy", NewWorker: func(context.Context, int) (Worker, error) {
		tries.Add(1)
		return nil, &Failure{Kind: "status_429", Busy: true}
	}}
	if _, err := Run(context.Background(), always, Options{Concurrency: 1, Requests: 10}); err == nil {
		t.Fatal("a server busy for ever: the run went ahead")
	}
	if tries.Load() != prepareAttempts {
		t.Errorf("a server busy for ever was asked %d times, want %d", tries.Load(), prepareAttempts)
	}
}

// Phases recorded by the workers are merged; during warm-up they are not.
func TestPhasesMerged(t *testing.T) {
	f := &fake{do: func(_ context.Context, _ int64, rec *Recorder) error {
		rec.Phase("signin", 3*time.Millisecond)
		return nil
	}}
	res, err := Run(context.Background(), f.scenario(), Options{Concurrency: 4, Requests: 40, Warmup: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(res.Phases["signin"])
	if s.Count != 40 || s.P50 < 2.99 || s.P50 > 3.01 {
		t.Errorf("signin phase %+v, want 40 of 3 ms", s)
	}
}

// lineWriter hands each progress line to a channel.
type lineWriter struct{ lines chan string }

func (w lineWriter) Write(p []byte) (int, error) {
	select {
	case w.lines <- string(p):
	default:
	}
	return len(p), nil
}

// The progress line is written while requests run: the run's last request
// waits for one.
func TestProgressLine(t *testing.T) {
	w := lineWriter{lines: make(chan string, 1)}
	var line string
	f := &fake{do: func(_ context.Context, n int64, _ *Recorder) error {
		for n == 5 && !strings.Contains(line, "req 4 ") {
			line = <-w.lines // lines from before the fourth request may be queued
		}
		return nil
	}}
	_, err := Run(context.Background(), f.scenario(), Options{Concurrency: 1, Requests: 5, Progress: w, ProgressEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^ +\d+s  req 4  rps [\d,]+  p99 [\d.]+m?s  err 0\n$`).MatchString(line) {
		t.Errorf("progress line %q", line)
	}
}

// The JSON report has exactly the fields bench/compare.sh reads.
func TestJSONReportShape(t *testing.T) {
	f := &fake{do: func(_ context.Context, n int64, _ *Recorder) error {
		if n%10 == 0 {
			return &Failure{Kind: "status_503"}
		}
		return nil
	}}
	var sample int64
	probe := func() (ProcSample, error) {
		sample++
		return ProcSample{CPUTicks: 100 * sample, RSSKB: 10240 * sample}, nil
	}
	res, err := Run(context.Background(), f.scenario(), Options{Concurrency: 2, Requests: 50, Probe: probe})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := res.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Scenario  string           `json:"scenario"`
		Requests  int64            `json:"requests"`
		Errors    map[string]int64 `json:"errors"`
		DurationS *float64         `json:"duration_s"`
		RPS       *float64         `json:"rps"`
		LatencyMS map[string]any   `json:"latency_ms"`
		Server    map[string]any   `json:"server"`
	}
	dec := json.NewDecoder(&buf)
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if dec.More() {
		t.Error("more than one JSON value")
	}
	if got.Scenario != "fake" || got.Requests != 50 || got.Errors["status_503"] != 5 || got.DurationS == nil || got.RPS == nil {
		t.Errorf("report %+v", got)
	}
	for _, k := range []string{"p50", "p90", "p99", "max"} {
		if _, ok := got.LatencyMS[k].(float64); !ok {
			t.Errorf("latency_ms.%s missing: %v", k, got.LatencyMS)
		}
	}
	// One second of CPU between the samples (100 ticks), over 50 requests.
	if got.Server["cpu_s"] != 1.0 || got.Server["cpu_us_per_req"] != 20000.0 || got.Server["rss_mb"] != 20.0 {
		t.Errorf("server %v", got.Server)
	}
	var table bytes.Buffer
	if err := res.WriteTable(&table); err != nil || !bytes.Contains(table.Bytes(), []byte("status_503")) {
		t.Errorf("table %v:\n%s", err, table.String())
	}
}

// verifyWorker holds a value until its check: odd workers hold nothing,
// every fourth one's value was lost.
type verifyWorker struct{ id int }

func (w verifyWorker) Do(context.Context, *Recorder) error { return nil }

func (w verifyWorker) Verify(context.Context) error {
	switch {
	case w.id%2 == 1:
		return ErrNothingToVerify
	case w.id%4 == 0:
		return failf("invalid_grant", "lost")
	}
	return nil
}

func TestVerifyCountsCheckedAndLost(t *testing.T) {
	sc := Scenario{Name: "verify", NewWorker: func(_ context.Context, id int) (Worker, error) { return verifyWorker{id}, nil }}
	res, err := Run(context.Background(), sc, Options{Concurrency: 8, Requests: 8, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	v := res.Verified
	// Workers 0, 2, 4, 6 hold something; 0 and 4 lost it.
	if v == nil || v.Checked != 4 || v.Lost != 2 || v.Errors["invalid_grant"] != 2 {
		t.Fatalf("verification %+v, want 4 checked, 2 lost as invalid_grant", v)
	}
	var b bytes.Buffer
	res.WriteTable(&b)
	if !strings.Contains(b.String(), "4 checked, 2 lost") {
		t.Errorf("the table does not report the verification:\n%s", b.String())
	}
	// Without the option nothing is checked.
	res, _ = Run(context.Background(), sc, Options{Concurrency: 8, Requests: 8})
	if res.Verified != nil {
		t.Errorf("verified without Options.Verify: %+v", res.Verified)
	}
}
