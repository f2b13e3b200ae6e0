package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// MinRepeats is the number of runs each side of a comparison needs before the comparison
// tests whether a difference is significant.
const MinRepeats = 3

// Comparison is the side-by-side comparison of runs. Each group is a column: the runs of
// one scenario, sweep point and configuration (seed aside) for Compare, a side the caller
// formed for CompareSides. The first group is the baseline every other group is compared
// with.
type Comparison struct {
	Groups  []CompareGroup
	Metrics []MetricComparison
	// Statement says plainly what the comparison can claim: nothing about significance
	// for single runs, or how significance was tested for repeats.
	Statement string
	// Notes are further cautions: mixed configurations, metrics missing from some runs.
	Notes []string
	// runs are each group's results, for the charts of WriteCompareHTML.
	runs [][]*Result
}

// CompareGroup is one column of a comparison: a run or a group of repeated runs.
type CompareGroup struct {
	// Label names the group in tables: scenario, [point], and a variant number when two
	// configurations share a scenario name and point.
	Label    string
	Scenario string
	Point    string
	// Runs is the number of results in the group.
	Runs int
}

// MetricComparison is one row of a comparison.
type MetricComparison struct {
	// Key is the metric's threshold name (p99, l1.hit_ratio, cost.per_million_requests...).
	Key   string
	Label string
	// Unit is "us", "ms", "ratio", "usd", "per_s" or "" for counts.
	Unit   string
	Better Direction
	// Cells holds one cell per group, in the order of Comparison.Groups.
	Cells []CompareCell
}

// CompareCell is one metric of one group, and its difference from the baseline group.
type CompareCell struct {
	// Present is false when a run of the group lacks the metric (a tier that was off, a
	// run without cost figures); the other fields are then zero.
	Present bool
	// N is the number of runs; Mean is their mean (the value itself for one run).
	N    int
	Mean float64
	// CI95 is the half-width of the 95% confidence interval of the mean (Student t);
	// NaN when N < 2.
	CI95 float64
	// Delta is Mean minus the baseline's mean, in the metric's unit; DeltaPct is the same
	// as a percentage of the baseline (NaN when the baseline is 0).
	Delta    float64
	DeltaPct float64
	// Verdict is "baseline", "better", "worse" or "same" (by the metric's direction).
	Verdict string
	// PValue is the two-sided p-value of Welch's t-test against the baseline; NaN unless
	// both groups have at least MinRepeats runs.
	PValue float64
	// Significant is true only when PValue < 0.05.
	Significant bool
	// Pooled is true for a percentile of a group of repeats: Mean is then the percentile
	// of the runs' merged HdrHistograms (all their requests together), not an average of
	// the runs' percentiles, CI95 is NaN, and Min and Max are the runs' own values. The
	// significance test still compares the runs' own values.
	Pooled   bool
	Min, Max float64
}

// Tested reports whether the cell was tested for significance.
func (c CompareCell) Tested() bool { return !math.IsNaN(c.PValue) }

// Compare groups results into repeats and compares every key metric of each group with
// the first group: means, 95% confidence intervals, absolute and relative deltas, which
// way is better and, when both sides have at least MinRepeats runs, Welch's t-test.
// Runs of the same scenario, sweep point and configuration (seed aside) are one group.
func Compare(results []*Result) Comparison {
	var sides []Side
	var bases []string
	index := map[string]int{}
	variants := map[string]int{}
	for _, r := range results {
		if r == nil {
			continue
		}
		base := r.Scenario.Name + "\x00" + r.Scenario.Point
		key := base + "\x00" + configFingerprint(r.Scenario.Config)
		i, ok := index[key]
		if !ok {
			variants[base]++
			label := runTitle(r)
			if variants[base] > 1 {
				label += fmt.Sprintf(" (variant %d)", variants[base])
			} else {
				bases = append(bases, base)
			}
			i = len(sides)
			index[key] = i
			sides = append(sides, Side{Label: label})
		}
		sides[i].Results = append(sides[i].Results, r)
	}
	var notes []string
	for _, base := range bases {
		if n := variants[base]; n > 1 {
			name := strings.ReplaceAll(base, "\x00", " ")
			notes = append(notes, fmt.Sprintf("%d configurations share the scenario name and point %q: they are compared as separate variants, not as repeats.", n, strings.TrimSpace(name)))
		}
	}
	c := CompareSides(sides)
	c.Notes = append(notes, c.Notes...)
	return c
}

// Side is one side of a comparison: a label and the runs that form it, as repeats.
type Side struct {
	Label   string
	Results []*Result
}

