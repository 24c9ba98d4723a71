package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tessera-id/tessera/internal/account"
	"github.com/tessera-id/tessera/internal/directory"
)

// Deps are what the commands take from the world besides their arguments,
// environment and standard streams (those come through cobra: SetArgs,
// SetIn, SetOut, SetErr). cmd/tessera passes SystemDeps; tests pass fakes,
// so that no test swaps a package variable under another.
type Deps struct {
	// Now is the clock of the client commands (login, account, rest,
	// logout, and admin's token from the login cache): it decides when a
	// cached token has expired.
	Now func() time.Time
	// OpenBrowser shows `tessera login`'s sign-in page to the person.
	OpenBrowser func(ctx context.Context, url string) error
	// Sleep waits between device code polls; nil waits for real.
	Sleep func(ctx context.Context, d time.Duration) error
	// AdminToken finds a bearer token for the admin API of server when
	// neither --token nor $TESSERA_ADMIN_TOKEN gives one; tenant is the
	// tenant the command manages ("" for server-wide commands). nil: from
	// the profiles `tessera login` stored, on the clock Now.
	AdminToken func(ctx context.Context, server, tenant string) (string, error)
}

// SystemDeps are the real ones: the system clock and browser, real waits,
// admin tokens from the login cache.
func SystemDeps() Deps { return Deps{}.complete() }

// complete puts the system's in place of what d leaves nil.
func (d Deps) complete() Deps {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.OpenBrowser == nil {
		d.OpenBrowser = account.OpenSystemBrowser
	}
	if d.AdminToken == nil {
		d.AdminToken = d.loginCacheAdminToken
	}
	return d
}

// newHTTPClient trusts the system CAs plus caFile.
func newHTTPClient(caFile string) (*account.Client, error) {
	hc, err := account.NewHTTPClient(caFile)
	if err != nil {
		return nil, withExit(ExitUsage, fmt.Errorf("%v: fix --ca-file or TESSERA_CA_FILE", err))
	}
	return &account.Client{HTTP: hc}, nil
}

// accountClient is a client of the identity provider on d's clock, which
// trusts the system CAs plus caFile.
func (d *Deps) accountClient(caFile string) (*account.Client, error) {
	c, err := newHTTPClient(caFile)
	if err != nil {
		return nil, err
	}
	c.Now = d.Now
	return c, nil
}

// loginCacheAdminToken finds a bearer token for the admin API of server
// from the profile that `tessera login` stored for this server,
// preferring one of the tenant the command manages (tenant is "" for
// server-wide commands; a token of the home tenant serves every tenant).
// Tokens come from the login cache.
func (d *Deps) loginCacheAdminToken(ctx context.Context, server, tenant string) (string, error) {
	store, err := openAccountStore()
	if err != nil {
		return "", err
	}
	chosen, err := adminProfile(store, server, tenant)
	if err != nil {
		return "", err
	}
	if chosen == nil {
		server = account.NormalizeAuthority(server)
		return "", withExit(ExitAuth, fmt.Errorf("no admin token for %s: log in first (`tessera login --authority %s`, or `tessera login --service-principal -u CLIENT_ID -p SECRET --tenant TENANT --authority %s`), or pass --token (or set TESSERA_ADMIN_TOKEN)", server, server, server))
	}
	caFile := os.Getenv("TESSERA_CA_FILE")
	if caFile == "" {
		caFile = chosen.CAFile
	}
	client, err := d.accountClient(caFile)
	if err != nil {
		return "", err
	}
	s := &clientSession{store: store, client: client, profile: *chosen}
	tok, err := s.token(ctx, account.Target{Scope: directory.AdminAPIIdentifierURI + "/.default"})
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// adminProfile is the profile `tessera admin --server` acts as: of those
// `tessera login` stored for server, the current account if it is one of
// them (as `az` acts as the account in use), preferring one of the tenant
// the command manages; nil if none is for server.
func adminProfile(accounts *account.Store, server, tenant string) (*account.Profile, error) {
	profiles, err := accounts.Profiles()
	if err != nil {
		return nil, err
	}
	cur, _ := accounts.Current()
	server = account.NormalizeAuthority(server)
	var chosen *account.Profile
	best := -1
	for i, p := range profiles {
		if account.NormalizeAuthority(p.Authority) != server {
			continue
		}
		score := 0
		// The home tenant is every command's default, not a choice: it
		// does not outweigh the account in use.
		if tenant != "" && tenant != adminHomeTenant && sameTenant(p, tenant) {
			score += 2
		}
		if p.Key() == cur.Key() {
			score++
		}
		if score > best {
			chosen, best = &profiles[i], score
		}
	}
	return chosen, nil
}
