// Package cli is tessera's command tree: the server (serve, proxy), the
// client side a person knows from az (login, account, rest, logout) and
// directory management (admin).
package cli

import (
	"errors"
	"fmt"
	"strings"

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
		newHealthCmd(),
		newProxyCmd(),
		newLoginCmd(&d),
		newLogoutCmd(&d),
		newAccountCmd(&d),
		newRestCmd(&d),
		newAdminCmd(&d),
		newLoadtestCmd(),
		newMigrateCmd(),
		newBackupCmd(),
		newRestoreCmd(),
		newVersionCmd(),
	)
	usageErrors(root)
	return root
}

// usageErrors makes every argument error a usage error (exit 2), as the
// flag errors are, and has a mistyped subcommand at any level suggest the
// one meant. Left to cobra, `tessera acount list` exits 1, and a typo one
// level down gets no suggestion.
func usageErrors(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		usageErrors(c)
	}
	if cmd.HasSubCommands() {
		// A group has no action of its own: any argument is a mistyped
		// subcommand, and the group alone prints its help.
		cmd.Args = unknownSubcommand
		if cmd.Run == nil && cmd.RunE == nil {
			cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
		}
		return
	}
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error { return withExit(ExitUsage, args(c, a)) }
	}
}

// unknownSubcommand is the Args of a group: it names the command not
// found, where help is, and the nearest commands, as cobra's root does.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q: see `%s --help`", args[0], c.CommandPath(), c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2
	}
	if s := c.SuggestionsFor(args[0]); len(s) > 0 && !c.DisableSuggestions {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return withExit(ExitUsage, errors.New(msg))
}
