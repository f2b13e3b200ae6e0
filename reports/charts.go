package reports

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strings"

	"github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/cachebench/cachebench/scenarios"
)

// Charts are drawn with gonum/plot on its SVG canvas and inlined into the HTML reports, so
// a report is one file with no script, font or image to fetch.

const (
	chartW = 16 * vg.Centimeter
	chartH = 8 * vg.Centimeter
)

// chart is one rendered chart: its title (for captions and accessibility) and SVG markup.
type chart struct {
	Title string
	SVG   string
	// Series are the chart's series a reader can hide (see interact.go).
	Series []seriesInfo
}

var (
	seriesColors = []color.Color{
		color.NRGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
		color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
		color.NRGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
		color.NRGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
		color.NRGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
	}
	faultColors = map[string]color.Color{
		"redis":    color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0x40},
		"dynamodb": color.NRGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0x40},
		"stripe":   color.NRGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0x40},
	}
	faultDefault = color.NRGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0x40}
)

// newPlot returns a plot with a title, axis labels (which must carry units), a sans-serif
// face throughout and a light grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	sans := func(size vg.Length) font.Font {
		return font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, size)
	}
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(12)
	p.Title.Padding = 6
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.X.Label.TextStyle.Font = sans(10)
	p.Y.Label.TextStyle.Font = sans(10)
	p.X.Tick.Label.Font = sans(9)
	p.Y.Tick.Label.Font = sans(9)
	p.Legend.TextStyle.Font = sans(9)
	p.Legend.Top = true
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 0xe0}
	grid.Horizontal.Color = color.Gray{Y: 0xe0}
	p.Add(grid)
	return p
}

// renderSVG draws p and returns its SVG element, without the XML prolog, ready to inline
// in HTML.
func renderSVG(p *plot.Plot, in *interact) (string, error) {
	c := vgsvg.New(chartW, chartH)
	dc := draw.New(c)
	p.Draw(dc)
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return "", fmt.Errorf("render chart %q: %w", p.Title.Text, err)
	}
	s := buf.String()
	i := strings.Index(s, "<svg")
	if i < 0 {
		return "", fmt.Errorf("render chart %q: no <svg> element in the output", p.Title.Text)
	}
	s = s[i:]
	if in != nil && len(in.hits) > 0 {
		// The hits go last in gonum's flipped group, over every mark.
		end := strings.LastIndex(s, "</g>")
		if end < 0 {
			return "", fmt.Errorf("render chart %q: no group to put its values in", p.Title.Text)
		}
		s = s[:end] + hitLayer(p, dc, in.hits) + s[end:]
	}
	if in != nil {
		s = tagSeries(s, in.series)
	}
	attrs := fmt.Sprintf(`<svg class="chart" role="img" aria-label="%s" `, htmlAttrEscape(strings.ReplaceAll(p.Title.Text, "\n", ": ")))
	return strings.Replace(s, "<svg ", attrs, 1), nil
}

func htmlAttrEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// addLine draws series i and, when in is not nil, makes it a series a reader can hide
// with a hit per point whose text say(x, y) writes.
func addLine(p *plot.Plot, name string, xys plotter.XYs, i int, in *interact, say func(x, y float64) string) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("chart %q, series %q: %w", p.Title.Text, name, err)
	}
	l.Color = seriesColors[i%len(seriesColors)]
	l.Width = vg.Points(1.5)
	p.Add(l)
	p.Legend.Add(name, l)
	if in != nil {
		k := in.addSeries(name, l.Color)
		if say != nil {
			for _, xy := range xys {
				in.point(xy.X, xy.Y, k, name+": "+say(xy.X, xy.Y))
			}
		}
	}
	return nil
}

// atSecond writes a timeline value: the value in the chart's unit and its second.
func atSecond(unit string) func(x, y float64) string {
	return func(x, y float64) string {
		return fmt.Sprintf("%s at %.0f s", trimFloat4(y)+unit, math.Floor(x))
	}
}

// trimFloat4 writes v with four significant digits.
func trimFloat4(v float64) string { return strings.TrimSuffix(fmt.Sprintf("%.4g", v), ".") }

// swatch is a legend thumbnail for a shaded area.
type swatch struct{ c color.Color }

// Thumbnail fills the legend entry's box with the swatch's colour.
func (s swatch) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(s.c, pts)
}

