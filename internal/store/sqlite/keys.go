package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/tessera-id/tessera/internal/store/stored"
	"github.com/tessera-id/tessera/internal/token"
)

const keyColumns = `id, alg, state, sealed, cert_der, created_at, activated_at, publish_until`

func scanKey(sc scanner) (token.KeyRecord, error) {
	var k token.KeyRecord
	var created, activated, publishUntil int64
	if err := sc.Scan(&k.ID, &k.Alg, &k.State, &k.Sealed, &k.CertDER, &created, &activated, &publishUntil); err != nil {
		return token.KeyRecord{}, err
	}
	k.Sealed, k.CertDER = stored.NonNil(k.Sealed), stored.NonNil(k.CertDER)
	k.CreatedAt, k.ActivatedAt, k.PublishUntil = decTime(created), decTime(activated), decTime(publishUntil)
	return k, nil
}

func insertKey(ctx context.Context, tx *sql.Tx, k token.KeyRecord) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Alg, k.State, stored.NonNil(k.Sealed), stored.NonNil(k.CertDER),
		encTime(k.CreatedAt), encTime(k.ActivatedAt), encTime(k.PublishUntil))
	return err
}

// ListSigningKeys returns every key, newest (by CreatedAt, then id) first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]token.KeyRecord, error) {
	return queryList(ctx, s, "list signing keys", scanKey,
		`SELECT `+keyColumns+` FROM signing_keys ORDER BY created_at DESC, id DESC`)
}

// InitSigningKeys stores keys if the store holds no key yet. The check and
// the inserts are one transaction on the single write connection, so of
// concurrent callers exactly one stores its keys. The schema allows at
// most one active and one next key; a set breaking that is refused.
func (s *Store) InitSigningKeys(ctx context.Context, keys []token.KeyRecord) (bool, error) {
	if err := stored.CheckKeys(keys, nil); err != nil {
		return false, wrap("init signing keys", err)
	}
	wrote := false
	err := s.write(ctx, "init signing keys", func(tx *sql.Tx) error {
		var err error
		wrote, err = stored.InitKeys(keys, func() (exists bool, err error) {
			err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM signing_keys)`).Scan(&exists)
			return exists, err
		}, func(k token.KeyRecord) error { return insertKey(ctx, tx, k) })
		return err
	})
	return wrote && err == nil, err
}

// RotateSigningKeys retires activeID, activates the next key and stores
// newNext, in one transaction that first checks, by a conditional update,
// that activeID is still the active key: token.ErrKeysChanged if another
// rotation got there first. It also deletes retired keys whose
// PublishUntil is before now.
func (s *Store) RotateSigningKeys(ctx context.Context, activeID string, publishUntil time.Time, newNext token.KeyRecord, now time.Time) error {
	op := "rotate signing keys from " + activeID
	if err := stored.CheckKeys(nil, &newNext); err != nil {
		return wrap(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		return stored.RotateKeys(stored.KeyRotation{
			Retire: func() (int64, error) {
				return rowsAffected(tx.ExecContext(ctx, `UPDATE signing_keys SET state = ?, publish_until = ?
					WHERE id = ? AND state = ?`,
					token.KeyRetired, encTime(publishUntil), activeID, token.KeyActive))
			},
			Activate: func() (int64, error) {
				return rowsAffected(tx.ExecContext(ctx, `UPDATE signing_keys SET state = ?, activated_at = ? WHERE state = ?`,
					token.KeyActive, encTime(now), token.KeyNext))
			},
			Insert: func(k token.KeyRecord) error { return insertKey(ctx, tx, k) },
			Prune: func() error {
				_, err := tx.ExecContext(ctx, `DELETE FROM signing_keys WHERE state = ? AND publish_until < ?`,
					token.KeyRetired, encTime(now))
				return err
			},
		}, newNext)
	})
}

// rowsAffected is the number of rows an ExecContext changed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
