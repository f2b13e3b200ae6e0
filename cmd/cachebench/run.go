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
	repeat  int
	shard   string
	startAt string
}

// maxRepeat bounds --repeat.
const maxRepeat = 100

func newRunCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run NAME|FILE",
		Short: "Run a scenario against the services and write DIR/result.json with its reports",
		Long: `Run a named scenario (see 'cachebench list') or a scenario file, print a summary, and
write into --out:

  result.json                 every figure of the run (schema cachebench/result/v1)
  report.md, report.html      its report; the HTML page is self-contained, with charts

A scenario with a sweep runs once per point, each into its own folder under --out
(01-POINT/result.json, ...), and also writes sweep.md, sweep.html and sweep.csv at the
root of --out: one row per point, the Pareto frontier over p99, stale ratio and cost,
and the recommended point, which is also printed.

--repeat N runs every point N times, each repetition into its own folder (rep-01,
rep-02, ... under the point's folder, or under --out for a single point), in rounds:
every point once, then every point again, so a drift of the machine spreads over all
points. Repetition 1 keeps the scenario's seed S (or --seed); repetition k uses seed
S+k-1, so the repetitions are independent samples and any of them can be run again
with --seed. Each point's folder then also gets compare.md: the mean of every figure
over its repetitions with its 95% confidence interval. The sweep report averages them.

An interrupted run (Ctrl-C) writes its partial result and reports, marked as such.

Exit codes: 0 success, 1 a threshold failed, 2 bad input (scenario, flag),
3 the run failed, 130 interrupted (the partial result and its reports are written).`,
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
	fl.StringVar(&f.out, "out", "", "folder for result.json and the reports (default results/NAME-TIME)")
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario key, e.g. --set cache.l1.ttl=10s (repeatable)")
	fl.Int64Var(&f.seed, "seed", 0, "override the scenario's seed")
	fl.BoolVar(&f.quiet, "quiet", false, "print nothing but errors")
	fl.StringVar(&f.pricing, "pricing", "", "price table JSON for cost_usd (default: the built-in AWS us-east-1 table)")
	fl.Float64Var(&f.monthly, "monthly-requests", 0, "project a monthly bill at this many requests a month (sets cost.monthly_requests)")
	fl.IntVar(&f.repeat, "repeat", 1, fmt.Sprintf("run every point N times (1 to %d), each into rep-NN/; repetition k uses seed S+k-1", maxRepeat))
	fl.StringVar(&f.shard, "shard", "", "run shard INDEX/COUNT of a sharded run, e.g. 0/4 (default $"+envJobIndex+" or $"+envBatchIndex+" with $"+envShards+"); needs --env external")
	fl.StringVar(&f.startAt, "start-at", "", "wait until this instant to start: an RFC 3339 time, file:PATH or redis:KEY (the first shard there writes now+"+startLead.String()+", the others read it)")
	return c
}

