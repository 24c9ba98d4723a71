package audit

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune a Recorder; zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// QueueSize bounds the events waiting to be written (default 16384,
	// over a second of client-credentials issuance at full speed).
	QueueSize int
	// BatchSize is the most events one store write holds (default 512).
	BatchSize int
	// Linger is how long the first event of a batch waits for others
	// (default 100ms): batches turn thousands of events a second into a
	// few transactions on the store's single writer.
	Linger time.Duration
	// OnDrop counts n events not stored, for reason (queue_full,
	// store_error, closed): the server hands in its Prometheus counter,
	// so that this package stays free of HTTP.
	OnDrop func(reason string, n int)
}

// Recorder writes events to the store and to the structured log.
//
// Two ways in, by who causes the event:
//
//   - Record queues it and returns at once; a goroutine writes batches.
//     For what clients and end users cause at their own rate, hostile ones
//     included: token issuance (thousands a second on client
//     credentials), sign-ins (a password spray must not queue a write per
//     guess on the store's writer ahead of token issuance), revocations
//     (logouts). Issuance never waits on the audit log: when the queue is
//     full the event is dropped, counted in
//     tessera_audit_events_dropped_total and warned about.
//   - RecordNow writes it before returning. For what operators cause,
//     rarely: admin changes and key rotations, so that the change's
//     record is durable before the admin API answers and the operator
//     finds it at once with `tessera admin audit list`.
//
// A nil *Recorder records nothing, for tests and tools built without one.
type Recorder struct {
	repo      Repository
	log       *slog.Logger
	now       func() time.Time
	batchSize int
	linger    time.Duration
	onDrop    func(reason string, n int)

	q       chan Event
	flushes chan chan error
	quit    chan struct{}
	done    chan struct{}
	closing sync.Once
	closed  atomic.Bool

	// dropped counts drops since the last warning; lastWarn (Unix
	// nanoseconds) spaces warnings so a flood of drops is one line a
	// few seconds, not one per event.
	dropped  atomic.Int64
	lastWarn atomic.Int64
}

// NewRecorder starts a recorder writing to repo. Close flushes it.
func NewRecorder(repo Repository, opts Options) *Recorder {
	r := &Recorder{repo: repo, log: opts.Logger, now: opts.Now, batchSize: opts.BatchSize, linger: opts.Linger, onDrop: opts.OnDrop,
		flushes: make(chan chan error), quit: make(chan struct{}), done: make(chan struct{})}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.onDrop == nil {
		r.onDrop = func(string, int) {}
	}
	if r.batchSize <= 0 {
		r.batchSize = 512
	}
	if r.linger <= 0 {
		r.linger = 100 * time.Millisecond
	}
	size := opts.QueueSize
	if size <= 0 {
		size = 16384
	}
	r.q = make(chan Event, size)
	go r.run()
	return r
}

// Record queues ev to be written soon; it never blocks. Time is set now
// when zero.
func (r *Recorder) Record(ev Event) {
	if r == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = r.now()
	}
	if r.closed.Load() {
		// After shutdown there is no writer: keep the log line at least.
		r.drop(ev, "closed")
		return
	}
	select {
	case r.q <- ev:
	default:
		r.drop(ev, "queue_full")
	}
}

// RecordNow writes ev to the store and the log before returning.
func (r *Recorder) RecordNow(ctx context.Context, ev Event) error {
	if r == nil {
		return nil
	}
	r.prepare(&ev)
	err := r.repo.AppendAudit(ctx, []Event{ev})
	r.logEvent(ctx, ev)
	if err != nil {
		r.onDrop("store_error", 1)
		r.log.ErrorContext(ctx, "audit: store an event", "kind", ev.Kind, "id", ev.ID, "err", err)
	}
	return err
}

// List lists the tenant's events (see Repository.ListAudit) after writing
// every event queued: what this process recorded is in the answer.
func (r *Recorder) List(ctx context.Context, tenantID string, q Query) (Page, error) {
	fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := r.Flush(fctx)
	cancel()
	if err != nil && ctx.Err() != nil {
		return Page{}, err
	}
	return r.repo.ListAudit(ctx, tenantID, q)
}

