package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/store/stored"
)

// ConsumeOnce records key as used in the tenant until expiresAt, or returns
// directory.ErrReplay if it is recorded and not yet expired by the store's
// clock. An expired record of the same key is overwritten.
//
// The conditional upsert is the whole check, and the database decides it:
// of concurrent callers with one key, on any number of instances, one
// inserts (or overwrites the expired record) and the others wait on its
// row, then find it live and change nothing. Expiry is judged by this
// instance's clock, as the contract's other times are; instances whose
// clocks disagree by d can accept a value up to d after its expiry, which
// is why callers add the assertion's own expiry check.
func (s *Store) ConsumeOnce(ctx context.Context, tenantID, key string, expiresAt time.Time) error {
	now := s.now()
	return s.write(ctx, "consume single-use value in tenant "+tenantID, func(tx pgx.Tx) error {
		// SKIP LOCKED: rows another caller is purging or overwriting are
		// left to it, so purging never waits.
		if _, err := tx.Exec(ctx, `DELETE FROM consumed_values WHERE (tenant_id, value_key) IN (
			SELECT tenant_id, value_key FROM consumed_values WHERE expires_at <= $1
			LIMIT $2 FOR UPDATE SKIP LOCKED)`, now, stored.ConsumePurgeBatch); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO consumed_values (tenant_id, value_key, expires_at)
			VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id, value_key) DO UPDATE SET expires_at = excluded.expires_at
			WHERE consumed_values.expires_at <= $4`,
			tenantID, key, expiresAt, now)
		if err != nil {
			return err
		}
		return stored.Consumed(tag.RowsAffected())
	})
}
