package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tessera-id/tessera/internal/account"
)

func newLogoutCmd() *cobra.Command {
	var username string
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Log out: forget an account's stored credentials and cached tokens",
		Long: "Log out of the default account, or with --username of every account of that\n" +
			"client id, removing the stored profile (and with it the client secret) and every\n" +
			"token cached for it. Tokens already handed out stay valid until they expire.",
		Example: "  tessera logout\n  tessera logout --username 0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
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
					if strings.EqualFold(p.ClientID, username) {
						victims = append(victims, p)
					}
				}
				if len(victims) == 0 {
					return withExit(ExitNotFound, fmt.Errorf("%s is not logged in: see `tessera account list`", username))
				}
			}
			for _, p := range victims {
				if _, err := store.RemoveProfile(p); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&username, "username", "u", "", "client id of the account to log out of (default: the default account)")
	clientUsageErrors(cmd)
	return cmd
}
