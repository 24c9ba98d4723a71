package cli

import "github.com/spf13/cobra"

// TODO: being built.
func newAdminCmd() *cobra.Command {
	return &cobra.Command{Use: "admin", Hidden: true}
}
