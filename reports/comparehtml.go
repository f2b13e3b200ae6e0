package reports

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// WriteCompareHTML writes a comparison as one self-contained HTML page that works offline
// (no fetch of any kind, as WriteHTML). Its first screen says, for the figures a choice
// turns on (p99, hit ratio per tier, stale reads, Stripe calls, cost), which side is best,
// by how much, and whether the difference is real (Welch's t-test with at least MinRepeats
// runs a side, as the text comparison). Then the charts, every side in the same colour on
// each: the latency percentile spectra (pooled over a side's repeats), hit ratio per
// tier, Stripe calls and 429s, stale read ratio and cost per million requests (means with
// their 95% intervals when a side has repeats), and p99 and throughput over time with
// fault windows (a side's first run). The full table of WriteCompare follows.
func WriteCompareHTML(w io.Writer, c Comparison) error {
	names := make([]string, len(c.Groups))
	for i, g := range c.Groups {
		names[i] = g.Label
	}
	page := htmlPage{Title: "cachebench comparison: " + strings.Join(names, " vs ")}
	page.Preamble = append(page.Preamble, c.Statement)
	if len(c.Groups) > 0 {
		page.Preamble = append(page.Preamble, "Baseline: "+c.Groups[0].Label+". Each side keeps its colour on every chart: "+sideColours(c)+".")
	}
	verdict := compareVerdicts(c)
	if len(verdict.rows) > 0 {
		page.Before = append(page.Before, htmlSection{Title: verdict.title, Header: verdict.header, Rows: verdict.rows, Note: verdict.note})
	}
	charts, skipped := compareCharts(c)
	page.Charts = toHTMLCharts(charts)
	page.Skipped = skipped
	header, rows := compareRows(c)
	page.After = append(page.After, htmlSection{Title: "Every figure", Header: header, Rows: rows,
		Note: "↓ lower or ↑ higher is better. Δ is each side's difference from the baseline."})
	page.Notes = c.Notes
	return writePage(w, page, "comparison html")
}

// sideColours names each side's colour, for the page's preamble.
func sideColours(c Comparison) string {
	names := []string{"blue", "red", "green", "orange", "purple"}
	parts := make([]string, len(c.Groups))
	for i, g := range c.Groups {
		parts[i] = g.Label + " " + names[i%len(names)]
	}
	return strings.Join(parts, ", ")
}

// verdictMetrics are the figures the first screen answers for, in order.
var verdictMetrics = []string{"p99", "l1.hit_ratio", "l2.hit_ratio", "l3.hit_ratio", "stale_ratio", "origin.calls", "cost.per_million_requests"}

// compareVerdicts is the first screen's table: for each figure that matters, the best
// side, by how much it beats the baseline (or the baseline the runner-up), and whether
// that difference is real.
func compareVerdicts(c Comparison) section {
	s := section{title: "Which is better", header: []string{"figure", "best", "by how much", "is the difference real?"},
		note: fmt.Sprintf("A difference is called real only when both sides have at least %d runs and Welch's t-test gives p < 0.05; "+
			"single runs show what happened once.", MinRepeats)}
	if len(c.Groups) < 2 {
		return s
	}
	for _, key := range verdictMetrics {
		var m *MetricComparison
		for i := range c.Metrics {
			if c.Metrics[i].Key == key {
				m = &c.Metrics[i]
			}
		}
		if m == nil || !m.Cells[0].Present {
			continue
		}
		best := -1
		for i, cell := range m.Cells {
			if !cell.Present {
				continue
			}
			if best < 0 || better(cell.Mean, m.Cells[best].Mean, m.Better) {
				best = i
			}
		}
		tied := true
		for _, cell := range m.Cells {
			if cell.Present && cell.Mean != m.Cells[best].Mean {
				tied = false
			}
		}
		if tied {
			s.rows = append(s.rows, []string{m.Label, "all the same", formatMetric(m.Cells[0].Mean, m.Unit), "-"})
			continue
		}
		// The cell whose test against the baseline says whether the best is really best:
		// the best side's own, or (when the baseline is best) the runner-up's.
		other := best
		if best == 0 {
			other = -1
			for i, cell := range m.Cells[1:] {
				if cell.Present && (other < 0 || better(cell.Mean, m.Cells[other].Mean, m.Better)) {
					other = i + 1
				}
			}
			if other < 0 {
				continue
			}
		}
		cell := m.Cells[other]
		by := strings.TrimPrefix(formatDelta(math.Abs(cell.Delta), m.Unit), "+")
		if !math.IsNaN(cell.DeltaPct) {
			by += fmt.Sprintf(" (%.1f%%)", math.Abs(cell.DeltaPct))
		}
		name := c.Groups[best].Label
		if best == 0 {
			name += " (baseline)"
			by += " better than the next, " + c.Groups[other].Label
		} else {
			by += " better than the baseline"
		}
		real := "not tested: fewer than " + fmt.Sprint(MinRepeats) + " runs a side"
		if cell.Tested() {
			if cell.Significant {
				real = fmt.Sprintf("yes (p = %.2g)", cell.PValue)
			} else {
				real = fmt.Sprintf("no, it may be noise (p = %.2g)", cell.PValue)
			}
		}
		s.rows = append(s.rows, []string{m.Label, name + ": " + formatMetric(m.Cells[best].Mean, m.Unit), by, real})
	}
	return s
}

