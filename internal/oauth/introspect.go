package oauth

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/session"
)

// introspection is RFC 7662 §2.2's response. Only active is sent for an
// inactive token: nothing about a token that does not work is told.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Nbf       int64    `json:"nbf,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       string   `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	TenantID  string   `json:"tid,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	SessionID string   `json:"sid,omitempty"`
}

// introspect is the token introspection endpoint (RFC 7662). The caller
// is a resource server authenticating with its own credentials (§2.1: the
// endpoint must not be open, or it would be a token-scanning oracle).
func (h *Handler) introspect(w http.ResponseWriter, r *http.Request) {
	if oerr := h.serveIntrospect(w, r); oerr != nil {
		writeError(w, r, h.log, oerr)
	}
}

func (h *Handler) serveIntrospect(w http.ResponseWriter, r *http.Request) *Error {
	ctx := r.Context()
	req, client, raw, oerr := h.tokenManagementRequest(w, r, false)
	if oerr != nil {
		return oerr
	}
	out := introspection{}
	if strings.HasPrefix(raw, session.RefreshTokenPrefix) {
		// A refresh token is the business of the client holding it only.
		rt, gr, err := h.sessions.RefreshTokenGrant(ctx, req.TenantID, raw, client.App.AppID)
		now := h.now()
		if err == nil && rt.UsedAt.IsZero() && now.Before(rt.ExpiresAt) && gr.RevokedAt.IsZero() && now.Before(gr.ExpiresAt) {
			out = introspection{Active: true, Scope: strings.Join(gr.Scopes, " "), ClientID: rt.ClientID, TokenType: "refresh_token",
				Exp: rt.ExpiresAt.Unix(), Iat: rt.CreatedAt.Unix(), Sub: gr.UserID, TenantID: req.TenantID, SessionID: gr.ID}
			if u, err := h.dir.GetUser(ctx, req.TenantID, gr.UserID); err == nil {
				out.Username = u.UserPrincipalName
			}
		} else if err != nil && !isGone(err) {
			return errServer(err)
		}
	} else if vt, err := h.verifyAccessToken(raw, req.TenantID); err == nil {
		revoked, err := h.revoked(ctx, req.TenantID, vt)
		if err != nil {
			return errServer(err)
		}
		if !revoked {
			out = introspection{Active: true, Scope: vt.Scope, ClientID: vt.clientID(), Username: vt.username(), TokenType: "Bearer",
				Exp: vt.Expiry, Iat: vt.IssuedAt, Nbf: vt.NotBefore, Sub: vt.Subject, Aud: vt.Audience, Iss: vt.Issuer,
				JTI: vt.JTI, TenantID: vt.TenantID, Roles: vt.Roles, SessionID: vt.SessionID}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// isGone: the value is unknown, or is not the caller's.
func isGone(err error) bool {
	return errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrWrongClient)
}

func timeOf(unix int64) time.Time { return time.Unix(unix, 0) }
