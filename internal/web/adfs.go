package web

import (
	"net/http"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/token"
)

// The pages of the AD FS–shaped authority, https://{host}/adfs (see
// package oauth for why it exists). Its authorization endpoint finds the
// tenant as the protocol endpoints do: the tenant that registers the
// client (application ids are unique across tenants), else, for the
// well-known clients every tenant registers, as at /organizations/: a
// domain_hint, a login_hint's domain, the one tenant the browser is
// signed in to, or the domain of the user name typed at sign-in (each
// domain belongs to one tenant). The
// pages that follow post to /adfs/login, /adfs/consent and
// /adfs/selectaccount, the flow's own {tenant}. Answers carry iss
// {publicURL}/adfs (RFC 9207), the issuer of /adfs's discovery document.

// adfsSegment is the authority's path segment; directory reserves it as a
// tenant domain.
const adfsSegment = "adfs"

func (h *Handler) adfsIssuer() string { return h.publicURL + "/" + adfsSegment }

func (h *Handler) registerADFS(mux *http.ServeMux) {
	for _, m := range []string{"GET", "POST"} {
		mux.HandleFunc(m+" /adfs/oauth2/authorize", h.adfsAuthorize)
		mux.HandleFunc(m+" /adfs/oauth2/logout", h.adfsLogout)
	}
}

// adfsAuthorize is /adfs/oauth2/authorize: the v2 authorization endpoint,
// which also reads an ADAL-style resource parameter as v1 does.
func (h *Handler) adfsAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, pageBadRequest("Bad request", "The request could not be read."))
		return
	}
	f := parseAuthorize(r.Form, 2, adfsSegment)
	f.Scope = directory.FoldResource(f.Scope, r.Form.Get("resource"))
	t, ok, err := h.dir.TenantOfApplication(r.Context(), f.ClientID)
	if err != nil {
		h.errorPage(w, r, pageServer(err))
		return
	}
	if ok {
		f.TenantID = t.ID
		h.advance(w, r, f, nil)
		return
	}
	h.start(w, r, f)
}

// adfsLogout is /adfs/oauth2/logout: like /common/'s, it ends the
// browser's sessions in every tenant, since /adfs names none.
func (h *Handler) adfsLogout(w http.ResponseWriter, r *http.Request) {
	r.SetPathValue("tenant", "common")
	h.logout(w, r)
}

// authorizationIssuer is the iss of an authorization response (RFC 9207
// §2): the issuer of the discovery document the client read.
func (h *Handler) authorizationIssuer(f flow, tenantID string) string {
	if f.TenantRef == adfsSegment {
		return h.adfsIssuer()
	}
	return token.Issuer(h.publicURL, tenantID, f.Version)
}
