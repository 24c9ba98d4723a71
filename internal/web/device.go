package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// The device flow's verification page (RFC 8628 §3.3): a person enters
// the user code a device shows, signs in, and approves the device.

const purposeDevice = "device"

const msgBadUserCode = "That code is not right or has expired. Check the code on your device and try again."

// deviceTenant resolves the {tenant} of the device pages: a real tenant,
// since a user code alone does not name one.
func (h *Handler) deviceTenant(w http.ResponseWriter, r *http.Request) (directory.Tenant, bool) {
	ref := r.PathValue("tenant")
	if multiTenant[ref] {
		h.errorPage(w, r, pageBadRequest("Use the address your device shows", "Open the address your device shows, which names your directory."))
		return directory.Tenant{}, false
	}
	t, err := h.dir.ResolveTenant(r.Context(), ref)
	if errors.Is(err, directory.ErrNotFound) {
		h.errorPage(w, r, pageUnknownTenant())
		return t, false
	}
	if err != nil {
		h.errorPage(w, r, pageServer(err))
		return t, false
	}
	return t, true
}

func (h *Handler) showDevice(w http.ResponseWriter, r *http.Request, userCode, msg string) {
	h.render(w, http.StatusOK, view{Page: "device", Title: "Enter code", UserCode: userCode, Message: msg,
		CSRF: h.csrfToken(w, r, purposeDevice), Action: "/" + url.PathEscape(r.PathValue("tenant")) + "/devicelogin"})
}

// deviceForm shows the code entry, prefilled from verification_uri_complete
// (?user_code=). It never submits by itself: the person must confirm the
// code they see on their device (RFC 8628 §5.4).
func (h *Handler) deviceForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.deviceTenant(w, r); !ok {
		return
	}
	code := r.URL.Query().Get("user_code")
	if len(code) > 32 {
		code = ""
	}
	h.showDevice(w, r, code, "")
}

// deviceSubmit looks the code up and goes on as an authorization does:
// sign-in (or single sign-on), then the confirmation and consent page.
func (h *Handler) deviceSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := h.deviceTenant(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, pageBadRequest("Bad request", "The form could not be read."))
		return
	}
	if !h.checkCSRF(r, purposeDevice) {
		h.errorPage(w, r, pageForbidden())
		return
	}
	code := strings.TrimSpace(r.PostFormValue("user_code"))
	norm := session.NormalizeUserCode(code)
	if norm == "" || len(code) > 32 {
		h.showDevice(w, r, code, msgBadUserCode)
		return
	}
	d, err := h.sessions.LookupUserCode(r.Context(), t.ID, norm)
	if errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrExpired) || errors.Is(err, session.ErrUsed) {
		h.log.Info("web: device code refused", "tenant", t.ID, "reason", err)
		h.showDevice(w, r, code, msgBadUserCode)
		return
	}
	if err != nil {
		h.errorPage(w, r, pageServer(err))
		return
	}
	f := flow{Kind: kindDevice, Version: 2, TenantRef: r.PathValue("tenant"), TenantID: t.ID, ClientID: strings.ToLower(d.ClientID),
		Scope: strings.Join(d.Scopes, " "), Resource: d.Resource, UserCode: norm}
	h.advance(w, r, f, nil)
}
