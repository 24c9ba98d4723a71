package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/directory"
	"github.com/tessera-id/tessera/internal/token"
)

// adminAuth authenticates callers of the admin API with this server's own
// key ring: a token issued here, for the admin API application of the
// token's tenant, carrying the admin role.
type adminAuth struct {
	dir        *directory.Service
	keys       *token.Ring
	publicURL  string
	homeTenant string
}

var _ adminapi.Authenticator = (*adminAuth)(nil)

func (a *adminAuth) Authenticate(r *http.Request) (adminapi.Caller, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return adminapi.Caller{}, errors.New("no bearer token")
	}
	c, err := a.keys.Verify(strings.TrimSpace(raw), time.Now(), time.Minute)
	if err != nil {
		return adminapi.Caller{}, err
	}
	if !directory.IsGUID(c.TenantID) {
		return adminapi.Caller{}, errors.New("token has no tenant")
	}
	if c.Issuer != token.Issuer(a.publicURL, c.TenantID, 2) && c.Issuer != token.Issuer(a.publicURL, c.TenantID, 1) {
		return adminapi.Caller{}, fmt.Errorf("issuer %q is not this server's for tenant %s", c.Issuer, c.TenantID)
	}
	admin, err := a.dir.EnsureAdminApplication(r.Context(), c.TenantID)
	if err != nil {
		return adminapi.Caller{}, err
	}
	aud := strings.TrimSuffix(c.Audience, "/")
	if aud != admin.App.AppID && !slices.Contains(admin.App.IdentifierURIs, aud) && aud != "api://"+admin.App.AppID {
		return adminapi.Caller{}, fmt.Errorf("token audience %q is not the admin API", c.Audience)
	}
	client := c.AuthorizedParty
	if client == "" {
		client = c.AppID
	}
	return adminapi.Caller{
		TenantID:    c.TenantID,
		Subject:     c.Subject,
		ClientID:    client,
		Roles:       c.Roles,
		SystemAdmin: c.TenantID == a.homeTenant && slices.Contains(c.Roles, directory.AdminRole),
	}, nil
}
