package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tessera-id/tessera/internal/directory"
)

// Bootstrap is what the first start creates and shows once: the home
// tenant and a client that holds the admin role there.
type Bootstrap struct {
	TenantID     string
	TenantDomain string
	ClientID     string
	ClientSecret string
	SecretExpiry time.Time
	// File is where the server wrote them (BootstrapFile, absolute).
	File string
}

// BootstrapClientName is the display name of the first admin client.
const BootstrapClientName = "tessera bootstrap admin"

// bootstrap creates the home tenant, its admin API application and an
// admin client with a secret, if the directory has no tenant yet, and
// gives the home tenant the further domain extra (--domain) when it is
// set. Two instances starting at once on an empty database: one creates
// the tenant, the other sees ErrConflict and does nothing.
func bootstrap(ctx context.Context, dir *directory.Service, log *slog.Logger, domain, extra string) (*Bootstrap, directory.Tenant, error) {
	b, home, err := bootstrapHome(ctx, dir, domain)
	if err == nil && extra != "" {
		err = ensureHomeDomain(ctx, dir, log, home, extra)
	}
	return b, home, err
}

// ensureHomeDomain gives the home tenant the domain of --domain unless a
// tenant holds it: the home tenant already (nothing to do), or another
// (an error in the log, naming it, and the server starts without: the
// domain cannot be the home tenant's while another tenant's users may be
// named in it).
func ensureHomeDomain(ctx context.Context, dir *directory.Service, log *slog.Logger, home directory.Tenant, domain string) error {
	holder, err := dir.ResolveTenant(ctx, domain)
	switch {
	case err == nil && holder.ID == home.ID:
		return nil
	case err == nil:
		log.Error("--domain: the domain belongs to another tenant, so the home tenant does not get it: remove it there first (tessera admin tenant domain remove)",
			"domain", domain, "tenant", holder.Domain, "tenant_id", holder.ID)
		return nil
	case !errors.Is(err, directory.ErrNotFound):
		return err
	}
	if _, err := dir.AddTenantDomain(ctx, home.ID, domain); err != nil && !errors.Is(err, directory.ErrConflict) {
		return fmt.Errorf("--domain %s: %w", domain, err)
	}
	return nil
}

func bootstrapHome(ctx context.Context, dir *directory.Service, domain string) (*Bootstrap, directory.Tenant, error) {
	tenants, err := dir.ListTenants(ctx)
	if err != nil {
		return nil, directory.Tenant{}, err
	}
	if len(tenants) > 0 {
		home, err := dir.ResolveTenant(ctx, domain)
		if errors.Is(err, directory.ErrNotFound) {
			// The home tenant is the oldest one when its domain changed.
			home, err = tenants[0], nil
		}
		if err == nil {
			// Data folders from before the CLI client existed get it now.
			_, err = dir.EnsureCLIApplication(ctx, home.ID)
		}
		if err == nil {
			// And every tenant the management application, which the
			// Azure CLI asks a token for at login.
			err = ensureManagement(ctx, dir, tenants)
		}
		return nil, home, err
	}
	t, err := dir.CreateTenantWithAdmin(ctx, directory.TenantSpec{Domain: domain, DisplayName: "Home tenant"})
	if errors.Is(err, directory.ErrConflict) {
		home, err := dir.ResolveTenant(ctx, domain)
		return nil, home, err
	}
	if err != nil {
		return nil, directory.Tenant{}, fmt.Errorf("bootstrap: %w", err)
	}
	app, err := dir.CreateApplication(ctx, t.ID, directory.ApplicationSpec{DisplayName: BootstrapClientName})
	if err != nil {
		return nil, t, fmt.Errorf("bootstrap: %w", err)
	}
	if _, err := dir.CreateServicePrincipal(ctx, t.ID, directory.ServicePrincipalSpec{AppID: app.AppID}); err != nil {
		return nil, t, fmt.Errorf("bootstrap: %w", err)
	}
	cred, secret, err := dir.AddSecret(ctx, t.ID, app.AppID, directory.SecretSpec{DisplayName: "bootstrap"})
	if err != nil {
		return nil, t, fmt.Errorf("bootstrap: %w", err)
	}
	if _, err := dir.AssignRole(ctx, t.ID, directory.AssignmentSpec{
		Principal: app.AppID, Resource: directory.AdminAPIIdentifierURI, Role: directory.AdminRole,
	}); err != nil {
		return nil, t, fmt.Errorf("bootstrap: %w", err)
	}
	return &Bootstrap{TenantID: t.ID, TenantDomain: t.Domain, ClientID: app.AppID, ClientSecret: secret, SecretExpiry: cred.ExpiresAt}, t, nil
}

