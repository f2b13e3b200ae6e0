package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// htmlPage is what the page template shows; WriteHTML and WriteSweepHTML fill it.
type htmlPage struct {
	Title    string
	Warnings []string
	Preamble []string
	// Banner is the one-line verdict under the title (thresholds, recommendation).
	Banner   string
	BannerOK bool
	Before   []htmlSection
	Charts   []htmlChart
	After    []htmlSection
	Notes    []string
	// Skipped says which charts are missing and why.
	Skipped []string
}

type htmlSection struct {
	Title  string
	Header []string
	Rows   [][]string
	Note   string
}

type htmlChart struct {
	Title  string
	SVG    template.HTML
	Series []seriesInfo
}

func toHTMLSections(ss []section) []htmlSection {
	out := make([]htmlSection, len(ss))
	for i, s := range ss {
		out[i] = htmlSection{Title: s.title, Header: s.header, Rows: s.rows, Note: s.note}
	}
	return out
}

func toHTMLCharts(cs []chart) []htmlChart {
	out := make([]htmlChart, len(cs))
	for i, c := range cs {
		// The SVG comes from gonum/plot's SVG canvas, which escapes every text it writes.
		out[i] = htmlChart{Title: c.Title, SVG: template.HTML(c.SVG), Series: c.Series}
	}
	return out
}

// The page loads nothing: styles are inline, charts are inline SVG, and the
// Content-Security-Policy forbids every fetch and every script but toggleScript (by its
// hash), so a report opened offline looks and works the same.
var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"fail": func(s string) bool { return strings.HasPrefix(s, "FAIL") },
}).Parse(strings.NewReplacer("SCRIPT_HASH", scriptHash, "TOGGLE_SCRIPT", toggleScript).Replace(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src SCRIPT_HASH">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, "Liberation Sans", Arial, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
div.table { overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.fail { color: #b00020; font-weight: bold; }
p.note { color: #555; font-size: 0.9em; }
.warn { background: #fff4e5; border-left: 4px solid #e08a00; padding: 0.5em 1em; }
.banner { padding: 0.5em 1em; border-left: 4px solid #b00020; background: #fdecee; }
.banner.ok { border-left-color: #2c8a2c; background: #eaf6ea; }
figure { margin: 1em 0; }
svg.chart { max-width: 100%; height: auto; display: block; }
.hit { fill: #000; fill-opacity: 0; cursor: crosshair; }
.hit:hover { fill-opacity: 0.15; }
.series { font-size: 0.85em; color: #444; }
.series label { margin-right: 1.2em; white-space: nowrap; }
</style>
<script>TOGGLE_SCRIPT</script>
</head>
<body>
<h1>{{.Title}}</h1>
{{range .Warnings}}<p class="warn">{{.}}</p>
{{end}}{{if .Banner}}<p class="banner{{if .BannerOK}} ok{{end}}">{{.Banner}}</p>
{{end}}{{range .Preamble}}<p>{{.}}</p>
{{end}}{{range .Before}}{{template "section" .}}{{end}}
{{if .Charts}}<h2>Charts</h2>
{{range .Charts}}<figure>
{{.SVG}}{{if .Series}}<div class="series">Show: {{range $i, $s := .Series}}<label><input type="checkbox" checked data-s="{{$i}}" data-color="{{$s.Color}}"> <span style="color: {{$s.Color}}">■</span> {{$s.Name}}</label>{{end}}</div>
{{end}}</figure>
{{end}}{{end}}{{range .Skipped}}<p class="note">Chart left out: {{.}}</p>
{{end}}{{range .After}}{{template "section" .}}{{end}}
{{if .Notes}}<h2>Notes</h2>
<ul>
{{range .Notes}}<li>{{.}}</li>
{{end}}</ul>
{{end}}</body>
</html>
{{define "section"}}<h2>{{.Title}}</h2>
{{if .Rows}}<div class="table"><table>
<thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range .}}<td{{if fail .}} class="fail"{{end}}>{{.}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
{{end}}{{if .Note}}<p class="note">{{.Note}}</p>
{{end}}{{end}}`)))

func writePage(w io.Writer, page htmlPage, what string) error {
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, page); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return nil
}

// WriteHTML writes the report of one run as one self-contained HTML page that works
// offline: no script, stylesheet, font or image is fetched, and the page's
// Content-Security-Policy forbids any fetch. Charts (gonum/plot, inline SVG): the read
// latency percentile spectrum on HdrHistogram's log scale (from the encoded histograms),
// latency p50/p99, throughput, hit ratio per tier, and errors with Stripe 429s over time
// with fault windows shaded, and the cost by item when the run has cost figures. The
// tables are those of WriteMarkdown.
func WriteHTML(w io.Writer, r *Result) error {
	secs := runSections(r)
	page := htmlPage{Title: "cachebench report: " + runTitle(r)}
	for _, p := range runPreamble(r) {
		if strings.HasPrefix(p, "INTERRUPTED") {
			page.Warnings = append(page.Warnings, p)
			continue
		}
		page.Preamble = append(page.Preamble, p)
	}
	if n := len(r.Thresholds); n > 0 {
		failed := 0
		for _, t := range r.Thresholds {
			if !t.OK {
				failed++
			}
		}
		page.BannerOK = failed == 0
		page.Banner = fmt.Sprintf("Thresholds: %d of %d pass.", n-failed, n)
		if failed > 0 {
			page.Banner += fmt.Sprintf(" %d FAILED (see Thresholds below).", failed)
		}
	}
	// Requests and latency first, then the charts, then the rest.
	split := min(2, len(secs))
	page.Before = toHTMLSections(secs[:split])
	page.After = toHTMLSections(secs[split:])
	charts, skipped := runCharts(r)
	page.Charts = toHTMLCharts(charts)
	page.Skipped = skipped
	page.Notes = r.Notes
	return writePage(w, page, "html report")
}

// WriteSweepHTML writes a sweep as one self-contained HTML page (no fetch of any kind):
// the table of WriteSweepMarkdown, the recommendation, and charts of p99 latency, hit
// ratio per tier, stale ratio, cost per million requests and (when a point had any)
// Lambda cold starts against the sweep value, with the Pareto frontier and the
// recommended point marked.
func WriteSweepHTML(w io.Writer, s SweepReport) error {
	header, rows := sweepRows(s)
	page := htmlPage{
		Title:    "cachebench sweep: " + orDash(s.Scenario),
		Banner:   s.Recommendation,
		BannerOK: s.Recommended >= 0,
	}
	if len(s.Keys) > 0 {
		page.Preamble = append(page.Preamble, "Swept: "+strings.Join(s.Keys, ", ")+".")
	}
	page.Preamble = append(page.Preamble, "p99 is read latency from intended start; $ per M requests is the simulated cost per million requests (USD)."+sizeLegend(s))
	page.Before = []htmlSection{{
		Title:  "Points",
		Header: header,
		Rows:   rows,
		Note: fmt.Sprintf("★ marks the Pareto frontier over %s (all lower is better): no other point is at least as good on all of them and better on one.",
			strings.Join(s.ParetoOver, ", ")),
	}}
	charts, skipped := sweepCharts(s)
	page.Charts = toHTMLCharts(charts)
	page.Skipped = skipped
	page.Notes = s.Notes
	return writePage(w, page, "sweep html report")
}
