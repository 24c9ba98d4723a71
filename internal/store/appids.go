package store

import (
	"fmt"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
)

// NotWellKnownAppID is the condition of migration 0006's partial unique
// index on applications(app_id): an application id other than the
// built-in ones every tenant registers. Queries that want the index repeat
// it word for word, so that SQLite's planner may use it.
const NotWellKnownAppID = `app_id NOT IN ('` + directory.CLIClientID + `', '` + directory.ManagementAppID + `')`

// DuplicateAppIDsQuery lists, in both engines, the registrations of the
// application ids that more than one tenant registers (what 0006's index
// cannot take), as AppIDHolder columns ordered by id.
const DuplicateAppIDsQuery = `SELECT a.app_id, t.id, t.domain FROM applications a JOIN tenants t ON t.id = a.tenant_id
	WHERE a.app_id IN (SELECT app_id FROM applications WHERE ` + NotWellKnownAppID + `
		GROUP BY app_id HAVING count(*) > 1)
	ORDER BY a.app_id, t.created_at, t.id`

// AppIDHolder is one registration of an application id that more than one
// tenant registers, as the check before migration 6 finds it.
type AppIDHolder struct {
	AppID        string
	TenantID     string
	TenantDomain string
}

// maxListedAppIDs bounds the duplicates an error names: enough to act on,
// not a page of text.
const maxListedAppIDs = 20

// DuplicateAppIDsError is the error of both engines when migration 6 (one
// tenant per application id) meets a database in which some ids are
// registered in several tenants (holders ordered by id): the unique index
// cannot be built, and neither silently keeping the hole nor silently
// deleting someone's application is acceptable. It names the duplicates
// and says what to do; nil when there are none.
func DuplicateAppIDsError(holders []AppIDHolder) error {
	if len(holders) == 0 {
		return nil
	}
	var b strings.Builder
	ids, first := 0, ""
	for i, h := range holders {
		if i == 0 || h.AppID != holders[i-1].AppID {
			if ids++; ids > maxListedAppIDs {
				b.WriteString("\n  …")
				break
			}
			fmt.Fprintf(&b, "\n  %s: ", h.AppID)
		} else {
			b.WriteString(", ")
			if first == "" {
				first = fmt.Sprintf("tessera admin app delete --tenant %s --id %s", h.TenantDomain, h.AppID)
			}
		}
		fmt.Fprintf(&b, "tenant %s (%s)", h.TenantDomain, h.TenantID)
	}
	return fmt.Errorf("application ids must now be unique across tenants (a tenant could register another tenant's client id "+
		"and sign its users in as the other's), but these are registered in more than one tenant:%s\n"+
		"Keep each in the tenant it belongs to: with the tessera version that runs on this database now, delete it from the others "+
		"(e.g. `%s`) and register a new application there, with a new client id, for whoever used it; then start this version again. "+
		"The database was not changed. (The well-known ids %s and %s may stay in every tenant.)",
		b.String(), first, directory.CLIClientID, directory.ManagementAppID)
}