// CompareSides compares sides the caller formed (one per command-line argument, say)
// the way Compare compares groups of repeats: the first side is the baseline. Unlike
// Compare it never regroups: runs of one configuration on two sides stay two columns (the
// same scenario on two environments), and a side whose runs differ in configuration is
// averaged as given, with a note saying so. Sides without results are left out.
func CompareSides(sides []Side) Comparison {
	var c Comparison
	type group struct {
		g    CompareGroup
		runs []*Result
	}
	var groups []*group
	for _, sd := range sides {
		var runs []*Result
		for _, r := range sd.Results {
			if r != nil {
				runs = append(runs, r)
			}
		}
		if len(runs) == 0 {
			continue
		}
		g := &group{g: CompareGroup{Label: sd.Label, Scenario: runs[0].Scenario.Name, Point: runs[0].Scenario.Point, Runs: len(runs)}, runs: runs}
		if g.g.Label == "" {
			g.g.Label = runTitle(runs[0])
		}
		configs := map[string]bool{}
		for _, r := range runs {
			configs[r.Scenario.Name+"\x00"+r.Scenario.Point+"\x00"+configFingerprint(r.Scenario.Config)] = true
		}
		if len(configs) > 1 {
			c.Notes = append(c.Notes, fmt.Sprintf("%s mixes %d configurations (scenario, sweep point or settings other than the seed): its figures are means over different setups, not repeats.", g.g.Label, len(configs)))
		}
		groups = append(groups, g)
	}
	for _, g := range groups {
		c.Groups = append(c.Groups, g.g)
		c.runs = append(c.runs, g.runs)
	}
	if len(groups) == 0 {
		c.Statement = "No results to compare."
		return c
	}

	minRuns, maxRuns := math.MaxInt, 0
	var interrupted []string
	for _, g := range groups {
		minRuns = min(minRuns, g.g.Runs)
		maxRuns = max(maxRuns, g.g.Runs)
		for _, r := range g.runs {
			if r.Interrupted {
				interrupted = append(interrupted, g.g.Label)
				break
			}
		}
	}
	switch {
	case maxRuns == 1:
		c.Statement = "Single runs: no claim of a significant difference. Deltas are what happened once; run each configuration at least 3 times to test them."
	case minRuns < MinRepeats:
		c.Statement = fmt.Sprintf("Values are means over each group's runs, ± the half-width of the 95%% confidence interval (Student t). "+
			"Significance is tested (Welch's t-test, 5%%) only between groups of at least %d runs; for the others there is no claim of a significant difference.", MinRepeats)
	default:
		c.Statement = fmt.Sprintf("Values are means over each group's runs (at least %d each), ± the half-width of the 95%% confidence interval (Student t). "+
			"A difference is called significant at 5%% only when Welch's t-test gives p < 0.05.", MinRepeats)
	}
	if len(groups) == 1 {
		if groups[0].g.Runs > 1 {
			c.Notes = append(c.Notes, "All results are repeats of one configuration: the table gives their mean and spread, and there is nothing to compare them with.")
		} else {
			c.Notes = append(c.Notes, "There is one result: there is nothing to compare it with.")
		}
	}
	if len(interrupted) > 0 {
		c.Notes = append(c.Notes, "Interrupted runs (their figures cover only the part that ran) are included in: "+strings.Join(interrupted, ", ")+".")
	}

	var missing []string
	for _, m := range keyMetrics {
		mc := MetricComparison{Key: m.key, Label: m.label, Unit: m.unit, Better: m.better}
		var base sampleStats
		anyPresent := false
		for gi, g := range groups {
			xs := make([]float64, 0, len(g.runs))
			present := true
			for _, r := range g.runs {
				v, ok := m.get(r)
				if !ok {
					present = false
					break
				}
				xs = append(xs, v)
			}
			cell := CompareCell{Present: present, PValue: math.NaN(), CI95: math.NaN(), DeltaPct: math.NaN()}
			if !present {
				cell.Verdict = "n/a"
				mc.Cells = append(mc.Cells, cell)
				continue
			}
			anyPresent = true
			s := describe(xs)
			cell.N, cell.Mean, cell.CI95 = s.n, s.mean, s.ci95()
			if m.pool != nil && len(g.runs) > 1 {
				if h, ok := pooledHistogram(g.runs, m.hist); ok {
					cell.Pooled, cell.Mean, cell.CI95 = true, m.pool(h), math.NaN()
					cell.Min, cell.Max = minMax(xs)
				}
			}
			if gi == 0 {
				base = s
				cell.Verdict = "baseline"
				mc.Cells = append(mc.Cells, cell)
				continue
			}
			if !mc.Cells[0].Present {
				cell.Verdict = "n/a"
				mc.Cells = append(mc.Cells, cell)
				continue
			}
			cell.Delta = cell.Mean - mc.Cells[0].Mean
			if b := mc.Cells[0].Mean; b != 0 {
				cell.DeltaPct = 100 * cell.Delta / math.Abs(b)
			}
			cell.Verdict = verdict(cell.Delta, m.better)
			if base.n >= MinRepeats && s.n >= MinRepeats {
				p, _, _ := welchTTest(base, s)
				cell.PValue = p
				cell.Significant = p < 0.05
			}
			mc.Cells = append(mc.Cells, cell)
		}
		if !anyPresent {
			continue
		}
		for _, cell := range mc.Cells {
			if !cell.Present {
				missing = append(missing, m.label)
				break
			}
		}
		c.Metrics = append(c.Metrics, mc)
	}
	for _, mc := range c.Metrics {
		if slices.ContainsFunc(mc.Cells, func(cell CompareCell) bool { return cell.Pooled }) {
			c.Notes = append(c.Notes, "Latency percentiles of repeated runs are pooled: the percentile of all their requests together "+
				"(their HdrHistograms merged), with the runs' own values as a range beside it; the significance test compares the runs' own values.")
			break
		}
	}
	if len(missing) > 0 {
		c.Notes = append(c.Notes, "Not every run has these figures (a tier off, no Lambda fleet or no cost): "+strings.Join(missing, ", ")+".")
	}
	if minRuns >= MinRepeats && len(groups) > 1 {
		c.Notes = append(c.Notes, "Each metric is tested on its own: across many metrics, about one in twenty can pass a 5% test by chance.")
	}
	return c
}

