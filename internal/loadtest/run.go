// Package loadtest drives an OAuth server (tessera, or any other for client
// credentials) with concurrent virtual users and reports throughput,
// latency percentiles, errors by kind and the server process's CPU and RSS.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sync/errgroup"
)

// Scenario is one kind of load: it makes a virtual user (a Worker) per
// unit of concurrency.
type Scenario struct {
	Name string
	// Unit is what one Do is: "requests", or "flows" for scenarios whose
	// unit of work is a whole sign-in.
	Unit string
	// NewWorker prepares virtual user id (a login, a token) before the
	// clock starts; its failure aborts the run.
	NewWorker func(ctx context.Context, id int) (Worker, error)
}

// Worker is one virtual user. Do sends one request (or runs one flow);
// the runner times it. A worker is used by one goroutine only.
type Worker interface {
	Do(ctx context.Context, rec *Recorder) error
}

// Readier is a Worker with work to do, untimed, before a Do: the refresh
// scenario logs in again there after its chain was broken.
type Readier interface {
	Ready(ctx context.Context) error
}

// Verifier is a Worker that can check, after the run and untimed, that
// what the server last answered it still holds: the refresh scenario
// presents the last refresh token it received, which must still be
// redeemable. This is how a run across a crash or a failover shows that
// nothing a client was answered for was lost. A Verifier with nothing to
// check (its chain was already broken, an error counted in the run)
// returns ErrNothingToVerify.
type Verifier interface {
	Verify(ctx context.Context) error
}

// ErrNothingToVerify is a Verifier's answer when it holds nothing to check.
var ErrNothingToVerify = errors.New("nothing to verify")

// Verification is what Options.Verify found.
type Verification struct {
	// Checked is how many workers held something to check.
	Checked int64 `json:"checked"`
	// Lost is how many of those the server no longer honoured.
	Lost int64 `json:"lost"`
	// Errors counts the failures by kind (see KindOf).
	Errors map[string]int64 `json:"errors,omitempty"`
}

// Recorder takes the timings of a flow's phases (the sign-in POST, which
// is password hashing) into per-worker histograms, without locks.
type Recorder struct {
	phases map[string]*hdrhistogram.Histogram // nil while warming up
}

// Phase records that phase name took d.
func (r *Recorder) Phase(name string, d time.Duration) {
	if r == nil || r.phases == nil {
		return
	}
	h := r.phases[name]
	if h == nil {
		h = newHist()
		r.phases[name] = h
	}
	record(h, d)
}

// Options bound and shape a run. At least one of Duration and Requests is
// set; the run ends at whichever comes first. Cancelling the context is a
// hard stop: requests in flight are abandoned and not counted.
type Options struct {
	Concurrency int
	Duration    time.Duration
	Requests    int64
	Warmup      time.Duration
	// Progress, if not nil, receives a line per ProgressEvery (default 1 s).
	Progress      io.Writer
	ProgressEvery time.Duration
	// Probe, if not nil, samples the server process just before and just
	// after the measured phase.
	Probe func() (ProcSample, error)
	// Verify runs every worker's Verify (see Verifier) after the measured
	// phase, one at a time, and reports in Result.Verified.
	Verify bool
}

// Result is what a run measured.
type Result struct {
	Scenario string
	Unit     string
	Requests int64
	Errors   map[string]int64
	Elapsed  time.Duration
	Latency  *hdrhistogram.Histogram
	Phases   map[string]*hdrhistogram.Histogram
	// Server is set when Options.Probe was.
	Server *ServerUsage
	// Interrupted is true when the context ended the run.
	Interrupted bool
	// Verified is set when Options.Verify was and the scenario's workers
	// are Verifiers.
	Verified *Verification
}

