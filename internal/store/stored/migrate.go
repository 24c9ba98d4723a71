package stored

import "github.com/tessera-id/tessera/internal/store"

// CheckAppIDsUnique reads the rows of store.DuplicateAppIDsQuery, which the
// engine ran in the migration's transaction, and is
// store.DuplicateAppIDsError of them: nil when no application id is
// registered in more than one tenant (what 0006's unique index cannot
// take).
func CheckAppIDsUnique(rows Rows) error {
	holders, err := ScanAll(rows, func(r Row) (h store.AppIDHolder, err error) {
		return h, r.Scan(&h.AppID, &h.TenantID, &h.TenantDomain)
	})
	if err != nil {
		return err
	}
	return store.DuplicateAppIDsError(holders)
}
