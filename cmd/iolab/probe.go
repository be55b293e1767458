package main

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"iolab/models/uring"
)

type probeOptions struct {
	json bool
}

func init() { commands = append(commands, newProbeCmd) }

func newProbeCmd() *cobra.Command {
	o := &probeOptions{}
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Say what this machine's kernel offers the I/O cores",
		Long: `Print the kernel version, whether this process may use io_uring (and if not,
why: the kernel.io_uring_disabled sysctl, a seccomp filter, an old kernel),
the io_uring features and opcodes the kernel supports, which combinations of
setup flags it accepts (each one tried, not guessed from the version), and the
limits that decide how many rings and connections fit: RLIMIT_MEMLOCK and
RLIMIT_NOFILE. Every lesson starts here.`,
		Example: `  iolab probe
  iolab probe --json | jq .setup_flags`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := uring.Probe()
			if o.json {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return r.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print as JSON")
	return cmd
}
