package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cachebench/cachebench/reports"
)

// reportFlags are the flags of `cachebench report`.
type reportFlags struct {
	formats []string
	out     string
}

func newReportCmd() *cobra.Command {
	var f reportFlags
	c := &cobra.Command{
		Use:   "report PATH...",
		Short: "Write the Markdown, HTML and CSV reports of a result.json, or the report of a sweep",
		Long: `Write reports from results that cachebench run wrote. PATH is a result.json or a folder,
searched with its subfolders for result.json files.

  one result                       report.md, report.html, report.csv (the per-second timeline)
  several sweep points of a        sweep.md, sweep.html, sweep.csv: one row per point (repeats
  scenario                         averaged), the Pareto frontier and the recommended point
  several runs of one point        compare.md: their means with 95% confidence intervals

Reports go beside the result, or for several results into the folder given (or the
folder that holds them all); --out DIR puts them elsewhere. --out FILE.md, FILE.html or
FILE.csv writes that one report (the format follows the extension). Every file is
written to a temporary name and renamed into place, so none is ever half-written.

Exit codes: 0 written, 2 bad input (a missing path, a file that is not a result).`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{fmt.Errorf("report needs a result.json or a folder of results, e.g. cachebench report results/baseline-20261123-101500")}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runReport(c, args, &f)
		},
	}
	fl := c.Flags()
	fl.StringSliceVar(&f.formats, "format", reportFormats, "formats to write, comma-separated: md, html, csv")
	fl.StringVarP(&f.out, "out", "o", "", "folder for the reports (default: beside the result), or one FILE.md|.html|.csv")
	return c
}

// parseFormats checks a --format list and returns it in canonical order, without repeats.
func parseFormats(list []string) ([]string, error) {
	want := map[string]bool{}
	for _, f := range list {
		f = strings.ToLower(strings.TrimSpace(f))
		if f == "markdown" {
			f = formatMD
		}
		if f == "" {
			continue
		}
		if !contains(reportFormats, f) {
			return nil, fmt.Errorf("unknown --format %q: choose from md, html, csv (comma-separated, e.g. --format md,html)", f)
		}
		want[f] = true
	}
	if len(want) == 0 {
		return nil, fmt.Errorf("--format is empty: choose from md, html, csv")
	}
	var out []string
	for _, f := range reportFormats {
		if want[f] {
			out = append(out, f)
		}
	}
	return out, nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// reportTarget is where `cachebench report` writes: a folder, or one file whose format
// its extension gives.
type reportTarget struct {
	dir  string
	file string
}

// resolveTarget interprets --out and --format together.
func resolveTarget(c *cobra.Command, f *reportFlags) (reportTarget, []string, error) {
	formats, err := parseFormats(f.formats)
	if err != nil {
		return reportTarget{}, nil, err
	}
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(f.out)), ".")
	if ext == "markdown" {
		ext = formatMD
	}
	if !contains(reportFormats, ext) {
		return reportTarget{dir: f.out}, formats, nil
	}
	if c.Flags().Changed("format") && (len(formats) != 1 || formats[0] != ext) {
		return reportTarget{}, nil, fmt.Errorf("--out %s is one .%s file but --format asks for %s: drop --format, or give --out a folder", f.out, ext, strings.Join(formats, ","))
	}
	return reportTarget{file: f.out}, []string{ext}, nil
}

func runReport(c *cobra.Command, args []string, f *reportFlags) error {
	target, formats, err := resolveTarget(c, f)
	if err != nil {
		return usageError{err}
	}
	var found []foundResult
	seen := map[string]bool{}
	for _, a := range args {
		rs, err := loadResults(a)
		if err != nil {
			return err
		}
		for _, r := range rs {
			key := r.path
			if abs, err := filepath.Abs(r.path); err == nil {
				key = abs
			}
			if !seen[key] {
				seen[key] = true
				found = append(found, r)
			}
		}
	}
	results := make([]*reports.Result, len(found))
	paths := make([]string, len(found))
	for i, r := range found {
		results[i], paths[i] = r.res, r.path
	}

	// Where the reports go by default: beside a single result; for several, the folder
	// given, or the one that holds them all.
	dir := target.dir
	if dir == "" {
		dir = commonDir(paths)
		if len(args) == 1 && len(found) > 1 {
			dir = args[0]
		}
	}

	var files []outFile
	switch kind, detail := classify(results); kind {
	case kindSingle:
		files, err = runReportFiles(dir, results[0], formats)
	case kindSweep:
		files, err = sweepReportFiles(dir, reports.Sweep(results), formats)
	case kindRepeats:
		if !contains(formats, formatMD) {
			return usageError{fmt.Errorf("the %d results are runs of one scenario and point (%s); their summary is Markdown only (compare.md): use --format md, or name one result.json for its HTML or CSV report", len(results), detail)}
		}
		var file outFile
		file, err = repeatsFile(dir, results)
		files = []outFile{file}
	case kindMixed:
		return usageError{fmt.Errorf("the results come from several scenarios (%s): give one run's result.json or one sweep's folder, or use cachebench compare to set them side by side", detail)}
	}
	if err != nil {
		return err
	}
	if target.file != "" {
		if len(files) != 1 {
			return usageError{fmt.Errorf("--out %s: these results give %d reports, not one: give --out a folder", target.file, len(files))}
		}
		files[0].path = target.file
	}
	if err := writeFiles(files); err != nil {
		return err
	}
	out := c.OutOrStdout()
	for _, file := range files {
		fmt.Fprintf(out, "wrote %s\n", file.path)
	}
	return nil
}

// What a set of results is, for `cachebench report`.
const (
	kindSingle  = iota // one result
	kindSweep          // several points of one scenario
	kindRepeats        // several runs of one scenario and point
	kindMixed          // several scenarios
)

// classify says what the results are and, for repeats and mixed scenarios, names them.
func classify(results []*reports.Result) (kind int, detail string) {
	if len(results) == 1 {
		return kindSingle, ""
	}
	names := map[string]bool{}
	points := map[string]bool{}
	for _, r := range results {
		names[r.Scenario.Name] = true
		points[r.Scenario.Point] = true
	}
	if len(names) > 1 {
		list := make([]string, 0, len(names))
		for n := range names {
			list = append(list, n)
		}
		sort.Strings(list)
		return kindMixed, strings.Join(list, ", ")
	}
	if len(points) > 1 {
		return kindSweep, ""
	}
	title := results[0].Scenario.Name
	if p := results[0].Scenario.Point; p != "" {
		title += " [" + p + "]"
	}
	return kindRepeats, title
}

// renderCompare renders a comparison in a format (md or text) for printing.
func renderCompare(c reports.Comparison, format string) (string, error) {
	var b bytes.Buffer
	write := func() error { return reports.WriteCompare(&b, c, format) }
	if format == "html" {
		write = func() error { return reports.WriteCompareHTML(&b, c) }
	}
	if err := write(); err != nil {
		return "", err
	}
	return b.String(), nil
}
