package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cachebench/cachebench/reports"
)

// compareFlags are the flags of `cachebench compare`.
type compareFlags struct {
	format string
	out    string
}

func newCompareCmd() *cobra.Command {
	var f compareFlags
	c := &cobra.Command{
		Use:   "compare A B [...]",
		Short: "Set runs side by side: each key metric, its delta from the first, and which way is better",
		Long: fmt.Sprintf(`Compare runs side by side. Each argument is one side: a result.json, or a folder
whose result.json files (searched with its subfolders) are repeats of that side, such as
the folder of 'cachebench run --repeat N'. The first side is the baseline; every other
side shows its delta from it (absolute and %%) and whether that is better or worse.

With one run per side no claim of a significant difference is made. With at least %d
runs on both sides, each value is a mean ± the half-width of its 95%% confidence
interval, and a difference is called significant only when Welch's t-test gives
p < 0.05.

--format html writes one self-contained page (it loads nothing, so it works offline):
which side is best on p99, hit ratio, stale reads, Stripe calls and cost, by how much and
whether that is significant, then every side overlaid on the same charts (latency
percentile spectra, hit ratio per tier, Stripe calls and 429s, stale reads, cost, p99
and throughput over time with fault windows), then the full table.

Exit codes: 0 written, 2 bad input (fewer than two sides, a missing path, a file that is
not a result).`, reports.MinRepeats),
		Args: func(c *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usageError{fmt.Errorf("compare needs at least two sides, got %d: cachebench compare A/result.json B/result.json (a folder counts as one side, its results as repeats)", len(args))}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return runCompare(c, args, &f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.format, "format", "text", "text (aligned columns), md (Markdown) or html (a page with charts)")
	fl.StringVarP(&f.out, "out", "o", "", "write the comparison to FILE instead of stdout (a .md or .html FILE implies that format)")
	return c
}

func runCompare(c *cobra.Command, args []string, f *compareFlags) error {
	format := strings.ToLower(f.format)
	if format == "markdown" {
		format = "md"
	}
	if !c.Flags().Changed("format") {
		switch strings.ToLower(filepath.Ext(f.out)) {
		case ".md":
			format = "md"
		case ".html", ".htm":
			format = "html"
		}
	}
	if format != "text" && format != "md" && format != "html" {
		return usageError{fmt.Errorf("unknown --format %q: choose text, md or html", f.format)}
	}
	sides := make([]reports.Side, len(args))
	for i, a := range args {
		rs, err := loadResults(a)
		if err != nil {
			return err
		}
		for _, r := range rs {
			sides[i].Results = append(sides[i].Results, r.res)
		}
	}
	labelSides(sides, args)
	text, err := renderCompare(reports.CompareSides(sides), format)
	if err != nil {
		return err
	}
	if f.out == "" {
		fmt.Fprint(c.OutOrStdout(), text)
		return nil
	}
	if err := writeFiles([]outFile{{path: f.out, data: []byte(text)}}); err != nil {
		return err
	}
	fmt.Fprintf(c.OutOrStdout(), "wrote %s\n", f.out)
	return nil
}

// labelSides names each side by its scenario (and sweep point) when that tells the sides
// apart, and adds the argument where it does not: two sides of one scenario, or a side
// that holds several.
func labelSides(sides []reports.Side, args []string) {
	titles := make([]string, len(sides))
	count := map[string]int{}
	for i, s := range sides {
		t := ""
		for _, r := range s.Results {
			rt := r.Scenario.Name
			if r.Scenario.Point != "" {
				rt += " [" + r.Scenario.Point + "]"
			}
			if t == "" {
				t = rt
			} else if t != rt {
				t = "" // mixed: the argument names it
				break
			}
		}
		titles[i] = t
		count[t]++
	}
	for i := range sides {
		arg := strings.TrimSuffix(filepath.Clean(args[i]), string(filepath.Separator)+"result.json")
		switch {
		case titles[i] == "":
			sides[i].Label = arg
		case count[titles[i]] > 1:
			sides[i].Label = titles[i] + " (" + arg + ")"
		default:
			sides[i].Label = titles[i]
		}
	}
}