// ErrorCount is the number of failed requests.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// RPS is requests (or flows) per second over the measured phase.
func (r *Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// workerStats is what one worker measured; only its goroutine writes it,
// except the atomics the progress line reads.
type workerStats struct {
	hist   *hdrhistogram.Histogram
	rec    Recorder
	errors map[string]int64
	n      atomic.Int64
	errs   atomic.Int64
	live   liveHist
}

// Run prepares opt.Concurrency workers of sc, warms up, then measures.
func Run(ctx context.Context, sc Scenario, opt Options) (*Result, error) {
	if opt.Concurrency < 1 {
		return nil, errors.New("concurrency must be at least 1")
	}
	if opt.Duration <= 0 && opt.Requests <= 0 {
		return nil, errors.New("a run needs a bound: a duration or a number of requests")
	}
	workers := make([]Worker, opt.Concurrency)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8) // logins hash passwords: do not start with a stampede
	for i := range workers {
		g.Go(func() error {
			w, err := prepare(gctx, sc, i)
			if err != nil {
				return fmt.Errorf("preparing virtual user %d: %w", i, err)
			}
			workers[i] = w
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if opt.Warmup > 0 {
		phase(ctx, workers, opt.Warmup, 0, false, nil, 0)
	}
	res := &Result{Scenario: sc.Name, Unit: sc.Unit, Errors: map[string]int64{}}
	var before ProcSample
	if opt.Probe != nil {
		var err error
		if before, err = opt.Probe(); err != nil {
			return nil, fmt.Errorf("sampling the server process: %w", err)
		}
	}
	start := time.Now()
	stats := phase(ctx, workers, opt.Duration, opt.Requests, true, opt.Progress, opt.ProgressEvery)
	res.Elapsed = time.Since(start)
	res.Interrupted = ctx.Err() != nil
	if opt.Probe != nil {
		after, err := opt.Probe()
		if err != nil {
			return nil, fmt.Errorf("sampling the server process: %w", err)
		}
		u := usage(before, after)
		res.Server = &u
	}
	hists := make([]*hdrhistogram.Histogram, len(stats))
	res.Phases = map[string]*hdrhistogram.Histogram{}
	for i, s := range stats {
		hists[i] = s.hist
		res.Requests += s.n.Load()
		for k, v := range s.errors {
			res.Errors[k] += v
		}
		for name, h := range s.rec.phases {
			if res.Phases[name] == nil {
				res.Phases[name] = newHist()
			}
			res.Phases[name].Merge(h)
		}
	}
	res.Latency = mergeHists(hists)
	if opt.Verify && ctx.Err() == nil {
		res.Verified = verify(ctx, workers)
	}
	if res.Server != nil && res.Requests > 0 {
		res.Server.CPUMicrosPerRequest = res.Server.CPUSeconds * 1e6 / float64(res.Requests)
	}
	return res, nil
}

// phase runs every worker until d has passed (if d > 0), n requests have
// been started in all (if n > 0), or ctx ends. A request started before
// the deadline runs to its end and counts: cutting it short would record
// a latency the server never had.
func phase(ctx context.Context, workers []Worker, d time.Duration, n int64, measure bool, progress io.Writer, every time.Duration) []*workerStats {
	stop := make(chan struct{})
	if d > 0 {
		t := time.AfterFunc(d, func() { close(stop) })
		defer t.Stop()
	}
	var budget *atomic.Int64
	if n > 0 {
		budget = new(atomic.Int64)
		budget.Store(n)
	}
	stats := make([]*workerStats, len(workers))
	for i := range stats {
		stats[i] = &workerStats{hist: newHist(), errors: map[string]int64{}}
		if measure {
			stats[i].rec.phases = map[string]*hdrhistogram.Histogram{}
		}
	}
	done := make(chan struct{})
	if progress != nil {
		go reportProgress(progress, every, stats, done)
	}
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() { loop(ctx, w, stats[i], stop, budget) })
	}
	wg.Wait()
	close(done)
	return stats
}

func loop(ctx context.Context, w Worker, st *workerStats, stop <-chan struct{}, budget *atomic.Int64) {
	ready, _ := w.(Readier)
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		if budget != nil && budget.Add(-1) < 0 {
			return
		}
		var err error
		var took time.Duration
		if ready != nil {
			err = ready.Ready(ctx)
		}
		if err == nil {
			t0 := time.Now()
			err = w.Do(ctx, &st.rec)
			took = time.Since(t0)
		}
		if ctx.Err() != nil {
			return // a hard stop: what was in flight is neither a result nor an error
		}
		st.n.Add(1)
		if took > 0 {
			record(st.hist, took)
			st.live.add(took)
		}
		if err != nil {
			st.errors[KindOf(err)]++
			st.errs.Add(1)
		}
	}
}

// verify asks every worker that is a Verifier to check what it holds. One
// at a time: this is a check, not load, and serial answers are easier to
// reason about when something is lost.
func verify(ctx context.Context, workers []Worker) *Verification {
	var v *Verification
	for _, w := range workers {
		vw, ok := w.(Verifier)
		if !ok {
			continue
		}
		if v == nil {
			v = &Verification{Errors: map[string]int64{}}
		}
		err := vw.Verify(ctx)
		if errors.Is(err, ErrNothingToVerify) {
			continue
		}
		v.Checked++
		if err != nil {
			v.Lost++
			v.Errors[KindOf(err)]++
		}
	}
	return v
}

// prepareAttempts bounds how often preparing one virtual user is tried
// when the server says it is busy.
const prepareAttempts = 30

// prepare makes worker i. Preparing signs users in, and a server bounds
// its concurrent password hashes: under a burst of sign-ins it answers 503
// or 429 with Retry-After, as it should. Preparation is not measured, so
// it waits as told and tries again; any other failure ends the run.
func prepare(ctx context.Context, sc Scenario, i int) (Worker, error) {
	for attempt := 1; ; attempt++ {
		w, err := sc.NewWorker(ctx, i)
		var f *Failure
		if err == nil || !errors.As(err, &f) || !f.Busy || attempt == prepareAttempts {
			return w, err
		}
		wait := min(max(f.RetryAfter, 100*time.Millisecond), 5*time.Second)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, err
		}
	}
}
