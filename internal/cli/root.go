// Package cli is tessera's command tree: the server (serve, proxy), the
// client side a person knows from az (login, account, rest, logout) and
// directory management (admin).
package cli

import (
	"github.com/spf13/cobra"
)

// Version names a release when set at build time with -ldflags
// "-X github.com/tessera-id/tessera/internal/cli.Version=v1.2.3"; otherwise
// the version comes from the build information (see describeBuild).
var Version = "dev"

// NewRoot builds the whole command tree on d; a nil field of d is the
// system's (see SystemDeps). Commands write results to the command's
// stdout and diagnostics to its stderr, so tests can run them in-process.
func NewRoot(d Deps) *cobra.Command {
	d = d.complete()
	root := &cobra.Command{
		Use:           "tessera",
		Short:         "A self-hosted identity provider speaking the Microsoft identity platform's protocol",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion().String(),
	}
	// Bad flags are usage errors (exit 2), on every command.
	root.SetVersionTemplate(versionTemplate)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withExit(ExitUsage, err) })
	root.AddCommand(
		newServeCmd(),
		newProxyCmd(),
		newLoginCmd(&d),
		newLogoutCmd(&d),
		newAccountCmd(&d),
		newRestCmd(&d),
		newAdminCmd(&d),
		newLoadtestCmd(),
		newMigrateCmd(),
		newVersionCmd(),
	)
	return root
}
