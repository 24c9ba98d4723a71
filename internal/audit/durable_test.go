package audit_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/store/postgres"
	"github.com/tessera-id/tessera/internal/store/postgres/pgtest"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

// auditStore is what the recorder writes to, and what is reopened to
// read back what survived.
type auditStore interface {
	audit.Repository
	Close() error
}

// engine opens the same database again each time open is called.
type engine struct {
	name string
	open func(t *testing.T) func(t *testing.T) auditStore
}

var engines = []engine{
	{"sqlite", func(t *testing.T) func(t *testing.T) auditStore {
		path := filepath.Join(t.TempDir(), "audit.db")
		return func(t *testing.T) auditStore {
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}},
	{"postgres", func(t *testing.T) func(t *testing.T) auditStore {
		url := pgtest.Schema(t)
		return func(t *testing.T) auditStore {
			s, err := postgres.Open(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}},
}

// stored lists every event the database holds, by id.
func stored(t *testing.T, s audit.Repository) map[string]audit.Event {
	t.Helper()
	got := map[string]audit.Event{}
	q := audit.Query{Limit: 1000}
	for {
		page, err := s.ListAudit(t.Context(), audit.AllTenants, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			got[e.ID] = e
		}
		if page.Next == "" {
			return got
		}
		q.Cursor = page.Next
	}
}

func quietRecorder(repo audit.Repository, opts audit.Options) *audit.Recorder {
	opts.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	return audit.NewRecorder(repo, opts)
}

// What the recorder acknowledges is in the database, and stays there
// when the process goes away: RecordNow's event when it returns (admin
// changes, key rotations), every event queued before a Flush when Flush
// returns (the list the admin API serves), and every event queued before
// Close when Close returns (shutdown). The store is closed without
// closing the recorder, as a crash would leave it, and the events are
// read back through a new connection. Token issuance's Record is not an
// acknowledgement: it never waits (see TestRecorderNeverBlocks).
func TestRecorderAcknowledgedIsDurable(t *testing.T) {
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			open := eng.open(t)
			s := open(t)
			// Nothing is written unless acknowledged: a batch never
			// lingers out on its own during the test.
			r := quietRecorder(s, audit.Options{Linger: time.Hour, BatchSize: 64})
			want := map[string]bool{}
			ev := func(id, kind string) audit.Event {
				want[id] = true
				return audit.Event{ID: id, TenantID: "t1", Kind: kind, Actor: "client", Details: map[string]string{"grant": "client_credentials"}}
			}
			if err := r.RecordNow(t.Context(), ev("now-1", "admin.user.update")); err != nil {
				t.Fatal(err)
			}
			for i := range 150 { // two full batches and a part
				r.Record(ev(fmt.Sprintf("flushed-%03d", i), audit.TokenIssued))
			}
			if err := r.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil { // the crash: the recorder is left running
				t.Fatal(err)
			}
			s2 := open(t)
			defer s2.Close()
			got := stored(t, s2)
			for id := range want {
				if _, ok := got[id]; !ok {
					t.Errorf("event %s was acknowledged, then lost", id)
				}
			}
			if e := got["flushed-007"]; e.Kind != audit.TokenIssued || e.Details["grant"] != "client_credentials" || e.Time.IsZero() {
				t.Errorf("stored event %+v", e)
			}

			// Close acknowledges what was queued before it.
			r2 := quietRecorder(s2, audit.Options{Linger: time.Hour})
			for i := range 40 {
				r2.Record(ev(fmt.Sprintf("closed-%03d", i), audit.TokenIssued))
			}
			if err := r2.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			s3 := open(t)
			defer s3.Close()
			got = stored(t, s3)
			for id := range want {
				if _, ok := got[id]; !ok {
					t.Errorf("event %s was acknowledged, then lost", id)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d events stored, want %d", len(got), len(want))
			}
		})
	}
}

// countingRepo counts the transactions (AppendAudit calls) and their sizes.
type countingRepo struct {
	audit.Repository
	mu    sync.Mutex
	sizes []int
}

func (c *countingRepo) AppendAudit(ctx context.Context, evs []audit.Event) error {
	c.mu.Lock()
	c.sizes = append(c.sizes, len(evs))
	c.mu.Unlock()
	return c.Repository.AppendAudit(ctx, evs)
}

// Events recorded by many requests at once become a few transactions,
// each as large as the batch allows, and every one of them is stored.
func TestRecorderBatchesConcurrentRecords(t *testing.T) {
	const writers, each, batch = 16, 100, 256
	for _, eng := range engines {
		t.Run(eng.name, func(t *testing.T) {
			s := eng.open(t)(t)
			defer s.Close()
			repo := &countingRepo{Repository: s}
			// Batches are written when full, and the rest on Flush: the
			// count of transactions does not depend on timing.
			r := quietRecorder(repo, audit.Options{Linger: time.Hour, BatchSize: batch, QueueSize: writers * each})
			defer r.Close(t.Context())
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range each {
						r.Record(audit.Event{ID: fmt.Sprintf("w%02d-%03d", w, i), TenantID: fmt.Sprintf("t%d", w%3),
							Kind: audit.TokenIssued, Actor: fmt.Sprintf("client-%d", w)})
					}
				})
			}
			wg.Wait()
			if err := r.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			total, full := 0, 0
			for _, n := range repo.sizes {
				total += n
				if n == batch {
					full++
				}
			}
			wantTx := (writers*each + batch - 1) / batch
			if total != writers*each || len(repo.sizes) != wantTx || full != wantTx-1 {
				t.Errorf("%d events in transactions of %v; want %d events in %d transactions, all but the last of %d",
					total, repo.sizes, writers*each, wantTx, batch)
			}
			got := stored(t, s)
			if len(got) != writers*each {
				t.Errorf("%d events stored, want %d", len(got), writers*each)
			}
			for w := range writers {
				id := fmt.Sprintf("w%02d-%03d", w, each-1)
				if e, ok := got[id]; !ok || e.TenantID != fmt.Sprintf("t%d", w%3) {
					t.Errorf("event %s: %+v, %v", id, e, ok)
				}
			}
		})
	}
}