// minMax returns the smallest and largest of xs (not empty).
func minMax(xs []float64) (lo, hi float64) {
	lo, hi = xs[0], xs[0]
	for _, x := range xs[1:] {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

func verdict(delta float64, better Direction) string {
	switch {
	case delta == 0:
		return "same"
	case (delta < 0) == (better == LowerIsBetter):
		return "better"
	default:
		return "worse"
	}
}

// configFingerprint is the canonical JSON of a scenario configuration without its seed,
// so repeats that differ only in seed fall in one group.
func configFingerprint(raw json.RawMessage) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return ""
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	if m, ok := v.(map[string]any); ok {
		delete(m, "seed")
	}
	b, err := json.Marshal(v) // maps marshal with sorted keys
	if err != nil {
		return string(raw)
	}
	return string(b)
}

// compareRows is the comparison's table: a row per metric, each group's value and, after
// the first group, its delta from the first.
func compareRows(c Comparison) (header []string, rows [][]string) {
	header = []string{"metric", "better"}
	for i, g := range c.Groups {
		label := g.Label
		if g.Runs > 1 {
			label += fmt.Sprintf(" (%d runs)", g.Runs)
		}
		header = append(header, label)
		if i > 0 {
			header = append(header, "Δ vs "+c.Groups[0].Label)
		}
	}
	for _, m := range c.Metrics {
		row := []string{m.Label, m.Better.arrow()}
		for i, cell := range m.Cells {
			row = append(row, compareValue(cell, m.Unit))
			if i > 0 {
				row = append(row, compareDelta(cell, m.Unit))
			}
		}
		rows = append(rows, row)
	}
	return header, rows
}

// WriteCompare writes a comparison as a table in format "md" (Markdown) or "text"
// (aligned columns): one row per metric, the value of each group, and for every group
// after the first its delta from the first (absolute and %), whether that is better or
// worse, and the significance test when there were enough repeats.
func WriteCompare(w io.Writer, c Comparison, format string) error {
	header, rows := compareRows(c)
	var buf bytes.Buffer
	switch format {
	case "md", "markdown":
		buf.WriteString("# cachebench comparison\n\n")
		fmt.Fprintf(&buf, "%s\n\n", mdEscape(c.Statement))
		writeMarkdownTable(&buf, header, rows)
		if len(c.Notes) > 0 {
			buf.WriteString("\n")
			for _, n := range c.Notes {
				fmt.Fprintf(&buf, "- %s\n", mdEscape(n))
			}
		}
	case "text", "txt":
		fmt.Fprintf(&buf, "%s\n\n", c.Statement)
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(header, "\t"))
		for _, row := range rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
		for _, n := range c.Notes {
			fmt.Fprintf(&buf, "note: %s\n", n)
		}
	default:
		return fmt.Errorf("write comparison: unknown format %q (want md or text)", format)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write comparison: %w", err)
	}
	return nil
}

func compareValue(c CompareCell, unit string) string {
	if !c.Present {
		return "n/a"
	}
	s := formatMetric(c.Mean, unit)
	switch {
	case c.Pooled:
		s += " pooled (runs " + formatMetric(c.Min, unit) + "–" + formatMetric(c.Max, unit) + ")"
	case c.N >= 2 && !math.IsNaN(c.CI95):
		s += " ± " + formatMetricAbs(c.CI95, unit)
	}
	return s
}

// formatMetricAbs formats a spread (a CI half-width) in a metric's unit; ratios in
// percentage points.
func formatMetricAbs(v float64, unit string) string {
	if unit == "ratio" {
		return fmt.Sprintf("%.2f pp", 100*v)
	}
	return formatMetric(v, unit)
}

func compareDelta(c CompareCell, unit string) string {
	if !c.Present || c.Verdict == "n/a" {
		return "n/a"
	}
	if c.Verdict == "same" {
		return "same"
	}
	s := formatDelta(c.Delta, unit)
	if !math.IsNaN(c.DeltaPct) {
		s += fmt.Sprintf(" (%+.1f%%)", c.DeltaPct)
	}
	s += ", " + c.Verdict
	if c.Tested() {
		if c.Significant {
			s += fmt.Sprintf(", p=%s: difference significant at 5%%", formatP(c.PValue))
		} else {
			s += fmt.Sprintf(", p=%s: not significant", formatP(c.PValue))
		}
	}
	return s
}

func formatP(p float64) string {
	if p < 0.001 {
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", p)
}
