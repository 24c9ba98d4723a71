package adminapi

import (
	"net/http"

	"github.com/tessera-id/tessera/internal/directory"
)

// An assignment names two service principals (the principal and the
// resource's); the directory does not say which one is missing.
const assignNotFound = "the principal or the resource does not exist in the tenant, or has no service principal there"

// listRoleAssignments filters by ?principal= and/or ?resource= (at least
// one: a tenant-wide dump is not what an administrator means).
func (a *api) listRoleAssignments(w http.ResponseWriter, r *http.Request, c *call) error {
	q := r.URL.Query()
	f := directory.AssignmentFilter{Principal: q.Get("principal"), Resource: q.Get("resource")}
	as, err := a.dir.ListRoleAssignments(r.Context(), c.tenant.ID, f)
	if err != nil {
		return domainErr(err, assignNotFound, "")
	}
	writeJSON(w, http.StatusOK, list(as))
	return nil
}

func (a *api) assignRole(w http.ResponseWriter, r *http.Request, c *call) error {
	var spec directory.AssignmentSpec
	if err := decode(w, r, &spec); err != nil {
		return err
	}
	if spec.Principal == "" || spec.Resource == "" || spec.Role == "" {
		return badRequest("principal, resource and role are all required")
	}
	ra, err := a.dir.AssignRole(r.Context(), c.tenant.ID, spec)
	if err != nil {
		return domainErr(err, assignNotFound, "the principal already holds this role of the resource")
	}
	a.audit(r, c, "roleAssignment.create", "target", ra.ID, "principal", ra.PrincipalID, "resource", ra.ResourceID, "app_role", ra.AppRoleID)
	writeJSON(w, http.StatusCreated, ra)
	return nil
}

func (a *api) removeRoleAssignment(w http.ResponseWriter, r *http.Request, c *call) error {
	id := r.PathValue("id")
	if err := a.dir.RemoveRoleAssignment(r.Context(), c.tenant.ID, id); err != nil {
		return domainErr(err, "role assignment "+quote(id)+" does not exist in tenant "+c.tenant.Domain, "")
	}
	a.audit(r, c, "roleAssignment.remove", "target", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
