package oauth

import (
	"context"
	"errors"
	"strings"

	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/session"
)

// deviceCodeGrant is the device access token request (RFC 8628 §3.4): the
// device polls with its device_code until the user has approved or denied
// it on another screen.
type deviceCodeGrant struct{ h *Handler }

func (deviceCodeGrant) publicClients() bool { return true }

// deviceCodeOf reads the device code: device_code per RFC 8628 §3.4, or
// code, which msal-node sends.
func deviceCodeOf(req *tokenRequest) string {
	if req.DeviceCode != "" {
		return req.DeviceCode
	}
	return req.Code
}

func (deviceCodeGrant) tenantOf(req *tokenRequest) (string, *Error) {
	dc := deviceCodeOf(req)
	if dc == "" {
		return "", errMissingParameter("device_code")
	}
	tid, ok := session.TenantOf(dc)
	if !ok {
		return "", errBadDeviceCode(errors.New("the device code names no tenant"))
	}
	return tid, nil
}

func (g deviceCodeGrant) issue(ctx context.Context, req *tokenRequest, client directory.Client, clientAuth string) (any, *Error) {
	h := g.h
	dc := deviceCodeOf(req)
	if dc == "" {
		return nil, errMissingParameter("device_code")
	}
	d, gr, err := h.sessions.PollDevice(ctx, req.TenantID, dc, client.App.AppID)
	switch {
	case errors.Is(err, session.ErrAuthorizationPending):
		return nil, errDevicePending()
	case errors.Is(err, session.ErrSlowDown):
		return nil, errDeviceSlowDown()
	case errors.Is(err, session.ErrExpiredToken):
		return nil, errDeviceExpired(err)
	case errors.Is(err, session.ErrAccessDenied):
		return nil, errDeviceDenied()
	case errors.Is(err, session.ErrWrongClient), errors.Is(err, session.ErrNotFound):
		return nil, errBadDeviceCode(err)
	case errors.Is(err, session.ErrRevoked), errors.Is(err, session.ErrExpired):
		// Approved, but the grant made for it has ended since.
		return nil, errGrantRevoked(err)
	case err != nil:
		return nil, errServer(err)
	}
	user, oerr := h.activeUser(ctx, req.TenantID, gr.UserID)
	if oerr != nil {
		return nil, oerr
	}
	q, oerr := h.parseScopes(ctx, req.TenantID, strings.Join(d.Scopes, " "), d.Resource)
	if oerr != nil {
		return nil, oerr
	}
	scopes, oerr := h.decideScopes(ctx, req.TenantID, client.App, user.ObjectID, q)
	if oerr != nil {
		return nil, oerr
	}
	return h.issueWithRefresh(ctx, &issuance{
		issued: &req.issued, tenantID: req.TenantID, policy: req.Tenant.Policy.Effective(), version: req.Version, client: client, clientAuth: clientAuth,
		user: user, grant: gr, scopes: scopes, v1Resource: d.Resource, clientInfo: req.ClientInfo, idIssuer: req.IDIssuer,
	})
}
