package reports

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func metricRow(t *testing.T, c Comparison, key string) MetricComparison {
	t.Helper()
	for _, m := range c.Metrics {
		if m.Key == key {
			return m
		}
	}
	t.Fatalf("comparison has no metric %q", key)
	return MetricComparison{}
}

func TestCompareSingleRuns(t *testing.T) {
	a := fixtureResult(t)
	b := fixtureResult(t)
	b.Scenario.Name = "zipf-read-heavy-tinylfu"
	b.LatencyUS.P99 = 7350 // 25% lower than 9800
	b.Tiers.L1.HitRatio = 0.85
	b.CostUSD.PerMillionRequests = 0.47 // twice as dear
	b.Requests.RatePerS = 2000          // same

	c := Compare([]*Result{a, b})
	if len(c.Groups) != 2 || c.Groups[0].Runs != 1 || c.Groups[1].Runs != 1 {
		t.Fatalf("groups %+v, want two single runs", c.Groups)
	}
	if !strings.Contains(c.Statement, "Single runs: no claim of a significant difference") {
		t.Errorf("statement %q", c.Statement)
	}
	for _, tc := range []struct {
		key     string
		better  Direction
		delta   float64
		pct     float64
		verdict string
	}{
		{"p99", LowerIsBetter, -2450, -25, "better"},
		{"l1.hit_ratio", HigherIsBetter, 0.05, 6.25, "better"},
		{"cost.per_million_requests", LowerIsBetter, 0.235, 100, "worse"},
		{"rate", HigherIsBetter, 0, 0, "same"},
	} {
		m := metricRow(t, c, tc.key)
		cell := m.Cells[1]
		if m.Better != tc.better || cell.Verdict != tc.verdict || math.Abs(cell.Delta-tc.delta) > 1e-9 || math.Abs(cell.DeltaPct-tc.pct) > 1e-9 {
			t.Errorf("%s: better %v verdict %s delta %v (%v%%), want %v %s %v (%v%%)", tc.key, m.Better, cell.Verdict, cell.Delta, cell.DeltaPct, tc.better, tc.verdict, tc.delta, tc.pct)
		}
		if cell.Tested() || cell.Significant {
			t.Errorf("%s: single runs must not be tested for significance", tc.key)
		}
	}
	// L3 is off in both: the row is left out.
	for _, m := range c.Metrics {
		if m.Key == "l3.hit_ratio" {
			t.Error("a tier off in every run should have no row")
		}
	}
	var text bytes.Buffer
	if err := WriteCompare(&text, c, "text"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Single runs", "-2.45ms (-25.0%), better", "+5.00 pp (+6.2%), better", "worse"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text comparison lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "significant at 5%") {
		t.Errorf("single runs claim significance:\n%s", text.String())
	}
	if err := WriteCompare(&text, c, "pdf"); err == nil {
		t.Error("unknown format accepted")
	}
}

// repeats makes n runs of one configuration whose p99 and L1 hit ratio follow the given
// values (cycled), with seeds 1..n.
func repeats(t *testing.T, name string, n int, p99 []float64, l1 []float64) []*Result {
	var out []*Result
	for i := 0; i < n; i++ {
		r := fixtureResult(t)
		r.Scenario.Name = name
		r.Scenario.Seed = int64(i + 1)
		r.Scenario.Config, _ = json.Marshal(map[string]any{"name": name, "seed": i + 1})
		r.LatencyUS.P99 = p99[i%len(p99)]
		r.Histograms.Latency = histogramWithP99(t, r.LatencyUS.P99)
		r.Tiers.L1.HitRatio = l1[i%len(l1)]
		out = append(out, r)
	}
	return out
}

func TestCompareRepeats(t *testing.T) {
	// p99: clearly different (10 ms vs 8 ms, spread ±0.2 ms). L1 hit ratio: same spread
	// around the same mean, so not significant.
	a := repeats(t, "lru", 5, []float64{10000, 10200, 9800, 10100, 9900}, []float64{0.80, 0.82, 0.78, 0.81, 0.79})
	b := repeats(t, "tinylfu", 5, []float64{8000, 8150, 7900, 8050, 7950}, []float64{0.79, 0.83, 0.80, 0.78, 0.81})
	c := Compare(append(a, b...))
	if len(c.Groups) != 2 || c.Groups[0].Runs != 5 || c.Groups[1].Runs != 5 {
		t.Fatalf("groups %+v, want 2 groups of 5 repeats (seeds differ, configs otherwise equal)", c.Groups)
	}
	p99 := metricRow(t, c, "p99").Cells[1]
	if !p99.Tested() || !p99.Significant || p99.PValue > 1e-4 {
		t.Errorf("p99 10ms→8ms with small spread: p %v significant %v, want significant", p99.PValue, p99.Significant)
	}
	// Repeats' p99 is pooled from their merged histograms (the middle run's here, as each
	// run puts 2% of its requests at its own p99), with the runs' range beside it.
	if !p99.Pooled || p99.Min != 7900 || p99.Max != 8150 || math.Abs(p99.Mean-8000) > 10 {
		t.Errorf("p99 of 5 repeats: %+v; want pooled about 8000 µs, runs 7900 to 8150", p99)
	}
	l1 := metricRow(t, c, "l1.hit_ratio").Cells[1]
	if !l1.Tested() || l1.Significant || l1.PValue < 0.5 {
		t.Errorf("L1 hit ratio with equal means: p %v significant %v, want not significant", l1.PValue, l1.Significant)
	}
	var md bytes.Buffer
	if err := WriteCompare(&md, c, "md"); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{"difference significant at 5%", "not significant", "(5 runs)", "±", "Welch", "pooled (runs 7.90ms–8.15ms)", "HdrHistograms merged"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown comparison lacks %q:\n%s", want, out)
		}
	}
}

