package directory

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Token lifetime policy. Entra's configurable token lifetimes allow 10
// minutes to 1 day for access tokens; the default is 60 minutes.
const (
	DefaultAccessTokenLifetime = time.Hour
	MinAccessTokenLifetime     = 10 * time.Minute
	MaxAccessTokenLifetime     = 24 * time.Hour
)

// ApplicationSpec describes a new app registration. IDs of scopes and roles
// may be left empty; the service assigns them.
type ApplicationSpec struct {
	DisplayName string `json:"displayName"`
	// IdentifierURIs defaults to ["api://{appId}"].
	IdentifierURIs []string  `json:"identifierUris,omitempty"`
	Scopes         []Scope   `json:"scopes,omitempty"`
	AppRoles       []AppRole `json:"appRoles,omitempty"`
	// AccessTokenAcceptedVersion defaults to 2.
	AccessTokenAcceptedVersion int `json:"accessTokenAcceptedVersion,omitempty"`
	// AccessTokenLifetime defaults to DefaultAccessTokenLifetime.
	AccessTokenLifetime time.Duration              `json:"accessTokenLifetime,omitempty"`
	RedirectURIs        []string                   `json:"redirectUris,omitempty"`
	PublicClient        bool                       `json:"publicClient,omitempty"`
	PreAuthorized       []PreAuthorizedApplication `json:"preAuthorizedApplications,omitempty"`
	// AppID may be set to a GUID to choose the client id; empty means new.
	// It must be unused in every tenant and must not be a well-known id
	// (IsWellKnownAppID). Choosing one is a system administrator's
	// decision (the admin API enforces it): whoever chooses a client id
	// could otherwise try to take another tenant's.
	AppID string `json:"appId,omitempty"`
}

// ApplicationPatch changes some fields of an application; nil fields stay.
type ApplicationPatch struct {
	DisplayName                *string                     `json:"displayName,omitempty"`
	IdentifierURIs             *[]string                   `json:"identifierUris,omitempty"`
	Scopes                     *[]Scope                    `json:"scopes,omitempty"`
	AppRoles                   *[]AppRole                  `json:"appRoles,omitempty"`
	AccessTokenAcceptedVersion *int                        `json:"accessTokenAcceptedVersion,omitempty"`
	AccessTokenLifetime        *time.Duration              `json:"accessTokenLifetime,omitempty"`
	RedirectURIs               *[]string                   `json:"redirectUris,omitempty"`
	PublicClient               *bool                       `json:"publicClient,omitempty"`
	PreAuthorized              *[]PreAuthorizedApplication `json:"preAuthorizedApplications,omitempty"`
}

// IsWellKnownAppID reports whether appID is one of the built-in
// applications every tenant registers under the same id, as Entra's
// first-party applications exist in every tenant: the CLI's public client
// (the Azure CLI's id) and the management application (Azure Resource
// Manager's). Every other application id belongs to one tenant only, so
// that a client id names its tenant; these never do, and whoever needs
// the tenant of a request naming one must learn it from something else.
func IsWellKnownAppID(appID string) bool {
	switch strings.ToLower(strings.TrimSpace(appID)) {
	case CLIClientID, ManagementAppID:
		return true
	}
	return false
}

// CreateApplication registers an application in a tenant. Its appId is
// new unless spec chooses one, which must be free in every tenant and
// must not be a well-known id: those only the built-in applications have
// (EnsureCLIApplication, EnsureManagementApplication). The admin API's
// identifier URI is reserved for the built-in admin application.
func (s *Service) CreateApplication(ctx context.Context, tenantID string, spec ApplicationSpec) (Application, error) {
	if IsWellKnownAppID(spec.AppID) {
		return Application{}, invalid("appId %s is a built-in application's, registered by tessera itself in every tenant; leave appId out for a new one", strings.ToLower(spec.AppID))
	}
	return s.createApplication(ctx, tenantID, spec, false)
}

// createApplication is CreateApplication without its rules on built-in
// applications: builtIn lets the Ensure functions take a well-known appId
// or the admin API's reserved identifier URI.
func (s *Service) createApplication(ctx context.Context, tenantID string, spec ApplicationSpec, builtIn bool) (Application, error) {
	if _, err := s.repo.GetTenant(ctx, tenantID); err != nil {
		return Application{}, err
	}
	appID := strings.ToLower(strings.TrimSpace(spec.AppID))
	if appID == "" {
		appID = s.newID()
	} else if !IsGUID(appID) {
		return Application{}, invalid("appId %q is not a GUID", spec.AppID)
	}
	now := s.clock()
	app := Application{
		TenantID:                   tenantID,
		AppID:                      appID,
		ObjectID:                   s.newID(),
		DisplayName:                spec.DisplayName,
		IdentifierURIs:             spec.IdentifierURIs,
		Scopes:                     spec.Scopes,
		AppRoles:                   spec.AppRoles,
		AccessTokenAcceptedVersion: spec.AccessTokenAcceptedVersion,
		AccessTokenLifetime:        spec.AccessTokenLifetime,
		RedirectURIs:               spec.RedirectURIs,
		PublicClient:               spec.PublicClient,
		PreAuthorized:              spec.PreAuthorized,
		CreatedAt:                  now,
		UpdatedAt:                  now,
	}
	if app.IdentifierURIs == nil {
		app.IdentifierURIs = []string{"api://" + appID}
	}
	if app.AccessTokenAcceptedVersion == 0 {
		app.AccessTokenAcceptedVersion = 2
	}
	if app.AccessTokenLifetime == 0 {
		app.AccessTokenLifetime = DefaultAccessTokenLifetime
	}
	if err := s.normalizeApplication(&app); err != nil {
		return Application{}, err
	}
	if !builtIn {
		if err := checkNewApplication(app); err != nil {
			return Application{}, err
		}
	}
	if err := s.repo.CreateApplication(ctx, tenantID, app); err != nil {
		return Application{}, err
	}
	return app, nil
}