// shadeFaults adds a translucent band over each fault window, from y0 to y1, with one
// legend entry per fault. Call it before adding the data, so lines are drawn on top.
func shadeFaults(p *plot.Plot, faults []Fault, y0, y1 float64) error {
	for _, f := range faults {
		col, ok := faultColors[f.Target]
		if !ok {
			col = faultDefault
		}
		if err := shadeFault(p, f, y0, y1, col, "fault: "); err != nil {
			return err
		}
	}
	return nil
}

// shadeFault adds a band of colour col over fault f's window, from y0 to y1, and its
// legend entry: prefix, then the fault and its window.
func shadeFault(p *plot.Plot, f Fault, y0, y1 float64, col color.Color, prefix string) error {
	end := f.EndS
	if end <= f.StartS {
		end = f.StartS + math.Max(f.ForS, 0.05)
	}
	poly, err := plotter.NewPolygon(plotter.XYs{{X: f.StartS, Y: y0}, {X: end, Y: y0}, {X: end, Y: y1}, {X: f.StartS, Y: y1}})
	if err != nil {
		return fmt.Errorf("chart %q, fault window: %w", p.Title.Text, err)
	}
	poly.Color = col
	poly.LineStyle.Width = 0
	p.Add(poly)
	p.Legend.Add(fmt.Sprintf("%s%s %s (%.1f–%.1f s)", prefix, f.Target, f.Kind, f.StartS, end), swatch{col})
	return nil
}

// timeSeries is one line of a chart over the timeline.
type timeSeries struct {
	name string
	y    func(Second) float64
}

// timelineChart plots series over the timeline, each second's value at the middle of the
// second, with fault windows shaded. yFixed, when positive, fixes the y axis maximum.
func timelineChart(r *Result, title, yLabel string, series []timeSeries, yFixed float64) (chart, error) {
	p := newPlot(title, "time since the start of the measured part (s)", yLabel)
	ymax := yFixed
	data := make([]plotter.XYs, len(series))
	for i, s := range series {
		data[i] = make(plotter.XYs, len(r.Timeline))
		for j, sec := range r.Timeline {
			v := s.y(sec)
			data[i][j] = plotter.XY{X: float64(sec.TS) + sec.Length()/2, Y: v}
			if yFixed <= 0 && v > ymax {
				ymax = v
			}
		}
	}
	if ymax <= 0 {
		ymax = 1
	}
	if yFixed <= 0 {
		ymax *= 1.35 // headroom for the legend
	} else {
		ymax *= 1.3
		p.Y.Tick.Marker = plot.ConstantTicks{{Value: 0, Label: "0"}, {Value: 25, Label: "25"}, {Value: 50, Label: "50"}, {Value: 75, Label: "75"}, {Value: 100, Label: "100"}}
	}
	if err := shadeFaults(p, r.Faults, 0, ymax); err != nil {
		return chart{}, err
	}
	in := &interact{}
	for i, s := range series {
		if err := addLine(p, s.name, data[i], i, in, atSecond(unitOf(yLabel))); err != nil {
			return chart{}, err
		}
	}
	if err := markPartial(p, r.Timeline, data); err != nil {
		return chart{}, err
	}
	p.Y.Min, p.Y.Max = 0, ymax
	p.X.Min = 0
	if n := len(r.Timeline); n > 0 {
		p.X.Max = math.Max(p.X.Max, float64(r.Timeline[n-1].TS+1))
	}
	svg, err := renderSVG(p, in)
	return chart{Title: title, SVG: svg, Series: togglable(in)}, err
}

// togglable returns the series a reader may hide: none when there is only one.
func togglable(in *interact) []seriesInfo {
	if len(in.series) < 2 {
		return nil
	}
	return in.series
}

// unitOf is the unit an axis label names in its last parentheses, as a value's suffix:
// "latency (ms)" gives " ms", "hit ratio (%)" gives "%".
func unitOf(label string) string {
	i, j := strings.LastIndex(label, "("), strings.LastIndex(label, ")")
	if i < 0 || j < i {
		return ""
	}
	u := label[i+1 : j]
	switch u {
	case "%":
		return "%"
	case "1/s":
		return " a second"
	}
	return " " + u
}

// spectrumMarks are the percentiles a spectrum's values can be read at.
var spectrumMarks = []float64{50, 90, 99, 99.9, 99.99, 99.999}

