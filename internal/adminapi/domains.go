package adminapi

import (
	"net/http"
	"net/url"
)

const domainConflict = "the domain is already held by a tenant: a domain belongs to one tenant only"

// listDomains lists the tenant's domains, its own first. Any administrator
// of the tenant may read them: they say which user names it may create.
func (a *api) listDomains(w http.ResponseWriter, r *http.Request, c *call) error {
	ds, err := a.dir.ListTenantDomains(r.Context(), c.tenant.ID)
	if err != nil {
		return domainErr(err, "", "")
	}
	out := make([]TenantDomain, len(ds))
	for i, d := range ds {
		out[i] = domainOut(c.tenant, d)
	}
	writeJSON(w, http.StatusOK, list(out))
	return nil
}

// addDomain gives the tenant a domain. Home tenant administrators only:
// domains are one namespace across tenants and tessera proves no DNS
// ownership, so the operator vouches that the tenant owns it, as Entra's
// domain verification would.
func (a *api) addDomain(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.caller.SystemAdmin {
		return forbidden("only an administrator of the home tenant may add domains to a tenant")
	}
	var body TenantDomainCreate
	if err := decode(w, r, &body); err != nil {
		return err
	}
	d, err := a.dir.AddTenantDomain(r.Context(), c.tenant.ID, body.Domain)
	if err != nil {
		return domainErr(err, "tenant "+c.tenant.Domain+" no longer exists", domainConflict)
	}
	a.audit(r, c, "tenant.addDomain", "target", c.tenant.ID, "domain", d.Domain)
	w.Header().Set("Location", r.URL.EscapedPath()+"/"+url.PathEscape(d.Domain))
	writeJSON(w, http.StatusCreated, domainOut(c.tenant, d))
	return nil
}

// removeDomain takes a domain from the tenant: never its own, and not
// while users are named in it. Home tenant administrators only.
func (a *api) removeDomain(w http.ResponseWriter, r *http.Request, c *call) error {
	if !c.caller.SystemAdmin {
		return forbidden("only an administrator of the home tenant may remove domains from a tenant")
	}
	domain := r.PathValue("domain")
	if err := a.dir.RemoveTenantDomain(r.Context(), c.tenant.ID, domain); err != nil {
		return domainErr(err, "domain "+quote(domain)+" is not a domain of tenant "+c.tenant.Domain, domainConflict)
	}
	a.audit(r, c, "tenant.removeDomain", "target", c.tenant.ID, "domain", domain)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
