package reports

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Values on demand. Every chart carries, over its marks, invisible SVG shapes with a
// <title>: hovering a point, bar or heatmap cell shows its exact value and configuration
// as the browser's own tooltip, with no script at all. Under each chart with several
// series, a checkbox per series hides or shows it. That needs the one small script below
// (six lines, no library), which hides the marks tagSeries numbered after the colour
// gonum/plot drew them in. The script is allowed by its SHA-256 in the page's Content-Security-Policy, so
// the page still runs nothing else and fetches nothing. A charting library would have
// redrawn every chart in the browser and added a few hundred kilobytes to every report,
// and its upgrades to our upkeep; the charts stay gonum/plot's SVG, which the tests read.

// hit is one value a reader can point at: a point (a circle of 6 pt around x, y) or a
// box (x ± dx in data units, or halfW points around x shifted by off; from y0 to y).
type hit struct {
	x, y   float64
	box    bool
	dx, y0 float64
	off    vg.Length
	halfW  vg.Length
	series int // the series it belongs to (hidden with it), -1 for none
	text   string
}

// seriesInfo names a series and the colour its marks are drawn in (as gonum's SVG
// writes it), for its checkbox.
type seriesInfo struct {
	Name  string
	Color string
}

// interact collects a chart's hits and series while it is built.
type interact struct {
	hits   []hit
	series []seriesInfo
}

// addSeries records series i, drawn in colour c.
func (in *interact) addSeries(name string, c color.Color) int {
	in.series = append(in.series, seriesInfo{Name: name, Color: svgColor(c)})
	return len(in.series) - 1
}

// point records a point hit.
func (in *interact) point(x, y float64, series int, text string) {
	in.hits = append(in.hits, hit{x: x, y: y, series: series, text: text})
}

// svgColor writes c as gonum's SVG canvas does (vgsvg's colorString): #RRGGBB with the
// alpha divided out, so translucent shades of a series' colour match it too.
func svgColor(c color.Color) string {
	r, g, b, a := c.RGBA()
	if a == 0 {
		return "#000000"
	}
	k := 255.0 / float64(a)
	return fmt.Sprintf("#%02X%02X%02X", int(float64(r)*k), int(float64(g)*k), int(float64(b)*k))
}

// hitLayer returns the SVG group of hits for a plot drawn on dc: shapes in the canvas's
// coordinates, inside gonum's flipped top-level group.
func hitLayer(p *plot.Plot, dc draw.Canvas, hits []hit) string {
	if len(hits) == 0 {
		return ""
	}
	da := p.DataCanvas(dc)
	trX, trY := p.Transforms(&da)
	ok := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	var b strings.Builder
	b.WriteString(`<g class="hits">`)
	for _, h := range hits {
		if !ok(h.x) || !ok(h.y) || (h.box && !ok(h.y0)) {
			continue
		}
		if _, log := p.X.Scale.(plot.LogScale); log && h.x <= 0 {
			continue
		}
		s := ""
		if h.series >= 0 {
			s = fmt.Sprintf(` data-s="%d"`, h.series)
		}
		title := "<title>" + html.EscapeString(h.text) + "</title>"
		if !h.box {
			fmt.Fprintf(&b, `<circle class="hit"%s cx="%.2f" cy="%.2f" r="6">%s</circle>`,
				s, float64(trX(h.x)+h.off), float64(trY(h.y)), title)
			continue
		}
		var x0, x1 vg.Length
		if h.halfW > 0 {
			c := trX(h.x) + h.off
			x0, x1 = c-h.halfW, c+h.halfW
		} else {
			x0, x1 = trX(h.x-h.dx), trX(h.x+h.dx)
		}
		y0, y1 := trY(h.y0), trY(h.y)
		if y1 < y0 {
			y0, y1 = y1, y0
		}
		if y1-y0 < 4 { // a bar of nothing: still something to point at
			y1 = y0 + 4
		}
		fmt.Fprintf(&b, `<rect class="hit"%s x="%.2f" y="%.2f" width="%.2f" height="%.2f">%s</rect>`,
			s, float64(x0), float64(y0), float64(x1-x0), float64(y1-y0), title)
	}
	b.WriteString(`</g>`)
	return b.String()
}

// toggleScript hides and shows a series when its checkbox changes: every element of
// the chart tagged with the series' number (tagSeries and the hits).
const toggleScript = `document.addEventListener("change", function (e) {
  var box = e.target;
  if (!box.matches || !box.matches("figure input[data-s]")) { return; }
  var shown = box.checked ? "" : "none";
  box.closest("figure").querySelectorAll("svg [data-s='" + box.getAttribute("data-s") + "']").forEach(function (el) { el.style.display = shown; });
});`

// tagSeries marks each solid path of svg drawn in a series' colour (its line, bars,
// markers and legend entry) with the series' number, for toggleScript.
func tagSeries(svg string, series []seriesInfo) string {
	if len(series) < 2 {
		return svg
	}
	var b strings.Builder
	for {
		i := strings.Index(svg, "<path ")
		if i < 0 {
			b.WriteString(svg)
			return b.String()
		}
		end := strings.Index(svg[i:], ">")
		if end < 0 {
			b.WriteString(svg)
			return b.String()
		}
		tag := svg[i : i+end]
		b.WriteString(svg[:i+len("<path")])
		// Translucent shades (fault windows) are the fault's, not the series'.
		solid := !strings.Contains(tag, "opacity:0")
		for k, s := range series {
			if solid && (strings.Contains(tag, "stroke:"+s.Color) || strings.Contains(tag, "fill:"+s.Color)) {
				fmt.Fprintf(&b, ` data-s="%d"`, k)
				break
			}
		}
		svg = svg[i+len("<path"):]
	}
}

// scriptHash is toggleScript's CSP source expression.
var scriptHash = func() string {
	sum := sha256.Sum256([]byte(toggleScript))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()