// markSpectrum adds a hit at each of spectrumMarks that series k's sample resolves.
func markSpectrum(in *interact, k int, name string, h *hdrhistogram.Histogram, top float64) {
	for _, q := range spectrumMarks {
		x := 1 / (1 - q/100)
		if x > top {
			break
		}
		in.point(x, float64(h.ValueAtQuantile(q))/1e3, k, fmt.Sprintf("%s: p%s = %s", name, trimFloat4(q), FormatUS(float64(h.ValueAtQuantile(q)))))
	}
}

// markPartial circles the last point of each series when the run ended inside the last
// second, with a legend entry giving its length: a reader sees that the second was cut
// short (its counts are drawn per second of its length) rather than a drop.
func markPartial(p *plot.Plot, timeline []Second, data []plotter.XYs) error {
	n := len(timeline)
	if n == 0 || !timeline[n-1].Partial {
		return nil
	}
	var pts plotter.XYs
	for _, d := range data {
		pts = append(pts, d[n-1])
	}
	sc, err := plotter.NewScatter(pts)
	if err != nil {
		return fmt.Errorf("chart %q, partial second: %w", p.Title.Text, err)
	}
	sc.GlyphStyle = draw.GlyphStyle{Shape: draw.RingGlyph{}, Radius: vg.Points(4), Color: color.Black}
	p.Add(sc)
	p.Legend.Add(fmt.Sprintf("partial last second (%.2f s long)", timeline[n-1].Length()), sc)
	return nil
}

// percentileTicks labels a log axis of 1/(1-p) with percentiles: 1 → 0%, 10 → 90%,
// 100 → 99%, 1000 → 99.9%...
type percentileTicks struct{}

// Ticks returns a labelled tick per decade and unlabelled ones in between.
func (percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for d := 0; d <= 9; d++ {
		base := math.Pow(10, float64(d))
		if base > hi*1.0001 {
			break
		}
		label := "0%"
		if d > 0 {
			label = fmt.Sprintf("%.*f%%", max(d-2, 0), 100*(1-1/base))
		}
		ticks = append(ticks, plot.Tick{Value: base, Label: label})
		for k := 2; k <= 9; k++ {
			if v := base * float64(k); v <= hi {
				ticks = append(ticks, plot.Tick{Value: v})
			}
		}
	}
	return ticks
}

// spectrumChart plots the latency percentile spectrum the way HdrHistogram's plotter does:
// x is the percentile on a log scale of 1/(1-p), y the latency at that percentile.
func spectrumChart(r *Result) (chart, error) {
	const title = "Read latency by percentile"
	type src struct {
		name, enc string
	}
	srcs := []src{{"from intended start", r.Histograms.Latency}, {"service time", r.Histograms.Service}}
	var hists []*hdrhistogram.Histogram
	var names []string
	var errs []error
	for _, s := range srcs {
		if s.enc == "" {
			continue
		}
		h, err := DecodeHistogram(s.enc)
		if err != nil {
			errs = append(errs, fmt.Errorf("decode %s histogram: %w", s.name, err))
			continue
		}
		if h.TotalCount() == 0 {
			continue
		}
		hists = append(hists, h)
		names = append(names, s.name)
	}
	if len(hists) == 0 {
		errs = append(errs, errors.New("no latency histogram with values in this result"))
		return chart{}, errors.Join(errs...)
	}
	lines := make([]spectrumLine, len(hists))
	for i, h := range hists {
		lines[i] = spectrumLine{name: names[i], colour: i, h: h}
	}
	c, err := drawSpectrum(title, lines)
	return c, errors.Join(append(errs, err)...)
}

// spectrumLine is one line of a percentile spectrum: its name, its colour's index in
// seriesColors, and the histogram it is read from.
type spectrumLine struct {
	name   string
	colour int
	h      *hdrhistogram.Histogram
}

