package oauth

import (
	"errors"
	"github.com/tessera-id/tessera/internal/directory"
	"net/http"
	"strings"

	"github.com/tessera-id/tessera/internal/session"
)

// revoke is the token revocation endpoint (RFC 7009). A refresh token
// revokes its grant, and so every token issued with it (§2.1); an access
// token of a grant revokes that grant, an app-only one goes on the
// revocation feed by its jti. Whatever the token is, the answer is 200
// (§2.2): an unknown, invalid or foreign token is no business of the
// caller's, and telling it so would let it probe.
func (h *Handler) revoke(w http.ResponseWriter, r *http.Request) {
	if oerr := h.serveRevoke(w, r); oerr != nil {
		writeError(w, r, h.log, oerr)
	}
}

func (h *Handler) serveRevoke(w http.ResponseWriter, r *http.Request) *Error {
	ctx := r.Context()
	// §2.1: the client authenticates as at the token endpoint; a public
	// client names itself.
	req, client, raw, oerr := h.tokenManagementRequest(w, r, true)
	if oerr != nil {
		return oerr
	}
	// token_type_hint is only a hint (§2.1): the token's shape says what
	// it is.
	if strings.HasPrefix(raw, session.RefreshTokenPrefix) {
		_, gr, err := h.sessions.RefreshTokenGrant(ctx, req.TenantID, raw, client.App.AppID)
		switch {
		case err == nil:
			if err := h.sessions.RevokeGrant(ctx, req.TenantID, gr.ID); err != nil {
				return errServer(err)
			}
			h.log.InfoContext(ctx, "revoked grant", "tenant", req.TenantID, "client", client.App.AppID, "sid", gr.ID, "by", "refresh_token")
		case errors.Is(err, session.ErrNotFound), errors.Is(err, session.ErrWrongClient):
		default:
			return errServer(err)
		}
	} else if vt, err := h.verifyAccessToken(raw, req.TenantID); err == nil && strings.EqualFold(vt.clientID(), client.App.AppID) {
		if vt.SessionID != "" {
			err = h.sessions.RevokeGrant(ctx, req.TenantID, vt.SessionID)
			if errors.Is(err, session.ErrNotFound) {
				err = nil
			}
		} else {
			// Kept on the feed until no guard accepts the token any more:
			// its expiry plus the skew guards allow.
			err = h.sessions.RevokeToken(ctx, req.TenantID, vt.JTI, timeOf(vt.Expiry).Add(h.skew))
		}
		if err != nil {
			return errServer(err)
		}
		h.log.InfoContext(ctx, "revoked access token", "tenant", req.TenantID, "client", client.App.AppID, "sid", vt.SessionID, "jti", vt.JTI)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	return nil
}

// tokenManagementRequest runs the phases revocation (RFC 7009 §2.1) and
// introspection (RFC 7662 §2.1) share with the token endpoint: parse the
// form once, resolve the tenant, authenticate the client (public clients
// only where allowPublic), and read the token parameter.
func (h *Handler) tokenManagementRequest(w http.ResponseWriter, r *http.Request, allowPublic bool) (*tokenRequest, directory.Client, string, *Error) {
	ctx := r.Context()
	req, oerr := parseClientRequest(w, r)
	if oerr != nil {
		return nil, directory.Client{}, "", oerr
	}
	req.TenantRef = r.PathValue("tenant")
	t, oerr := h.resolveTenant(ctx, req.TenantRef)
	if oerr != nil {
		return nil, directory.Client{}, "", oerr
	}
	req.Tenant, req.TenantID, req.Endpoint = t, t.ID, h.publicURL+r.URL.Path
	client, _, oerr := h.authenticateClient(ctx, req, allowPublic)
	if oerr != nil {
		return nil, directory.Client{}, "", oerr
	}
	raw := req.form.Get("token")
	if raw == "" {
		return nil, directory.Client{}, "", errMissingParameter("token")
	}
	return req, client, raw, nil
}
