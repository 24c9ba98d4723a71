package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// ssoCookiePrefix names the single sign-on cookies, one per tenant:
// __Host-tessera_sso_{tenant id without dashes} (see cookieName). A cookie
// per tenant keeps a sign-in to one tenant from being taken for a sign-in
// to another.
const ssoCookiePrefix = "tessera_sso_"

func (h *Handler) ssoCookieName(tenantID string) string {
	return h.cookieName(ssoCookiePrefix + strings.ReplaceAll(tenantID, "-", ""))
}

// hostPrefix makes a cookie a host-only, secure, whole-site cookie that
// no other host (a sibling subdomain) and no plain-HTTP response can set
// or shadow (RFC 6265bis §4.1.3.2): a browser accepts a __Host- cookie
// only with Secure, Path=/ and no Domain, which is how every cookie here
// is set.
const hostPrefix = "__Host-"

// cookieName is base with the __Host- prefix, except under
// InsecureCookies (plain HTTP on a developer's machine), where a browser
// would refuse a prefixed cookie without Secure.
func (h *Handler) cookieName(base string) string {
	if h.insecure {
		return base
	}
	return hostPrefix + base
}

// setSSOCookie makes the browser carry the session until it expires.
// SameSite=Lax: it must come along when a client sends the browser here
// (a top-level GET from another site), and only then.
func (h *Handler) setSSOCookie(w http.ResponseWriter, tenantID, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: h.ssoCookieName(tenantID), Value: value, Path: "/", Expires: expires,
		HttpOnly: true, Secure: !h.insecure, SameSite: http.SameSiteLaxMode})
}

func (h *Handler) clearSSOCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		HttpOnly: true, Secure: !h.insecure, SameSite: http.SameSiteLaxMode})
}

// cookieSession returns the browser's active session in a tenant, or nil.
func (h *Handler) cookieSession(r *http.Request, tenantID string) *session.BrowserSession {
	c, err := r.Cookie(h.ssoCookieName(tenantID))
	if err != nil {
		return nil
	}
	bs, err := h.sessions.BrowserSession(r.Context(), tenantID, c.Value)
	if err != nil {
		if !errors.Is(err, session.ErrNotFound) && !errors.Is(err, session.ErrRevoked) && !errors.Is(err, session.ErrExpired) {
			h.log.Error("web: browser session", "tenant", tenantID, "err", err)
		}
		return nil
	}
	return &bs
}

// ssoCookies returns the browser's SSO cookies by tenant id, for the
// multi-tenant endpoints. The tenant comes from the value (see
// session.TenantOf) and must agree with the cookie's name.
func (h *Handler) ssoCookies(r *http.Request) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range r.Cookies() {
		if !strings.HasPrefix(c.Name, h.cookieName(ssoCookiePrefix)) {
			continue
		}
		tid, ok := session.TenantOf(c.Value)
		if ok && h.ssoCookieName(tid) == c.Name {
			out[tid] = c
		}
	}
	return out
}

// signedInTenants are the tenants where the browser has an active session.
func (h *Handler) signedInTenants(r *http.Request) []string {
	var out []string
	for tid := range h.ssoCookies(r) {
		if h.cookieSession(r, tid) != nil {
			out = append(out, tid)
		}
	}
	return out
}

// openForm checks a posted page form: first the CSRF token (a forged
// post changes nothing and gets 403), then the sealed flow, which must
// have been made for this page and this path.
func (h *Handler) openForm(w http.ResponseWriter, r *http.Request, purpose string) (flow, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, pageBadRequest("Bad request", "The form could not be read."))
		return flow{}, false
	}
	if !h.checkCSRF(r, purpose) {
		h.errorPage(w, r, pageForbidden())
		return flow{}, false
	}
	f, err := h.open(r.PostFormValue("flow"), purpose)
	if err != nil || f.TenantRef != r.PathValue("tenant") {
		h.errorPage(w, r, pageExpired())
		return flow{}, false
	}
	return f, true
}

// Sign-in messages. An unknown user and a wrong password get the same one
// (and cost the same, see directory.AuthenticateUser), so the page does
// not tell which names exist.
const (
	msgBadCredentials = "Your user name or password is incorrect."
	msgMissing        = "Enter your user name and password."
	msgFullName       = "Enter your full user name, for example alice@contoso."
	msgDisabled       = "Your account is disabled. Ask your administrator to enable it."
	msgNameNotBound   = "Your account cannot sign in: its user name is not in a domain of its organization. Ask your administrator to rename it."
)

