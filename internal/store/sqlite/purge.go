package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// purgeStatements delete, in an order the foreign keys allow, rows whose
// every use ended before the cut-off: expired codes, refresh tokens, device
// codes and feed entries, then grants and browser sessions nothing refers
// to any more, the sign-in failures of addresses whose window and ban
// have both ended, and those of unknown names once forgotten. Each statement removes at most limit rows, so one purge is
// a short transaction however large the backlog.
var purgeStatements = []string{
	`DELETE FROM codes WHERE rowid IN (SELECT rowid FROM codes WHERE expires_at < ?1 LIMIT ?2)`,
	`DELETE FROM refresh_tokens WHERE rowid IN (SELECT rowid FROM refresh_tokens WHERE expires_at < ?1 LIMIT ?2)`,
	`DELETE FROM device_codes WHERE rowid IN (SELECT rowid FROM device_codes WHERE expires_at < ?1 LIMIT ?2)`,
	`DELETE FROM revocations WHERE seq IN (SELECT seq FROM revocations WHERE expires_at < ?1 LIMIT ?2)`,
	`DELETE FROM grants WHERE rowid IN (SELECT g.rowid FROM grants g WHERE g.expires_at < ?1
		AND NOT EXISTS (SELECT 1 FROM codes c WHERE c.tenant_id = g.tenant_id AND c.grant_id = g.id)
		AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.tenant_id = g.tenant_id AND r.grant_id = g.id)
		LIMIT ?2)`,
	`DELETE FROM browser_sessions WHERE rowid IN (SELECT b.rowid FROM browser_sessions b WHERE b.expires_at < ?1
		AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.tenant_id = b.tenant_id AND g.browser_session_id = b.id)
		LIMIT ?2)`,
	`DELETE FROM address_failures WHERE rowid IN (SELECT rowid FROM address_failures WHERE expires_at < ?1 LIMIT ?2)`,
	`DELETE FROM name_failures WHERE rowid IN (SELECT rowid FROM name_failures WHERE expires_at < ?1 LIMIT ?2)`,
}

// Purge deletes session state that expired before before, at most limit
// rows of each kind, and reports how many rows went. Housekeeping only: it
// spans every tenant.
func (s *Store) Purge(ctx context.Context, before time.Time, limit int) (int64, error) {
	var n int64
	err := s.writeSession(ctx, "purge expired session state", func(tx *sql.Tx) error {
		for _, q := range purgeStatements {
			res, err := tx.ExecContext(ctx, q, encTime(before), limit)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}
