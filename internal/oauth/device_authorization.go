package oauth

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

// deviceAuthorizationResponse is RFC 8628 §3.2's response with Entra's
// message; the v1 endpoint also sends verification_url, the name ADAL
// reads.
type deviceAuthorizationResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURL         string `json:"verification_url,omitempty"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
	Message                 string `json:"message"`
}

// deviceAuthorization is the device authorization endpoint (RFC 8628
// §3.1): v2 takes scope, v1 resource. At /common/ and /organizations/ the
// device signs in to the home tenant: the tenant must be known before the
// user is, since the page the user opens belongs to one.
func (h *Handler) deviceAuthorization(version int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if oerr := h.serveDeviceAuthorization(w, r, version); oerr != nil {
			writeError(w, r, h.log, oerr)
		}
	}
}

func (h *Handler) serveDeviceAuthorization(w http.ResponseWriter, r *http.Request, version int) *Error {
	req, oerr := parseClientRequest(w, r)
	if oerr != nil {
		return oerr
	}
	return h.startDeviceAuthorization(w, r, req, version)
}

// startDeviceAuthorization serves a parsed request for the {tenant} of
// the path.
func (h *Handler) startDeviceAuthorization(w http.ResponseWriter, r *http.Request, req *tokenRequest, version int) *Error {
	ctx := r.Context()
	req.Version, req.TenantRef = version, r.PathValue("tenant")
	ref := req.TenantRef
	if multiTenantAliases[ref] {
		if h.home == "" {
			return errMultiTenant(ref, "device sign-in needs a tenant: use /{tenant id or domain}/oauth2/…")
		}
		ref = h.home
	}
	t, oerr := h.lookupTenant(ctx, ref)
	if oerr != nil {
		return oerr
	}
	req.Tenant, req.TenantID, req.Endpoint = t, t.ID, h.publicURL+r.URL.Path
	// RFC 8628 §3.1: a confidential client authenticates here as at the
	// token endpoint; a public one names itself.
	client, _, oerr := h.authenticateClient(ctx, req, true)
	if oerr != nil {
		return oerr
	}
	scope, resource := req.Scope, ""
	if version == 1 {
		if resource = req.Resource; resource == "" {
			return errMissingParameter("resource")
		}
	} else if strings.TrimSpace(scope) == "" {
		return errMissingParameter("scope")
	}
	// Resolve now, so that a typo is reported to the device rather than
	// to the person at the verification page.
	if _, oerr := (userFacts{dir: h.dir}).parseScopes(ctx, t.ID, scope, resource); oerr != nil {
		return oerr
	}
	dc, userCode, rec, err := h.sessions.StartDevice(ctx, t.ID, client.App.AppID, strings.Fields(scope), resource)
	var full *session.PendingLimitError
	switch {
	case errors.As(err, &full):
		// At least a second: a place may free at any moment.
		return errDevicePendingLimit(max(full.FreeAt.Sub(h.now()), time.Second), err)
	case err != nil:
		return errServer(err)
	}
	uri := h.publicURL + "/" + t.ID + "/devicelogin"
	resp := deviceAuthorizationResponse{
		DeviceCode: dc, UserCode: userCode, VerificationURI: uri,
		VerificationURIComplete: uri + "?user_code=" + url.QueryEscape(userCode),
		ExpiresIn:               int64(rec.ExpiresAt.Sub(rec.CreatedAt).Seconds()),
		Interval:                int64(rec.Interval.Seconds()),
		Message:                 "To sign in, use a web browser to open the page " + uri + " and enter the code " + userCode + " to authenticate.",
	}
	if version == 1 {
		resp.VerificationURL = uri
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
