package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/account"
)

// defaultAuthority is where `tessera serve` listens out of the box.
const defaultAuthority = "https://127.0.0.1:8443"

type loginOptions struct {
	servicePrincipal     bool
	useDeviceCode        bool
	username             string
	password             string
	certificate          string
	tenant               string
	authority            string
	caFile               string
	clientID             string
	scopes               []string
	allowNoSubscriptions bool
	out                  output
	deps                 *Deps
}

func newLoginCmd(d *Deps) *cobra.Command {
	o := &loginOptions{deps: d}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in as a person (browser, device code, password) or as a service principal",
		Long: `Sign in to a tessera identity provider, or to Microsoft Entra ID, as az login does.

As a person: in the system browser by default (authorization code with PKCE,
the answer coming back to http://localhost on a free port); with
--use-device-code on another device, for a machine without a browser (the
instructions go to stderr); or with -u USER -p PASSWORD, the password grant,
which suits test accounts. --tenant defaults to organizations: the directory
decides the tenant at sign-in. The client is the Azure CLI's public client
(` + account.DefaultClientID + `), which tessera registers in every tenant;
--client-id picks another public client. --scope asks for consent to an API
at sign-in. The refresh token is kept in the token cache (tokens.json, 0600)
and redeemed for any API the account may use; $BROWSER, if set, is the
command that opens the browser.

As a service principal (--service-principal): a client (application) id with
a client secret or a certificate. login resolves --tenant by discovery,
checks the credentials by getting a token for the client itself (or for
--scope), and stores the profile as the default account. Like az, login keeps
the service principal's secret (or the path of its certificate) in
profiles.json, readable only by you (0600), in the config directory
($TESSERA_CONFIG_DIR, else ~/.config/tessera). Prefer --certificate where a
secret on disk is too much. Give the secret in $TESSERA_CLIENT_SECRET instead
of -p to keep it out of shell history.

The authority is --authority, else $TESSERA_AUTHORITY, else ` + defaultAuthority + `.
A server using its own local CA needs --ca-file (or $TESSERA_CA_FILE, or
SSL_CERT_FILE); --ca-file is remembered in the profile.`,
		Example: `  tessera login --ca-file ~/.local/share/tessera/ca.pem
  tessera login --use-device-code --tenant default --scope api://orders/.default
  tessera login -u alice@contoso.example -p "$PASSWORD" --tenant contoso.example
  tessera login --authority https://login.microsoftonline.com --tenant contoso.onmicrosoft.com
  tessera login --service-principal -u 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9 -p "$SECRET" --tenant default \
      --ca-file ~/.local/share/tessera/ca.pem
  TESSERA_CLIENT_SECRET=... tessera login --service-principal -u $CLIENT_ID --tenant contoso.example
  tessera login --service-principal -u $CLIENT_ID --certificate client.pem --tenant $TENANT_ID \
      --authority https://id.example.com`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.servicePrincipal {
				return o.loginServicePrincipal(cmd)
			}
			return o.loginUser(cmd)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.servicePrincipal, "service-principal", false, "log in as a service principal (client credentials)")
	f.BoolVar(&o.useDeviceCode, "use-device-code", false, "sign in on another device with a code, instead of a browser on this machine")
	f.StringVarP(&o.username, "username", "u", "", "the user name (password sign-in), or with --service-principal the client (application) id")
	f.StringVarP(&o.password, "password", "p", "", "the user's password, or with --service-principal the client secret (default $TESSERA_CLIENT_SECRET)")
	f.StringVar(&o.certificate, "certificate", "", "with --service-principal: PEM file with the client certificate and its RSA private key, instead of -p")
	f.StringVarP(&o.tenant, "tenant", "t", "", "the tenant: a GUID or a domain name such as default (default organizations for a person)")
	f.StringVar(&o.authority, "authority", "", "the identity provider's URL (default $TESSERA_AUTHORITY, else "+defaultAuthority+")")
	f.StringVar(&o.caFile, "ca-file", "", "PEM file of the CA the server's TLS certificate is signed by (default $TESSERA_CA_FILE); remembered")
	f.StringVar(&o.clientID, "client-id", "", "the public client a person signs in with (default the Azure CLI's, "+account.DefaultClientID+")")
	f.StringArrayVar(&o.scopes, "scope", nil, "a scope to get consent and a token for at sign-in, e.g. api://orders/.default (repeatable)")
	f.BoolVar(&o.allowNoSubscriptions, "allow-no-subscriptions", false, "accepted for az compatibility: every tessera login is a tenant-level account")
	o.out.addFlags(cmd)
	clientUsageErrors(cmd)
	return cmd
}

// endpointFlags resolves --authority and --ca-file with their environment
// variables, and adds what is wrong with them to problems.
func (o *loginOptions) endpointFlags(problems *[]string) (authority, caFile string) {
	authority = o.authority
	if authority == "" {
		authority = os.Getenv("TESSERA_AUTHORITY")
	}
	if authority == "" {
		authority = defaultAuthority
	}
	authority = account.NormalizeAuthority(authority)
	if err := account.CheckAuthority(authority); err != nil {
		*problems = append(*problems, err.Error())
	}
	caFile = o.caFile
	if caFile == "" {
		caFile = os.Getenv("TESSERA_CA_FILE")
	}
	// Absolute paths: the profile is used from whatever directory the next
	// command runs in.
	var err error
	if caFile, err = absPath(caFile); err != nil {
		*problems = append(*problems, err.Error())
	}
	return authority, caFile
}