func TestCompareTooFewRepeats(t *testing.T) {
	a := repeats(t, "lru", 2, []float64{10000, 10100}, []float64{0.8})
	b := repeats(t, "tinylfu", 5, []float64{8000, 8100}, []float64{0.8})
	c := Compare(append(a, b...))
	cell := metricRow(t, c, "p99").Cells[1]
	if cell.Tested() || cell.Significant {
		t.Errorf("2 runs against 5 must not be tested: %+v", cell)
	}
	if !strings.Contains(c.Statement, "no claim of a significant difference") {
		t.Errorf("statement %q", c.Statement)
	}
}

func TestCompareVariants(t *testing.T) {
	a := fixtureResult(t)
	b := fixtureResult(t)
	b.Scenario.Config, _ = json.Marshal(map[string]any{"name": "zipf-read-heavy", "cache": map[string]any{"l1": map[string]any{"ttl": "5m"}}})
	c := Compare([]*Result{a, b})
	if len(c.Groups) != 2 || !strings.Contains(c.Groups[1].Label, "variant 2") {
		t.Errorf("groups %+v: same name and point but another configuration should be a second variant", c.Groups)
	}
	if len(c.Notes) == 0 || !strings.Contains(strings.Join(c.Notes, " "), "separate variants") {
		t.Errorf("notes %v should explain the variants", c.Notes)
	}
}

func TestCompareSidesKeepsSides(t *testing.T) {
	// The same configuration on two environments: Compare would call them repeats,
	// CompareSides keeps one column per side.
	a := repeats(t, "baseline", 3, []float64{10000, 10100, 9900}, []float64{0.8})
	b := repeats(t, "baseline", 3, []float64{12000, 12100, 11900}, []float64{0.8})
	if got := len(Compare(append(append([]*Result{}, a...), b...)).Groups); got != 1 {
		t.Fatalf("Compare made %d groups of one configuration, want 1", got)
	}
	c := CompareSides([]Side{{Label: "docker", Results: a}, {Label: "local", Results: b}, {Label: "empty"}})
	if len(c.Groups) != 2 || c.Groups[0].Label != "docker" || c.Groups[1].Runs != 3 {
		t.Fatalf("groups %+v, want docker and local with 3 runs each", c.Groups)
	}
	p99 := metricRow(t, c, "p99").Cells[1]
	if !p99.Tested() || !p99.Significant || p99.Verdict != "worse" {
		t.Errorf("p99 10ms→12ms over 3 runs each: %+v, want a significant worsening", p99)
	}

	// A side mixing configurations, and an interrupted run, are noted.
	mixed := append(repeats(t, "lru", 1, []float64{9000}, []float64{0.8}), repeats(t, "tinylfu", 1, []float64{8000}, []float64{0.8})...)
	mixed[1].Interrupted = true
	c = CompareSides([]Side{{Label: "A", Results: a[:1]}, {Label: "B", Results: mixed}})
	notes := strings.Join(c.Notes, " ")
	for _, want := range []string{"B mixes 2 configurations", "Interrupted runs", "included in: B."} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
}

func TestCompareOneGroupOfRepeats(t *testing.T) {
	c := Compare(repeats(t, "baseline", 3, []float64{10000, 10200, 9800}, []float64{0.8, 0.82, 0.78}))
	if len(c.Groups) != 1 || c.Groups[0].Runs != 3 {
		t.Fatalf("groups %+v, want one group of 3 repeats", c.Groups)
	}
	var text bytes.Buffer
	if err := WriteCompare(&text, c, "text"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(3 runs)", "pooled (runs 9.80ms–10.20ms)", "repeats of one configuration"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("comparison of repeats lacks %q:\n%s", want, text.String())
		}
	}
}

// TestCompareHTMLFirstScreen: the comparison page opens with which side is best on the
// figures that matter, by how much, and whether the difference is real, and overlays
// every side on its charts.
func TestCompareHTMLFirstScreen(t *testing.T) {
	sides := []Side{
		{Label: "lru", Results: repeats(t, "lru", 3, []float64{10000, 10200, 9800}, []float64{0.80, 0.81, 0.79})},
		{Label: "tinylfu", Results: repeats(t, "tinylfu", 3, []float64{8000, 8100, 7900}, []float64{0.86, 0.87, 0.85})},
		{Label: "single", Results: repeats(t, "single", 1, []float64{12000}, []float64{0.5})},
	}
	var b bytes.Buffer
	if err := WriteCompareHTML(&b, CompareSides(sides)); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	first := page[:strings.Index(page, "<h2>Charts</h2>")]
	for _, want := range []string{
		"Which is better", "latency p99", "tinylfu: 8.", "better than the baseline", "yes (p = ",
		"L1 hit ratio", "tinylfu: 86.00%", "Baseline: lru", "lru blue, tinylfu red, single green",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("the first screen lacks %q", want)
		}
	}
	if got := strings.Count(page, `<svg class="chart"`); got != 7 {
		t.Errorf("%d charts, want 7", got)
	}
	// Every side is named in the spectrum's legend.
	spectrum := page[strings.Index(page, `aria-label="Read latency by percentile`):]
	spectrum = spectrum[:strings.Index(spectrum, "</svg>")]
	for _, side := range []string{"lru", "tinylfu", "single"} {
		if !strings.Contains(spectrum, ">"+side+"<") {
			t.Errorf("the spectrum's legend lacks %s", side)
		}
	}
	for _, bad := range []string{"<script src", `src="http`, `href="http`, "@import", "url(http"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q: it must load nothing", bad)
		}
	}
}
