package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const auditColumns = `id, tenant_id, at, kind, actor, target, outcome, reason, details, before, after`

func scanAudit(sc scanner) (audit.Event, error) {
	var e audit.Event
	var at int64
	var details, before, after string
	if err := sc.Scan(&e.ID, &e.TenantID, &at, &e.Kind, &e.Actor, &e.Target, &e.Outcome, &e.Reason,
		&details, &before, &after); err != nil {
		return audit.Event{}, err
	}
	e.Time = decTime(at)
	if err := stored.DecodeAudit(&e, details, before, after); err != nil {
		return audit.Event{}, err
	}
	return e, nil
}

// auditInsertRows is the most rows one INSERT statement carries: one
// statement per row made the pure-Go driver's per-statement work (bind,
// step, reset) most of an event's cost at client-credentials rates.
// 64 rows are 704 parameters, far below SQLite's limit of 32766.
const auditInsertRows = 64

// AppendAudit stores events in one transaction. It does not go through
// the session batcher: the recorder already batches, and an audit write
// should not hold a token's durable write up.
func (s *Store) AppendAudit(ctx context.Context, events []audit.Event) error {
	op := fmt.Sprintf("append %d audit events", len(events))
	if len(events) == 0 {
		return nil
	}
	// Full chunks run one statement prepared once on the write
	// connection: preparing a 64-row INSERT costs as much as running it,
	// and was 4 % of an event's cost when each transaction prepared it.
	// It is prepared before the transaction, which holds the pool's only
	// connection.
	var full *sql.Stmt
	if len(events) >= auditInsertRows {
		st, err := s.preparedWrite(ctx, auditInsert(auditInsertRows))
		if err != nil {
			return wrap(op, err)
		}
		full = st
	}
	args := make([]any, 0, 11*min(len(events), auditInsertRows))
	return s.write(ctx, op, func(tx *sql.Tx) error {
		var fullTx *sql.Stmt
		if full != nil {
			fullTx = tx.StmtContext(ctx, full)
			defer fullTx.Close()
		}
		for chunk := range slices.Chunk(events, auditInsertRows) {
			args = args[:0]
			for _, e := range chunk {
				if e.TenantID == "" || e.ID == "" {
					return fmt.Errorf("%w: audit event without an id or a tenant", audit.ErrBadQuery)
				}
				details, err := audit.EncodeDetails(e.Details)
				if err != nil {
					return err
				}
				args = append(args, e.ID, e.TenantID, encTime(e.Time), e.Kind, e.Actor, e.Target, e.Outcome, e.Reason,
					details, string(e.Before), string(e.After))
			}
			var err error
			if len(chunk) == auditInsertRows {
				_, err = fullTx.ExecContext(ctx, args...)
			} else {
				_, err = tx.ExecContext(ctx, auditInsert(len(chunk)), args...)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// preparedWrite is prepared (the read statements' cache, which Close
// empties) for a statement of the write connection, kept under its own
// key. Call it outside a write transaction.
func (s *Store) preparedWrite(ctx context.Context, query string) (*sql.Stmt, error) {
	key := "write\x00" + query
	if st, ok := s.stmts.Load(key); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.w.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(key, st); loaded {
		st.Close() // another goroutine prepared it first
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// auditInserts caches the INSERT text for each row count.
var auditInserts [auditInsertRows + 1]atomic.Pointer[string]

func auditInsert(n int) string {
	if q := auditInserts[n].Load(); q != nil {
		return *q
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO audit_events (` + auditColumns + `) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	q := b.String()
	auditInserts[n].Store(&q)
	return q
}

// The list's two queries: one tenant, or every tenant. Constant text, so
// that they are prepared once (see prepared). ?2/?3 are the lower bound
// (time, id: strictly after), ?4 the upper; ?5 the kind (empty for any) and
// ?6 its family pattern.
const (
	auditFilter = ` AND (at > ?2 OR (at = ?2 AND id > ?3)) AND at < ?4
		AND (?5 = '' OR kind = ?5 OR kind LIKE ?6 ESCAPE '\')
		ORDER BY at, id LIMIT ?7`
	listAuditTenant = `SELECT ` + auditColumns + ` FROM audit_events WHERE tenant_id = ?1` + auditFilter
	listAuditAll    = `SELECT ` + auditColumns + ` FROM audit_events WHERE ?1 = '*'` + auditFilter
)

// ListAudit returns the tenant's events matching q, oldest first.
func (s *Store) ListAudit(ctx context.Context, tenantID string, q audit.Query) (audit.Page, error) {
	op := "list audit events of tenant " + tenantID
	if err := q.Check(tenantID); err != nil {
		return audit.Page{}, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	lower, lowerID, upper, err := q.Bounds()
	if err != nil {
		return audit.Page{}, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	lowerAt := encTime(lower)
	if lowerID == "" {
		lowerAt-- // at or after Since
	}
	query := listAuditTenant
	if tenantID == audit.AllTenants {
		query = listAuditAll
	}
	events, err := queryList(ctx, s, op, scanAudit, query, tenantID, lowerAt, lowerID, encTime(upper),
		q.Kind, audit.KindLike(q.Kind), q.Limit+1)
	if err != nil {
		return audit.Page{}, err
	}
	return audit.PageOf(events, q.Limit), nil
}

// PurgeAudit deletes at most limit events older than before.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time, limit int) (int64, error) {
	var n int64
	err := s.write(ctx, "purge audit events", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM audit_events WHERE (tenant_id, at, id) IN (
			SELECT tenant_id, at, id FROM audit_events WHERE at < ? ORDER BY at LIMIT ?)`, encTime(before), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
