package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// idTokenHintSkew: an id_token_hint only names the client that sends the
// browser back; it may have expired (OIDC RP-Initiated Logout 1.0 §2), so
// its signature is what counts. A day bounds how old a hint may be.
const idTokenHintSkew = 24 * time.Hour

// logout ends the browser's session (OIDC RP-Initiated Logout 1.0): every
// grant made in it is revoked and put on the revocation feed, the cookie
// is cleared, and the browser goes back to post_logout_redirect_uri only
// if that is exactly a registered redirect URI of the client named by
// client_id or by the id_token_hint's aud; otherwise it sees the
// signed-out page (never an open redirect).
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, pageBadRequest("Bad request", "The request could not be read."))
		return
	}
	ref := r.PathValue("tenant")
	cookies := h.ssoCookies(r)
	var tenantID string
	if !multiTenant[ref] {
		t, err := h.dir.ResolveTenant(ctx, ref)
		if errors.Is(err, directory.ErrNotFound) {
			h.errorPage(w, r, pageUnknownTenant())
			return
		}
		if err != nil {
			h.errorPage(w, r, pageServer(err))
			return
		}
		tenantID = t.ID
		// A tenant's logout ends that tenant's session only.
		for tid := range cookies {
			if tid != tenantID {
				delete(cookies, tid)
			}
		}
	}
	ended := []string{}
	for tid, c := range cookies {
		grants, err := h.sessions.EndBrowserSession(ctx, tid, c.Value)
		if err != nil && !errors.Is(err, session.ErrNotFound) {
			h.errorPage(w, r, pageServer(err))
			return
		}
		h.clearSSOCookie(w, c.Name)
		ended = append(ended, tid)
		h.log.Info("web: signed out", "tenant", tid, "grants_revoked", len(grants))
	}
	if to, ok := h.postLogoutRedirect(r, tenantID, ended); ok {
		redirect(w, r, to)
		return
	}
	h.render(w, http.StatusOK, view{Page: "signed_out", Title: "Signed out"})
}

// postLogoutRedirect decides where to send the browser after logout.
// tenantID is the path's tenant ("" on /common/), ended the tenants
// signed out of.
func (h *Handler) postLogoutRedirect(r *http.Request, tenantID string, ended []string) (string, bool) {
	target := r.Form.Get("post_logout_redirect_uri")
	if target == "" {
		return "", false
	}
	clientID := strings.ToLower(strings.TrimSpace(r.Form.Get("client_id")))
	if hint := r.Form.Get("id_token_hint"); hint != "" {
		c, err := h.keys.Verify(hint, h.now(), idTokenHintSkew)
		ownIssuer := strings.HasPrefix(c.Issuer, h.publicURL+"/"+c.TenantID+"/") || c.Issuer == h.adfsIssuer()
		if err != nil || (tenantID != "" && c.TenantID != tenantID) || !ownIssuer {
			h.log.Info("web: logout: id_token_hint refused", "err", err)
			return "", false
		}
		aud := strings.ToLower(c.Audience)
		if clientID != "" && clientID != aud {
			return "", false
		}
		clientID, tenantID = aud, c.TenantID
	}
	if !directory.IsGUID(clientID) {
		return "", false
	}
	tenants := ended
	if tenantID != "" {
		tenants = []string{tenantID}
	}
	for _, tid := range tenants {
		app, err := h.dir.Repository().GetApplication(r.Context(), tid, clientID)
		if err != nil {
			continue
		}
		// Exact match only: no loopback port freedom here, a logout
		// redirect carries nothing a native app must receive.
		if slices.Contains(app.RedirectURIs, target) {
			state := r.Form.Get("state")
			if state == "" {
				return target, true
			}
			return withParams(target, url.Values{"state": {state}}), true
		}
	}
	h.log.Info("web: logout: post_logout_redirect_uri not registered", "client_id", clientID)
	return "", false
}
