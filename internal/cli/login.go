package cli

import "github.com/spf13/cobra"

// TODO: being built.
func newLoginCmd() *cobra.Command {
	return &cobra.Command{Use: "login", Hidden: true}
}
