package sqlite

import (
	"context"
	"database/sql"

	"github.com/tessera-id/tessera/internal/store"
	"github.com/tessera-id/tessera/internal/store/stored"
)

// migrationChecks run in the migration's transaction just before the
// migration of their version: a rule the migration's SQL would enforce
// with a bare constraint error is checked first, so that the operator
// reads what is wrong and what to do.
var migrationChecks = map[int]func(context.Context, *sql.Tx) error{
	6: checkAppIDsUnique,
}

// checkAppIDsUnique finds the application ids that more than one tenant
// registers, which 0006's unique index cannot take.
func checkAppIDsUnique(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, store.DuplicateAppIDsQuery)
	if err != nil {
		return err
	}
	defer rows.Close()
	return stored.CheckAppIDsUnique(rows)
}
