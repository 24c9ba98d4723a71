package sqlite

import (
	"context"
	"database/sql"

	"github.com/tessera-id/tessera/internal/session"
	"github.com/tessera-id/tessera/internal/store/stored"
)

// purgeStatements delete, in an order the foreign keys allow, rows whose
// every use ended before the cut-off: expired codes, refresh tokens, device
// codes and feed entries, then grants and browser sessions nothing refers
// to any more, the sign-in failures of addresses whose window and ban
// have both ended, and those of unknown names once forgotten (see
// session.PurgeBefore for which cut-off is which).
var purgeStatements = []stored.PurgeStatement{
	{Query: `DELETE FROM codes WHERE rowid IN (SELECT rowid FROM codes WHERE expires_at < ?1 LIMIT ?2)`, Cutoff: stored.Answered},
	{Query: `DELETE FROM refresh_tokens WHERE rowid IN (SELECT rowid FROM refresh_tokens WHERE expires_at < ?1 LIMIT ?2)`, Cutoff: stored.Answered},
	{Query: `DELETE FROM device_codes WHERE rowid IN (SELECT rowid FROM device_codes WHERE expires_at < ?1 LIMIT ?2)`, Cutoff: stored.Expired},
	{Query: `DELETE FROM revocations WHERE seq IN (SELECT seq FROM revocations WHERE expires_at < ?1 LIMIT ?2)`, Cutoff: stored.Expired},
	{Query: `DELETE FROM grants WHERE rowid IN (SELECT g.rowid FROM grants g WHERE g.expires_at < ?1
		AND NOT EXISTS (SELECT 1 FROM codes c WHERE c.tenant_id = g.tenant_id AND c.grant_id = g.id)
		AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.tenant_id = g.tenant_id AND r.grant_id = g.id)
		LIMIT ?2)`, Cutoff: stored.Answered},
	{Query: `DELETE FROM browser_sessions WHERE rowid IN (SELECT b.rowid FROM browser_sessions b WHERE b.expires_at < ?1
		AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.tenant_id = b.tenant_id AND g.browser_session_id = b.id)
		LIMIT ?2)`, Cutoff: stored.Answered},
	{Query: `DELETE FROM address_failures WHERE rowid IN (SELECT rowid FROM address_failures WHERE expires_at < ?1 LIMIT ?2)`, Cutoff: stored.Expired},
	{Query: `DELETE FROM name_failures WHERE rowid IN (SELECT rowid FROM name_failures WHERE expires_at < ?1 LIMIT ?2)`, Cutoff: stored.Expired},
}

// Purge deletes session state that expired before its cut-offs, at most
// limit rows of each kind, and reports how many rows went. Housekeeping
// only: it spans every tenant.
//
// Each statement is its own write on the single writer (queued like any
// other, see batcher): a batch of deletions of one kind holds the writer
// briefly, and the requests queued behind it run before the next.
func (s *Store) Purge(ctx context.Context, before session.PurgeBefore, limit int) (int64, error) {
	var n int64
	for _, st := range purgeStatements {
		var k int64
		err := s.writeSession(ctx, "purge expired session state", func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, st.Query, encTime(st.Cutoff(before)), limit)
			if err != nil {
				return err
			}
			k, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}
