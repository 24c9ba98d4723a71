package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/audit"
	"github.com/tessera-id/tessera/internal/store/stored"
)

const auditColumns = `id, tenant_id, at, kind, actor, target, outcome, reason, details, before, after`

func scanAudit(row pgx.Row) (audit.Event, error) {
	var e audit.Event
	var details, before, after string
	if err := row.Scan(&e.ID, &e.TenantID, &e.Time, &e.Kind, &e.Actor, &e.Target, &e.Outcome, &e.Reason,
		&details, &before, &after); err != nil {
		return audit.Event{}, err
	}
	e.Time = utc(e.Time)
	if err := stored.DecodeAudit(&e, details, before, after); err != nil {
		return audit.Event{}, err
	}
	return e, nil
}

// AppendAudit stores events in one statement (unnest of arrays), one
// round trip however large the batch.
func (s *Store) AppendAudit(ctx context.Context, events []audit.Event) error {
	op := fmt.Sprintf("append %d audit events", len(events))
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	ids, tenants, kinds, actors, targets := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	outcomes, reasons, details, befores, afters := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ats := make([]time.Time, n)
	for i, e := range events {
		if e.TenantID == "" || e.ID == "" {
			return fmt.Errorf("postgres: %s: %w: audit event without an id or a tenant", op, audit.ErrBadQuery)
		}
		d, err := audit.EncodeDetails(e.Details)
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", op, err)
		}
		ids[i], tenants[i], ats[i], kinds[i], actors[i], targets[i] = e.ID, e.TenantID, e.Time, e.Kind, e.Actor, e.Target
		outcomes[i], reasons[i], details[i], befores[i], afters[i] = e.Outcome, e.Reason, d, string(e.Before), string(e.After)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO audit_events (`+auditColumns+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],
			$7::text[], $8::text[], $9::text[], $10::text[], $11::text[])`,
		ids, tenants, ats, kinds, actors, targets, outcomes, reasons, details, befores, afters)
	return wrap(op, err)
}

// The list's filter after the tenant condition: $2/$3 the lower bound
// (time, id: strictly after), $4 the upper; $5 the kind (empty for any) and
// $6 its family pattern.
const auditFilter = ` AND (at > $2 OR (at = $2 AND id > $3)) AND at < $4
	AND ($5::text = '' OR kind = $5::text OR kind LIKE $6::text ESCAPE '\')
	ORDER BY at, id LIMIT $7`

// ListAudit returns the tenant's events matching q, oldest first.
func (s *Store) ListAudit(ctx context.Context, tenantID string, q audit.Query) (audit.Page, error) {
	op := "list audit events of tenant " + tenantID
	if err := q.Check(tenantID); err != nil {
		return audit.Page{}, fmt.Errorf("postgres: %s: %w", op, err)
	}
	lower, lowerID, upper, err := q.Bounds()
	if err != nil {
		return audit.Page{}, fmt.Errorf("postgres: %s: %w", op, err)
	}
	if lowerID == "" {
		lower = lower.Add(-time.Microsecond) // at or after Since
	}
	query := `SELECT ` + auditColumns + ` FROM audit_events WHERE tenant_id = $1` + auditFilter
	if tenantID == audit.AllTenants {
		query = `SELECT ` + auditColumns + ` FROM audit_events WHERE $1::text = '*'` + auditFilter
	}
	events, err := queryList(ctx, s.pool, op, scanAudit, query, tenantID, lower, lowerID, upper,
		q.Kind, audit.KindLike(q.Kind), q.Limit+1)
	if err != nil {
		return audit.Page{}, err
	}
	return audit.PageOf(events, q.Limit), nil
}

// PurgeAudit deletes at most limit events older than before.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM audit_events WHERE (tenant_id, at, id) IN (
		SELECT tenant_id, at, id FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2)`, before, limit)
	if err != nil {
		return 0, wrap("purge audit events", err)
	}
	return tag.RowsAffected(), nil
}