// Flush writes every event queued before the call.
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil || r.closed.Load() {
		return nil
	}
	ch := make(chan error, 1)
	select {
	case r.flushes <- ch:
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the writer. Events recorded
// after Close are logged but not stored. It waits at most until ctx ends.
func (r *Recorder) Close(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.closing.Do(func() {
		r.closed.Store(true)
		close(r.quit)
	})
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *Recorder) drop(ev Event, reason string) {
	r.onDrop(reason, 1)
	n := r.dropped.Add(1)
	now := time.Now().UnixNano()
	last := r.lastWarn.Load()
	if now-last >= int64(5*time.Second) && r.lastWarn.CompareAndSwap(last, now) {
		r.dropped.Add(-n)
		r.log.Warn("audit: events dropped: the audit queue is full or closed; token issuance was not held up",
			"dropped", n, "reason", reason, "last_kind", ev.Kind)
	}
}

// run is the writer: it collects events into batches of at most
// batchSize and writes a batch when it is full or its first event has
// waited linger.
func (r *Recorder) run() {
	defer close(r.done)
	batch := make([]Event, 0, r.batchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	write := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := r.write(batch)
		clear(batch)
		batch = batch[:0]
		timer.Stop()
		return err
	}
	drain := func() error {
		var errs error
		for {
			select {
			case ev := <-r.q:
				batch = append(batch, ev)
				if len(batch) >= r.batchSize {
					if err := write(); err != nil {
						errs = err
					}
				}
			default:
				if err := write(); err != nil {
					errs = err
				}
				return errs
			}
		}
	}
	for {
		select {
		case ev := <-r.q:
			if len(batch) == 0 {
				timer.Reset(r.linger)
			}
			batch = append(batch, ev)
			if len(batch) >= r.batchSize {
				_ = write()
			}
		case <-timer.C:
			_ = write()
		case ch := <-r.flushes:
			ch <- drain()
		case <-r.quit:
			_ = drain()
			return
		}
	}
}

// write stores one batch, then logs it. A failed store write is retried
// once; the events stay in the structured log either way.
func (r *Recorder) write(batch []Event) error {
	for i := range batch {
		r.prepare(&batch[i])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := r.repo.AppendAudit(ctx, batch)
	if err != nil {
		err = r.repo.AppendAudit(ctx, batch)
	}
	for _, ev := range batch {
		r.logEvent(ctx, ev)
	}
	if err != nil {
		r.onDrop("store_error", len(batch))
		r.log.Error("audit: store a batch of events", "events", len(batch), "err", err)
	}
	return err
}

func (r *Recorder) prepare(ev *Event) {
	if ev.Time.IsZero() {
		ev.Time = r.now()
	}
	if ev.ID == "" {
		ev.ID = newID(ev.Time)
	}
	ev.Time = ev.Time.UTC().Truncate(time.Microsecond) // what the store keeps
	if ev.Outcome == "" {
		ev.Outcome = Success
	}
}

// logEvent writes ev to the structured log, one line, message "audit", at
// debug level. The audit log is the store (tessera admin audit list): an
// info line per token issued would make the operational log a second,
// larger audit log at any load, and admin changes, revocations, refusals
// and key rotations have info lines of their own. Token rates are in
// /metrics (tessera_tokens_issued_total), so the log gets no rate line.
func (r *Recorder) logEvent(ctx context.Context, ev Event) {
	// A server logging at info writes no audit line: then building one
	// (its attributes, its details group) per token issued is waste.
	if !r.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs, slog.String("audit_id", ev.ID), slog.String("kind", ev.Kind), slog.String("tenant", ev.TenantID),
		slog.Time("at", ev.Time), slog.String("outcome", ev.Outcome))
	if ev.Actor != "" {
		attrs = append(attrs, slog.String("actor", ev.Actor))
	}
	if ev.Target != "" {
		attrs = append(attrs, slog.String("target", ev.Target))
	}
	if ev.Reason != "" {
		attrs = append(attrs, slog.String("reason", ev.Reason))
	}
	if len(ev.Details) > 0 {
		// A group of Attrs as they are: slog.Group's ...any would box
		// each one, on every token issued.
		d := make([]slog.Attr, 0, len(ev.Details))
		for k, v := range ev.Details {
			d = append(d, slog.String(k, v))
		}
		attrs = append(attrs, slog.Attr{Key: "details", Value: slog.GroupValue(d...)})
	}
	if len(ev.Before) > 0 {
		attrs = append(attrs, slog.String("before", string(ev.Before)))
	}
	if len(ev.After) > 0 {
		attrs = append(attrs, slog.String("after", string(ev.After)))
	}
	r.log.LogAttrs(ctx, slog.LevelDebug, "audit", attrs...)
}

// newID returns a unique id that starts with the time (microseconds,
// big-endian), so that the store's indexes on id grow at their right edge
// as events arrive instead of taking every insert to a random page.
func newID(at time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(at.UnixMicro()))
	_, _ = rand.Read(b[8:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
