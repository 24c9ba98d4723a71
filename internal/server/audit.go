package server

import (
	"context"
	"time"
)

// auditPurgeBatch bounds one purge statement, so that retention catching
// up on a large backlog is many short transactions, not one long one on
// the store's single writer.
const auditPurgeBatch = 1000

// purgeAudit deletes the audit events older than --audit-retention, in
// batches until none is left (or a minute of work, the housekeeping
// interval, has passed).
func (s *Server) purgeAudit(ctx context.Context) {
	before := time.Now().Add(-s.cfg.AuditRetention)
	deadline := time.Now().Add(time.Minute)
	var total int64
	for time.Now().Before(deadline) {
		n, err := s.store.PurgeAudit(ctx, before, auditPurgeBatch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("housekeeping: purge audit events", "err", err)
			}
			break
		}
		if n < auditPurgeBatch {
			break
		}
	}
	if total > 0 {
		s.log.Info("purged audit events past retention", "events", total, "retention", s.cfg.AuditRetention)
	}
}

// closeAudit writes the audit events still queued, within the shutdown
// timeout.
func (s *Server) closeAudit() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.Audit.Close(ctx); err != nil {
		s.log.Error("audit: events still queued at shutdown were not written", "err", err)
	}
}
