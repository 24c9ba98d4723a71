package cli

import (
	"context"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// adminOptions are the flags of every `tessera admin` command: where the
// directory is (a data folder or DSN on this host, or a server's admin API)
// and how to reach it.
type adminOptions struct {
	dataDir string
	dsn     string
	server  string
	token   string
	caFile  string
	deps    *Deps
}

const adminHomeTenant = "default"

func newAdminCmd(d *Deps) *cobra.Command {
	o := &adminOptions{deps: d}
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage tenants, applications, service principals, credentials, role assignments, users, consents, bans and keys; read the audit log",
		Long: `Manage the directory, as az ad does for Entra ID.

Two ways to reach it, with the same commands and the same output:
  on the server host   --data DIR ($TESSERA_DATA, default ./tessera-data) or
                       --db DSN ($TESSERA_DB): works on the store directly, as a
                       system administrator; for bootstrapping.
  anywhere else        --server URL ($TESSERA_SERVER): calls the admin API with a
                       bearer token for api://tessera-admin holding Tessera.Admin:
                       --token ($TESSERA_ADMIN_TOKEN, which keeps it out of the
                       process list) or the login cache (tessera login).
An explicit --data or --db wins over $TESSERA_SERVER.

Exit codes: 2 invalid input, 3 not found, 4 not authorized, 1 anything else.`,
		Example: `  tessera admin app create --display-name orders-api --identifier-uri api://orders --app-role Reader
  tessera admin app list --server https://id.example.com --query "[].appId" -o tsv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	f := cmd.PersistentFlags()
	f.StringVar(&o.dataDir, "data", "", "data folder of a local tessera (default $TESSERA_DATA or ./tessera-data)")
	f.StringVar(&o.dsn, "db", "", "database DSN of a local tessera (default $TESSERA_DB)")
	f.StringVar(&o.server, "server", "", "URL of a tessera server whose admin API to call (default $TESSERA_SERVER)")
	f.StringVar(&o.token, "token", "", "bearer token for the admin API (default $TESSERA_ADMIN_TOKEN, else the login cache)")
	f.StringVar(&o.caFile, "ca-file", "", "PEM file of the CA the server's TLS certificate is signed by (default $TESSERA_CA_FILE)")
	cmd.AddCommand(
		newAdminTenantCmd(o),
		newAdminAppCmd(o),
		newAdminSPCmd(o),
		newAdminSecretCmd(o),
		newAdminCertCmd(o),
		newAdminRoleCmd(o),
		newAdminUserCmd(o),
		newAdminConsentCmd(o),
		newAdminBansCmd(o),
		newAdminKeysCmd(o),
		newAdminAuditCmd(o),
	)
	adminUsageErrors(cmd)
	return cmd
}

// adminUsageErrors makes flag and argument errors of the whole subtree
// exit 2 and say where help is.
func adminUsageErrors(cmd *cobra.Command) {
	clientUsageErrors(cmd)
	for _, c := range cmd.Commands() {
		adminUsageErrors(c)
	}
}

// open picks and opens the backend. tenant is the tenant the command
// manages ("" for server-wide commands), for finding a token.
func (o *adminOptions) open(cmd *cobra.Command, tenant string) (adminBackend, error) {
	flags := cmd.Flags()
	local := flags.Changed("data") || flags.Changed("db")
	server := o.server
	if server == "" && !local {
		server = os.Getenv("TESSERA_SERVER")
	}
	if local && flags.Changed("server") {
		return nil, usageErrorf("--server calls a remote admin API and --data/--db open a local store: pass one of them")
	}
	if server == "" {
		if flags.Changed("token") || flags.Changed("ca-file") {
			return nil, usageErrorf("--token and --ca-file are for --server")
		}
		dataDir, dsn := o.dataDir, o.dsn
		if !local {
			dataDir, dsn = os.Getenv("TESSERA_DATA"), os.Getenv("TESSERA_DB")
		}
		if dataDir == "" {
			dataDir = "./tessera-data"
		}
		return newLocalBackend(cmd.Context(), dataDir, dsn, cmd.ErrOrStderr())
	}
	caFile := o.caFile
	if caFile == "" {
		caFile = os.Getenv("TESSERA_CA_FILE")
	}
	tok := o.token
	if tok == "" {
		tok = os.Getenv("TESSERA_ADMIN_TOKEN")
	}
	if caFile == "" && tok == "" {
		// The CA `tessera login` remembered for the profile the token will
		// come from: the server the first start named is most often on
		// its own local CA.
		if accounts, err := openAccountStore(); err == nil {
			if p, err := adminProfile(accounts, server, tenant); err == nil && p != nil {
				caFile = p.CAFile
			}
		}
	}
	var cached string
	source := func(ctx context.Context) (string, error) {
		if tok != "" {
			return tok, nil
		}
		if cached == "" {
			t, err := o.deps.AdminToken(ctx, server, tenant)
			if err != nil {
				return "", err
			}
			cached = t
		}
		return cached, nil
	}
	return newRemoteBackend(server, caFile, source)
}

// adminRun opens the backend, runs f, prints what it returns through out
// (nothing when f returns nil) and closes the backend.
func adminRun(cmd *cobra.Command, o *adminOptions, tenant string, out *output, f func(ctx context.Context, b adminBackend) (any, error)) (err error) {
	b, err := o.open(cmd, tenant)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := b.Close(); err == nil {
			err = cerr
		}
	}()
	v, err := f(cmd.Context(), b)
	if err != nil || v == nil || out == nil {
		return err
	}
	return out.print(cmd.OutOrStdout(), v)
}

// adminLeaf is a command that takes no arguments and prints a result.
func adminLeaf(use, short, example string) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.NoArgs}
}

// adminByID builds a command that acts on one object named by a required
// --id in a tenant (show, delete, enable, …). With printed the result goes
// through -o/--query; a delete prints nothing.
func adminByID(o *adminOptions, use, short, example, idUsage string, printed bool,
	f func(ctx context.Context, b adminBackend, tenant, id string) (any, error)) *cobra.Command {
	var id, tenant string
	var out *output
	cmd := adminLeaf(use, short, example)
	cmd.Flags().StringVar(&id, "id", "", idUsage)
	addTenantFlag(cmd, &tenant)
	if printed {
		out = &output{}
		out.addFlags(cmd)
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "id"); err != nil {
			return err
		}
		return adminRun(cmd, o, tenant, out, func(ctx context.Context, b adminBackend) (any, error) {
			return f(ctx, b, tenant, id)
		})
	}
	return cmd
}

// adminGroup is a noun of `tessera admin` (app, sp, …).
func adminGroup(use, short, example string, children ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{Use: use, Short: short, Example: example, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	g.AddCommand(children...)
	return g
}

func addTenantFlag(cmd *cobra.Command, tenant *string) {
	cmd.Flags().StringVar(tenant, "tenant", adminHomeTenant, "tenant id or domain name")
}

// requireFlags reports the first of names that was not given, as a usage error.
func requireFlags(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		if f := cmd.Flags().Lookup(n); f == nil || strings.TrimSpace(f.Value.String()) == "" || f.Value.String() == "[]" {
			return usageErrorf("--%s is required: see `%s --help`", n, cmd.CommandPath())
		}
	}
	return nil
}

func newAdminKeysCmd(o *adminOptions) *cobra.Command {
	var listOut, rotateOut output
	list := adminLeaf("list", "List the signing keys (never a private key)", `  tessera admin keys list -o table`)
	listOut.addFlags(list)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		return adminRun(cmd, o, "", &listOut, func(ctx context.Context, b adminBackend) (any, error) {
			return b.ListKeys(ctx)
		})
	}
	rotate := adminLeaf("rotate", "Rotate the signing keys", `  tessera admin keys rotate --query "[?state=='active'].kid" -o tsv`)
	rotate.Long = `Rotate the signing keys: the next key, published in JWKS since the last
rotation, starts signing; the active key is retired and stays published until
its tokens have expired; a new next key is published. Prints the key ring.`
	rotateOut.addFlags(rotate)
	rotate.RunE = func(cmd *cobra.Command, _ []string) error {
		return adminRun(cmd, o, "", &rotateOut, func(ctx context.Context, b adminBackend) (any, error) {
			return b.RotateKeys(ctx)
		})
	}
	return adminGroup("keys", "Manage the signing keys (home tenant administrators)", `  tessera admin keys list
  tessera admin keys rotate`, list, rotate)
}
