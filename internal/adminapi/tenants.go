package adminapi

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/tessera-id/tessera/internal/directory"
)

func (a *api) listTenants(w http.ResponseWriter, r *http.Request, c *call) error {
	ts, err := a.dir.ListTenants(r.Context())
	if err != nil {
		return domainErr(err, "", "")
	}
	writeJSON(w, http.StatusOK, list(tenantsOut(ts)))
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
	writeJSON(w, http.StatusCreated, tenantOut(t))
	return nil
}

func (a *api) getTenant(w http.ResponseWriter, r *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, tenantOut(c.tenant))
	return nil
}

// setTenantPolicy replaces the tenant's policy as a whole (PUT, RFC 9110
// §9.3.4): what the body leaves out returns to the default.
func (a *api) setTenantPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	var body TenantPolicyUpdate
	if err := decode(w, r, &body); err != nil {
		return err
	}
	p, err := body.policy()
	if err != nil {
		return err
	}
	// A resource that does not resolve would make every product login
	// fail later, far from the typo that caused it: refuse it now, naming
	// the field. (directory.SetTenantPolicy refuses it too.)
	refs := append([]string{p.ProductLoginResource}, p.ProductLoginResources...)
	for i, ref := range refs {
		if ref == "" {
			continue
		}
		if _, err := a.dir.ResolveResource(r.Context(), c.tenant.ID, ref); err != nil {
			field := "productLoginResource"
			if i > 0 {
				field = "productLoginResources"
			}
			if errors.Is(err, directory.ErrUnknownResource) {
				return &apiError{kind: kindBadRequest, cause: err,
					message: field + " " + quote(ref) + " is no application with an enabled service principal in tenant " + c.tenant.Domain}
			}
			return domainErr(err, "", "")
		}
	}
	t, err := a.dir.SetTenantPolicy(r.Context(), c.tenant.ID, p)
	if err != nil {
		return domainErr(err, "tenant "+c.tenant.Domain+" no longer exists", "")
	}
	a.auditChange(r, c, "tenant.setPolicy", tenantOut(c.tenant), tenantOut(t), "target", t.ID)
	writeJSON(w, http.StatusOK, tenantOut(t))
	return nil
}
