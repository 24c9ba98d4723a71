package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/adminapi"
	"github.com/tessera-id/tessera/internal/directory"
)

func newAdminConsentCmd(o *adminOptions) *cobra.Command {
	return adminGroup("consent", "Manage consents: which delegated scopes a client may use for users without asking them",
		`  tessera admin consent grant --client CLIENT_APPID --resource api://orders --scope Orders.Read
  tessera admin consent list --client CLIENT_APPID`,
		newConsentGrantCmd(o), newConsentListCmd(o), newConsentRevokeCmd(o))
}

// scopeValues splits --scope values that hold several scopes ("read write"
// or "read,write", as az's --scope takes them) into one value each.
func scopeValues(flags []string) []string {
	out := []string{}
	for _, f := range flags {
		out = append(out, strings.FieldsFunc(f, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })...)
	}
	return out
}

func newConsentGrantCmd(o *adminOptions) *cobra.Command {
	var body adminapi.ConsentCreate
	var scopes []string
	var tenant string
	var out output
	cmd := adminLeaf("grant", "Consent to scopes of an API for a client, for every user (admin consent) or one",
		`  # admin consent: no user of the tenant is asked for Orders.Read
  tessera admin consent grant --client CLIENT_APPID --resource api://orders --scope Orders.Read
  # sign-in without a consent page: the OpenID Connect scopes
  tessera admin consent grant --client CLIENT_APPID --resource openid --scope openid --scope profile --scope offline_access
  # one user's consent
  tessera admin consent grant --client CLIENT_APPID --resource api://orders --scope Orders.Write --user alice@default`)
	cmd.Long = `Consent to delegated scopes of an API for a client (Entra's
oauth2PermissionGrant). Without --user it is an admin consent for every user of
the tenant (AllPrincipals); with --user, that user's consent. Scopes add to an
earlier consent of the same client, resource and principal. --resource openid
stands for the OpenID Connect scopes (openid, profile, email, offline_access).
Prints the consent as it now stands.`
	cmd.Flags().StringVar(&body.ClientID, "client", "", "the client application: appId, identifier URI or object id (required)")
	cmd.Flags().StringVar(&body.Resource, "resource", "", "the API: identifier URI or appId, or openid (required)")
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "a scope value the API exposes, e.g. Orders.Read (repeatable; required)")
	cmd.Flags().StringVar(&body.Principal, "user", "", "consent for this user only (object id or user principal name); default every user")
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "client", "resource", "scope"); err != nil {
			return err
		}
		body.Scopes = scopeValues(scopes)
		if len(body.Scopes) == 0 {
			return usageErrorf("--scope names no scope")
		}
		if body.Principal == "" {
			body.Principal = directory.AllPrincipals
		}
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			return b.GrantConsent(ctx, tenant, body)
		})
	}
	return cmd
}

func newConsentListCmd(o *adminOptions) *cobra.Command {
	var client, user, tenant string
	var out output
	cmd := adminLeaf("list", "List the consents given to a client",
		`  tessera admin consent list --client CLIENT_APPID -o table
  # what holds for alice: her own consents and the admin consents
  tessera admin consent list --client CLIENT_APPID --user alice@default`)
	cmd.Flags().StringVar(&client, "client", "", "the client application: appId, identifier URI or object id (required)")
	cmd.Flags().StringVar(&user, "user", "", "only the consents that hold for this user (theirs and the admin consents); AllPrincipals for the admin consents only")
	addTenantFlag(cmd, &tenant)
	out.addFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "client"); err != nil {
			return err
		}
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			return b.ListConsents(ctx, tenant, client, user)
		})
	}
	return cmd
}

func newConsentRevokeCmd(o *adminOptions) *cobra.Command {
	var client, resource, user, tenant string
	cmd := adminLeaf("revoke", "Withdraw a consent; users are asked again at their next sign-in",
		`  tessera admin consent revoke --client CLIENT_APPID --resource api://orders
  tessera admin consent revoke --client CLIENT_APPID --resource api://orders --user alice@default`)
	cmd.Long = `Withdraw a consent as a whole: the admin consent of the client to the
resource, or with --user that user's. Tokens already issued stay valid until
they expire, as in Entra; disable the user to end its sign-ins at once.`
	cmd.Flags().StringVar(&client, "client", "", "the client application: appId, identifier URI or object id (required)")
	cmd.Flags().StringVar(&resource, "resource", "", "the API: identifier URI or appId, or openid (required)")
	cmd.Flags().StringVar(&user, "user", "", "the user whose consent to withdraw; default the admin consent")
	addTenantFlag(cmd, &tenant)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "client", "resource"); err != nil {
			return err
		}
		if user == "" {
			user = directory.AllPrincipals
		}
		return adminRun(cmd, o, tenant, nil, func(ctx context.Context, b adminBackend) (any, error) {
			return nil, b.RevokeConsent(ctx, tenant, client, resource, user)
		})
	}
	return cmd
}
