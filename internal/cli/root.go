// Package cli is tessera's command tree: the server (serve, proxy), the
// client side a person knows from az (login, account, rest, logout) and
// directory management (admin).
package cli

import (
	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=…".
var Version = "dev"

// NewRoot builds the whole command tree. Commands write results to the
// command's stdout and diagnostics to its stderr, so tests can run them
// in-process.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "tessera",
		Short:         "A self-hosted identity provider speaking the Microsoft identity platform's protocol",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	// Bad flags are usage errors (exit 2), on every command.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withExit(ExitUsage, err) })
	root.AddCommand(
		newServeCmd(),
		newProxyCmd(),
		newLoginCmd(),
		newLogoutCmd(),
		newAccountCmd(),
		newRestCmd(),
		newAdminCmd(),
		newLoadtestCmd(),
		newMigrateCmd(),
	)
	return root
}
