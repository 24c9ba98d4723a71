package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/account"
)

// loginHint is the one sentence every "not logged in" error ends with.
const loginHint = "run `tessera login` (a person) or `tessera login --service-principal -u CLIENT_ID -p SECRET --tenant TENANT`"

// azTimeLayout is az's expiresOn: local time, microseconds, no zone
// (Python's "%Y-%m-%d %H:%M:%S.%f"). AzureCliCredential parses it.
const azTimeLayout = "2006-01-02 15:04:05.000000"

// clientSession is what the commands that use a login need: the config
// directory, the profile to act as, and a client that trusts its CA.
type clientSession struct {
	store   *account.Store
	profile account.Profile
	client  *account.Client
}

func openAccountStore() (*account.Store, error) {
	dir, err := account.DefaultDir()
	if err != nil {
		return nil, err
	}
	return account.Open(dir)
}

// loadClientSession picks the profile to act as. With no tenant it is the
// default one. With a tenant it is a profile of that tenant (the default
// if several); failing that, as `az account get-access-token --tenant`
// does, the default profile's credentials are used in that tenant, which
// works for a client registered in more than one.
func (d *Deps) loadClientSession(ctx context.Context, tenant string) (*clientSession, error) {
	store, err := openAccountStore()
	if err != nil {
		return nil, err
	}
	cur, err := store.Current()
	if errors.Is(err, account.ErrNotLoggedIn) {
		return nil, withExit(ExitAuth, fmt.Errorf("not logged in: %s", loginHint))
	}
	if err != nil {
		return nil, err
	}
	p, found := cur, tenant == "" || sameTenant(cur, tenant)
	if !found {
		ps, err := store.Profiles()
		if err != nil {
			return nil, err
		}
		for _, q := range ps {
			if sameTenant(q, tenant) {
				p, found = q, true
				break
			}
		}
	}
	if !found {
		p.Tenant, p.TenantID = tenant, ""
	}
	s := &clientSession{store: store}
	// TESSERA_CA_FILE, when set, replaces the CA file the profile remembers.
	caFile := os.Getenv("TESSERA_CA_FILE")
	if caFile == "" {
		caFile = p.CAFile
	}
	if s.client, err = d.accountClient(caFile); err != nil {
		return nil, err
	}
	if p.TenantID == "" {
		if account.IsMultiTenant(tenant) {
			return nil, usageErrorf("--tenant %s names no tenant: give the tenant's GUID or domain", tenant)
		}
		if account.IsGUID(tenant) {
			p.TenantID = strings.ToLower(tenant)
		} else {
			d, err := s.client.Discover(ctx, p.Authority, tenant)
			if err != nil {
				return nil, accountError(err, "check --tenant")
			}
			p.TenantID = d.TenantID
		}
	}
	s.profile = p
	return s, nil
}

func sameTenant(p account.Profile, tenant string) bool {
	return strings.EqualFold(p.Tenant, tenant) || strings.EqualFold(p.TenantID, tenant)
}

// token serves a token for t from the cache or the server: a service
// principal's by its credentials, a user's by the refresh token.
func (s *clientSession) token(ctx context.Context, t account.Target) (account.Token, error) {
	tok, err := s.client.Token(ctx, s.store, s.profile, t)
	var lr *account.LoginRequiredError
	var cr *account.ConsentRequiredError
	switch {
	case err == nil:
		return tok, nil
	case errors.As(err, &lr):
		return account.Token{}, withExit(ExitAuth, fmt.Errorf("%v with `%s`", err, relogin(s.profile)))
	case errors.As(err, &cr):
		return account.Token{}, withExit(ExitAuth, err)
	}
	return account.Token{}, accountError(err, "log in again if the credentials changed: "+loginHint)
}

// relogin is the command that signs p's user in again.
func relogin(p account.Profile) string {
	cmd := "tessera login --tenant " + p.TenantID
	if !strings.EqualFold(p.ClientID, account.DefaultClientID) {
		cmd += " --client-id " + p.ClientID
	}
	if p.Authority != defaultAuthority {
		cmd += " --authority " + p.Authority
	}
	if p.CAFile != "" {
		cmd += " --ca-file " + p.CAFile
	}
	return cmd
}

// accountError gives a failure from the identity provider its exit code:
// 4 when the server refused the client's credentials, 1 otherwise. The
// server's error_description is kept; it is written for people. hint says
// what to do about a refusal.
func accountError(err error, hint string) error {
	var se *account.ServerError
	if errors.As(err, &se) {
		if se.CredentialsRejected() {
			return withExit(ExitAuth, fmt.Errorf("the server refused the credentials: %v: %s", err, hint))
		}
		return fmt.Errorf("the server refused the request: %w", err)
	}
	return err
}

