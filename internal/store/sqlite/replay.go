package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/tessera-id/tessera/internal/store/stored"
)

// ConsumeOnce records key as used in the tenant until expiresAt, or returns
// directory.ErrReplay if it is recorded and not yet expired. A record is
// expired once the wall clock reaches its expiresAt; an expired record of
// the same key is overwritten. It runs as one transaction on the single
// write connection, so of concurrent calls with one key exactly one wins,
// and the row is on disk before the call returns.
func (s *Store) ConsumeOnce(ctx context.Context, tenantID, key string, expiresAt time.Time) error {
	now := encTime(s.now())
	return s.write(ctx, "consume single-use value in tenant "+tenantID, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM consumed_values WHERE rowid IN (
			SELECT rowid FROM consumed_values WHERE expires_at <= ? LIMIT ?)`, now, stored.ConsumePurgeBatch); err != nil {
			return err
		}
		// The conditional upsert is the whole check: it inserts a new key,
		// overwrites an expired record, and changes nothing (0 rows) for a
		// live one.
		res, err := tx.ExecContext(ctx, `INSERT INTO consumed_values (tenant_id, value_key, expires_at)
			VALUES (?, ?, ?)
			ON CONFLICT (tenant_id, value_key) DO UPDATE SET expires_at = excluded.expires_at
			WHERE consumed_values.expires_at <= ?`,
			tenantID, key, encTime(expiresAt), now)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		return stored.Consumed(n)
	})
}
