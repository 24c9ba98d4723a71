package cli

import "github.com/spf13/cobra"

// TODO: being built.
func newLogoutCmd() *cobra.Command {
	return &cobra.Command{Use: "logout", Hidden: true}
}