func runScenario(c *cobra.Command, name string, f *runFlags) error {
	if f.repeat < 1 || f.repeat > maxRepeat {
		return usageError{fmt.Errorf("--repeat %d: give a number of repetitions from 1 to %d, e.g. --repeat 3 (3 or more let cachebench compare test differences)", f.repeat, maxRepeat)}
	}
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
	shard, err := resolveShard(f.shard, c.Flags().Changed("shard"), os.Getenv)
	if err != nil {
		return usageError{err}
	}
	var start startAtSpec
	if f.startAt != "" {
		if start, err = parseStartAt(f.startAt); err != nil {
			return usageError{err}
		}
		if start.kind == startAtTime {
			if err := checkStartAt(start.at, time.Now(), "--start-at"); err != nil {
				return usageError{err}
			}
		}
	}
	if shard.Count > 1 {
		if f.env.cfg.Provider != mocks.ProviderExternal {
			return usageError{fmt.Errorf("shard %d/%d: the shards of a run share one set of services, and --env %s would start its own: start them once with 'cachebench env up' and run every shard with --env external and the variables it prints", shard.Index, shard.Count, f.env.cfg.Provider)}
		}
		if f.startAt == "" {
			return usageError{fmt.Errorf("shard %d/%d: give every shard the same --start-at (an RFC 3339 time a little ahead, file:PATH on a shared volume or redis:KEY), so they start together and share their data on the services", shard.Index, shard.Count)}
		}
		if f.repeat > 1 {
			return usageError{fmt.Errorf("shard %d/%d: --repeat runs one shard several times; run the sharded run again instead", shard.Index, shard.Count)}
		}
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
	if shard.Count > 1 && len(points) > 1 {
		return usageError{fmt.Errorf("shard %d/%d: %s is a sweep of %d points; shard one point at a time, fixing the swept keys with --set", shard.Index, shard.Count, s.Name, len(points))}
	}
	out := f.out
	if out == "" {
		out = filepath.Join("results", s.Name+"-"+time.Now().Format("20060102-150405"))
		if shard.Count > 0 {
			out += fmt.Sprintf("-shard-%d-of-%d", shard.Index, shard.Count)
		}
	}
	plan := planRuns(out, points, f.repeat)
	if f.startAt != "" && len(plan) > 1 {
		return usageError{fmt.Errorf("--start-at starts one run, and this makes %d (sweep points, --repeat): run one point once with --start-at", len(plan))}
	}
	if err := checkOutDir(out, plan); err != nil {
		return usageError{err}
	}
	stdout, stderr := c.OutOrStdout(), c.ErrOrStderr()
	if f.quiet {
		stdout = io.Discard
	}
	liblog, err := openLibraryLog(out)
	if err != nil {
		return err
	}
	defer liblog.Close()
	f.env.cfg.ServerLog = liblog

	ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f.env.cfg.Log = stderr
	if f.quiet {
		f.env.cfg.Log = io.Discard
	}
	// The environment follows the scenario's Redis topology (cache.l2): a sweep over it
	// gets a new environment at each point whose topology differs from the last.
	f.env.cfg.Redis = bench.RedisTopology(plan[0].s)
	// Simulated time needs services that follow it: the embedded ones. Another --env
	// gives the services the virtual run calibrates its modelled latencies against.
	var calibrate *mocks.Env
	if s.Clock == scenarios.ClockVirtual {
		switch f.env.cfg.Provider {
		case "", mocks.ProviderAuto, mocks.ProviderEmbedded:
		default:
			cal, err := mocks.Start(ctx, f.env.cfg)
			if err != nil {
				if strings.HasPrefix(err.Error(), "unknown environment") || errors.Is(err, mocks.ErrConfig) {
					liblog.refuse()
					return usageError{err}
				}
				return fmt.Errorf("clock: virtual calibrates against --env %s: %w", f.env.cfg.Provider, err)
			}
			defer func() {
				cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				_ = cal.Close(cctx)
			}()
			calibrate = cal
		}
		f.env.cfg.Provider = mocks.ProviderEmbedded
		f.env.cfg.Embedded.VirtualClock = true
	}
	env, err := mocks.Start(ctx, f.env.cfg)
	if err != nil {
		if strings.HasPrefix(err.Error(), "unknown environment") || errors.Is(err, mocks.ErrConfig) {
			liblog.refuse()
			return usageError{err}
		}
		return err
	}
	closeEnv := func(env *mocks.Env) {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = env.Close(cctx)
	}
	defer func() { closeEnv(env) }()

	opt := bench.Options{Log: f.env.cfg.Log, Pricing: table, ServerLog: liblog, Shard: shard, Calibrate: calibrate}
	if f.startAt != "" {
		at, from := start.at, "--start-at"
		switch start.kind {
		case startAtFile:
			at, err = startAtFromFile(start.ref, time.Now())
			from = "file:" + start.ref
		case startAtRedis:
			at, err = startAtFromRedis(ctx, env.RedisClient, start.ref, time.Now())
			from = "redis:" + start.ref
		}
		if err == nil {
			err = checkStartAt(at, time.Now(), from)
		}
		if err != nil {
			return usageError{err}
		}
		opt.StartAt = at
		if shard.Count > 1 {
			opt.RunID = runID(s.Name, points[0].Seed, shard.Count, at)
		}
		fmt.Fprintf(stdout, "starting at %s (%s)\n", at.UTC().Format(time.RFC3339Nano), from)
	}

	var progress io.Writer
	if !f.quiet && isTerminal(stderr) {
		progress = stderr
	}
	failed := false
	done := make([]*reports.Result, len(plan))
	for i, j := range plan {
		switch {
		case len(points) > 1 && f.repeat > 1:
			fmt.Fprintf(stdout, "point %d/%d, repetition %d/%d (seed %d): %s\n", j.point+1, len(points), j.rep+1, f.repeat, j.s.Seed, j.s.Point)
		case len(points) > 1:
			fmt.Fprintf(stdout, "point %d/%d: %s\n", j.point+1, len(points), j.s.Point)
		case f.repeat > 1:
			fmt.Fprintf(stdout, "repetition %d/%d (seed %d)\n", j.rep+1, f.repeat, j.s.Seed)
		}
		if t := bench.RedisTopology(j.s); t != f.env.cfg.Redis {
			closeEnv(env)
			f.env.cfg.Redis = t
			if env, err = mocks.Start(ctx, f.env.cfg); err != nil {
				env = &mocks.Env{}
				if werr := writeRunSet(stdout, out, plan, done, len(points), f.repeat); werr != nil {
					fmt.Fprintln(stderr, "cachebench:", werr)
				}
				return fmt.Errorf("run %s: start the environment for %s: %w", j.s.Name, t, err)
			}
		}
		o := opt
		o.Progress = progress
		res, err := bench.Run(ctx, j.s, env, o)
		if err != nil {
			if werr := writeRunSet(stdout, out, plan, done, len(points), f.repeat); werr != nil {
				fmt.Fprintln(stderr, "cachebench:", werr)
			}
			return fmt.Errorf("run %s: %w", j.s.Name, err)
		}
		path := filepath.Join(j.dir, "result.json")
		if err := res.Write(path); err != nil {
			return err
		}
		done[i] = res
		files, err := runReportFiles(j.dir, res, []string{formatMD, formatHTML})
		if err == nil {
			err = writeFiles(files)
		}
		if err != nil {
			return fmt.Errorf("reports of %s: %w", path, err)
		}
		reports.WriteSummary(stdout, res)
		fmt.Fprintf(stdout, "  result       %s\n", path)
		fmt.Fprintf(stdout, "  report       %s\n", filepath.Join(j.dir, "report.html"))
		if res.ThresholdsFailed() {
			failed = true
		}
		if res.Interrupted {
			if err := writeRunSet(stdout, out, plan, done, len(points), f.repeat); err != nil {
				return err
			}
			return exitCodeError{exitInterrupted, fmt.Errorf("interrupted: the partial result is in %s", path)}
		}
	}
	if err := writeRunSet(stdout, out, plan, done, len(points), f.repeat); err != nil {
		return err
	}
	if len(points) > 1 {
		// A sweep's thresholds choose among its points: points that fail them are what the
		// sweep is there to rule out. The sweep fails only when no point passes.
		var all []*reports.Result
		for _, r := range done {
			if r != nil {
				all = append(all, r)
			}
		}
		if reports.Sweep(all).Recommended < 0 {
			return exitCodeError{exitThreshold, errors.New("no point of the sweep passes its thresholds (see sweep.md)")}
		}
		return nil
	}
	if failed {
		return exitCodeError{exitThreshold, errors.New("a threshold failed (see the summary above)")}
	}
	return nil
}

// plannedRun is one run of `cachebench run`: a sweep point (or the scenario), its
// repetition, and the folder its result goes to.
type plannedRun struct {
	point, rep int
	s          *scenarios.Scenario
	dir        string
}

// planRuns lays out the runs in rounds (every point once per repetition) and their
// folders: out itself for one run, NN-POINT for the points of a sweep, rep-NN below that
// for repetitions. Repetition k runs with the point's seed + k-1.
func planRuns(out string, points []*scenarios.Scenario, repeat int) []plannedRun {
	pw := max(2, len(strconv.Itoa(len(points))))
	rw := max(2, len(strconv.Itoa(repeat)))
	var plan []plannedRun
	for rep := 0; rep < repeat; rep++ {
		for i, p := range points {
			dir := out
			if len(points) > 1 {
				dir = filepath.Join(dir, fmt.Sprintf("%0*d-%s", pw, i+1, slug(p.Point)))
			}
			s := p
			if repeat > 1 {
				dir = filepath.Join(dir, fmt.Sprintf("rep-%0*d", rw, rep+1))
				s = p.Clone()
				s.Seed = p.Seed + int64(rep)
			}
			plan = append(plan, plannedRun{point: i, rep: rep, s: s, dir: dir})
		}
	}
	return plan
}

// pointDir is the folder of a point's result, or of its repetitions.
func pointDir(j plannedRun, repeat int) string {
	if repeat > 1 {
		return filepath.Dir(j.dir)
	}
	return j.dir
}

// writeRunSet writes the reports over several runs once they are done (or stopped): each
// point's compare.md when it was repeated, and the sweep report at the root of out. done
// holds the result of each planned run, nil for those that did not run.
func writeRunSet(stdout io.Writer, out string, plan []plannedRun, done []*reports.Result, npoints, repeat int) error {
	var files []outFile
	var all []*reports.Result
	byPoint := make([][]*reports.Result, npoints)
	dirs := make([]string, npoints)
	for i, j := range plan {
		dirs[j.point] = pointDir(j, repeat)
		if done[i] != nil {
			byPoint[j.point] = append(byPoint[j.point], done[i])
		}
	}
	// The sweep lists points in the scenario's order, whatever order the rounds ran in.
	for _, rs := range byPoint {
		all = append(all, rs...)
	}
	if len(all) == 0 {
		return nil
	}
	var compares []string
	if repeat > 1 {
		for p, rs := range byPoint {
			if len(rs) == 0 {
				continue
			}
			file, err := repeatsFile(dirs[p], rs)
			if err != nil {
				return err
			}
			files = append(files, file)
			compares = append(compares, file.path)
		}
	}
	var sweep *reports.SweepReport
	if npoints > 1 {
		s := reports.Sweep(all)
		if len(all) < len(plan) {
			s.Notes = append(s.Notes, fmt.Sprintf("Only %d of the %d planned runs finished: the sweep covers those.", len(all), len(plan)))
		}
		sf, err := sweepReportFiles(out, s, reportFormats)
		if err != nil {
			return err
		}
		files = append(files, sf...)
		sweep = &s
	}
	if err := writeFiles(files); err != nil {
		return err
	}
	if npoints == 1 && len(compares) == 1 {
		fmt.Fprintf(stdout, "\nrepetitions  %s\n", compares[0])
		if text, err := renderCompare(reports.Compare(all), "text"); err == nil {
			fmt.Fprint(stdout, text)
		}
	} else if len(compares) > 0 {
		fmt.Fprintf(stdout, "\nrepetitions  compare.md in each point's folder (%d)\n", len(compares))
	}
	if sweep != nil {
		fmt.Fprintf(stdout, "\nsweep        %s (also sweep.md, sweep.csv)\n", filepath.Join(out, "sweep.html"))
		fmt.Fprintln(stdout, sweep.Recommendation)
	}
	return nil
}

// checkOutDir refuses an --out that is a file, or a folder that already holds one of the
// results the run would write, so one run never overwrites another.
func checkOutDir(dir string, plan []plannedRun) error {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("--out %s is a file, not a folder", dir)
	}
	for _, j := range plan {
		p := filepath.Join(j.dir, "result.json")
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("--out %s already holds %s: choose another folder or remove it", dir, p)
		}
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
