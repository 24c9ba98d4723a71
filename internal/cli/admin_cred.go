package cli

import (
	"context"
	"encoding/pem"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/adminapi"
)

// secretOutput is what `secret add` prints, the one time the secret is
// shown: the credential with secretText (Graph's name), plus password and
// tenant, the names `az ad app credential reset` prints, so that scripts
// written for az (--query password -o tsv) keep working.
type secretOutput struct {
	adminapi.SecretCredential
	Password string `json:"password"`
	Tenant   string `json:"tenant"`
}

// parseEndDate reads an RFC 3339 date-time, or a date, which means the end
// of that day in UTC (as az's --end-date 2299-12-31 does).
func parseEndDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.Add(24*time.Hour - time.Second), nil
	}
	return time.Time{}, usageErrorf("--end-date %q must be a date (2027-01-31) or an RFC 3339 date-time (2027-01-31T12:00:00Z)", s)
}

func newAdminSecretCmd(o *adminOptions) *cobra.Command {
	var addTenant, listTenant, removeTenant string
	var addOut, listOut output

	var appID, name, endDate string
	var years int
	add := adminLeaf("add", "Create a client secret and print it, once",
		`  tessera admin secret add --id 6a1f2c3d-0000-4000-8000-000000000001 --display-name ci --years 1
  # only the secret, for a script
  tessera admin secret add --id api://orders-worker --end-date 2027-01-31 --query secretText -o tsv`)
	add.Long = `Create a client secret for an application. The server generates it (256 bits,
prefixed tss_) and keeps only a keyed hash: the output is the only time the
secret is shown. It holds secretText, and the same value as password, the name
az ad app credential reset uses. The secret lives 180 days unless --years or
--end-date says otherwise; at most two years.`
	add.Flags().StringVar(&appID, "id", "", "the application's appId, identifier URI or object id (required)")
	add.Flags().StringVar(&name, "display-name", "", "a name to tell the secret apart")
	add.Flags().IntVar(&years, "years", 0, "lifetime in years (1 or 2)")
	add.Flags().StringVar(&endDate, "end-date", "", "expiry: a date (end of that day, UTC) or an RFC 3339 date-time")
	addTenantFlag(add, &addTenant)
	addOut.addFlags(add)
	add.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "id"); err != nil {
			return err
		}
		var end *time.Time
		switch {
		case cmd.Flags().Changed("years") && endDate != "":
			return usageErrorf("pass --years or --end-date, not both")
		case cmd.Flags().Changed("years"):
			if years < 1 {
				return usageErrorf("--years must be at least 1")
			}
			// 365-day years: two of them are exactly the longest lifetime
			// the directory allows, whatever leap days lie ahead.
			t := time.Now().Add(time.Duration(years) * 365 * 24 * time.Hour)
			end = &t
		case endDate != "":
			t, err := parseEndDate(endDate)
			if err != nil {
				return err
			}
			end = &t
		}
		return adminRun(cmd, o, addTenant, &addOut, func(ctx context.Context, b adminBackend) (any, error) {
			s, err := b.AddSecret(ctx, addTenant, appID, name, end)
			if err != nil {
				return nil, err
			}
			return secretOutput{SecretCredential: s, Password: s.SecretText, Tenant: s.TenantID}, nil
		})
	}

	var listApp string
	list := adminLeaf("list", "List an application's credentials, secrets and certificates (never a secret's text)",
		`  tessera admin secret list --id api://orders-worker -o table`)
	list.Flags().StringVar(&listApp, "id", "", "the application's appId, identifier URI or object id (required)")
	addTenantFlag(list, &listTenant)
	listOut.addFlags(list)
	list.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "id"); err != nil {
			return err
		}
		return adminRun(cmd, o, listTenant, &listOut, func(ctx context.Context, b adminBackend) (any, error) {
			return b.ListCredentials(ctx, listTenant, listApp)
		})
	}

	var removeApp, keyID string
	remove := adminLeaf("remove", "Remove a secret or certificate; it stops working at once",
		`  tessera admin secret remove --id api://orders-worker --key-id 3c1d…  # a keyId from secret list`)
	remove.Flags().StringVar(&removeApp, "id", "", "the application's appId, identifier URI or object id (required)")
	remove.Flags().StringVar(&keyID, "key-id", "", "the credential's keyId (required)")
	addTenantFlag(remove, &removeTenant)
	remove.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "id", "key-id"); err != nil {
			return err
		}
		return adminRun(cmd, o, removeTenant, nil, func(ctx context.Context, b adminBackend) (any, error) {
			return nil, b.RemoveCredential(ctx, removeTenant, removeApp, keyID)
		})
	}
	return adminGroup("secret", "Manage client secrets",
		`  tessera admin secret add --id CLIENT_APPID --years 1
  tessera admin secret list --id CLIENT_APPID`, add, list, remove)
}

// certificatePEM returns the first certificate of a PEM or DER file as
// PEM. Only that block is sent: a file that also holds the private key
// must not put the key on the wire.
func certificatePEM(raw []byte) (string, error) {
	rest := raw
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			return string(pem.EncodeToMemory(block)), nil
		}
	}
	if len(raw) > 0 && raw[0] == 0x30 { // a DER SEQUENCE
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: raw})), nil
	}
	return "", usageErrorf("--cert holds no certificate: give a PEM (-----BEGIN CERTIFICATE-----) or DER file")
}

func newAdminCertCmd(o *adminOptions) *cobra.Command {
	var appID, file, name, tenant string
	var out output
	add := adminLeaf("add", "Register a certificate the application signs client assertions with",
		`  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout worker.key \
      -out worker.pem -days 365 -subj /CN=orders-worker
  tessera admin cert add --id CLIENT_APPID --cert worker.pem`)
	add.Long = `Register an X.509 certificate (RSA of at least 2048 bits, or ECDSA) for an
application. The client proves itself with a JWT signed by the certificate's
private key (RFC 7523, private_key_jwt), which never leaves the client: only
the certificate is read from --cert and sent. The credential is valid as long
as the certificate.`
	add.Flags().StringVar(&appID, "id", "", "the application's appId, identifier URI or object id (required)")
	add.Flags().StringVar(&file, "cert", "", "PEM or DER file of the certificate (required)")
	add.Flags().StringVar(&name, "display-name", "", "a name (default CN=<the certificate's common name>)")
	addTenantFlag(add, &tenant)
	out.addFlags(add)
	add.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := requireFlags(cmd, "id", "cert"); err != nil {
			return err
		}
		raw, err := os.ReadFile(file)
		if err != nil {
			return usageErrorf("--cert: %v", err)
		}
		certPEM, err := certificatePEM(raw)
		if err != nil {
			return err
		}
		return adminRun(cmd, o, tenant, &out, func(ctx context.Context, b adminBackend) (any, error) {
			return b.AddCertificate(ctx, tenant, appID, name, certPEM)
		})
	}
	return adminGroup("cert", "Manage client certificates", `  tessera admin cert add --id CLIENT_APPID --cert worker.pem
  tessera admin secret list --id CLIENT_APPID   # lists certificates too`, add)
}