// clientUsageErrors makes cobra's flag and argument errors exit 2, as az's
// do, and say where help is.
func clientUsageErrors(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withExit(ExitUsage, fmt.Errorf("%v: see `%s --help`", err, c.CommandPath()))
	})
	if cmd.Args == nil {
		cmd.Args = cobra.NoArgs
	}
	args := cmd.Args
	cmd.Args = func(c *cobra.Command, a []string) error {
		if err := args(c, a); err != nil {
			return withExit(ExitUsage, fmt.Errorf("%v: see `%s --help`", err, c.CommandPath()))
		}
		return nil
	}
}

// usageErrorf is a bad-flags error: exit 2.
func usageErrorf(format string, a ...any) error {
	return withExit(ExitUsage, fmt.Errorf(format, a...))
}

// azAccount is az's account object for a tenant-level account (az login
// --allow-no-subscriptions): the tenant stands in for a subscription.
// login names the cloud cloudName, account show and list name it
// environmentName, as az does.
type azAccount struct {
	CloudName        string   `json:"cloudName,omitempty"`
	EnvironmentName  string   `json:"environmentName,omitempty"`
	HomeTenantID     string   `json:"homeTenantId"`
	ID               string   `json:"id"`
	IsDefault        bool     `json:"isDefault"`
	ManagedByTenants []string `json:"managedByTenants"`
	Name             string   `json:"name"`
	State            string   `json:"state"`
	TenantID         string   `json:"tenantId"`
	User             azUser   `json:"user"`
}

type azUser struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

const cloudName = "Tessera"

func accountView(p account.Profile) azAccount {
	home := p.TenantID
	if p.HomeTenantID != "" {
		home = p.HomeTenantID // a guest's own tenant
	}
	return azAccount{
		EnvironmentName:  cloudName,
		HomeTenantID:     home,
		ID:               p.TenantID,
		IsDefault:        p.IsDefault,
		ManagedByTenants: []string{},
		Name:             "N/A(tenant level account)",
		State:            "Enabled",
		TenantID:         p.TenantID,
		User:             azUser{Name: p.Name(), Type: p.Type},
	}
}

func newAccountCmd(d *Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Show the signed-in account and get access tokens for it",
		Long: "Show the accounts `tessera login` stored, choose the default, and get access tokens, as `az account` does.\n" +
			"Every login is a tenant-level account: its subscription is its tenant.",
		Example: "  tessera account show\n  tessera account set --subscription contoso.example\n  tessera account get-access-token --scope api://orders/.default",
		// A mistyped subcommand fails with exit 2 (see usageErrors).
	}
	cmd.AddCommand(newAccountShowCmd(), newAccountListCmd(), newAccountSetCmd(), newGetAccessTokenCmd(d))
	return cmd
}

func newAccountShowCmd() *cobra.Command {
	var o output
	cmd := &cobra.Command{
		Use:     "show",
		Short:   "Show the default account",
		Example: "  tessera account show\n  tessera account show --query tenantId -o tsv",
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := openAccountStore()
			if err != nil {
				return err
			}
			p, err := store.Current()
			if errors.Is(err, account.ErrNotLoggedIn) {
				return withExit(ExitAuth, fmt.Errorf("not logged in: %s", loginHint))
			}
			if err != nil {
				return err
			}
			return o.print(cmd.OutOrStdout(), accountView(p))
		},
	}
	o.addFlags(cmd)
	clientUsageErrors(cmd)
	return cmd
}

func newAccountListCmd() *cobra.Command {
	var o output
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the accounts logged in to",
		Long:    "List the accounts logged in to. An empty list, not an error, when there are none, as in az.",
		Example: "  tessera account list -o table\n  tessera account list --query \"[?isDefault].user.name\" -o tsv",
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := openAccountStore()
			if err != nil {
				return err
			}
			ps, err := store.Profiles()
			if err != nil {
				return err
			}
			views := make([]azAccount, 0, len(ps))
			for _, p := range ps {
				views = append(views, accountView(p))
			}
			return o.print(cmd.OutOrStdout(), views)
		},
	}
	o.addFlags(cmd)
	clientUsageErrors(cmd)
	return cmd
}

