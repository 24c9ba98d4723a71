package adminapi

import (
	"net/http"
	"net/url"

	"github.com/tessera-id/tessera/internal/directory"
)

func spNotFound(r *http.Request, c *call) string {
	return "service principal " + quote(r.PathValue("sp")) + " does not exist in tenant " + c.tenant.Domain
}

func (a *api) listServicePrincipals(w http.ResponseWriter, r *http.Request, c *call) error {
	sps, err := a.dir.ListServicePrincipals(r.Context(), c.tenant.ID)
	if err != nil {
		return domainErr(err, "", "")
	}
	writeJSON(w, http.StatusOK, list(sps))
	return nil
}

func (a *api) createServicePrincipal(w http.ResponseWriter, r *http.Request, c *call) error {
	var spec directory.ServicePrincipalSpec
	if err := decode(w, r, &spec); err != nil {
		return err
	}
	if spec.AppID == "" {
		return badRequest("appId names the application the service principal is for")
	}
	sp, err := a.dir.CreateServicePrincipal(r.Context(), c.tenant.ID, spec)
	if err != nil {
		return domainErr(err,
			"application "+quote(spec.AppID)+" does not exist in tenant "+c.tenant.Domain,
			"the application already has a service principal in the tenant")
	}
	a.audit(r, c, "servicePrincipal.create", "target", sp.ObjectID, "app_id", sp.AppID)
	w.Header().Set("Location", r.URL.EscapedPath()+"/"+url.PathEscape(sp.ObjectID))
	writeJSON(w, http.StatusCreated, sp)
	return nil
}

func (a *api) getServicePrincipal(w http.ResponseWriter, r *http.Request, c *call) error {
	sp, err := a.dir.GetServicePrincipal(r.Context(), c.tenant.ID, r.PathValue("sp"))
	if err != nil {
		return domainErr(err, spNotFound(r, c), "")
	}
	writeJSON(w, http.StatusOK, sp)
	return nil
}

func (a *api) updateServicePrincipal(w http.ResponseWriter, r *http.Request, c *call) error {
	var patch directory.ServicePrincipalPatch
	if err := decode(w, r, &patch); err != nil {
		return err
	}
	before, err := a.dir.GetServicePrincipal(r.Context(), c.tenant.ID, r.PathValue("sp"))
	if err != nil {
		return domainErr(err, spNotFound(r, c), "")
	}
	sp, err := a.dir.UpdateServicePrincipal(r.Context(), c.tenant.ID, r.PathValue("sp"), patch)
	if err != nil {
		return domainErr(err, spNotFound(r, c), "")
	}
	a.auditChange(r, c, "servicePrincipal.update", before, sp, "target", sp.ObjectID)
	writeJSON(w, http.StatusOK, sp)
	return nil
}

func (a *api) deleteServicePrincipal(w http.ResponseWriter, r *http.Request, c *call) error {
	ref := r.PathValue("sp")
	if err := a.dir.DeleteServicePrincipal(r.Context(), c.tenant.ID, ref); err != nil {
		return domainErr(err, spNotFound(r, c), "")
	}
	a.audit(r, c, "servicePrincipal.delete", "target", ref)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