// drawSpectrum plots latency percentile spectra the way HdrHistogram's plotter does: x is
// the percentile on a log scale of 1/(1-p), y the latency at that percentile, each line
// up to the percentile its sample can resolve (1 - 1/count).
func drawSpectrum(title string, lines []spectrumLine) (chart, error) {
	p := newPlot(title, "percentile (log scale of 1/(1−p))", "latency (ms)")
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = percentileTicks{}
	p.Legend.Left = true
	var xmax float64
	in := &interact{}
	for _, l := range lines {
		top := math.Max(10, float64(l.h.TotalCount()))
		xmax = math.Max(xmax, top)
		const steps = 240
		xys := make(plotter.XYs, 0, steps+1)
		for k := 0; k <= steps; k++ {
			x := math.Pow(top, float64(k)/steps)
			xys = append(xys, plotter.XY{X: x, Y: float64(l.h.ValueAtQuantile(100*(1-1/x))) / 1e3})
		}
		if err := addLine(p, l.name, xys, l.colour, in, nil); err != nil {
			return chart{}, err
		}
		markSpectrum(in, len(in.series)-1, l.name, l.h, top)
	}
	p.X.Min, p.X.Max = 1, xmax
	p.Y.Min = 0
	svg, err := renderSVG(p, in)
	return chart{Title: title, SVG: svg, Series: togglable(in)}, err
}

// costChart is a bar chart of the run's simulated cost by item.
func costChart(c *Cost) (chart, error) {
	const title = "Simulated cost of the run by item"
	p := newPlot(title, "item", "cost of this run (USD)")
	vals := plotter.Values{c.LambdaCompute, c.LambdaRequests, c.ElastiCache, c.DynamoDB}
	bars, err := plotter.NewBarChart(vals, vg.Points(40))
	if err != nil {
		return chart{}, fmt.Errorf("chart %q: %w", title, err)
	}
	bars.Color = seriesColors[0]
	bars.LineStyle.Width = 0
	p.Add(bars)
	names := []string{"Lambda compute", "Lambda requests", "ElastiCache", "DynamoDB"}
	p.NominalX(names...)
	p.Y.Min = 0
	p.Y.Max *= 1.1
	p.Y.Tick.Marker = usdTicks{}
	in := &interact{}
	for i, v := range vals {
		in.hits = append(in.hits, hit{x: float64(i), y: v, box: true, halfW: vg.Points(20), series: -1, text: names[i] + ": " + formatUSD(v)})
	}
	svg, err := renderSVG(p, in)
	return chart{Title: title, SVG: svg}, err
}

// usdTicks labels a money axis with enough digits for the tiny sums of a short run.
type usdTicks struct{}

// Ticks returns gonum's default ticks relabelled in dollars.
func (usdTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = formatUSD(ts[i].Value)
		}
	}
	return ts
}

// chartSet gathers the charts of a page and says why any is missing.
type chartSet struct {
	charts  []chart
	skipped []string
}

// add keeps c when it was drawn, and err's reason when there is one: a chart left out,
// or a part of one (a run whose histogram did not decode).
func (cs *chartSet) add(c chart, err error) {
	if err != nil {
		cs.skipped = append(cs.skipped, err.Error())
	}
	if c.SVG != "" {
		cs.charts = append(cs.charts, c)
	}
}

// skip says why a chart is left out.
func (cs *chartSet) skip(reason string) { cs.skipped = append(cs.skipped, reason) }

// runCharts draws every chart of a run report. A chart that cannot be drawn is left out
// and its reason returned in skipped, so the page says what is missing.
func runCharts(r *Result) (charts []chart, skipped []string) {
	var cs chartSet
	cs.add(spectrumChart(r))
	if len(r.Timeline) == 0 {
		cs.skip("no per-second timeline in this result: the charts over time are left out")
	} else {
		cs.add(timelineChart(r, "Read latency over time (from intended start)", "latency (ms)", []timeSeries{
			{"p50", func(s Second) float64 { return s.P50US / 1e3 }},
			{"p99", func(s Second) float64 { return s.P99US / 1e3 }},
		}, 0))
		cs.add(timelineChart(r, "Throughput over time", "requests completed per second (1/s)", []timeSeries{
			// A partial last second is scaled by its length, not drawn as a drop.
			{"requests", func(s Second) float64 { return s.Rate() }},
		}, 0))
		var tiers []timeSeries
		for _, t := range []struct {
			name string
			on   bool
			f    func(Second) float64
		}{
			{"L1 in-process", r.Tiers.L1.Enabled, func(s Second) float64 { return 100 * s.L1HitRatio }},
			{"L2 Redis", r.Tiers.L2.Enabled, func(s Second) float64 { return 100 * s.L2HitRatio }},
			{"L3 DynamoDB", r.Tiers.L3.Enabled, func(s Second) float64 { return 100 * s.L3HitRatio }},
		} {
			if t.on {
				tiers = append(tiers, timeSeries{t.name, t.f})
			}
		}
		if len(tiers) == 0 {
			cs.skip("every cache tier was off: no hit-ratio chart")
		} else {
			cs.add(timelineChart(r, "Hit ratio per tier over time", "hit ratio (%)", tiers, 100))
		}
		cs.add(timelineChart(r, "Errors and Stripe 429s over time", "count per second (1/s)", []timeSeries{
			// Per second of the second's length, as throughput: a partial last second is no dip.
			{"errors", func(s Second) float64 { return float64(s.Errors) / s.Length() }},
			{"Stripe 429 (rate limited)", func(s Second) float64 { return float64(s.RateLimited) / s.Length() }},
		}, 0))
	}
	if r.CostUSD != nil {
		cs.add(costChart(r.CostUSD))
	}
	return cs.charts, cs.skipped
}

