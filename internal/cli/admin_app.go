package cli

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/directory"
)

// appFlags are the settings `app create` and `app update` share.
type appFlags struct {
	displayName    string
	identifierURIs []string
	scopes         []string
	appRoles       []string
	redirectURIs   []string
	publicClient   bool
	tokenVersion   int
	tokenLifetime  time.Duration
	preAuthorize   []string
}

func (f *appFlags) add(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.displayName, "display-name", "", "display name")
	fs.StringArrayVar(&f.identifierURIs, "identifier-uri", nil, "identifier URI, e.g. api://orders (repeatable; default api://{appId})")
	fs.StringArrayVar(&f.scopes, "scope", nil, "expose a delegated scope, e.g. Orders.Read (repeatable)")
	fs.StringArrayVar(&f.appRoles, "app-role", nil, "define an app role VALUE[:MemberTypes], e.g. Reader or Writer:Application (repeatable; member types Application,User, default both)")
	fs.StringArrayVar(&f.redirectURIs, "redirect-uri", nil, "redirect URI (repeatable)")
	fs.BoolVar(&f.publicClient, "public-client", false, "a public client (no secret; native and device-code apps)")
	fs.IntVar(&f.tokenVersion, "token-version", 0, "access token version for this API: 1 or 2 (default 2)")
	fs.DurationVar(&f.tokenLifetime, "token-lifetime", 0, "access token lifetime for this API, 10m to 24h (default 1h)")
	fs.StringArrayVar(&f.preAuthorize, "pre-authorize", nil, "let a client use scopes without consent: APPID=scope1,scope2 (repeatable)")
}

// nonEmpty drops empty values, so that `--redirect-uri ""` on update
// clears a list.
func nonEmptyValues(v []string) []string {
	out := []string{}
	for _, s := range v {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (f *appFlags) checkTokenSettings(cmd *cobra.Command) error {
	if cmd.Flags().Changed("token-version") && f.tokenVersion != 1 && f.tokenVersion != 2 {
		return usageErrorf("--token-version must be 1 or 2")
	}
	if cmd.Flags().Changed("token-lifetime") && f.tokenLifetime%time.Second != 0 {
		return usageErrorf("--token-lifetime must be whole seconds, e.g. 90m")
	}
	return nil
}

// parseAppRole reads VALUE[:MemberTypes]. A role value may itself hold a
// colon, so the suffix counts as member types only if it is made of them.
func parseAppRole(s string) (value string, memberTypes []string) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return s, nil
	}
	var types []string
	for _, t := range strings.Split(s[i+1:], ",") {
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "application":
			types = append(types, directory.MemberTypeApplication)
		case "user":
			types = append(types, directory.MemberTypeUser)
		default:
			return s, nil
		}
	}
	return s[:i], types
}

func parsePreAuthorize(v []string) ([]directory.PreAuthorizedApplication, error) {
	out := []directory.PreAuthorizedApplication{}
	for _, s := range nonEmptyValues(v) {
		appID, scopes, ok := strings.Cut(s, "=")
		if !ok || appID == "" || scopes == "" {
			return nil, usageErrorf("--pre-authorize %q must be APPID=scope1,scope2", s)
		}
		out = append(out, directory.PreAuthorizedApplication{AppID: appID, Scopes: nonEmptyValues(strings.Split(scopes, ","))})
	}
	return out, nil
}

// scopesFrom builds the scope list from values, keeping the id and texts
// of a scope the application already has under that value.
func scopesFrom(values []string, have []adminapi.Scope) []adminapi.Scope {
	out := []adminapi.Scope{}
	for _, v := range nonEmptyValues(values) {
		s := adminapi.Scope{Value: v, AdminConsentDisplayName: v}
		for _, h := range have {
			if h.Value == v {
				s = h
			}
		}
		out = append(out, s)
	}
	return out
}

// rolesFrom builds the app role list from VALUE[:MemberTypes] flags,
// keeping the id of a role the application already has under that value:
// the assignments naming it stay valid.
func rolesFrom(flags []string, have []adminapi.AppRole) []adminapi.AppRole {
	out := []adminapi.AppRole{}
	for _, f := range nonEmptyValues(flags) {
		value, types := parseAppRole(f)
		r := adminapi.AppRole{Value: value}
		for _, h := range have {
			if h.Value == value {
				r = h
			}
		}
		if types != nil {
			r.AllowedMemberTypes = types
		}
		out = append(out, r)
	}
	return out
}

func newAdminAppCmd(o *adminOptions) *cobra.Command {
	return adminGroup("app", "Manage app registrations",
		`  tessera admin app create --display-name orders-api --identifier-uri api://orders --app-role Reader
  tessera admin app show --id api://orders`,
		newAppCreateCmd(o), newAppShowCmd(o), newAppListCmd(o), newAppUpdateCmd(o), newAppDeleteCmd(o))
}

