package audit_test

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/cputime"
	"github.com/tessera-id/tessera/internal/store/sqlite"
)

// BenchmarkRecorder is the audit log's cost per token issued, as the
// server pays it on the same cores as issuance: Record, then the writer
// preparing, storing (SQLite, one transaction per batch) and logging
// (JSON, discarded) each event. cpu-ns/op is the process's CPU time
// (every thread: the writer, SQLite, GC) per event.
func BenchmarkRecorder(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	r := audit.NewRecorder(s, audit.Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), QueueSize: 1 << 20})
	defer r.Close(b.Context())
	clients := make([]string, 64)
	for i := range clients {
		clients[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
	}
	b.ReportAllocs()
	i := 0
	cpu := cputime.Process()
	for b.Loop() {
		c := clients[i%len(clients)]
		i++
		// The event client credentials record (oauth.recordIssued).
		r.Record(audit.Event{TenantID: "8f3a9c1e-5b2d-4e7f-9a6c-3d1b0e2f4a5c", Kind: audit.TokenIssued, Actor: c, Target: c,
			Outcome: audit.Success, Details: map[string]string{"grant_type": "client_credentials", "resource": "9b2e6f1a-7c3d-4a5b-8e9f-0a1b2c3d4e5f"}})
		if i%4096 == 0 {
			if err := r.Flush(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := r.Flush(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
}
