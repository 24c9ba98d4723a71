package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tessera-id/tessera/internal/store/stored"
	"github.com/tessera-id/tessera/internal/token"
)

const keyColumns = `id, alg, state, sealed, cert_der, created_at, activated_at, publish_until`

func scanKey(row pgx.Row) (token.KeyRecord, error) {
	var k token.KeyRecord
	if err := row.Scan(&k.ID, &k.Alg, &k.State, &k.Sealed, &k.CertDER, &k.CreatedAt, &k.ActivatedAt,
		&k.PublishUntil); err != nil {
		return token.KeyRecord{}, err
	}
	k.Sealed, k.CertDER = stored.NonNil(k.Sealed), stored.NonNil(k.CertDER)
	k.CreatedAt, k.ActivatedAt, k.PublishUntil = utc(k.CreatedAt), utc(k.ActivatedAt), utc(k.PublishUntil)
	return k, nil
}

// insertKey stores k as given: its private key stays the sealed bytes the
// caller made, which the store neither opens nor needs to.
func insertKey(ctx context.Context, tx pgx.Tx, k token.KeyRecord) error {
	_, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.ID, k.Alg, k.State, stored.NonNil(k.Sealed), stored.NonNil(k.CertDER), k.CreatedAt, k.ActivatedAt, k.PublishUntil)
	return err
}

// ListSigningKeys returns every key, newest (by CreatedAt, then id) first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]token.KeyRecord, error) {
	return queryList(ctx, s.pool, "list signing keys", scanKey,
		`SELECT `+keyColumns+` FROM signing_keys ORDER BY created_at DESC, id DESC`)
}

// InitSigningKeys stores keys if the store holds no key yet, in one
// transaction that first locks the table against other writers (EXCLUSIVE
// mode lets readers through): of instances starting together on an empty
// database, one stores its keys and the others, once it has committed,
// find keys and store nothing. Without the lock each would see the table
// empty under READ COMMITTED, and all but one would fail on the unique
// index instead of reporting false. The schema allows at most one active
// and one next key; a set breaking that is refused.
func (s *Store) InitSigningKeys(ctx context.Context, keys []token.KeyRecord) (bool, error) {
	if err := stored.CheckKeys(keys, nil); err != nil {
		return false, wrap("init signing keys", err)
	}
	wrote := false
	err := s.write(ctx, "init signing keys", func(tx pgx.Tx) error {
		wrote = false // fn may run again
		if _, err := tx.Exec(ctx, `LOCK TABLE signing_keys IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var err error
		wrote, err = stored.InitKeys(keys, func() (exists bool, err error) {
			err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM signing_keys)`).Scan(&exists)
			return exists, err
		}, func(k token.KeyRecord) error { return insertKey(ctx, tx, k) })
		return err
	})
	return wrote && err == nil, err
}

// RotateSigningKeys retires activeID, activates the next key and stores
// newNext, in one transaction that begins with a compare-and-swap on the
// active key: a conditional update that retires activeID only while it is
// active. Concurrent rotations queue on that row's lock; the first
// retires it, and the others, re-reading the row when the lock is
// released, find it retired and get token.ErrKeysChanged. It also deletes
// retired keys whose PublishUntil is before now.
func (s *Store) RotateSigningKeys(ctx context.Context, activeID string, publishUntil time.Time, newNext token.KeyRecord, now time.Time) error {
	op := "rotate signing keys from " + activeID
	if err := stored.CheckKeys(nil, &newNext); err != nil {
		return wrap(op, err)
	}
	return s.write(ctx, op, func(tx pgx.Tx) error {
		return stored.RotateKeys(stored.KeyRotation{
			Retire: func() (int64, error) {
				return rowsAffected(tx.Exec(ctx, `UPDATE signing_keys SET state = $1, publish_until = $2 WHERE id = $3 AND state = $4`,
					token.KeyRetired, publishUntil, activeID, token.KeyActive))
			},
			Activate: func() (int64, error) {
				return rowsAffected(tx.Exec(ctx, `UPDATE signing_keys SET state = $1, activated_at = $2 WHERE state = $3`,
					token.KeyActive, now, token.KeyNext))
			},
			Insert: func(k token.KeyRecord) error { return insertKey(ctx, tx, k) },
			Prune: func() error {
				_, err := tx.Exec(ctx, `DELETE FROM signing_keys WHERE state = $1 AND publish_until < $2`,
					token.KeyRetired, now)
				return err
			},
		}, newNext)
	})
}

// rowsAffected is the number of rows an Exec changed.
func rowsAffected(tag pgconn.CommandTag, err error) (int64, error) {
	return tag.RowsAffected(), err
}
