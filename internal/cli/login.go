package cli

import (
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
	username             string
	password             string
	certificate          string
	tenant               string
	authority            string
	caFile               string
	allowNoSubscriptions bool
	out                  output
}

func newLoginCmd() *cobra.Command {
	o := &loginOptions{}
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in as a service principal",
		Long: `Log in to a tessera identity provider, as az login does.

Today only --service-principal is supported: a client (application) id with a
client secret or a certificate. login resolves --tenant by discovery, checks
the credentials by getting a token for the client itself, and stores the
profile as the default account.

Like az, login keeps the service principal's secret (or the path of its
certificate) in profiles.json, a file readable only by you (0600), in the
config directory ($TESSERA_CONFIG_DIR, else ~/.config/tessera). Prefer
--certificate where a secret on disk is too much. Give the secret in
$TESSERA_CLIENT_SECRET instead of -p to keep it out of shell history.

The authority is --authority, else $TESSERA_AUTHORITY, else ` + defaultAuthority + `.
A server using its own local CA needs --ca-file (or $TESSERA_CA_FILE, or
SSL_CERT_FILE); --ca-file is remembered in the profile.`,
		Example: `  tessera login --service-principal -u 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9 -p "$SECRET" --tenant default \
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
	f.StringVarP(&o.username, "username", "u", "", "the service principal's client (application) id")
	f.StringVarP(&o.password, "password", "p", "", "the client secret (default $TESSERA_CLIENT_SECRET)")
	f.StringVar(&o.certificate, "certificate", "", "PEM file with the client certificate and its RSA private key, instead of -p")
	f.StringVarP(&o.tenant, "tenant", "t", "", "the tenant: a GUID or a domain name such as default")
	f.StringVar(&o.authority, "authority", "", "the identity provider's URL (default $TESSERA_AUTHORITY, else "+defaultAuthority+")")
	f.StringVar(&o.caFile, "ca-file", "", "PEM file of the CA the server's TLS certificate is signed by (default $TESSERA_CA_FILE); remembered")
	f.BoolVar(&o.allowNoSubscriptions, "allow-no-subscriptions", false, "accepted for az compatibility: every tessera login is a tenant-level account")
	o.out.addFlags(cmd)
	clientUsageErrors(cmd)
	return cmd
}

// loginUser is where an interactive user login (device code, browser)
// will go; a user profile will then sit beside service principal ones.
func (o *loginOptions) loginUser(*cobra.Command) error {
	return usageErrorf("interactive user login arrives in a later version: log in as a service principal with `tessera login --service-principal -u CLIENT_ID -p SECRET --tenant TENANT`")
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
	authority := o.authority
	if authority == "" {
		authority = os.Getenv("TESSERA_AUTHORITY")
	}
	if authority == "" {
		authority = defaultAuthority
	}
	authority = account.NormalizeAuthority(authority)
	if err := account.CheckAuthority(authority); err != nil {
		problems = append(problems, err.Error())
	}
	caFile := o.caFile
	if caFile == "" {
		caFile = os.Getenv("TESSERA_CA_FILE")
	}
	// Absolute paths: the profile is used from whatever directory the next
	// command runs in.
	var err error
	if caFile, err = absPath(caFile); err != nil {
		problems = append(problems, err.Error())
	}
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
	client, err := newAccountClient(p.CAFile)
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
	// needing any API to be registered or any role granted.
	self := account.Target{Scope: p.ClientID + "/.default"}
	tok, err := client.Acquire(ctx, p, self)
	if err != nil {
		return accountError(err, "check -u and -p (or --certificate)")
	}
	if err := store.SaveProfile(p); err != nil {
		return err
	}
	p.IsDefault = true
	if err := store.PutToken(p, self, tok, accountClock()); err != nil {
		return fmt.Errorf("logged in, but cannot write the token cache in %s: %w", store.Dir(), err)
	}

	v := accountView(p)
	v.CloudName, v.EnvironmentName = cloudName, ""
	return o.out.print(cmd.OutOrStdout(), []azAccount{v})
}
