package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/fedplane/fedplane/internal/version"
)

func newRootCommand(out, errOut io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "fedctl",
		Short:         "fedctl drives a fedplane federation (KubeFed API)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errOut)
	root.AddCommand(newJoinCommand(), newUnjoinCommand(), newEnableCommand(), newDisableCommand(),
		newFederateCommand(), newOrphaningCommand(), newPlanCommand(), newGetCommand(), newDescribeCommand(), newVersionCommand())
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the commit fedctl was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return version.Print(cmd.OutOrStdout(), "fedctl")
		},
	}
}
