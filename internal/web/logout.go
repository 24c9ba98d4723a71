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
	"github.com/tessera-id/tessera/internal/token"
)

// idTokenHintSkew: an id_token_hint only names the client that sends the
// browser back; it may have expired (OIDC RP-Initiated Logout 1.0 §2), so
// its signature is what counts. A day bounds how old a hint may be.
const idTokenHintSkew = 24 * time.Hour

// purposeLogout is the CSRF purpose of the logout confirmation form: a
// token made for the sign-in or consent form does not confirm a logout.
const purposeLogout = "logout"

// The logout confirmation form's answers (its decision button).
const (
	logoutSignOut = "signout"
	logoutCancel  = "cancel"
)

// logout is the end_session_endpoint (OIDC RP-Initiated Logout 1.0).
// Ending the browser's session revokes every grant made in it and puts it
// on the revocation feed, so the endpoint is a target of logout CSRF: any
// site could otherwise sign the user out and revoke their refresh tokens
// with a link or a cross-site form. The session ends at once only when
// the request shows that it comes from the user or from the client the
// user is signed in to (RP-Initiated Logout §2, §4; RFC 9700 §4.7):
//
//   - an id_token_hint this server issued, whose user (oid, tid) is the
//     user of a session the browser holds: that session alone ends; or
//   - the POST of the confirmation form below with its CSRF token (bound
//     to the SameSite=Strict cookie and to purposeLogout, see csrf.go).
//
// Any other request, a GET or a POST alike, shows the confirmation page
// while the browser holds a session. Without a session there is nothing
// to forge: the browser sees the signed-out page, or goes back to
// post_logout_redirect_uri when that is exactly a registered redirect URI
// of the client named by client_id or by the hint's aud (never an open
// redirect).
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
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
	hint := h.verifyIDTokenHint(r, tenantID)

	// The confirmation form's answer. Its token is checked before anything
	// else, as openForm does for the sign-in pages: a forged answer gets
	// 403 and changes nothing. Only the form's body counts (PostForm), so
	// a token copied into a URL confirms nothing.
	if r.Method == http.MethodPost && r.PostForm.Has("decision") {
		if !h.checkCSRF(r, purposeLogout) {
			h.errorPage(w, r, pageForbidden())
			return
		}
		switch r.PostFormValue("decision") {
		case logoutSignOut:
			ended, err := h.endSessions(w, r, cookies, "confirmed")
			if err != nil {
				h.errorPage(w, r, pageServer(err))
				return
			}
			h.signedOut(w, r, tenantID, ended, hint)
		case logoutCancel:
			h.render(w, http.StatusOK, view{Page: "still_signed_in", Title: "You are still signed in"})
		default:
			h.errorPage(w, r, pageBadRequest("Bad request", "Choose Sign out or Stay signed in."))
		}
		return
	}

	held, stale, err := h.heldSessions(r, cookies)
	if err != nil {
		h.errorPage(w, r, pageServer(err))
		return
	}
	if len(held) == 0 {
		// Cookies of sessions that already ended or expired: clearing them
		// signs no one out, so no one needs to confirm it.
		for _, tid := range stale {
			h.clearSSOCookie(w, cookies[tid].Name)
		}
		h.signedOut(w, r, tenantID, stale, hint)
		return
	}
	if hint.usable(r) {
		for _, s := range held {
			if s.TenantID != hint.claims.TenantID || s.UserID != hint.claims.ObjectID {
				continue
			}
			ended, err := h.endSessions(w, r, map[string]*http.Cookie{s.TenantID: cookies[s.TenantID]}, "id_token_hint")
			if err != nil {
				h.errorPage(w, r, pageServer(err))
				return
			}
			h.signedOut(w, r, tenantID, ended, hint)
			return
		}
		// A hint for another user or tenant than the browser's: the client
		// asks to end a session it did not take part in, which a person
		// must confirm.
		h.log.Info("web: logout: id_token_hint names no session of this browser", "client_id", hint.claims.Audience)
	}
	h.showLogoutConfirm(w, r, tenantID, held, hint)
}

// heldSessions sorts the browser's SSO cookies in scope into the active
// sessions it holds and the tenants of those whose session has ended,
// expired or is unknown (stale).
func (h *Handler) heldSessions(r *http.Request, cookies map[string]*http.Cookie) (held []session.BrowserSession, stale []string, err error) {
	for tid, c := range cookies {
		bs, err := h.sessions.BrowserSession(r.Context(), tid, c.Value)
		switch {
		case err == nil:
			held = append(held, bs)
		case errors.Is(err, session.ErrNotFound), errors.Is(err, session.ErrRevoked), errors.Is(err, session.ErrExpired):
			stale = append(stale, tid)
		default:
			return nil, nil, err
		}
	}
	slices.SortFunc(held, func(a, b session.BrowserSession) int { return strings.Compare(a.TenantID, b.TenantID) })
	slices.Sort(stale)
	return held, stale, nil
}

// endSessions ends the sessions of cookies (tenant id → SSO cookie):
// each session and every grant made in it are revoked, and its cookie is
// cleared. how says, for the log, what authorized the logout.
func (h *Handler) endSessions(w http.ResponseWriter, r *http.Request, cookies map[string]*http.Cookie, how string) ([]string, error) {
	ended := []string{}
	for tid, c := range cookies {
		grants, err := h.sessions.EndBrowserSession(r.Context(), tid, c.Value)
		if err != nil && !errors.Is(err, session.ErrNotFound) {
			return nil, err
		}
		h.clearSSOCookie(w, c.Name)
		ended = append(ended, tid)
		h.log.Info("web: signed out", "tenant", tid, "grants_revoked", len(grants), "by", how)
	}
	slices.Sort(ended)
	return ended, nil
}

