package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	_ "iolab/models/all"
)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // the command failed
	exitUsage = 2 // the command line was wrong
)

// usageError marks an error in how the command was called.
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// run executes one command line and returns its exit status. Errors are one
// line on stderr, prefixed "iolab: ".
func run(args []string, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdout, stderr)
}

func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	msg := strings.TrimSpace(err.Error())
	var ue usageError
	// cobra's own errors (unknown flag or command, bad flag value) are
	// usage errors too.
	usage := errors.As(err, &ue) || isCobraUsage(msg)
	if usage {
		sub, _, ferr := root.Find(args)
		if ferr != nil || sub == nil {
			sub = root
		}
		msg += " (see '" + sub.CommandPath() + " --help')"
	}
	fmt.Fprintln(stderr, "iolab: "+strings.ReplaceAll(msg, "\n", "; "))
	if usage {
		return exitUsage
	}
	return exitError
}

func isCobraUsage(msg string) bool {
	for _, p := range []string{"unknown flag", "unknown shorthand", "unknown command", "invalid argument",
		"flag needs an argument", "accepts ", "requires ", "bad flag syntax"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "iolab",
		Short: "A benchmark harness and lab for Linux I/O models",
		Long: `iolab serves HTTP/1.1 with interchangeable I/O cores (Go's runtime poller,
raw epoll, io_uring) that share one parser and the same handlers, so the I/O
model is the only variable, and measures what each costs.`,
		Example: `  iolab models
  iolab serve --model netstd --app bench --addr 127.0.0.1:8080
  iolab version`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.CompletionOptions.DisableDefaultCmd = true
	for _, make := range commands {
		root.AddCommand(make())
	}
	return root
}

// commands are the verbs; each file that defines one adds its constructor
// here in an init function, so a new verb touches no other file.
var commands []func() *cobra.Command
