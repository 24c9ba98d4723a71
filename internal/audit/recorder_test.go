package audit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
)

// memRepo is an audit.Repository in memory that can be made to block.
type memRepo struct {
	mu      sync.Mutex
	events  []audit.Event
	batches int
	block   chan struct{} // when set, AppendAudit waits for it to close
}

func (m *memRepo) AppendAudit(ctx context.Context, evs []audit.Event) error {
	if m.block != nil {
		<-m.block
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, evs...)
	m.batches++
	return nil
}

func (m *memRepo) ListAudit(context.Context, string, audit.Query) (audit.Page, error) {
	return audit.Page{}, errors.New("unused")
}

func (m *memRepo) PurgeAudit(context.Context, time.Time, int) (int64, error) { return 0, nil }

func (m *memRepo) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.events)
}

// Events recorded are stored in batches, with ids and times, and each is
// one "audit" line of the structured log at debug level; Close writes what
// is queued.
func TestRecorderBatchesAndLogs(t *testing.T) {
	repo := &memRepo{}
	var buf syncBuffer
	r := audit.NewRecorder(repo, audit.Options{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), Linger: time.Hour, BatchSize: 50})
	for range 120 {
		r.Record(audit.Event{TenantID: "t", Kind: audit.TokenIssued, Actor: "client"})
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if repo.count() != 120 || repo.batches != 3 {
		t.Fatalf("stored %d events in %d batches, want 120 in 3", repo.count(), repo.batches)
	}
	for _, e := range repo.events {
		if e.ID == "" || e.Time.IsZero() || e.Outcome != audit.Success {
			t.Fatalf("event not completed: %+v", e)
		}
	}
	if n := strings.Count(buf.String(), `"msg":"audit"`); n != 120 {
		t.Fatalf("%d audit log lines, want 120", n)
	}
}

// Record never blocks, even when the store does: a full queue drops the
// event (counted) instead of holding up token issuance.
func TestRecorderNeverBlocks(t *testing.T) {
	repo := &memRepo{block: make(chan struct{})}
	var drops atomic.Int64
	var logs syncBuffer
	r := audit.NewRecorder(repo, audit.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), QueueSize: 10, BatchSize: 1, Linger: time.Millisecond,
		OnDrop: func(reason string, n int) {
			if reason == "queue_full" {
				drops.Add(int64(n))
			}
		}})
	done := make(chan struct{})
	go func() {
		for range 10_000 {
			r.Record(audit.Event{TenantID: "t", Kind: audit.TokenIssued})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Record blocked on a stalled store")
	}
	close(repo.block)
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := repo.count(); n == 0 || n > 12 {
		t.Fatalf("stored %d events with a queue of 10, want between 1 and 12", n)
	}
	if stored := int64(repo.count()); drops.Load()+stored != 10_000 {
		t.Errorf("%d stored and %d counted as dropped, of 10000", stored, drops.Load())
	}
	// One warning for the flood, not one per event.
	if n := strings.Count(logs.String(), "audit: events dropped"); n != 1 {
		t.Errorf("%d drop warnings, want 1", n)
	}
}

// Flush makes every event recorded before it visible in the store.
func TestRecorderFlush(t *testing.T) {
	repo := &memRepo{}
	r := audit.NewRecorder(repo, audit.Options{Logger: slog.New(slog.DiscardHandler), Linger: time.Hour})
	defer r.Close(context.Background())
	r.Record(audit.Event{TenantID: "t", Kind: audit.SignInFailure, Outcome: audit.Failure, Reason: "bad_password"})
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if repo.count() != 1 {
		t.Fatalf("after Flush the store has %d events, want 1", repo.count())
	}
	if err := r.RecordNow(t.Context(), audit.Event{TenantID: "t", Kind: "admin.user.create"}); err != nil || repo.count() != 2 {
		t.Fatalf("RecordNow: %v, %d events", err, repo.count())
	}
	var nilRec *audit.Recorder
	nilRec.Record(audit.Event{})
	if err := nilRec.RecordNow(t.Context(), audit.Event{}); err != nil {
		t.Fatal(err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A server logging at info (the default) writes no audit line, not one per
// token issued: the audit log is the store, which still gets every event.
func TestRecorderLogsAtDebugOnly(t *testing.T) {
	repo := &memRepo{}
	var buf syncBuffer
	r := audit.NewRecorder(repo, audit.Options{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	for range 10 {
		r.Record(audit.Event{TenantID: "t", Kind: audit.TokenIssued, Actor: "client", Details: map[string]string{"grant_type": "client_credentials"}})
	}
	if err := r.RecordNow(t.Context(), audit.Event{TenantID: "t", Kind: "admin.user.update"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if repo.count() != 11 {
		t.Fatalf("stored %d events, want 11", repo.count())
	}
	if buf.String() != "" {
		t.Fatalf("logged at info: %s", buf.String())
	}
}
