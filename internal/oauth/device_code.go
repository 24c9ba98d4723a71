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
type deviceCodeGrant struct {
	devices interface {
		PollDevice(ctx context.Context, tenantID, deviceCode, clientID string) (session.DeviceCode, session.Grant, error)
	}
	users userFacts
}

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

func (g deviceCodeGrant) authorize(ctx context.Context, req *tokenRequest, client directory.Client) (authorization, *Error) {
	dc := deviceCodeOf(req)
	if dc == "" {
		return authorization{}, errMissingParameter("device_code")
	}
	d, gr, err := g.devices.PollDevice(ctx, req.TenantID, dc, client.App.AppID)
	if err != nil {
		return authorization{}, pollError(err)
	}
	q, oerr := g.users.parseScopes(ctx, req.TenantID, strings.Join(d.Scopes, " "), d.Resource)
	if oerr != nil {
		return authorization{}, oerr
	}
	ask := directory.UserTokenAsk{Tenant: req.Tenant, Client: client, UserID: gr.UserID, Scopes: q}
	t, err := g.users.dir.AuthorizeUserToken(ctx, ask)
	if err != nil {
		return authorization{}, userTokenError(ask, t, err)
	}
	return authorization{user: &userAuthorization{UserToken: t, grant: gr, v1Resource: d.Resource,
		refresh: true, inactivity: req.Tenant.Policy.Effective().RefreshTokenInactivity}}, nil
}

// pollError maps a poll's answer (RFC 8628 §3.5).
func pollError(err error) *Error {
	switch {
	case errors.Is(err, session.ErrAuthorizationPending):
		return errDevicePending()
	case errors.Is(err, session.ErrSlowDown):
		return errDeviceSlowDown()
	case errors.Is(err, session.ErrExpiredToken):
		return errDeviceExpired(err)
	case errors.Is(err, session.ErrAccessDenied):
		return errDeviceDenied()
	case errors.Is(err, session.ErrWrongClient), errors.Is(err, session.ErrNotFound):
		return errBadDeviceCode(err)
	case errors.Is(err, session.ErrRevoked), errors.Is(err, session.ErrExpired):
		// Approved, but the grant made for it has ended since.
		return errGrantRevoked(err)
	default:
		return errServer(err)
	}
}