func newAppCreateCmd(o *adminOptions) *cobra.Command {
	var f appFlags
	var tenant, appID string
	var out output
	cmd := adminLeaf("create", "Register an application", `  # an API with two app roles, one for applications only
  tessera admin app create --display-name orders-api --identifier-uri api://orders \
      --app-role Reader --app-role Writer:Application --scope Orders.Read

  # a client; print only its appId
  tessera admin app create --display-name orders-worker --query appId -o tsv

  # keep a client id when moving an application (home tenant administrators)
  tessera admin app create --display-name orders-worker --app-id 6a1f9c2e-…`)
	f.add(cmd)
	cmd.Flags().StringVar(&appID, "app-id", "", "choose the client id, a GUID unused in every tenant (home tenant administrators only; default a new one)")
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "display-name"); err != nil {
			return err
		}
		if err := f.checkTokenSettings(cmd); err != nil {
			return err
		}
		pre, err := parsePreAuthorize(f.preAuthorize)
		if err != nil {
			return err
		}
		body := adminapi.ApplicationCreate{
			AppID:                      strings.TrimSpace(appID),
			DisplayName:                f.displayName,
			Scopes:                     scopesFrom(f.scopes, nil),
			AppRoles:                   rolesFrom(f.appRoles, nil),
			AccessTokenAcceptedVersion: f.tokenVersion,
			AccessTokenLifetimeSeconds: int64(f.tokenLifetime / time.Second),
			RedirectURIs:               nonEmptyValues(f.redirectURIs),
			PublicClient:               f.publicClient,
			PreAuthorized:              pre,
		}
		if cmd.Flags().Changed("identifier-uri") {
			body.IdentifierURIs = nonEmptyValues(f.identifierURIs)
		}
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			return b.CreateApplication(ctx, tenant, body)
		})
	}
	return cmd
}

func newAppShowCmd(o *adminOptions) *cobra.Command {
	return adminByID(o, "show", "Show an application", `  tessera admin app show --id api://orders
  tessera admin app show --id 6a1f…  --query appRoles[].value -o tsv`,
		"appId, identifier URI or object id (required)", true,
		func(ctx context.Context, b adminBackend, tenant, id string) (any, error) {
			return b.GetApplication(ctx, tenant, id)
		})
}

func newAppListCmd(o *adminOptions) *cobra.Command {
	var tenant string
	var out output
	cmd := adminLeaf("list", "List applications", `  tessera admin app list --query "[].{name:displayName, appId:appId}" -o table`)
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			return b.ListApplications(ctx, tenant)
		})
	}
	return cmd
}

func newAppUpdateCmd(o *adminOptions) *cobra.Command {
	var f appFlags
	var id, tenant string
	var out output
	cmd := adminLeaf("update", "Change an application", `  tessera admin app update --id api://orders --token-lifetime 30m
  # list flags replace the whole list; an empty value clears it
  tessera admin app update --id api://orders --app-role Reader --app-role Auditor:Application
  tessera admin app update --id api://orders --redirect-uri ""`)
	cmd.Long = `Change an application. Only the flags given change. A repeatable flag
replaces the whole list; pass it once with an empty value to clear the list.
Scopes and app roles named again keep their ids, so role assignments stay
valid; an app role that is still assigned cannot be dropped.`
	cmd.Flags().StringVar(&id, "id", "", "appId, identifier URI or object id (required)")
	f.add(cmd)
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "id"); err != nil {
			return err
		}
		if err := f.checkTokenSettings(cmd); err != nil {
			return err
		}
		changed := cmd.Flags().Changed
		var p adminapi.ApplicationPatch
		if changed("display-name") {
			p.DisplayName = &f.displayName
		}
		if changed("identifier-uri") {
			v := nonEmptyValues(f.identifierURIs)
			p.IdentifierURIs = &v
		}
		if changed("redirect-uri") {
			v := nonEmptyValues(f.redirectURIs)
			p.RedirectURIs = &v
		}
		if changed("public-client") {
			p.PublicClient = &f.publicClient
		}
		if changed("token-version") {
			p.AccessTokenAcceptedVersion = &f.tokenVersion
		}
		if changed("token-lifetime") {
			s := int64(f.tokenLifetime / time.Second)
			p.AccessTokenLifetimeSeconds = &s
		}
		if changed("pre-authorize") {
			pre, err := parsePreAuthorize(f.preAuthorize)
			if err != nil {
				return err
			}
			p.PreAuthorized = &pre
		}
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			if changed("scope") || changed("app-role") {
				cur, err := b.GetApplication(ctx, tenant, id)
				if err != nil {
					return nil, err
				}
				if changed("scope") {
					s := scopesFrom(f.scopes, cur.Scopes)
					p.Scopes = &s
				}
				if changed("app-role") {
					r := rolesFrom(f.appRoles, cur.AppRoles)
					p.AppRoles = &r
				}
			}
			return b.UpdateApplication(ctx, tenant, id, p)
		})
	}
	return cmd
}

func newAppDeleteCmd(o *adminOptions) *cobra.Command {
	return adminByID(o, "delete", "Delete an application with its service principal, credentials and role assignments",
		`  tessera admin app delete --id api://orders`, "appId, identifier URI or object id (required)", false,
		func(ctx context.Context, b adminBackend, tenant, id string) (any, error) {
			return nil, b.DeleteApplication(ctx, tenant, id)
		})
}
