package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/reports/pricing"
	"github.com/cachebench/cachebench/scenarios"
)

// exitThreshold is the exit code of a run whose thresholds failed; exitInterrupted that
// of a run ended by Ctrl-C (its partial result is written).
const (
	exitThreshold   = 1
	exitInterrupted = 130
)

// exitCodeError carries an exit code other than the error kinds' own.
type exitCodeError struct {
	code int
	err  error
}

func (e exitCodeError) Error() string { return e.err.Error() }
func (e exitCodeError) Unwrap() error { return e.err }

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the named scenarios with one-line descriptions",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, s := range scenarios.List() {
				fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
			}
			return tw.Flush()
		},
	}
}

// runFlags are the flags of `cachebench run`.
type runFlags struct {
	env     envFlags
	out     string
	sets    []string
	seed    int64
	quiet   bool
	pricing string
	monthly float64
}

func newRunCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run NAME|FILE",
		Short: "Run a scenario against the services and write DIR/result.json",
		Long: `Run a named scenario (see 'cachebench list') or a scenario file. A scenario with a
sweep runs once per point, each into its own folder under --out.

Exit codes: 0 success, 1 a threshold failed, 2 bad input (scenario, flag),
3 the run failed, 130 interrupted (the partial result is written).`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("run takes one scenario name or file, got %d arguments (see 'cachebench list')", len(args))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runScenario(c, args[0], &f)
		},
	}
	f.env.register(c)
	fl := c.Flags()
	fl.StringVar(&f.out, "out", "", "folder for result.json (default results/NAME-TIME)")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario key, e.g. --set cache.l1.ttl=10s (repeatable)")
	fl.Int64Var(&f.seed, "seed", 0, "override the scenario's seed")
	fl.BoolVar(&f.quiet, "quiet", false, "print nothing but errors")
	fl.StringVar(&f.pricing, "pricing", "", "price table JSON for cost_usd (default: the built-in AWS us-east-1 table)")
	fl.Float64Var(&f.monthly, "monthly-requests", 0, "project a monthly bill at this many requests a month (sets cost.monthly_requests)")
	return c
}

func runScenario(c *cobra.Command, name string, f *runFlags) error {
	sets := f.sets
	if c.Flags().Changed("seed") {
		sets = append(sets, "seed="+strconv.FormatInt(f.seed, 10))
	}
	if c.Flags().Changed("monthly-requests") {
		sets = append(sets, "cost.monthly_requests="+strconv.FormatFloat(f.monthly, 'f', -1, 64))
	}
	var table *pricing.Table
	if f.pricing != "" {
		t, err := pricing.Load(f.pricing)
		if err != nil {
			return usageError{err}
		}
		table = t
	}
	s, err := scenarios.Load(name, sets)
	if err != nil {
		return usageError{err}
	}
	if _, err := reports.ParseThresholds(s.Thresholds); err != nil {
		return usageError{err}
	}
	points, err := scenarios.Expand(s)
	if err != nil {
		return usageError{err}
	}
	out := f.out
	if out == "" {
		out = filepath.Join("results", s.Name+"-"+time.Now().Format("20060102-150405"))
	}
	if err := checkOutDir(out); err != nil {
		return usageError{err}
	}
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	if f.quiet {
		stdout = io.Discard
	}

	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f.env.cfg.Log = stderr
	if f.quiet {
		f.env.cfg.Log = io.Discard
	}
	env, err := mocks.Start(ctx, f.env.cfg)
	if err != nil {
		if strings.HasPrefix(err.Error(), "unknown environment") {
			return usageError{err}
		}
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = env.Close(cctx)
	}()

	var progress io.Writer
	if !f.quiet && isTerminal(stderr) {
		progress = stderr
	}
	failed := false
	for i, p := range points {
		dir := out
		if len(points) > 1 {
			dir = filepath.Join(out, fmt.Sprintf("%02d-%s", i+1, slug(p.Point)))
			fmt.Fprintf(stdout, "point %d/%d: %s\n", i+1, len(points), p.Point)
		}
		res, err := bench.Run(ctx, p, env, bench.Options{Progress: progress, Log: f.env.cfg.Log, Pricing: table})
		if err != nil {
			return fmt.Errorf("run %s: %w", p.Name, err)
		}
		path := filepath.Join(dir, "result.json")
		if err := res.Write(path); err != nil {
			return err
		}
		reports.WriteSummary(stdout, res)
		fmt.Fprintf(stdout, "  result       %s\n", path)
		if res.ThresholdsFailed() {
			failed = true
		}
		if res.Interrupted {
			return exitCodeError{exitInterrupted, fmt.Errorf("interrupted: the partial result is in %s", path)}
		}
	}
	if failed {
		return exitCodeError{exitThreshold, errors.New("a threshold failed (see the summary above)")}
	}
	return nil
}

// checkOutDir refuses an --out folder that already holds a result, so one run never
// overwrites another.
func checkOutDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "result.json")); err == nil {
		return fmt.Errorf("--out %s already holds a result.json: choose another folder or remove it", dir)
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("--out %s is a file, not a folder", dir)
	}
	return nil
}

var slugRe = regexp.MustCompile(`[^A-Za-z0-9.]+`)

// slug turns a sweep point into a folder name.
func slug(point string) string {
	s := strings.Trim(slugRe.ReplaceAllString(point, "_"), "_")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// isTerminal reports whether w is a terminal, where the live progress line belongs.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
