package web

import (
	"net/http"
	"net/url"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// The pages of a sign-in. Each seals the flow for its own form, and names
// the client's redirect origin in form-action because its form may end in
// a redirect there (see secureHeaders).

func (h *Handler) formAction(f flow, path string) string {
	return "/" + url.PathEscape(f.TenantRef) + "/" + path
}

// redirectOrigin is the form-action source for a flow's answers. Before
// the tenant (and so the client) is known it is the sent redirect URI's
// origin: allowing a form submission there lets no one do anything, as
// the page has no other form than ours.
func redirectOrigin(f flow, tg *target) string {
	if f.Kind != kindAuthorize {
		return ""
	}
	if tg != nil && tg.redirect != "" {
		return cspOrigin(tg.redirect)
	}
	return cspOrigin(f.RedirectURI)
}

func appName(app directory.Application) string {
	if app.DisplayName != "" {
		return app.DisplayName
	}
	return app.AppID
}

// showSignIn shows the sign-in page with an optional message and a
// prefilled user name (else the login_hint).
func (h *Handler) showSignIn(w http.ResponseWriter, r *http.Request, f flow, tg *target, msg, username string) {
	f.UserID, f.SessionID, f.AccountChosen = "", "", false
	sealed, err := h.seal(f, purposeSignIn)
	if err != nil {
		h.errorPage(w, r, pageServer(err))
		return
	}
	if username == "" {
		username = f.LoginHint
	}
	v := view{Page: "signin", Title: "Sign in", Message: msg, Username: username, Flow: sealed,
		CSRF: h.csrfToken(w, r, purposeSignIn), Action: h.formAction(f, "login"), Device: f.Kind == kindDevice}
	if tg != nil && f.Kind == kindAuthorize {
		v.AppName = appName(tg.app)
	}
	h.render(w, http.StatusOK, v, redirectOrigin(f, tg))
}

// showSelectAccount asks whether to continue as the signed-in user
// (prompt=select_account).
func (h *Handler) showSelectAccount(w http.ResponseWriter, r *http.Request, f flow, tg target, user directory.User) {
	f.AccountChosen = true
	sealed, err := h.seal(f, purposeSelect)
	if err != nil {
		h.errorPage(w, r, pageServer(err))
		return
	}
	v := view{Page: "select_account", Title: "Pick an account", AppName: appName(tg.app), Account: user.UserPrincipalName,
		Flow: sealed, CSRF: h.csrfToken(w, r, purposeSelect), Action: h.formAction(f, "selectaccount")}
	h.render(w, http.StatusOK, v, redirectOrigin(f, &tg))
}

// showConsent lists what the client asks for: the permissions still
// missing, or with prompt=consent (or in a device flow with nothing
// missing) everything it will get.
func (h *Handler) showConsent(w http.ResponseWriter, r *http.Request, f flow, tg target, user directory.User, bs session.BrowserSession, granted, missing directory.ScopeRequest) {
	f.UserID, f.SessionID = user.ObjectID, bs.ID
	sealed, err := h.seal(f, purposeConsent)
	if err != nil {
		h.errorPage(w, r, pageServer(err))
		return
	}
	list := missing
	if list.Empty() {
		list = granted
	}
	v := view{Page: "consent", Title: "Permissions requested", AppName: appName(tg.app), Account: user.UserPrincipalName,
		Permissions: permissionsOf(list), Device: f.Kind == kindDevice,
		Flow: sealed, CSRF: h.csrfToken(w, r, purposeConsent), Action: h.formAction(f, "consent")}
	if v.Device {
		v.Title = "Approve sign-in on a device"
	}
	h.render(w, http.StatusOK, v, redirectOrigin(f, &tg))
}

// oidcTexts describe the OpenID Connect scopes (OIDC Core §5.4, §11) as
// Entra's consent page does.
var oidcTexts = map[string]string{
	"openid":         "Sign you in",
	"profile":        "View your basic profile",
	"email":          "View your email address",
	"offline_access": "Maintain access to data you have given it access to",
}

// permissionsOf lists scopes for the consent page: every scope's value,
// and the resource's admin consent display name and description.
func permissionsOf(q directory.ScopeRequest) []permission {
	var out []permission
	for _, s := range q.OIDC {
		out = append(out, permission{Value: s, Title: oidcTexts[s]})
	}
	for _, r := range q.Resources {
		for _, v := range r.Values {
			p := permission{Value: r.Prefix + "/" + v, Title: v, Resource: appName(r.Resource.App)}
			for _, sc := range r.Resource.App.Scopes {
				if sc.Value == v {
					if sc.DisplayName != "" {
						p.Title = sc.DisplayName
					}
					p.Description = sc.Description
				}
			}
			out = append(out, p)
		}
	}
	return out
}
