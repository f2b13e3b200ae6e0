package reports

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// A sweep over two keys is a surface: a heatmap per figure shows every combination at
// once, where line charts over categorical points would string them in an arbitrary
// order. Each cell is coloured on a diverging blue (better) to red (worse) scale and
// carries its exact value; the Pareto frontier and the recommended point are marked.

// sweepGrid lays a two-key sweep's points out on a grid: columns are the first varying
// key's values, rows the second's, each in order of first appearance.
type sweepGrid struct {
	xKey, yKey    string
	xVals, yVals  []string
	cell          map[[2]int]int // (column, row) -> index in SweepReport.Points
	missingCombos int
}

// newSweepGrid returns the grid of s, or false when s does not vary exactly two keys.
func newSweepGrid(s SweepReport) (sweepGrid, bool) {
	keys := s.varyingKeys()
	if len(keys) != 2 {
		return sweepGrid{}, false
	}
	g := sweepGrid{xKey: keys[0], yKey: keys[1], cell: map[[2]int]int{}}
	xi, yi := indexOf(s.Keys, keys[0]), indexOf(s.Keys, keys[1])
	xPos, yPos := map[string]int{}, map[string]int{}
	for i, p := range s.Points {
		if xi >= len(p.Values) || yi >= len(p.Values) {
			continue
		}
		xv, yv := p.Values[xi], p.Values[yi]
		if _, ok := xPos[xv]; !ok {
			xPos[xv] = len(g.xVals)
			g.xVals = append(g.xVals, xv)
		}
		if _, ok := yPos[yv]; !ok {
			yPos[yv] = len(g.yVals)
			g.yVals = append(g.yVals, yv)
		}
		g.cell[[2]int{xPos[xv], yPos[yv]}] = i
	}
	g.missingCombos = len(g.xVals)*len(g.yVals) - len(g.cell)
	return g, true
}

// gridValues is one figure on a sweep grid, for gonum's HeatMap; NaN where no point ran.
type gridValues struct {
	g *sweepGrid
	z map[[2]int]float64
}

func (v gridValues) Dims() (c, r int) { return len(v.g.xVals), len(v.g.yVals) }
func (v gridValues) X(c int) float64  { return float64(c) }
func (v gridValues) Y(r int) float64  { return float64(r) }
func (v gridValues) Z(c, r int) float64 {
	if z, ok := v.z[[2]int{c, r}]; ok {
		return z
	}
	return math.NaN()
}

