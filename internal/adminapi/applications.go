package adminapi

import (
	"net/http"
	"net/url"
)

const appConflict = "the appId is already registered (application ids are unique across tenants) or an identifier URI is already used by another application in the tenant"

func appNotFound(r *http.Request, c *call) string {
	return "application " + quote(r.PathValue("app")) + " does not exist in tenant " + c.tenant.Domain
}

func (a *api) listApplications(w http.ResponseWriter, r *http.Request, c *call) error {
	apps, err := a.dir.ListApplications(r.Context(), c.tenant.ID)
	if err != nil {
		return domainErr(err, "", "")
	}
	out := make([]Application, len(apps))
	for i, app := range apps {
		out[i] = applicationOut(app)
	}
	writeJSON(w, http.StatusOK, list(out))
	return nil
}

func (a *api) createApplication(w http.ResponseWriter, r *http.Request, c *call) error {
	var body ApplicationCreate
	if err := decode(w, r, &body); err != nil {
		return err
	}
	if body.AppID != "" && !c.caller.SystemAdmin {
		// A client id names its tenant (it is unique across tenants): a
		// tenant admin who could choose one could try for another
		// tenant's, whose refusal would even say that it exists. The
		// server chooses, unless the operator does.
		return forbidden("only an administrator of the home tenant may choose an appId: leave appId out and the server assigns a new one")
	}
	app, err := a.dir.CreateApplication(r.Context(), c.tenant.ID, body.spec())
	if err != nil {
		return domainErr(err, "tenant "+c.tenant.Domain+" no longer exists", appConflict)
	}
	a.audit(r, c, "application.create", "target", app.AppID)
	w.Header().Set("Location", r.URL.EscapedPath()+"/"+url.PathEscape(app.AppID))
	writeJSON(w, http.StatusCreated, applicationOut(app))
	return nil
}

func (a *api) getApplication(w http.ResponseWriter, r *http.Request, c *call) error {
	app, err := a.dir.GetApplication(r.Context(), c.tenant.ID, r.PathValue("app"))
	if err != nil {
		return domainErr(err, appNotFound(r, c), "")
	}
	writeJSON(w, http.StatusOK, applicationOut(app))
	return nil
}

func (a *api) updateApplication(w http.ResponseWriter, r *http.Request, c *call) error {
	var body ApplicationPatch
	if err := decode(w, r, &body); err != nil {
		return err
	}
	before, err := a.dir.GetApplication(r.Context(), c.tenant.ID, r.PathValue("app"))
	if err != nil {
		return domainErr(err, appNotFound(r, c), "")
	}
	app, err := a.dir.UpdateApplication(r.Context(), c.tenant.ID, r.PathValue("app"), body.patch())
	if err != nil {
		return domainErr(err, appNotFound(r, c), appConflict)
	}
	a.auditChange(r, c, "application.update", applicationOut(before), applicationOut(app), "target", app.AppID)
	writeJSON(w, http.StatusOK, applicationOut(app))
	return nil
}

// deleteApplication also removes the application's service principal,
// credentials and role assignments (the directory does it in one step).
func (a *api) deleteApplication(w http.ResponseWriter, r *http.Request, c *call) error {
	ref := r.PathValue("app")
	if err := a.dir.DeleteApplication(r.Context(), c.tenant.ID, ref); err != nil {
		return domainErr(err, appNotFound(r, c), "")
	}
	a.audit(r, c, "application.delete", "target", ref)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
