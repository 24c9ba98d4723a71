package directory

import (
	"context"
	"errors"
	"strings"
)

// Admin authority is decided from the directory at the moment of each
// admin API request, never from the token (STYLE: "authority comes from
// the directory, now"). A token proves who is calling; its roles claim is
// what the directory said when it was issued, up to an hour earlier, and
// is not read here: a principal disabled, deleted or stripped of the role
// since then holds no authority, whatever its token says.

// AdminCaller is the principal an admin API access token names, once its
// signature, lifetime, issuer and revocation have been checked.
type AdminCaller struct {
	// TenantID is the token's tid: the tenant it was issued in, and the
	// only tenant (or, for the home tenant, every tenant) the caller can
	// administer.
	TenantID string
	// ObjectID is the token's oid: the client's service principal in an
	// app-only token, the user in a user's token.
	ObjectID string
	// ClientID is the client the token was issued to (azp in v2, appid in
	// v1).
	ClientID string
	// App is true for an app-only token (idtyp "app": client
	// credentials); a user's token otherwise.
	App bool
	// Audience is the token's aud.
	Audience string
}

// AdminFacts are what the directory holds about an AdminCaller now.
type AdminFacts struct {
	// Admin is the tenant's admin API application and service principal.
	Admin Resource
	// Client is the service principal of the token's client in the
	// tenant; ClientFound is false when it has none any more.
	Client      ServicePrincipal
	ClientFound bool
	// UserFound and UserEnabled describe the user of a user's token (not
	// read for an app-only token).
	UserFound, UserEnabled bool
	// Assignments are the app role assignments the caller's principal
	// holds in the tenant.
	Assignments []RoleAssignment
}

// Why an admin caller is refused, as the audit log names it.
const (
	// The token is not for the tenant's admin API.
	AdminRefusedAudience = "wrong_audience"
	// The principal the token names no longer exists: the user or the
	// service principal was deleted (a service principal created again
	// for the same application is another principal).
	AdminRefusedPrincipalMissing = "principal_missing"
	// The principal is disabled.
	AdminRefusedPrincipalDisabled = "principal_disabled"
	// The client a user's token was issued to lost its service principal
	// or had it disabled.
	AdminRefusedClientMissing  = "client_missing"
	AdminRefusedClientDisabled = "client_disabled"
	// The principal exists and is enabled but does not hold the admin
	// role (or the admin API's service principal is disabled).
	AdminRefusedNotAdmin = "not_admin"
)

// AdminAuthority is the directory's answer about an admin caller.
type AdminAuthority struct {
	// Held: the caller's principal holds the admin role of its tenant now.
	Held bool
	// Refused says why not (one of the AdminRefused… reasons); "" when
	// Held.
	Refused string
}

// TokenInvalid reports whether the refusal means the token no longer
// stands for anyone who may act (its principal or client is gone or
// disabled, or it is not an admin API token): RFC 6750 §3.1's
// invalid_token, 401. Otherwise the caller is who it says but lacks the
// role: insufficient_scope, 403.
func (a AdminAuthority) TokenInvalid() bool {
	return !a.Held && a.Refused != AdminRefusedNotAdmin
}

// DecideAdminAuthority is the rule: the token is for the tenant's admin
// API; its principal exists and is enabled (for a user's token, so is the
// client it was issued to); and that principal holds the enabled admin
// role of the tenant's admin API, assigned to its member type, now.
func DecideAdminAuthority(c AdminCaller, f AdminFacts) AdminAuthority {
	refuse := func(reason string) AdminAuthority { return AdminAuthority{Refused: reason} }
	if !acceptsAudience(f.Admin.App, c.Audience) {
		return refuse(AdminRefusedAudience)
	}
	memberType := MemberTypeUser
	if c.App {
		memberType = MemberTypeApplication
		// The token's oid is the client's service principal: the
		// principal itself.
		switch {
		case !f.ClientFound || !strings.EqualFold(f.Client.ObjectID, c.ObjectID):
			return refuse(AdminRefusedPrincipalMissing)
		case !f.Client.Enabled:
			return refuse(AdminRefusedPrincipalDisabled)
		}
	} else {
		switch {
		case !f.UserFound:
			return refuse(AdminRefusedPrincipalMissing)
		case !f.UserEnabled:
			return refuse(AdminRefusedPrincipalDisabled)
		case !f.ClientFound:
			return refuse(AdminRefusedClientMissing)
		case !f.Client.Enabled:
			return refuse(AdminRefusedClientDisabled)
		}
	}
	role, ok := f.Admin.App.Role(AdminRole)
	if !ok || !role.Enabled || !role.AllowsMemberType(memberType) || !f.Admin.SP.Enabled {
		return refuse(AdminRefusedNotAdmin)
	}
	for _, a := range f.Assignments {
		if strings.EqualFold(a.PrincipalID, c.ObjectID) && a.ResourceID == f.Admin.SP.ObjectID && a.AppRoleID == role.ID {
			return AdminAuthority{Held: true}
		}
	}
	return refuse(AdminRefusedNotAdmin)
}

// acceptsAudience reports whether aud names the admin API application: its
// appId (v2 tokens), one of its identifier URIs or api://{appId} (v1
// tokens carry the resource as the client named it), with or without a
// trailing slash.
func acceptsAudience(app Application, aud string) bool {
	aud = strings.TrimSuffix(aud, "/")
	if aud == "" || app.AppID == "" {
		return false
	}
	if aud == app.AppID || aud == "api://"+app.AppID {
		return true
	}
	for _, u := range app.IdentifierURIs {
		if aud == u {
			return true
		}
	}
	return false
}

// AdminAuthorityOf reads the facts about c and decides (see
// DecideAdminAuthority). Every read goes through the repository's cached
// lookups (store/cache in a server: the admin application and service
// principals by appId, role assignments by principal, a user's enabled
// state), so an admin request costs no query once they are warm, and a
// change made by this instance is seen at once, by another within the
// cache's staleness bound.
func (s *Service) AdminAuthorityOf(ctx context.Context, c AdminCaller) (AdminAuthority, error) {
	admin, err := s.EnsureAdminApplication(ctx, c.TenantID)
	if err != nil {
		return AdminAuthority{}, err
	}
	f := AdminFacts{Admin: admin}
	if !acceptsAudience(admin.App, c.Audience) {
		return DecideAdminAuthority(c, f), nil
	}
	if clientID := strings.ToLower(c.ClientID); IsGUID(clientID) {
		f.Client, err = s.repo.GetServicePrincipalByAppID(ctx, c.TenantID, clientID)
		switch {
		case err == nil:
			f.ClientFound = true
		case !errors.Is(err, ErrNotFound):
			return AdminAuthority{}, err
		}
	}
	oid := strings.ToLower(c.ObjectID)
	if !IsGUID(oid) {
		// Every principal's object id is a GUID: nothing holds a role.
		return AdminAuthority{Refused: AdminRefusedPrincipalMissing}, nil
	}
	if !c.App {
		f.UserEnabled, err = s.repo.GetUserEnabled(ctx, c.TenantID, oid)
		switch {
		case err == nil:
			f.UserFound = true
		case !errors.Is(err, ErrNotFound):
			return AdminAuthority{}, err
		}
	}
	if f.Assignments, err = s.repo.ListRoleAssignmentsByPrincipal(ctx, c.TenantID, oid); err != nil {
		return AdminAuthority{}, err
	}
	return DecideAdminAuthority(c, f), nil
}
