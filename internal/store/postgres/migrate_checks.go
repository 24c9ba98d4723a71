package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-id/tessera/internal/store"
)

// migrationChecks run in the migration's transaction just before the
// migration of their version: a rule the migration's SQL would enforce
// with a bare constraint error is checked first, so that the operator
// reads what is wrong and what to do.
var migrationChecks = map[int]func(context.Context, pgx.Tx) error{
	6: checkAppIDsUnique,
}

// checkAppIDsUnique finds the application ids that more than one tenant
// registers, which 0006's unique index cannot take.
func checkAppIDsUnique(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT a.app_id, t.id, t.domain FROM applications a JOIN tenants t ON t.id = a.tenant_id
		WHERE a.app_id IN (SELECT app_id FROM applications
			WHERE app_id NOT IN ('04b07795-8ddb-461a-bbee-02f9e1bf7b46', '797f4846-ba00-4fd7-ba43-dac1f8f63013')
			GROUP BY app_id HAVING count(*) > 1)
		ORDER BY a.app_id, t.created_at, t.id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var holders []store.AppIDHolder
	for rows.Next() {
		var h store.AppIDHolder
		if err := rows.Scan(&h.AppID, &h.TenantID, &h.TenantDomain); err != nil {
			return err
		}
		holders = append(holders, h)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return store.DuplicateAppIDsError(holders)
}
