package postgres

import (
	"context"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
)

// purgeStatements delete, in an order the foreign keys allow, rows whose
// every use ended before the cut-off: expired codes, refresh tokens,
// device codes and feed entries, then grants and browser sessions nothing
// refers to any more, the sign-in failures of addresses whose window
// and ban have both ended, and those of unknown names once forgotten
// (see session.PurgeBefore for which cut-off is which). PostgreSQL has no DELETE … LIMIT, so each statement picks at
// most $2 rows by primary key in a subquery: one purge is a few short
// statements however large the backlog, and housekeeping calls it again
// until the backlog is gone.
var purgeStatements = []stored.PurgeStatement{
	{Query: `DELETE FROM codes WHERE (tenant_id, hash) IN (
		SELECT tenant_id, hash FROM codes WHERE expires_at < $1 LIMIT $2)`, Cutoff: stored.Answered},
	{Query: `DELETE FROM refresh_tokens WHERE (tenant_id, hash) IN (
		SELECT tenant_id, hash FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)`, Cutoff: stored.Answered},
	{Query: `DELETE FROM device_codes WHERE (tenant_id, hash) IN (
		SELECT tenant_id, hash FROM device_codes WHERE expires_at < $1 LIMIT $2)`, Cutoff: stored.Expired},
	{Query: `DELETE FROM revocations WHERE seq IN (
		SELECT seq FROM revocations WHERE expires_at < $1 LIMIT $2)`, Cutoff: stored.Expired},
	{Query: `DELETE FROM grants WHERE (tenant_id, id) IN (
		SELECT g.tenant_id, g.id FROM grants g WHERE g.expires_at < $1
		AND NOT EXISTS (SELECT 1 FROM codes c WHERE c.tenant_id = g.tenant_id AND c.grant_id = g.id)
		AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.tenant_id = g.tenant_id AND r.grant_id = g.id)
		LIMIT $2)`, Cutoff: stored.Answered},
	{Query: `DELETE FROM browser_sessions WHERE (tenant_id, id_hash) IN (
		SELECT b.tenant_id, b.id_hash FROM browser_sessions b WHERE b.expires_at < $1
		AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.tenant_id = b.tenant_id AND g.browser_session_id = b.id)
		LIMIT $2)`, Cutoff: stored.Answered},
	{Query: `DELETE FROM address_failures WHERE (tenant_id, address) IN (
		SELECT tenant_id, address FROM address_failures WHERE expires_at < $1 LIMIT $2)`, Cutoff: stored.Expired},
	{Query: `DELETE FROM name_failures WHERE (tenant_id, name_key) IN (
		SELECT tenant_id, name_key FROM name_failures WHERE expires_at < $1 LIMIT $2)`, Cutoff: stored.Expired},
}

// Purge deletes session state that expired before its cut-offs, at most
// limit rows of each kind, and reports how many rows went. Housekeeping only: it
// spans every tenant.
//
// Each statement is its own transaction: nothing ties one kind's deletion
// to another's, and short transactions hold their row locks briefly on the
// tables the hot paths write. A grant or session that gains a new
// reference while it is being deleted makes that statement fail on the
// foreign key; the next purge finds it referenced and leaves it.
func (s *Store) Purge(ctx context.Context, before session.PurgeBefore, limit int) (int64, error) {
	var n int64
	for _, st := range purgeStatements {
		tag, err := s.pool.Exec(ctx, st.Query, st.Cutoff(before), limit)
		if err != nil {
			return n, wrapSession("purge expired session state", err)
		}
		n += tag.RowsAffected()
	}
	return n, nil
}
