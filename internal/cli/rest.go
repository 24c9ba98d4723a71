package cli

import "github.com/spf13/cobra"

// TODO: being built.
func newRestCmd() *cobra.Command {
	return &cobra.Command{Use: "rest", Hidden: true}
}