// better reports whether a beats b in direction d.
func better(a, b float64, d Direction) bool {
	if d == HigherIsBetter {
		return a > b
	}
	return a < b
}

// compareCharts draws the comparison's charts; a chart that cannot be drawn is left out
// and its reason returned.
func compareCharts(c Comparison) (charts []chart, skipped []string) {
	var cs chartSet
	cs.add(compareSpectrum(c))
	cs.add(compareBars(c, "Hit ratio per tier", "hit ratio (%)", 100, []barCategory{
		{"L1 in-process", "l1.hit_ratio"}, {"L2 Redis", "l2.hit_ratio"}, {"L3 DynamoDB", "l3.hit_ratio"}}))
	cs.add(compareBars(c, "Stripe calls and 429s", "requests to Stripe in the measured part", 1, []barCategory{
		{"calls", "origin.calls"}, {"429 (rate limited)", "origin.rate_limited"}}))
	cs.add(compareBars(c, "Stale reads", "stale read ratio (%)", 100, []barCategory{{"stale reads", "stale_ratio"}}))
	cs.add(compareBars(c, "Cost per million requests", "simulated cost (USD per million requests)", 1, []barCategory{{"cost", "cost.per_million_requests"}}))
	cs.add(compareTimeline(c, "Read latency p99 over time (each side's first run)", "p99 latency (ms)", func(s Second) float64 { return s.P99US / 1e3 }))
	cs.add(compareTimeline(c, "Throughput over time (each side's first run)", "requests completed per second (1/s)", func(s Second) float64 { return s.Rate() }))
	return cs.charts, cs.skipped
}

// compareSpectrum overlays the sides' read latency percentile spectra, each from its
// runs' merged histograms.
func compareSpectrum(c Comparison) (chart, error) {
	const title = "Read latency by percentile (from intended start; repeats pooled)"
	var lines []spectrumLine
	var errs []error
	for i, runs := range c.runs {
		h, ok := pooledHistogram(runs, latencyHist)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no latency histogram that decodes: left out of the spectrum", c.Groups[i].Label))
			continue
		}
		lines = append(lines, spectrumLine{name: c.Groups[i].Label, colour: i, h: h})
	}
	if len(lines) == 0 {
		return chart{}, errors.Join(append(errs, errors.New("no side has a latency histogram: no spectrum"))...)
	}
	ch, err := drawSpectrum(title, lines)
	return ch, errors.Join(append(errs, err)...)
}

// barCategory is one group of bars: a label and the metric (keyMetrics key) it shows.
type barCategory struct {
	label, key string
}