// sweepChart plots one figure against the sweep's points, marking the Pareto frontier and
// the recommended point. Points where value reports false are left out.
func sweepChart(s SweepReport, title, yLabel string, series []sweepSeries, bounds ...bound) (chart, error) {
	p := newPlot(title, sweepAxisLabel(s), yLabel)
	labels := make([]string, len(s.Points))
	long := false
	for i := range s.Points {
		labels[i] = s.Label(i)
		if len(labels[i]) > 10 {
			long = true
		}
	}
	var frontier, rec plotter.XYs
	in := &interact{}
	unit := unitOf(yLabel)
	marked := false // the frontier is marked on the first series with values
	for si, ser := range series {
		var xys plotter.XYs
		for i, pt := range s.Points {
			v, ok := ser.value(pt)
			if !ok {
				continue
			}
			xys = append(xys, plotter.XY{X: float64(i), Y: v})
			if !marked && pt.Pareto {
				frontier = append(frontier, plotter.XY{X: float64(i), Y: v})
			}
			if !marked && i == s.Recommended {
				rec = append(rec, plotter.XY{X: float64(i), Y: v})
			}
		}
		if len(xys) == 0 {
			continue
		}
		marked = true
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return chart{}, fmt.Errorf("chart %q: %w", title, err)
		}
		col := seriesColors[si%len(seriesColors)]
		l.Color, pts.Color = col, col
		l.Width = vg.Points(1.5)
		pts.Shape = draw.CircleGlyph{}
		p.Add(l, pts)
		p.Legend.Add(ser.name, l, pts)
		k := in.addSeries(ser.name, col)
		for _, xy := range xys {
			i := int(xy.X)
			in.point(xy.X, xy.Y, k, fmt.Sprintf("%s: %s%s at #%d (%s)", ser.name, trimFloat4(xy.Y), unit, i+1, s.Points[i].Point))
		}
	}
	if len(frontier) > 0 {
		sc, err := plotter.NewScatter(frontier)
		if err != nil {
			return chart{}, fmt.Errorf("chart %q: %w", title, err)
		}
		sc.Shape = draw.RingGlyph{}
		sc.Radius = vg.Points(6)
		sc.Color = color.Black
		p.Add(sc)
		p.Legend.Add("Pareto frontier", sc)
	}
	if len(rec) > 0 {
		sc, err := plotter.NewScatter(rec)
		if err != nil {
			return chart{}, fmt.Errorf("chart %q: %w", title, err)
		}
		sc.Shape = draw.BoxGlyph{}
		sc.Radius = vg.Points(4)
		sc.Color = seriesColors[2]
		p.Add(sc)
		p.Legend.Add("recommended", sc)
	}
	for _, b := range sweepBounds(s, bounds) {
		xys := plotter.XYs{{X: -0.5, Y: b.y}, {X: float64(len(s.Points)) - 0.5, Y: b.y}}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return chart{}, fmt.Errorf("chart %q: %w", title, err)
		}
		l.Color = color.NRGBA{R: 0xb0, G: 0x00, B: 0x20, A: 0xff}
		l.Width = vg.Points(1)
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(l)
		p.Legend.Add("threshold "+b.expr, l)
	}
	p.NominalX(labels...)
	if long {
		p.X.Tick.Label.Rotation = math.Pi / 8
		p.X.Tick.Label.XAlign = draw.XRight
	}
	p.X.Min, p.X.Max = -0.5, float64(len(s.Points))-0.5
	p.Y.Min = 0
	if p.Y.Max <= 0 {
		p.Y.Max = 1
	}
	p.Y.Max *= 1.4 // room for the legend
	svg, err := renderSVG(p, in)
	return chart{Title: title, SVG: svg, Series: togglable(in)}, err
}

