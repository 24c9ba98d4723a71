package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/account"
)

func newLogoutCmd(d *Deps) *cobra.Command {
	var username string
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Log out: revoke a person's sign-in and forget an account's credentials and tokens",
		Long: "Log out of the default account, or with --username of every account of that user name\n" +
			"(a person's UPN, a service principal's client id).\n\n" +
			"A person's refresh token is revoked at the server first, where the server's discovery\n" +
			"document advertises a revocation endpoint (RFC 7009; tessera does, Entra does not), so\n" +
			"that no copy of it works any more. Then the stored profile (and with it a service\n" +
			"principal's secret) and every token cached for the account are removed. If the server\n" +
			"cannot be reached the account is still removed here, with a warning. Access tokens\n" +
			"already handed out stay valid until they expire, unless the API follows tessera's\n" +
			"revocation feed.",
		Example: "  tessera logout\n  tessera logout --username alice@contoso.example\n  tessera logout --username 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := openAccountStore()
			if err != nil {
				return err
			}
			var victims []account.Profile
			if username == "" {
				cur, err := store.Current()
				if errors.Is(err, account.ErrNotLoggedIn) {
					return withExit(ExitAuth, errors.New("not logged in, so there is nothing to log out of"))
				}
				if err != nil {
					return err
				}
				victims = append(victims, cur)
			} else {
				ps, err := store.Profiles()
				if err != nil {
					return err
				}
				for _, p := range ps {
					if strings.EqualFold(p.Name(), username) {
						victims = append(victims, p)
					}
				}
				if len(victims) == 0 {
					return withExit(ExitNotFound, fmt.Errorf("%s is not logged in: see `tessera account list`", username))
				}
			}
			for _, p := range victims {
				if err := logout(cmd, d, store, p); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&username, "username", "u", "", "user name or client id of the account to log out of (default: the default account)")
	clientUsageErrors(cmd)
	return cmd
}

// logout revokes and forgets p. A failure to revoke is a warning: the
// person asked to be logged out here, and is.
func logout(cmd *cobra.Command, d *Deps, store *account.Store, p account.Profile) error {
	caFile := os.Getenv("TESSERA_CA_FILE")
	if caFile == "" {
		caFile = p.CAFile
	}
	client, err := d.accountClient(caFile)
	if err != nil {
		// A CA file that went away must not keep the account stored.
		if _, rerr := store.RemoveProfile(p); rerr != nil {
			return rerr
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s is logged out here, but its sign-in was not revoked at the server: %v\n", p.Name(), err)
		return nil
	}
	_, revokeErr, err := client.Logout(cmd.Context(), store, p)
	if err != nil {
		return err
	}
	if revokeErr != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s is logged out here, but its sign-in was not revoked at the server and stays valid until it expires: %v\n", p.Name(), revokeErr)
	}
	return nil
}