func newAccountSetCmd() *cobra.Command {
	var which string
	cmd := &cobra.Command{
		Use:   "set",
		Short: "Make an account the default",
		Long: "Make an account the default for get-access-token, rest and admin, as `az account set` does.\n" +
			"--subscription names it by its tenant (GUID or domain: a tenant stands in for a subscription)\n" +
			"or by its user name (a person's UPN, a service principal's client id).",
		Example: "  tessera account set --subscription contoso.example\n" +
			"  tessera account set -s 7c9e6679-7425-40de-944b-e07fc1f90ae7\n" +
			"  tessera account set --name alice@contoso.example",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if which == "" {
				return usageErrorf("give --subscription TENANT_OR_USER: see `tessera account list`")
			}
			store, err := openAccountStore()
			if err != nil {
				return err
			}
			ps, err := store.Profiles()
			if err != nil {
				return err
			}
			p, err := pickAccount(ps, which)
			if err != nil {
				return err
			}
			if found, err := store.SetDefault(p); err != nil {
				return err
			} else if !found {
				return withExit(ExitNotFound, fmt.Errorf("the account %s was removed meanwhile: see `tessera account list`", which))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&which, "subscription", "s", "", "tenant (GUID or domain) or user name of the account")
	cmd.Flags().StringVarP(&which, "name", "n", "", "alias of --subscription")
	clientUsageErrors(cmd)
	return cmd
}

// pickAccount finds the one account which names: a user name first (it
// names one account where a tenant may name several), then a tenant.
func pickAccount(ps []account.Profile, which string) (account.Profile, error) {
	var byName, byTenant []account.Profile
	for _, p := range ps {
		if strings.EqualFold(p.Name(), which) {
			byName = append(byName, p)
		}
		if sameTenant(p, which) {
			byTenant = append(byTenant, p)
		}
	}
	for i, matches := range [][]account.Profile{byName, byTenant} {
		switch len(matches) {
		case 0:
			continue
		case 1:
			return matches[0], nil
		}
		names := make([]string, 0, len(matches))
		for _, p := range matches {
			names = append(names, p.Name()+" in "+p.TenantID)
		}
		instead := "the user name"
		if i == 0 {
			instead = "the tenant"
		}
		return account.Profile{}, usageErrorf("%s names %d accounts (%s): give %s instead", which, len(matches), strings.Join(names, ", "), instead)
	}
	return account.Profile{}, withExit(ExitNotFound, fmt.Errorf("no account of tenant or user %s: see `tessera account list`", which))
}

// azAccessToken is az's get-access-token output, field for field: the
// Azure SDKs' AzureCliCredential parses it (expires_on first, expiresOn
// for older az), so neither names nor formats may drift.
type azAccessToken struct {
	AccessToken  string `json:"accessToken"`
	ExpiresOn    string `json:"expiresOn"`
	ExpiresOnSec int64  `json:"expires_on"`
	Subscription string `json:"subscription"`
	Tenant       string `json:"tenant"`
	TokenType    string `json:"tokenType"`
}

func newGetAccessTokenCmd(d *Deps) *cobra.Command {
	var (
		o        output
		scopes   []string
		resource string
		tenant   string
	)
	cmd := &cobra.Command{
		Use:   "get-access-token",
		Short: "Get an access token for the signed-in account",
		Long: "Get an access token for the signed-in account, in az's output shape.\n\n" +
			"--scope asks the v2 endpoint (scope=…); --resource asks the v1 endpoint (resource=…).\n" +
			"A cached token is served while it has more than five minutes left.",
		Example: "  tessera account get-access-token --scope api://orders/.default\n" +
			"  TOKEN=$(tessera account get-access-token --scope api://orders/.default --query accessToken -o tsv)\n" +
			"  tessera account get-access-token --resource api://orders --tenant contoso",
		RunE: func(cmd *cobra.Command, _ []string) error {
			target := account.Target{Scope: strings.Join(scopes, " "), Resource: resource}
			if target.Validate() != nil {
				return usageErrorf("give one of --scope (e.g. --scope api://orders/.default) and --resource (e.g. --resource api://orders)")
			}
			s, err := d.loadClientSession(cmd.Context(), tenant)
			if err != nil {
				return err
			}
			tok, err := s.token(cmd.Context(), target)
			if err != nil {
				return err
			}
			return o.print(cmd.OutOrStdout(), azAccessToken{
				AccessToken:  tok.AccessToken,
				ExpiresOn:    tok.ExpiresOn.Local().Format(azTimeLayout),
				ExpiresOnSec: tok.ExpiresOn.Unix(),
				Subscription: s.profile.TenantID,
				Tenant:       s.profile.TenantID,
				TokenType:    tok.TokenType,
			})
		},
	}
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "v2 scope(s) to get a token for, e.g. api://orders/.default (repeat or space-separate for several)")
	cmd.Flags().StringVar(&resource, "resource", "", "v1 resource to get a token for, e.g. api://orders")
	cmd.Flags().StringVarP(&tenant, "tenant", "t", "", "tenant to get the token in (GUID or domain); default: the account's")
	o.addFlags(cmd)
	clientUsageErrors(cmd)
	return cmd
}