// bound names a threshold metric a sweep chart plots, and the factor from the metric's
// base unit (seconds, fractions, dollars) to the chart's.
type bound struct {
	metric string
	scale  float64
}

// chartBound is a threshold drawn as a horizontal line at y.
type chartBound struct {
	expr string
	y    float64
}

// sweepBounds returns the sweep's thresholds on the metrics of bounds, in the chart's
// unit. Expressions that do not parse (a result written by another version) are skipped.
func sweepBounds(s SweepReport, bounds []bound) []chartBound {
	var out []chartBound
	for _, expr := range s.Thresholds {
		t, err := scenarios.ParseThreshold(expr)
		if err != nil {
			continue
		}
		for _, b := range bounds {
			if t.Metric == b.metric {
				out = append(out, chartBound{expr: expr, y: t.Value * b.scale})
			}
		}
	}
	return out
}

type sweepSeries struct {
	name  string
	value func(SweepPoint) (float64, bool)
}

func sweepAxisLabel(s SweepReport) string {
	if v := s.varyingKeys(); len(v) > 0 {
		return strings.Join(v, ", ") + " (sweep value)"
	}
	return "sweep point"
}

func optValue(p *float64, scale float64) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return *p * scale, true
}

// sweepCharts draws the charts of a sweep report.
func sweepCharts(s SweepReport) (charts []chart, skipped []string) {
	var cs chartSet
	if len(s.Points) == 0 {
		cs.skip("no points: no charts")
		return cs.charts, cs.skipped
	}
	if g, ok := newSweepGrid(s); ok {
		// Two keys: a heatmap per figure shows the whole surface.
		sweepHeatmaps(&cs, s, &g)
	} else {
		if n := len(s.varyingKeys()); n >= 3 {
			cs.skip(fmt.Sprintf("the sweep varies %d keys: no heatmap (a surface has two); the charts below string the points in the table's order, and the table lists every combination", n))
		}
		cs.add(sweepChart(s, "p99 read latency by sweep point", "p99 latency from intended start (ms)", []sweepSeries{
			{"p99", func(p SweepPoint) (float64, bool) { return p.P99US / 1e3, true }},
		}, bound{"p99", 1e3}))
		cs.add(sweepChart(s, "Hit ratio per tier by sweep point", "hit ratio (%)", []sweepSeries{
			{"L1 in-process", func(p SweepPoint) (float64, bool) { return optValue(p.L1HitRatio, 100) }},
			{"L2 Redis", func(p SweepPoint) (float64, bool) { return optValue(p.L2HitRatio, 100) }},
			{"L3 DynamoDB", func(p SweepPoint) (float64, bool) { return optValue(p.L3HitRatio, 100) }},
		}, bound{"l1.hit_ratio", 100}, bound{"l2.hit_ratio", 100}, bound{"l3.hit_ratio", 100}))
		cs.add(sweepChart(s, "Stale read ratio by sweep point", "stale reads (% of reads checked)", []sweepSeries{
			{"stale ratio", func(p SweepPoint) (float64, bool) { return 100 * p.StaleRatio, true }},
		}, bound{"stale_ratio", 100}))
		haveCost := false
		for _, p := range s.Points {
			if p.PerMillionUSD != nil {
				haveCost = true
			}
		}
		if haveCost {
			cs.add(sweepChart(s, "Cost per million requests by sweep point", "simulated cost (USD per million requests)", []sweepSeries{
				{"$ per million requests", func(p SweepPoint) (float64, bool) { return optValue(p.PerMillionUSD, 1) }},
			}, bound{"cost.per_million_requests", 1}))
		} else {
			cs.skip("no point has cost figures: no cost chart")
		}
	}
	fleet, cold := false, false
	for _, p := range s.Points {
		if p.ColdStarts != nil {
			fleet = true
			cold = cold || *p.ColdStarts > 0
		}
	}
	switch {
	case cold:
		cs.add(sweepChart(s, "Lambda cold starts by sweep point", "cold starts in the measured part (count)", []sweepSeries{
			{"cold starts", func(p SweepPoint) (float64, bool) { return optValue(p.ColdStarts, 1) }},
		}, bound{"cold_starts", 1}))
	case fleet:
		cs.skip("no point had a Lambda cold start in its measured part: no cold-start chart")
	}
	return cs.charts, cs.skipped
}
