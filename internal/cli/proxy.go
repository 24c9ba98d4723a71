package cli

import "github.com/spf13/cobra"

// TODO: being built.
func newProxyCmd() *cobra.Command {
	return &cobra.Command{Use: "proxy", Hidden: true}
}
