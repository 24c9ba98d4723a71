package adminapi

import (
	"net/http"
	"net/url"

	"github.com/tessera-id/tessera/internal/directory"
)

func (a *api) listTenants(w http.ResponseWriter, r *http.Request, c *call) error {
	ts, err := a.dir.ListTenants(r.Context())
	if err != nil {
		return domainErr(err, "", "")
	}
	writeJSON(w, http.StatusOK, list(ts))
	return nil
}

// createTenant creates the tenant with its admin API application, so that
// it can be administered from the start.
func (a *api) createTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	var spec directory.TenantSpec
	if err := decode(w, r, &spec); err != nil {
		return err
	}
	t, err := a.dir.CreateTenantWithAdmin(r.Context(), spec)
	if err != nil {
		return domainErr(err, "", "a tenant with this domain or id already exists")
	}
	a.audit(r, c, "tenant.create", "target", t.ID, "domain", t.Domain)
	w.Header().Set("Location", "/admin/v1/tenants/"+url.PathEscape(t.ID))
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (a *api) getTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, c.tenant)
	return nil
}