// compareBars draws one bar per side in each category, the bar at the side's value
// (scaled) with its 95% interval when the side has repeats. Categories no side has are
// left out; none at all leaves the chart out.
func compareBars(c Comparison, title, yLabel string, scale float64, cats []barCategory) (chart, error) {
	var shown []barCategory
	var rows []*MetricComparison
	for _, cat := range cats {
		for i := range c.Metrics {
			if c.Metrics[i].Key == cat.key {
				shown = append(shown, cat)
				rows = append(rows, &c.Metrics[i])
			}
		}
	}
	if len(shown) == 0 {
		return chart{}, fmt.Errorf("%s: no run has these figures", strings.ToLower(title))
	}
	p := newPlot(title, "", yLabel)
	n := len(c.Groups)
	width := vg.Points(math.Min(36, 240/float64(n*len(shown))))
	ymax := 0.0
	in := &interact{}
	for gi, g := range c.Groups {
		vals := make(plotter.Values, len(shown))
		var errBars plotter.XYs
		var errLen []float64
		for ci, m := range rows {
			cell := m.Cells[gi]
			if !cell.Present {
				continue
			}
			vals[ci] = cell.Mean * scale
			hi := vals[ci]
			if !math.IsNaN(cell.CI95) && cell.CI95 > 0 {
				errBars = append(errBars, plotter.XY{X: float64(ci), Y: vals[ci]})
				errLen = append(errLen, cell.CI95*scale)
				hi += cell.CI95 * scale
			} else if cell.Pooled {
				hi = math.Max(hi, cell.Max*scale)
			}
			ymax = math.Max(ymax, hi)
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return chart{}, fmt.Errorf("chart %q: %w", title, err)
		}
		bars.Color = seriesColors[gi%len(seriesColors)]
		bars.LineStyle.Width = 0
		bars.Offset = width * vg.Length(float64(gi)-float64(n-1)/2)
		p.Add(bars)
		p.Legend.Add(g.Label, bars)
		k := in.addSeries(g.Label, bars.Color)
		for ci, m := range rows {
			if cell := m.Cells[gi]; cell.Present {
				in.hits = append(in.hits, hit{x: float64(ci), y: vals[ci], box: true, off: bars.Offset, halfW: width / 2, series: k,
					text: fmt.Sprintf("%s, %s: %s", g.Label, shown[ci].label, compareValue(cell, m.Unit))})
			}
		}
		if len(errBars) > 0 {
			eb, err := plotter.NewYErrorBars(ciBars{xys: errBars, half: errLen})
			if err != nil {
				return chart{}, fmt.Errorf("chart %q: %w", title, err)
			}
			eb.LineStyle.Width = vg.Points(1)
			eb.LineStyle.Color = color.Black
			// Error bars sit at the category; shift them onto this side's bar.
			p.Add(offsetErrBars{eb, bars.Offset})
		}
	}
	labels := make([]string, len(shown))
	for i, cat := range shown {
		labels[i] = cat.label
	}
	p.NominalX(labels...)
	p.Y.Min = 0
	if ymax <= 0 {
		ymax = 1
	}
	p.Y.Max = ymax * 1.35 // headroom for the legend
	if rows[0].Unit == "usd" {
		p.Y.Tick.Marker = usdTicks{}
	}
	svg, err := renderSVG(p, in)
	return chart{Title: title, SVG: svg, Series: togglable(in)}, err
}

// ciBars are error bars of a given half-width at each point.
type ciBars struct {
	xys  plotter.XYs
	half []float64
}

func (b ciBars) Len() int                         { return len(b.xys) }
func (b ciBars) XY(i int) (float64, float64)      { return b.xys[i].X, b.xys[i].Y }
func (b ciBars) YError(i int) (low, high float64) { return b.half[i], b.half[i] }

// offsetErrBars draws error bars shifted sideways by a bar chart's offset, so each sits
// on its side's bar rather than at the middle of its category.
type offsetErrBars struct {
	eb     *plotter.YErrorBars
	offset vg.Length
}

// Plot draws the error bars on the canvas translated by the offset.
func (o offsetErrBars) Plot(c draw.Canvas, p *plot.Plot) {
	c.Push()
	c.Translate(vg.Point{X: o.offset})
	o.eb.Plot(c, p)
	c.Pop()
}

// DataRange is the error bars' own.
func (o offsetErrBars) DataRange() (xmin, xmax, ymin, ymax float64) { return o.eb.DataRange() }

// compareTimeline overlays one figure over time for each side's first run, with each
// side's fault windows shaded in its colour.
func compareTimeline(c Comparison, title, yLabel string, y func(Second) float64) (chart, error) {
	p := newPlot(title, "time since the start of the measured part (s)", yLabel)
	ymax, xmax := 0.0, 0.0
	data := make([]plotter.XYs, len(c.runs))
	for i, runs := range c.runs {
		r := runs[0]
		for _, sec := range r.Timeline {
			v := y(sec)
			data[i] = append(data[i], plotter.XY{X: float64(sec.TS) + sec.Length()/2, Y: v})
			ymax = math.Max(ymax, v)
			xmax = math.Max(xmax, float64(sec.TS+1))
		}
	}
	if xmax == 0 {
		return chart{}, fmt.Errorf("%s: no run has a per-second timeline", strings.ToLower(title))
	}
	if ymax <= 0 {
		ymax = 1
	}
	ymax *= 1.35
	for i, runs := range c.runs {
		// A side's fault windows in a light shade of its colour.
		shade := seriesColors[i%len(seriesColors)].(color.NRGBA)
		shade.A = 0x30
		for _, f := range runs[0].Faults {
			if err := shadeFault(p, f, 0, ymax, shade, c.Groups[i].Label+": "); err != nil {
				return chart{}, err
			}
		}
	}
	in := &interact{}
	for i := range c.runs {
		if len(data[i]) == 0 {
			continue
		}
		if err := addLine(p, c.Groups[i].Label, data[i], i, in, atSecond(unitOf(yLabel))); err != nil {
			return chart{}, err
		}
	}
	p.Y.Min, p.Y.Max = 0, ymax
	p.X.Min, p.X.Max = 0, xmax
	svg, err := renderSVG(p, in)
	return chart{Title: title, SVG: svg, Series: togglable(in)}, err
}
