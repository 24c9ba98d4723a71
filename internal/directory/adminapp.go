package directory

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// The admin API application is built in: EnsureAdminApplication makes it in
// every tenant, and what it is decides who may administer the tenant. A
// tenant administrator may not widen that trust through the API it
// guards, so almost nothing of it is editable:
//
//   - identifierUris: the admin API is found by api://tessera-admin, and
//     every URI it answers to is an audience its tokens may carry;
//   - appRoles: Tessera.Admin's member types and state are the rule of
//     who may be an administrator; an added role would be a role nobody
//     reviewed;
//   - scopes and pre-authorized applications: delegated access to the
//     admin API for clients that nobody assigned;
//   - redirect URIs, public client and credentials: the admin API would
//     become a client, one that may always get a token for itself;
//   - accessTokenAcceptedVersion: the token shape the admin API checks;
//   - its service principal (enabled, assignment required) and the
//     application itself may be neither changed nor deleted: assignment
//     not required would let every client of the tenant get admin API
//     tokens, and deleting it would delete every administrator's
//     assignment with it.
//
// What stays editable: the display name, and the access token lifetime,
// from MinAccessTokenLifetime up to MaxAdminTokenLifetime. Who holds the
// role is managed with role assignments, as for any application.

// MaxAdminTokenLifetime bounds the life of an access token for the admin
// API, through every grant, whatever the application's setting or the
// tenant's product-login lifetime (a day by default): the admin API checks
// the directory at every request, but a stolen admin token is the most
// valuable token there is, and an hour is Entra's default.
const MaxAdminTokenLifetime = time.Hour

// IsAdminAPI reports whether app is the tenant's admin API application:
// the one application answering to AdminAPIIdentifierURI.
func IsAdminAPI(app Application) bool {
	return slices.Contains(app.IdentifierURIs, AdminAPIIdentifierURI)
}

// AccessTokenLifetime is the lifetime of an access token issued for the
// resource application app: requested when the grant sets one (product
// login's policy), else the application's own, else the default; at most
// MaxAdminTokenLifetime for the admin API, whatever is stored (an older
// tessera let a tenant administrator raise it to a day).
func AccessTokenLifetime(app Application, requested time.Duration) time.Duration {
	d := app.AccessTokenLifetime
	if requested > 0 {
		d = requested
	}
	if d <= 0 {
		d = DefaultAccessTokenLifetime
	}
	if IsAdminAPI(app) && d > MaxAdminTokenLifetime {
		d = MaxAdminTokenLifetime
	}
	return d
}

// errBuiltIn refuses a change to the built-in admin API application.
func errBuiltIn(what string) error {
	return invalid("the admin API application (%s) is built in: %s; only its displayName and an accessTokenLifetime of at most %v may change",
		AdminAPIIdentifierURI, what, MaxAdminTokenLifetime)
}

// checkApplicationChange is the rule above for an update from before to
// after (both normalized): it also refuses any other application taking
// the admin API's identifier URI.
func checkApplicationChange(before, after Application) error {
	if !IsAdminAPI(before) {
		if IsAdminAPI(after) {
			return invalid("identifier URI %s is reserved for the built-in admin API application", AdminAPIIdentifierURI)
		}
		return nil
	}
	var changed []string
	if !slices.Equal(before.IdentifierURIs, after.IdentifierURIs) {
		changed = append(changed, "identifierUris")
	}
	if !slices.Equal(before.Scopes, after.Scopes) {
		changed = append(changed, "scopes")
	}
	if !slices.EqualFunc(before.AppRoles, after.AppRoles, func(a, b AppRole) bool {
		return a.ID == b.ID && a.Value == b.Value && a.DisplayName == b.DisplayName && a.Description == b.Description &&
			a.Enabled == b.Enabled && slices.Equal(a.AllowedMemberTypes, b.AllowedMemberTypes)
	}) {
		changed = append(changed, "appRoles")
	}
	if before.AccessTokenAcceptedVersion != after.AccessTokenAcceptedVersion {
		changed = append(changed, "accessTokenAcceptedVersion")
	}
	if !slices.Equal(before.RedirectURIs, after.RedirectURIs) {
		changed = append(changed, "redirectUris")
	}
	if before.PublicClient != after.PublicClient {
		changed = append(changed, "publicClient")
	}
	if !slices.EqualFunc(before.PreAuthorized, after.PreAuthorized, func(a, b PreAuthorizedApplication) bool {
		return a.AppID == b.AppID && slices.Equal(a.Scopes, b.Scopes)
	}) {
		changed = append(changed, "preAuthorizedApplications")
	}
	if len(changed) > 0 {
		return errBuiltIn(strings.Join(changed, ", ") + " cannot be changed")
	}
	if after.AccessTokenLifetime != before.AccessTokenLifetime && after.AccessTokenLifetime > MaxAdminTokenLifetime {
		return errBuiltIn("its access tokens may live at most " + MaxAdminTokenLifetime.String())
	}
	return nil
}

// checkNewApplication refuses a new application answering to the admin
// API's identifier URI: only EnsureAdminApplication makes that one.
func checkNewApplication(app Application) error {
	if IsAdminAPI(app) {
		return invalid("identifier URI %s is reserved for the built-in admin API application", AdminAPIIdentifierURI)
	}
	return nil
}

// builtInAdminApp reports whether appID is the tenant's admin API
// application (a cached read).
func (s *Service) builtInAdminApp(ctx context.Context, tenantID, appID string) (bool, error) {
	app, err := s.repo.GetApplication(ctx, tenantID, appID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return IsAdminAPI(app), nil
}
