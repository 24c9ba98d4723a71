package adminapi

import (
	"net/http"
	"net/url"

	"github.com/tessera-id/tessera/internal/directory"
)

const userConflict = "a user with this user principal name already exists in the tenant"

func userNotFound(r *http.Request, c *call) string {
	return "user " + quote(r.PathValue("user")) + " does not exist in tenant " + c.tenant.Domain
}

func (a *api) listUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	us, err := a.dir.ListUsers(r.Context(), c.tenant.ID)
	if err != nil {
		return domainErr(err, "", "")
	}
	now := a.now()
	out := make([]User, len(us))
	for i, u := range us {
		out[i] = userOut(u, now)
	}
	writeJSON(w, http.StatusOK, list(out))
	return nil
}

// createUser creates a user, with a password or without one (such a user
// cannot sign in with a password until one is set). Neither the password
// nor the request body is logged.
func (a *api) createUser(w http.ResponseWriter, r *http.Request, c *call) error {
	var body UserCreate
	if err := decode(w, r, &body); err != nil {
		return err
	}
	spec := directory.UserSpec{UserPrincipalName: body.UserPrincipalName, DisplayName: body.DisplayName, Mail: body.Mail,
		MailVerified: body.MailVerified, Password: body.Password, Disabled: !enabled(body.AccountEnabled)}
	u, err := a.dir.CreateUser(r.Context(), c.tenant.ID, spec)
	if err != nil {
		return domainErr(err, "tenant "+c.tenant.Domain+" no longer exists", userConflict)
	}
	a.audit(r, c, "user.create", "target", u.ObjectID, "upn", u.UserPrincipalName, "password_set", body.Password != "")
	w.Header().Set("Location", r.URL.EscapedPath()+"/"+url.PathEscape(u.ObjectID))
	writeJSON(w, http.StatusCreated, userOut(u, a.now()))
	return nil
}

func (a *api) getUser(w http.ResponseWriter, r *http.Request, c *call) error {
	u, err := a.dir.GetUser(r.Context(), c.tenant.ID, r.PathValue("user"))
	if err != nil {
		return domainErr(err, userNotFound(r, c), "")
	}
	writeJSON(w, http.StatusOK, userOut(u, a.now()))
	return nil
}

// updateUser renames a user, changes its display name or mail, and
// enables or disables it. Disabling revokes every grant the user holds at
// once (the directory calls the session layer), so that refresh tokens
// stop working and resource servers following the revocation feed drop
// the access tokens. The fields are applied in that order; a rule broken
// by one (a name outside the tenant's domains) leaves the user as it was.
func (a *api) updateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	var body UserPatch
	if err := decode(w, r, &body); err != nil {
		return err
	}
	ref := r.PathValue("user")
	before, err := a.dir.GetUser(r.Context(), c.tenant.ID, ref)
	if err != nil {
		return domainErr(err, userNotFound(r, c), userConflict)
	}
	u := before
	if body.changesDetails() {
		if u, err = a.dir.UpdateUser(r.Context(), c.tenant.ID, before.ObjectID, body.details()); err != nil {
			return domainErr(err, userNotFound(r, c), userConflict)
		}
	}
	if body.AccountEnabled != nil {
		if u, err = a.dir.SetUserEnabled(r.Context(), c.tenant.ID, before.ObjectID, *body.AccountEnabled); err != nil {
			return domainErr(err, userNotFound(r, c), userConflict)
		}
	}
	if body.AccountEnabled != nil || body.changesDetails() {
		a.auditChange(r, c, "user.update", userOut(before, a.now()), userOut(u, a.now()), "target", u.ObjectID)
	}
	writeJSON(w, http.StatusOK, userOut(u, a.now()))
	return nil
}

// setPassword replaces a user's password and lifts any lock. The answer is
// the user, which holds neither the password nor its hash.
func (a *api) setPassword(w http.ResponseWriter, r *http.Request, c *call) error {
	var body PasswordSet
	if err := decode(w, r, &body); err != nil {
		return err
	}
	u, err := a.dir.SetPassword(r.Context(), c.tenant.ID, r.PathValue("user"), body.Password)
	if err != nil {
		return domainErr(err, userNotFound(r, c), "")
	}
	a.audit(r, c, "user.setPassword", "target", u.ObjectID)
	writeJSON(w, http.StatusOK, userOut(u, a.now()))
	return nil
}

// deleteUser also removes the user's role assignments and consents, and
// revokes what the user holds.
func (a *api) deleteUser(w http.ResponseWriter, r *http.Request, c *call) error {
	ref := r.PathValue("user")
	if err := a.dir.DeleteUser(r.Context(), c.tenant.ID, ref); err != nil {
		return domainErr(err, userNotFound(r, c), "")
	}
	a.audit(r, c, "user.delete", "target", ref)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