func lockedMessage(e *directory.LockedError) string {
	at := e.Until.UTC().Format("15:04:05 UTC on 2 January 2006")
	if e.Address {
		return fmt.Sprintf("Sign-in from your network is blocked after too many failed sign-ins. Try again after %s, or ask your administrator to lift the block.", at)
	}
	if e.Locked {
		return fmt.Sprintf("Your account is locked after too many failed sign-ins. Try again after %s, or ask your administrator to unlock it.", at)
	}
	return fmt.Sprintf("Too many failed sign-ins. Wait until %s and try again.", at)
}

// signInSubmit checks a user name and password. On success it starts a
// browser session, sets its cookie, and goes on with the flow.
func (h *Handler) signInSubmit(w http.ResponseWriter, r *http.Request) {
	f, ok := h.openForm(w, r, purposeSignIn)
	if !ok {
		return
	}
	ctx := r.Context()
	username := strings.TrimSpace(r.PostFormValue("username"))
	password := r.PostFormValue("password")
	if username == "" || password == "" {
		h.showSignIn(w, r, f, nil, msgMissing, username)
		return
	}
	tid := f.TenantID
	if tid == "" && f.TenantRef == adfsSegment && !strings.Contains(username, "@") && h.home != "" {
		// /adfs names no tenant, and its token endpoint reads a bare
		// name as the home tenant's (the operator's fixed choice); the
		// page does the same. A full name's domain decides below, each
		// domain being one tenant's.
		tid = h.home
	}
	if tid == "" {
		// /common/, /organizations/ or /adfs: the user name's domain decides.
		_, domain, found := strings.Cut(username, "@")
		if !found || domain == "" {
			h.showSignIn(w, r, f, nil, msgFullName, username)
			return
		}
		t, err := h.dir.ResolveTenant(ctx, domain)
		if errors.Is(err, directory.ErrNotFound) {
			h.showSignIn(w, r, f, nil, msgBadCredentials, username)
			return
		}
		if err != nil {
			h.errorPage(w, r, pageServer(err))
			return
		}
		tid = t.ID
	}
	decided := f
	decided.TenantID = tid
	tg, perr := h.resolveClient(ctx, decided)
	if perr != nil {
		h.errorPage(w, r, perr)
		return
	}
	u, err := h.dir.AuthenticateUserVia(ctx, tid, username, password,
		directory.SignInVia{Channel: "web", ClientID: tg.app.AppID, Address: h.limits.SignInAddress(r)})
	if err != nil {
		var locked *directory.LockedError
		msg := msgBadCredentials
		switch {
		case errors.Is(err, directory.ErrInvalidCredentials):
		case errors.As(err, &locked):
			msg = lockedMessage(locked)
		case errors.Is(err, directory.ErrNameNotBound):
			msg = msgNameNotBound
		case errors.Is(err, directory.ErrUserDisabled):
			msg = msgDisabled
		case errors.Is(err, directory.ErrBusy):
			h.busy(w, r, err)
			return
		default:
			h.errorPage(w, r, pageServer(err))
			return
		}
		h.log.Info("web: sign-in failed", "tenant", tid, "reason", err)
		h.showSignIn(w, r, f, &tg, msg, username)
		return
	}
	// A new sign-in replaces the browser's session in the tenant, and the
	// replaced one ends with its grants: otherwise they would outlive the
	// logout of this browser, whose cookie no longer names them.
	if old, err := r.Cookie(h.ssoCookieName(tid)); err == nil {
		if _, err := h.sessions.EndBrowserSession(ctx, tid, old.Value); err != nil && !errors.Is(err, session.ErrNotFound) {
			h.errorPage(w, r, pageServer(err))
			return
		}
	}
	policy := tg.tenant.Policy.Effective()
	cookie, bs, err := h.sessions.StartBrowserSession(ctx, tid, u.ObjectID, h.now(), policy.SessionLifetime)
	if err != nil {
		h.errorPage(w, r, pageServer(err))
		return
	}
	h.setSSOCookie(w, tid, cookie, bs.ExpiresAt)
	h.advance(w, r, decided, &bs)
}

// selectAccountSubmit continues as the signed-in user or shows the
// sign-in page for another account.
func (h *Handler) selectAccountSubmit(w http.ResponseWriter, r *http.Request) {
	f, ok := h.openForm(w, r, purposeSelect)
	if !ok {
		return
	}
	switch r.PostFormValue("account") {
	case "continue":
		// No session any more (signed out meanwhile): advance shows the
		// sign-in page.
		h.advance(w, r, f, h.cookieSession(r, f.TenantID))
	case "other":
		tg, perr := h.resolveClient(r.Context(), f)
		if perr != nil {
			h.errorPage(w, r, perr)
			return
		}
		h.showSignIn(w, r, f, &tg, "", "")
	default:
		h.errorPage(w, r, pageBadRequest("Bad request", "Choose an account."))
	}
}