// ensureManagement registers the management application in tenants that
// were created before it existed.
func ensureManagement(ctx context.Context, dir *directory.Service, tenants []directory.Tenant) error {
	for _, t := range tenants {
		if _, err := dir.EnsureManagementApplication(ctx, t.ID); err != nil {
			return fmt.Errorf("management application in tenant %s: %w", t.Domain, err)
		}
	}
	return nil
}

// BootstrapFile is the file in the data folder that holds the first
// start's admin credentials (mode 0600), for the operator to store
// elsewhere and delete. The secret goes there rather than into a log
// stream: journald, a container runtime or a log shipper would keep it
// wherever the logs go.
const BootstrapFile = "bootstrap-admin.json"

// bootstrapFileJSON is what BootstrapFile holds: what a script needs for
// a client-credentials token (jq -r .clientSecret bootstrap-admin.json).
type bootstrapFileJSON struct {
	TenantID        string    `json:"tenantId"`
	TenantDomain    string    `json:"tenantDomain"`
	ClientID        string    `json:"clientId"`
	ClientSecret    string    `json:"clientSecret"`
	SecretExpiresAt time.Time `json:"secretExpiresAt"`
	Authority       string    `json:"authority"`
	TokenURL        string    `json:"tokenUrl"`
	Scope           string    `json:"scope"`
}

// writeFile writes b to BootstrapFile in dir, created with O_EXCL so that
// it never overwrites a file an operator kept; when one is there (a data
// folder reused for a new PostgreSQL database), it writes beside it with
// the tenant id in the name instead. It returns the path.
func (b *Bootstrap) writeFile(dir, publicURL string) (string, error) {
	body, err := json.MarshalIndent(bootstrapFileJSON{
		TenantID: b.TenantID, TenantDomain: b.TenantDomain, ClientID: b.ClientID, ClientSecret: b.ClientSecret,
		SecretExpiresAt: b.SecretExpiry.UTC(), Authority: publicURL + "/" + b.TenantDomain,
		TokenURL: publicURL + "/" + b.TenantID + "/oauth2/v2.0/token", Scope: directory.AdminAPIIdentifierURI + "/.default",
	}, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, BootstrapFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		path = filepath.Join(dir, strings.TrimSuffix(BootstrapFile, ".json")+"-"+b.TenantID+".json")
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return "", fmt.Errorf("bootstrap credentials file: %w", err)
	}
	_, err = f.Write(append(body, '\n'))
	if err == nil {
		// The only copy of a secret shown once: on disk before the server
		// says where it is.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", fmt.Errorf("bootstrap credentials file: %w", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return path, nil
}

// warnLeftBootstrapFile says, at a later start, that the first start's
// credentials file is still in the data folder: it holds a live admin
// secret in plain text.
func warnLeftBootstrapFile(dir string, log *slog.Logger) {
	path := filepath.Join(dir, BootstrapFile)
	if _, err := os.Stat(path); err == nil {
		log.Warn("the first start's admin credentials are still in the data folder: store the secret elsewhere and delete the file", "file", path)
	}
}

// Print shows the one-time credentials with what to do with them. It is
// for a terminal only: the caller checks that stdout is one.
func (b *Bootstrap) Print(w io.Writer, publicURL string) {
	fmt.Fprintf(w, `
First start: created the home tenant and an admin client.
  tenant:        %s (%s)
  client id:     %s
  client secret: %s
  (expires %s)

The secret is shown this once and stored only as a keyed hash; it is also in
  %s
(readable only by this user): delete that file once you have stored the secret.
To use it:
  export TESSERA_CLIENT_SECRET='%s'
  tessera login --service-principal -u %s --tenant %s --authority %s
  tessera admin app list --server %s

`, b.TenantDomain, b.TenantID, b.ClientID, b.ClientSecret, b.SecretExpiry.Format(time.RFC3339), b.File,
		b.ClientSecret, b.ClientID, b.TenantDomain, publicURL, publicURL)
}

// PrintFile says where the credentials are without showing the secret:
// for stdout that is not a terminal (a pipe, a file, journald).
func (b *Bootstrap) PrintFile(w io.Writer) {
	fmt.Fprintf(w, `
First start: created the home tenant %s (%s) and an admin client %s.
Its secret is in %s (readable only by this user),
not in this output: store it elsewhere, then delete the file.

`, b.TenantDomain, b.TenantID, b.ClientID, b.File)
}
