package cli

import "github.com/spf13/cobra"

// TODO: being built.
func newAccountCmd() *cobra.Command {
	return &cobra.Command{Use: "account", Hidden: true}
}
