package cli

import "github.com/spf13/cobra"

// TODO: being built.
func newServeCmd() *cobra.Command {
	return &cobra.Command{Use: "serve", Hidden: true}
}
