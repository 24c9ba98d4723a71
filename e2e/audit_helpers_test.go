package e2e

import (
	"context"
	"encoding/json"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
)

// auditEvents reads every audit event of every tenant from the running
// server, after writing those still queued.
func (h *harness) auditEvents() []audit.Event {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var all []audit.Event
	q := audit.Query{Limit: 1000}
	for {
		page, err := h.srv.Audit.List(ctx, audit.AllTenants, q)
		if err != nil {
			h.t.Fatalf("read the audit log: %v", err)
		}
		all = append(all, page.Events...)
		if page.Next == "" {
			return all
		}
		q.Cursor = page.Next
	}
}

// assertNoSecrets is the audit log's rule, checked: none of values (every
// token, secret, password and code the test saw) appears in any line the
// server logged nor in any audit row. A JWT is also looked for by its
// signature alone, an opaque value whole. Any e2e test may call it at its
// end with what it handled.
func (h *harness) assertNoSecrets(values ...string) {
	h.t.Helper()
	rows, err := json.Marshal(h.auditEvents())
	if err != nil {
		h.t.Fatal(err)
	}
	where := map[string]string{"the server log": h.logs.String(), "the audit log": string(rows)}
	for name, text := range where {
		for _, i := range findSecrets(text, values) {
			// Never print the value: the test output is a log too.
			h.t.Errorf("value #%d (%d chars) of the test appears in %s", i, len(values[i]), name)
		}
	}
}
