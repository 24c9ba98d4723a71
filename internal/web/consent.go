package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// codeLifetime: RFC 6749 §4.1.2 recommends at most ten minutes.
const codeLifetime = 10 * time.Minute

// consentSubmit records the person's answer on the consent page.
func (h *Handler) consentSubmit(w http.ResponseWriter, r *http.Request) {
	f, ok := h.openForm(w, r, purposeConsent)
	if !ok {
		return
	}
	ctx := r.Context()
	decision := r.PostFormValue("decision")
	if decision != "accept" && decision != "deny" {
		h.errorPage(w, r, pageBadRequest("Bad request", "Choose Accept or Cancel."))
		return
	}
	// The page was shown to a user in a browser session; the answer counts
	// only from that same session. Signed out (or in as someone else)
	// meanwhile: start over from sign-in.
	bs := h.cookieSession(r, f.TenantID)
	if bs == nil || bs.ID != f.SessionID || bs.UserID != f.UserID {
		f.UserID, f.SessionID = "", ""
		h.advance(w, r, f, nil)
		return
	}
	tg, perr := h.resolveClient(ctx, f)
	if perr != nil {
		h.errorPage(w, r, perr)
		return
	}
	q, aerr := h.validate(ctx, f, tg)
	if aerr != nil {
		h.fail(w, r, f, tg, aerr)
		return
	}
	if decision == "deny" {
		if f.Kind == kindDevice {
			if err := h.sessions.DenyDevice(ctx, tg.tenant.ID, f.UserCode); err != nil && !errors.Is(err, session.ErrNotFound) && !errors.Is(err, session.ErrUsed) {
				h.errorPage(w, r, pageServer(err))
				return
			}
			h.render(w, http.StatusOK, view{Page: "device_done", Title: "Sign-in declined", AppName: appName(tg.app), Declined: true})
			return
		}
		h.fail(w, r, f, tg, errAccessDenied())
		return
	}
	user, err := h.dir.GetUser(ctx, tg.tenant.ID, f.UserID)
	if errors.Is(err, directory.ErrNotFound) || (err == nil && !user.Enabled) {
		f.UserID, f.SessionID = "", ""
		h.advance(w, r, f, nil)
		return
	}
	if err != nil {
		h.fail(w, r, f, tg, errServerRedirect(err))
		return
	}
	d, err := h.dir.ScopeDecision(ctx, tg.tenant.ID, tg.app, user.ObjectID, q)
	if err != nil {
		h.fail(w, r, f, tg, errServerRedirect(err))
		return
	}
	if !d.Missing.Empty() {
		if err := h.dir.Consent(ctx, tg.tenant.ID, tg.app.AppID, user.ObjectID, d.Missing); err != nil {
			h.fail(w, r, f, tg, errServerRedirect(err))
			return
		}
	}
	h.finish(w, r, f, tg, user, *bs, d.Granted)
}

// finish makes the grant (the sign-in of the user to the client, whose id
// is the sid of every token issued from it) and answers: a code to the
// redirect URI, or the device's approval.
func (h *Handler) finish(w http.ResponseWriter, r *http.Request, f flow, tg target, user directory.User, bs session.BrowserSession, granted directory.ScopeRequest) {
	ctx := r.Context()
	tid := tg.tenant.ID
	spec := session.GrantSpec{UserID: user.ObjectID, ClientID: tg.app.AppID, Scopes: granted.Strings(), AuthTime: bs.AuthTime,
		Lifetime: tg.tenant.Policy.Effective().RefreshTokenLifetime}
	if f.Kind == kindAuthorize {
		// Signing out of the browser ends the grant. A device's grant
		// outlives the browser it was approved in.
		spec.BrowserSessionID = bs.ID
	}
	g, err := h.sessions.NewGrant(ctx, tid, spec)
	if err != nil {
		h.fail(w, r, f, tg, errServerRedirect(err))
		return
	}
	if f.Kind == kindDevice {
		if _, err := h.sessions.ApproveDevice(ctx, tid, f.UserCode, user.ObjectID, g.ID); err != nil {
			if rerr := h.sessions.RevokeGrant(ctx, tid, g.ID); rerr != nil {
				h.log.Error("web: revoke the grant of a failed device approval", "err", rerr)
			}
			if errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrUsed) || errors.Is(err, session.ErrExpired) {
				h.errorPage(w, r, pageBadRequest("Code expired", "The code has expired or was already used. Start the sign-in on your device again."))
				return
			}
			h.errorPage(w, r, pageServer(err))
			return
		}
		h.log.Info("web: device approved", "tenant", tid, "client_id", tg.app.AppID, "user", user.ObjectID, "sid", g.ID)
		h.render(w, http.StatusOK, view{Page: "device_done", Title: "You're signed in", AppName: appName(tg.app)})
		return
	}
	code, err := h.sessions.IssueCode(ctx, tid, session.Code{GrantID: g.ID, ClientID: tg.app.AppID, RedirectURI: f.RedirectURI,
		Scopes: granted.Strings(), Resource: f.Resource, Nonce: f.Nonce, CodeChallenge: f.CodeChallenge,
		CodeChallengeMethod: f.CodeChallengeMethod}, codeLifetime)
	if err != nil {
		h.fail(w, r, f, tg, errServerRedirect(err))
		return
	}
	h.log.Info("web: code issued", "tenant", tid, "client_id", tg.app.AppID, "user", user.ObjectID, "sid", g.ID)
	h.respond(w, r, f, tg, map[string][]string{"code": {code}})
}