// sweepHeatmap draws one figure of a two-key sweep as a heatmap. value reads the figure
// (false: the point has none); format writes a cell's label; better says which end of
// the scale is good.
func sweepHeatmap(s SweepReport, g *sweepGrid, title string, value func(SweepPoint) (float64, bool), format func(float64) string, better Direction) (chart, error) {
	vals := gridValues{g: g, z: map[[2]int]float64{}}
	lo, hi := math.Inf(1), math.Inf(-1)
	for pos, i := range g.cell {
		if v, ok := value(s.Points[i]); ok {
			vals.z[pos] = v
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if len(vals.z) == 0 {
		return chart{}, fmt.Errorf("%s: no point has this figure", title)
	}
	cLo, cHi := lo, hi
	if hi == lo {
		cLo, cHi = lo-1, hi+1 // one colour for all: the middle of the scale
	}
	scale := fmt.Sprintf("blue better, red worse (%s to %s) · ○ Pareto frontier · □ recommended", format(lo), format(hi))
	if lo == hi {
		scale = "every point the same · ○ Pareto frontier · □ recommended"
	}
	p := newPlot(title+"\n"+scale, g.xKey, g.yKey)
	p.BackgroundColor = color.White
	var cm palette.ColorMap = moreland.SmoothBlueRed() // blue low, red high
	if better == HigherIsBetter {
		cm = palette.Reverse(cm) // blue high: blue is always better
	}
	cm.SetMin(cLo)
	cm.SetMax(cHi)
	hm := plotter.NewHeatMap(vals, cm.Palette(255))
	hm.Min, hm.Max = cLo, cHi
	hm.NaN = color.Gray{Y: 0xee}
	p.Add(hm)

	// Each cell's exact value, and the configuration it stands for, as its label.
	var pts plotter.XYs
	var labels []string
	var inks []color.Color
	in := &interact{}
	var frontier, rec plotter.XYs
	for pos, i := range g.cell {
		xy := plotter.XY{X: float64(pos[0]), Y: float64(pos[1])}
		if v, ok := vals.z[pos]; ok {
			pts = append(pts, xy)
			labels = append(labels, format(v))
			inks = append(inks, inkOn(cm, v))
			pt := s.Points[i]
			text := fmt.Sprintf("%s=%s, %s=%s: %s", g.xKey, g.xVals[pos[0]], g.yKey, g.yVals[pos[1]], format(v))
			if pt.Runs > 1 {
				text += fmt.Sprintf(" (%d runs)", pt.Runs)
			}
			if pt.Pareto {
				text += "; on the Pareto frontier"
			}
			if i == s.Recommended {
				text += "; recommended"
			}
			in.hits = append(in.hits, hit{x: xy.X, y: xy.Y + 0.5, box: true, dx: 0.5, y0: xy.Y - 0.5, series: -1, text: text})
		}
		if s.Points[i].Pareto {
			frontier = append(frontier, xy)
		}
		if i == s.Recommended {
			rec = append(rec, xy)
		}
	}
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: labels})
	if err != nil {
		return chart{}, fmt.Errorf("chart %q: %w", title, err)
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].Font = p.X.Tick.Label.Font
		lb.TextStyle[i].XAlign = draw.XCenter
		lb.TextStyle[i].YAlign = draw.YCenter
		lb.TextStyle[i].Color = inks[i]
	}
	p.Add(lb)
	if len(frontier) > 0 {
		sc, err := plotter.NewScatter(frontier)
		if err != nil {
			return chart{}, fmt.Errorf("chart %q: %w", title, err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Shape: draw.RingGlyph{}, Radius: vg.Points(13), Color: color.Black}
		p.Add(sc)
	}
	if len(rec) > 0 {
		sc, err := plotter.NewScatter(rec)
		if err != nil {
			return chart{}, fmt.Errorf("chart %q: %w", title, err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Shape: hollowBox{}, Radius: vg.Points(16), Color: color.NRGBA{R: 0x2c, G: 0x8a, B: 0x2c, A: 0xff}}
		p.Add(sc)
	}
	p.X.Tick.Marker = nominalTicks(g.xVals)
	p.Y.Tick.Marker = nominalTicks(g.yVals)
	p.X.Min, p.X.Max = -0.5, float64(len(g.xVals))-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(len(g.yVals))-0.5
	svg, err := renderSVG(p, in)
	return chart{Title: title, SVG: svg}, err
}

// inkOn returns black or white, whichever reads better on the colour cm gives v.
func inkOn(cm palette.ColorMap, v float64) color.Color {
	c, err := cm.At(v)
	if err != nil {
		return color.Black
	}
	r, g, b, _ := c.RGBA()
	// Relative luminance (ITU-R BT.709) of the 16-bit channels.
	if 0.2126*float64(r)+0.7152*float64(g)+0.0722*float64(b) < 0.45*0xffff {
		return color.White
	}
	return color.Black
}

// nominalTicks labels the integer positions 0..n-1 with names.
func nominalTicks(names []string) plot.ConstantTicks {
	ticks := make(plot.ConstantTicks, len(names))
	for i, n := range names {
		ticks[i] = plot.Tick{Value: float64(i), Label: n}
	}
	return ticks
}

// hollowBox is a square outline glyph, drawn thick, for the recommended cell.
type hollowBox struct{}

// DrawGlyph draws the square's outline.
func (hollowBox) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	r := sty.Radius
	ls := draw.LineStyle{Color: sty.Color, Width: vg.Points(2.5)}
	c.StrokeLines(ls, []vg.Point{
		{X: pt.X - r, Y: pt.Y - r}, {X: pt.X + r, Y: pt.Y - r}, {X: pt.X + r, Y: pt.Y + r},
		{X: pt.X - r, Y: pt.Y + r}, {X: pt.X - r, Y: pt.Y - r},
	})
}

// sweepHeatmaps adds to cs the heatmaps of a two-key sweep: p99, hit ratio per enabled
// tier, stale ratio and cost per million requests.
func sweepHeatmaps(cs *chartSet, s SweepReport, g *sweepGrid) {
	ms := func(v float64) string { return FormatUS(v * 1e3) }
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", v) }
	cs.add(sweepHeatmap(s, g, "p99 read latency (ms)", func(p SweepPoint) (float64, bool) { return p.P99US / 1e3, true }, ms, LowerIsBetter))
	for _, t := range []struct {
		name string
		get  func(SweepPoint) *float64
	}{
		{"L1 in-process", func(p SweepPoint) *float64 { return p.L1HitRatio }},
		{"L2 Redis", func(p SweepPoint) *float64 { return p.L2HitRatio }},
		{"L3 DynamoDB", func(p SweepPoint) *float64 { return p.L3HitRatio }},
	} {
		on := false
		for _, p := range s.Points {
			on = on || t.get(p) != nil
		}
		if on {
			cs.add(sweepHeatmap(s, g, t.name+" hit ratio (%)", func(p SweepPoint) (float64, bool) { return optValue(t.get(p), 100) }, pct, HigherIsBetter))
		}
	}
	cs.add(sweepHeatmap(s, g, "Stale read ratio (% of reads checked)", func(p SweepPoint) (float64, bool) { return 100 * p.StaleRatio, true },
		func(v float64) string { return fmt.Sprintf("%.2f%%", v) }, LowerIsBetter))
	cs.add(sweepHeatmap(s, g, "Cost per million requests (USD)", func(p SweepPoint) (float64, bool) { return optValue(p.PerMillionUSD, 1) }, formatUSD, LowerIsBetter))
	if g.missingCombos > 0 {
		cs.skip(fmt.Sprintf("no heatmap cell for %d of the %d combinations of %s and %s, which did not run (grey)",
			g.missingCombos, len(g.xVals)*len(g.yVals), g.xKey, g.yKey))
	}
}