// loginUser signs a person in: by password with -u, by device code with
// --use-device-code, else in the browser.
func (o *loginOptions) loginUser(cmd *cobra.Command) error {
	var problems []string
	switch {
	case o.certificate != "":
		problems = append(problems, "--certificate is for --service-principal")
	case o.useDeviceCode && (o.username != "" || o.password != ""):
		problems = append(problems, "give --use-device-code or -u/-p, not both")
	case o.username != "" && o.password == "":
		problems = append(problems, "-u USER needs -p PASSWORD; without them the sign-in happens in the browser")
	case o.password != "" && o.username == "":
		problems = append(problems, "-p PASSWORD needs -u USER")
	}
	authority, caFile := o.endpointFlags(&problems)
	if len(problems) > 0 {
		return usageErrorf("%s: see `tessera login --help`", strings.Join(problems, "; "))
	}
	store, err := openAccountStore()
	if err != nil {
		return err
	}
	client, err := o.deps.accountClient(caFile)
	if err != nil {
		return err
	}
	client.Status, client.OpenBrowser, client.Sleep = cmd.ErrOrStderr(), o.deps.OpenBrowser, o.deps.Sleep
	l := account.UserLogin{Authority: authority, Tenant: o.tenant, ClientID: o.clientID, Scopes: o.scopes, CAFile: caFile}
	ctx := cmd.Context()
	var p account.Profile
	switch {
	case o.useDeviceCode:
		p, err = client.LoginDeviceCode(ctx, store, l)
	case o.username != "":
		p, err = client.LoginPassword(ctx, store, l, o.username, account.Secret(o.password))
	default:
		p, err = client.LoginBrowser(ctx, store, l)
	}
	if err != nil {
		return signInError(err)
	}
	v := accountView(p)
	v.CloudName, v.EnvironmentName = cloudName, ""
	return o.out.print(cmd.OutOrStdout(), []azAccount{v})
}

// signInError gives a failed sign-in its exit code: 4 when the server
// refused the person or the client (a wrong password, a declined sign-in,
// a client that may not sign people in), 1 otherwise.
func signInError(err error) error {
	var se *account.ServerError
	if errors.As(err, &se) {
		switch se.Code {
		case "invalid_grant", "access_denied", "authorization_declined", "invalid_client", "unauthorized_client", "consent_required", "interaction_required":
			return withExit(ExitAuth, fmt.Errorf("the server refused the sign-in: %w", err))
		}
		return fmt.Errorf("the server refused the request: %w", err)
	}
	return err
}

// flags checks the service principal flags together and reports every
// problem at once.
func (o *loginOptions) flags() (account.Profile, error) {
	var problems []string
	if o.username == "" {
		problems = append(problems, "-u CLIENT_ID is required")
	}
	if o.tenant == "" {
		problems = append(problems, "--tenant is required")
	} else if account.IsMultiTenant(o.tenant) {
		problems = append(problems, fmt.Sprintf("--tenant %s names no tenant: a service principal signs in to one tenant, by GUID or domain", o.tenant))
	}
	if o.useDeviceCode {
		problems = append(problems, "--use-device-code is for people, not --service-principal")
	}
	if o.clientID != "" {
		problems = append(problems, "with --service-principal the client id is -u, not --client-id")
	}
	if o.password == "" && o.certificate == "" {
		o.password = os.Getenv("TESSERA_CLIENT_SECRET")
	}
	switch {
	case o.password != "" && o.certificate != "":
		problems = append(problems, "give -p or --certificate, not both")
	case o.password == "" && o.certificate == "":
		problems = append(problems, "give -p SECRET (or $TESSERA_CLIENT_SECRET) or --certificate FILE")
	}
	authority, caFile := o.endpointFlags(&problems)
	cert, err := absPath(o.certificate)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return account.Profile{}, usageErrorf("%s: see `tessera login --help`", strings.Join(problems, "; "))
	}
	return account.Profile{
		Type:            account.ServicePrincipal,
		Authority:       authority,
		Tenant:          o.tenant,
		ClientID:        o.username,
		ClientSecret:    account.Secret(o.password),
		CertificateFile: cert,
		CAFile:          caFile,
	}, nil
}

func absPath(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	return filepath.Abs(p)
}

func (o *loginOptions) loginServicePrincipal(cmd *cobra.Command) error {
	p, err := o.flags()
	if err != nil {
		return err
	}
	if p.CertificateFile != "" {
		// Fail on a bad file here, before any request, with the file's name.
		if _, err := account.LoadCertificate(p.CertificateFile); err != nil {
			return usageErrorf("--certificate: %v", err)
		}
	}
	store, err := openAccountStore()
	if err != nil {
		return err
	}
	client, err := o.deps.accountClient(p.CAFile)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	d, err := client.Discover(ctx, p.Authority, p.Tenant)
	if err != nil {
		return accountError(err, "check --tenant")
	}
	p.TenantID = d.TenantID

	// A token for the client itself proves the credentials without
	// needing any API to be registered or any role granted; --scope, as
	// in az, asks for that API's instead.
	self := account.Target{Scope: p.ClientID + "/.default"}
	if len(o.scopes) > 0 {
		self = account.Target{Scope: strings.Join(o.scopes, " ")}
	}
	tok, err := client.Acquire(ctx, p, self)
	if err != nil {
		return accountError(err, "check -u and -p (or --certificate)")
	}
	if err := store.SaveProfile(p); err != nil {
		return err
	}
	p.IsDefault = true
	if err := store.PutToken(p, self, tok, o.deps.Now()); err != nil {
		return fmt.Errorf("logged in, but cannot write the token cache in %s: %w", store.Dir(), err)
	}

	v := accountView(p)
	v.CloudName, v.EnvironmentName = cloudName, ""
	return o.out.print(cmd.OutOrStdout(), []azAccount{v})
}
