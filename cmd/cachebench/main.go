// Command cachebench measures tiered caches in front of the Stripe API: see README.md.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/cachebench/cachebench/bench"
)

// Exit codes of the command line (DESIGN.md): 0 success, 1 a threshold failed (see
// run.go), 2 bad input, 3 a failure of the run.
const (
	exitOK       = 0
	exitBadInput = 2
	exitFailure  = 3
)

// usageError marks an error caused by the user's input (exit code 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func main() {
	if os.Getenv("CACHEBENCH_DEBUG") != "1" {
		// testcontainers prints a banner on first contact with Docker; the command line
		// prints its own account of what it started.
		tclog.SetDefault(tclog.NewNoopLogger())
		// Toxiproxy's toxics log through zerolog's global logger, which starts at trace
		// level; their lines would break the progress line and the summary.
		zerolog.SetGlobalLevel(zerolog.WarnLevel)
	}
	// Every in-process connection of the embedded environment costs two descriptors per
	// hop: a soft limit of 1024 would be the first thing to break under load.
	_, _ = bench.RaiseOpenFileLimit()
	stdout := os.Stdout
	if os.Getenv("CACHEBENCH_DEBUG") != "1" {
		// The in-process stripe-mock of the embedded environment prints a line per request
		// with fmt.Printf; cachebench writes its own output to the stdout it saved here.
		if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
			os.Stdout = null
		}
	}
	os.Exit(run(os.Args[1:], stdout))
}

// run executes the command line, writing its output to stdout, and returns the process's
// exit code.
func run(args []string, stdout *os.File) int {
	root := newRoot()
	root.SetOut(stdout)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "cachebench:", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitBadInput
	}
	var ce exitCodeError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitFailure
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "cachebench",
		Short:         "Measure tiered caches (in-process, Redis, DynamoDB) in front of the Stripe API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Flag and argument errors are bad input.
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(newListCmd(), newRunCmd(), newReportCmd(), newCompareCmd(), newMergeCmd(), newEnvCmd())
	return root
}