// signedOut answers a logout that is done: the validated redirect, else
// the signed-out page.
func (h *Handler) signedOut(w http.ResponseWriter, r *http.Request, tenantID string, ended []string, hint idTokenHint) {
	if to, ok := h.postLogoutRedirect(r, tenantID, ended, hint); ok {
		redirect(w, r, to)
		return
	}
	h.render(w, http.StatusOK, view{Page: "signed_out", Title: "Signed out"})
}

// showLogoutConfirm asks the person whether to sign out (RP-Initiated
// Logout §2: the OP SHOULD ask the End-User when the request does not
// show that it comes from the RP they are signed in to; Entra's own
// logout shows an account picker). The form posts back to this endpoint
// with the request's parameters, so that "Sign out" ends the sessions and
// redirects as the request asked; it names no application, since an
// unverified client_id would let any site borrow a trusted name.
func (h *Handler) showLogoutConfirm(w http.ResponseWriter, r *http.Request, tenantID string, held []session.BrowserSession, hint idTokenHint) {
	ctx := r.Context()
	v := view{Page: "logout", Title: "Sign out", Action: r.URL.EscapedPath(), CSRF: h.csrfToken(w, r, purposeLogout)}
	tenants := make([]string, 0, len(held))
	for _, s := range held {
		tenants = append(tenants, s.TenantID)
		a := account{Tenant: s.TenantID, User: s.UserID}
		if t, err := h.dir.ResolveTenant(ctx, s.TenantID); err == nil {
			a.Tenant = t.Domain
			if t.DisplayName != "" {
				a.Tenant = t.DisplayName
			}
		}
		if u, err := h.dir.GetUser(ctx, s.TenantID, s.UserID); err == nil {
			a.User = u.UserPrincipalName
		}
		v.Accounts = append(v.Accounts, a)
	}
	for _, k := range []string{"post_logout_redirect_uri", "client_id", "state", "id_token_hint"} {
		if val := r.Form.Get(k); val != "" {
			v.Fields = append(v.Fields, field{Name: k, Value: val})
		}
	}
	// Chromium applies form-action to the redirect that follows a form
	// submission (see secureHeaders): allow the validated post-logout
	// redirect's origin, and only that.
	var origin string
	if to, ok := h.postLogoutRedirect(r, tenantID, tenants, hint); ok {
		origin = cspOrigin(to)
	}
	h.log.Info("web: logout: asking to confirm", "sessions", len(held))
	h.render(w, http.StatusOK, v, origin)
}

// idTokenHint is a logout request's id_token_hint.
type idTokenHint struct {
	given  bool // the request sent one
	ok     bool // it is an ID token of this server (see verifyIDTokenHint)
	claims token.AccessClaims
}

// verifyIDTokenHint checks the request's id_token_hint: signed by this
// server's keys, issued by one of its issuers for tenantID's tenant (any
// tenant on /common/ and /adfs/), and an ID token. An access token is
// signed by the same keys, but resource servers hold those: one must not
// stand in for the ID token that only the client holds (OIDC Core §2: an
// ID token's aud is the client; it carries no jti, azp, appid, scp or
// idtyp, which access tokens do).
func (h *Handler) verifyIDTokenHint(r *http.Request, tenantID string) idTokenHint {
	raw := r.Form.Get("id_token_hint")
	if raw == "" {
		return idTokenHint{}
	}
	c, err := h.keys.Verify(raw, h.now(), idTokenHintSkew)
	ownIssuer := strings.HasPrefix(c.Issuer, h.publicURL+"/"+c.TenantID+"/") || c.Issuer == h.adfsIssuer()
	idToken := c.JTI == "" && c.AuthorizedParty == "" && c.AppID == "" && c.Scope == "" && c.IDType == ""
	if err != nil || (tenantID != "" && c.TenantID != tenantID) || !ownIssuer || !idToken || !directory.IsGUID(c.Audience) {
		h.log.Info("web: logout: id_token_hint refused", "err", err, "own_issuer", ownIssuer, "id_token", idToken)
		return idTokenHint{given: true}
	}
	return idTokenHint{given: true, ok: true, claims: c}
}

// usable reports whether the hint may end a session at once: it verified,
// and a client_id sent with it names the same client (RP-Initiated Logout
// §2: the OP MUST verify that client_id matches the hint's).
func (t idTokenHint) usable(r *http.Request) bool {
	clientID := strings.ToLower(strings.TrimSpace(r.Form.Get("client_id")))
	return t.ok && (clientID == "" || clientID == strings.ToLower(t.claims.Audience))
}

// postLogoutRedirect decides where to send the browser after logout.
// tenantID is the path's tenant ("" on /common/), tenants those the
// browser signs out of.
func (h *Handler) postLogoutRedirect(r *http.Request, tenantID string, tenants []string, hint idTokenHint) (string, bool) {
	target := r.Form.Get("post_logout_redirect_uri")
	if target == "" {
		return "", false
	}
	clientID := strings.ToLower(strings.TrimSpace(r.Form.Get("client_id")))
	if hint.given {
		if !hint.ok {
			return "", false
		}
		aud := strings.ToLower(hint.claims.Audience)
		if clientID != "" && clientID != aud {
			return "", false
		}
		clientID, tenantID = aud, hint.claims.TenantID
	}
	if !directory.IsGUID(clientID) {
		return "", false
	}
	if tenantID != "" {
		tenants = []string{tenantID}
	}
	for _, tid := range tenants {
		app, err := h.dir.ApplicationByAppID(r.Context(), tid, clientID)
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
