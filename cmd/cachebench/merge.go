package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cachebench/cachebench/reports"
)

func newMergeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "merge OUT DIR...",
		Short: "Merge the results of a sharded run's shards into one result.json, losslessly",
		Long: `Merge the results that the shards of one run (cachebench run --shard I/N) wrote into
the result of the whole run, and write OUT/result.json with its Markdown and HTML reports,
as run does. Each DIR is a shard's --out folder or its result.json; a folder that holds
several shards' folders gives them all.

Percentiles come from the shards' HdrHistograms merged, never from averaging; counters
are summed and every ratio is recomputed from the sums; the cost is priced for the whole
fleet; thresholds are evaluated again. Every shard's generator health is listed under
shards.generators. The shards must be one run: the same scenario, seed, effective
configuration, services and shard count, each index from 0 to N-1 exactly once. An
interrupted shard is merged and the merged result marked interrupted.

report, compare and thresholds work on the merged result as on any run's.

Exit codes: 0 merged, 1 a threshold failed on the merged result, 2 bad input (a missing
or duplicate shard, shards of different runs, a file that is not a shard's result).`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageError{errors.New("merge needs the folder to write and the shards' results: cachebench merge OUT shard-0 shard-1 ... (each a --out folder of cachebench run --shard I/N, or its result.json)")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runMerge(c, args[0], args[1:])
		},
	}
}

func runMerge(c *cobra.Command, out string, args []string) error {
	if st, err := os.Stat(out); err == nil && !st.IsDir() {
		return usageError{fmt.Errorf("OUT %s is a file: give the folder to write result.json and the reports into", out)}
	}
	var paths []string
	var results []*reports.Result
	seen := map[string]bool{}
	outResult, _ := filepath.Abs(filepath.Join(out, "result.json"))
	for _, a := range args {
		found, err := loadResults(a)
		if err != nil {
			return err
		}
		for _, f := range found {
			key := f.path
			if abs, err := filepath.Abs(f.path); err == nil {
				key = abs
			}
			if key == outResult && f.res.Shards != nil && f.res.Shards.Index == nil {
				continue // an earlier merge into OUT, found under a DIR that holds it
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			paths = append(paths, f.path)
			results = append(results, f.res)
		}
	}
	res, err := reports.Merge(results, paths)
	if err != nil {
		return usageError{err}
	}
	path := filepath.Join(out, "result.json")
	if err := res.Write(path); err != nil {
		return err
	}
	files, err := runReportFiles(out, res, []string{formatMD, formatHTML})
	if err == nil {
		err = writeFiles(files)
	}
	if err != nil {
		return fmt.Errorf("reports of %s: %w", path, err)
	}
	stdout := c.OutOrStdout()
	fmt.Fprintf(stdout, "merged %d shards\n", len(paths))
	reports.WriteSummary(stdout, res)
	fmt.Fprintf(stdout, "  result       %s\n", path)
	fmt.Fprintf(stdout, "  report       %s\n", filepath.Join(out, "report.html"))
	if res.ThresholdsFailed() {
		return exitCodeError{exitThreshold, errors.New("a threshold failed on the merged result (see the summary above)")}
	}
	return nil
}