// GetApplication finds an application by its appId, an identifier URI, or
// its object id.
func (s *Service) GetApplication(ctx context.Context, tenantID, ref string) (Application, error) {
	if IsGUID(ref) {
		app, err := s.repo.GetApplication(ctx, tenantID, strings.ToLower(ref))
		if !errors.Is(err, ErrNotFound) {
			return app, err
		}
		apps, lerr := s.repo.ListApplications(ctx, tenantID)
		if lerr != nil {
			return Application{}, lerr
		}
		for _, a := range apps {
			if strings.EqualFold(a.ObjectID, ref) {
				return a, nil
			}
		}
		return Application{}, err
	}
	return s.repo.GetApplicationByIdentifierURI(ctx, tenantID, ref)
}

// ListApplications lists a tenant's applications.
func (s *Service) ListApplications(ctx context.Context, tenantID string) ([]Application, error) {
	return s.repo.ListApplications(ctx, tenantID)
}

// UpdateApplication applies a patch.
func (s *Service) UpdateApplication(ctx context.Context, tenantID, ref string, p ApplicationPatch) (Application, error) {
	app, err := s.GetApplication(ctx, tenantID, ref)
	if err != nil {
		return Application{}, err
	}
	before := app
	if p.DisplayName != nil {
		app.DisplayName = *p.DisplayName
	}
	if p.IdentifierURIs != nil {
		app.IdentifierURIs = *p.IdentifierURIs
	}
	if p.Scopes != nil {
		app.Scopes = *p.Scopes
	}
	if p.AppRoles != nil {
		app.AppRoles = *p.AppRoles
	}
	if p.AccessTokenAcceptedVersion != nil {
		app.AccessTokenAcceptedVersion = *p.AccessTokenAcceptedVersion
	}
	if p.AccessTokenLifetime != nil {
		app.AccessTokenLifetime = *p.AccessTokenLifetime
	}
	if p.RedirectURIs != nil {
		app.RedirectURIs = *p.RedirectURIs
	}
	if p.PublicClient != nil {
		app.PublicClient = *p.PublicClient
	}
	if p.PreAuthorized != nil {
		app.PreAuthorized = *p.PreAuthorized
	}
	if err := s.normalizeApplication(&app); err != nil {
		return Application{}, err
	}
	if err := checkApplicationChange(before, app); err != nil {
		return Application{}, err
	}
	if err := s.checkRemovedRoles(ctx, tenantID, before, app); err != nil {
		return Application{}, err
	}
	app.UpdatedAt = s.clock()
	if err := s.repo.UpdateApplication(ctx, tenantID, app); err != nil {
		return Application{}, err
	}
	return app, nil
}

// checkRemovedRoles refuses to drop an app role that is still assigned:
// the assignment would silently stop meaning anything (Entra requires the
// same: disable, remove assignments, then delete).
func (s *Service) checkRemovedRoles(ctx context.Context, tenantID string, before, after Application) error {
	kept := map[string]bool{}
	for _, r := range after.AppRoles {
		kept[r.ID] = true
	}
	var removed []string
	for _, r := range before.AppRoles {
		if !kept[r.ID] {
			removed = append(removed, r.ID)
		}
	}
	if len(removed) == 0 {
		return nil
	}
	sp, err := s.repo.GetServicePrincipalByAppID(ctx, tenantID, before.AppID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	assignments, err := s.repo.ListRoleAssignmentsByResource(ctx, tenantID, sp.ObjectID)
	if err != nil {
		return err
	}
	for _, a := range assignments {
		for _, id := range removed {
			if a.AppRoleID == id {
				r, _ := before.Role(id)
				return invalid("app role %q is still assigned (assignment %s): remove its assignments first", r.Value, a.ID)
			}
		}
	}
	return nil
}

// DeleteApplication removes an application with its service principal,
// credentials and role assignments.
func (s *Service) DeleteApplication(ctx context.Context, tenantID, ref string) error {
	app, err := s.GetApplication(ctx, tenantID, ref)
	if err != nil {
		return err
	}
	if IsAdminAPI(app) {
		return errBuiltIn("it cannot be deleted (remove role assignments to take an administrator's rights away)")
	}
	if err := s.repo.DeleteApplication(ctx, tenantID, app.AppID); err != nil {
		return err
	}
	return s.revokeClient(ctx, tenantID, app.AppID)
}
