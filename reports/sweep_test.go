package reports

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// sweepFixture is a five-point sweep of the L1 TTL. Longer TTLs are faster and cheaper
// but staler; 2m is dominated by 60s; 60s is the cheapest point that passes both
// thresholds.
func sweepFixture(t testing.TB) []*Result {
	t.Helper()
	points := []struct {
		ttl          string
		p99us, stale float64
		cost         float64
	}{
		{"10s", 12000, 0.001, 0.30},
		{"30s", 9000, 0.004, 0.25},
		{"60s", 8000, 0.008, 0.22},
		{"2m", 9500, 0.02, 0.26},
		{"5m", 7000, 0.03, 0.20},
	}
	var out []*Result
	for i, p := range points {
		r := fixtureResult(t)
		r.Scenario.Point = "cache.l1.ttl=" + p.ttl + ",lambda.memory_mb=512"
		r.LatencyUS.P99 = p.p99us
		r.Histograms.Latency = histogramWithP99(t, p.p99us)
		r.Consistency.StaleRatio = p.stale
		r.Tiers.L1.HitRatio = 0.5 + 0.1*float64(i)
		r.CostUSD = &Cost{Total: p.cost / 10, PerMillionRequests: p.cost}
		r.Lambda.ColdStarts = int64(30 - 5*i)
		r.Thresholds = []Threshold{
			{Expr: "p99 < 10ms", OK: p.p99us < 10000, Value: p.p99us, Unit: "us"},
			{Expr: "stale_ratio < 0.01", OK: p.stale < 0.01, Value: p.stale, Unit: "ratio"},
		}
		out = append(out, r)
	}
	return out
}

func TestSweepParetoAndRecommendation(t *testing.T) {
	s := Sweep(sweepFixture(t))
	if got, want := strings.Join(s.Keys, ","), "cache.l1.ttl,lambda.memory_mb"; got != want {
		t.Errorf("keys %q, want %q", got, want)
	}
	wantPareto := map[string]bool{"10s": true, "30s": true, "60s": true, "2m": false, "5m": true}
	for _, p := range s.Points {
		if p.Pareto != wantPareto[p.Values[0]] {
			t.Errorf("point %s: pareto %v, want %v", p.Point, p.Pareto, wantPareto[p.Values[0]])
		}
	}
	if s.Recommended < 0 || s.Points[s.Recommended].Values[0] != "60s" {
		t.Fatalf("recommended %d (%s), want the 60s point", s.Recommended, s.Recommendation)
	}
	if !strings.Contains(s.Recommendation, "cheapest point whose thresholds all pass") {
		t.Errorf("recommendation does not say why: %s", s.Recommendation)
	}
	if len(s.ParetoOver) != 3 {
		t.Errorf("frontier over %v, want p99, stale ratio and cost", s.ParetoOver)
	}
}

func TestSweepNonePasses(t *testing.T) {
	rs := sweepFixture(t)
	for _, r := range rs {
		r.Thresholds = append(r.Thresholds, Threshold{Expr: "cost.per_million_requests < 0.1", OK: false})
	}
	rs[0].Thresholds[0].OK = false // p99 fails at 10s, 2m too: 2 points
	s := Sweep(rs)
	if s.Recommended != -1 {
		t.Fatalf("recommended %d although no point passes", s.Recommended)
	}
	want := `"cost.per_million_requests < 0.1" (failed at 5 of 5 points)`
	if !strings.Contains(s.Recommendation, "No point passes") || !strings.Contains(s.Recommendation, want) {
		t.Errorf("recommendation %q, want it to name %s", s.Recommendation, want)
	}
}

func TestSweepWithoutCost(t *testing.T) {
	rs := sweepFixture(t)
	rs[2].CostUSD = nil
	s := Sweep(rs)
	if len(s.ParetoOver) != 2 {
		t.Errorf("frontier over %v, want cost left out", s.ParetoOver)
	}
	// Passing points are 30s and 60s; without cost the lower p99 (60s) wins.
	if s.Recommended != 2 || !strings.Contains(s.Recommendation, "lowest p99") {
		t.Errorf("recommended %d: %s", s.Recommended, s.Recommendation)
	}
	var md bytes.Buffer
	if err := WriteSweepMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "| n/a |") {
		t.Errorf("a point without cost should show n/a:\n%s", md.String())
	}
}

func TestSweepRepeatsAveraged(t *testing.T) {
	rs := sweepFixture(t)
	extra := fixtureResult(t)
	extra.Scenario.Point = rs[0].Scenario.Point
	extra.LatencyUS.P99 = 14000
	extra.Histograms.Latency = histogramWithP99(t, 14000)
	extra.Consistency.StaleRatio = 0.001
	extra.CostUSD = &Cost{PerMillionRequests: 0.30}
	s := Sweep(append(rs, extra))
	// The two runs' requests together: 40 of 2,000 at 12 ms or 14 ms, so the pooled p99
	// (the 1,980th) is 12 ms, where an average of p99s would say 13 ms.
	p := s.Points[0]
	if len(s.Points) != 5 || p.Runs != 2 || !p.Pooled || math.Abs(p.P99US-12000) > 12 || p.P99MinUS != 12000 || p.P99MaxUS != 14000 {
		t.Errorf("points %d, first %+v: want 5 points, the first with 2 runs, pooled p99 12 ms, runs 12 to 14 ms", len(s.Points), p)
	}
	var md bytes.Buffer
	if err := WriteSweepMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"(runs 12.00ms–14.00ms)", "HdrHistograms merged"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("sweep markdown lacks %q", want)
		}
	}
}

func TestParsePoint(t *testing.T) {
	for _, tc := range []struct{ in, keys, values string }{
		{"", "", ""},
		{"a=1", "a", "1"},
		{"cache.l1.ttl=10s,lambda.memory_mb=512", "cache.l1.ttl|lambda.memory_mb", "10s|512"},
		{"keys.list=a,b,c=2", "keys.list|c", "a,b|2"},
	} {
		k, v := parsePoint(tc.in)
		if got := strings.Join(k, "|"); got != tc.keys {
			t.Errorf("parsePoint(%q) keys %q, want %q", tc.in, got, tc.keys)
		}
		if got := strings.Join(v, "|"); got != tc.values {
			t.Errorf("parsePoint(%q) values %q, want %q", tc.in, got, tc.values)
		}
	}
}

func ExampleSweep() {
	mk := func(ttl string, p99, stale, perM float64, ok bool) *Result {
		return &Result{
			Scenario:    ScenarioRef{Name: "ttl-sweep", Point: "cache.l1.ttl=" + ttl},
			LatencyUS:   Latency{P99: p99},
			Consistency: Consistency{StaleRatio: stale},
			CostUSD:     &Cost{PerMillionRequests: perM},
			Thresholds:  []Threshold{{Expr: "stale_ratio < 0.01", OK: ok}},
		}
	}
	s := Sweep([]*Result{mk("10s", 9000, 0.001, 0.30, true), mk("60s", 8000, 0.005, 0.22, true), mk("5m", 7000, 0.03, 0.20, false)})
	fmt.Println(s.Recommendation)
	// Output: Recommended: cache.l1.ttl=60s — the cheapest point whose thresholds all pass: p99 8.00ms, stale ratio 0.50%, $0.2200 per million requests.
}

func TestSweepColdStartsAndInterrupted(t *testing.T) {
	rs := sweepFixture(t)
	rs[3].Interrupted = true
	s := Sweep(rs)
	if s.Points[1].ColdStarts == nil || *s.Points[1].ColdStarts != 25 {
		t.Errorf("point 2 cold starts %v, want 25", s.Points[1].ColdStarts)
	}
	if s.Points[3].Interrupted != 1 || !strings.Contains(strings.Join(s.Notes, " "), "INTERRUPTED: points #4 include a run that was stopped early") {
		t.Errorf("interrupted point 4 not noted: %+v, notes %v", s.Points[3], s.Notes)
	}
	var md bytes.Buffer
	if err := WriteSweepMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| cold starts |", "| $0.2500 | 25 |", "lambda.memory_mb=512 (INTERRUPTED)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}

	// Without a Lambda fleet the column is left out of the table and empty in the CSV.
	for _, r := range rs {
		r.Lambda = nil
	}
	s = Sweep(rs)
	if s.Points[0].ColdStarts != nil {
		t.Errorf("cold starts %v without a Lambda fleet, want nil", *s.Points[0].ColdStarts)
	}
	md.Reset()
	if err := WriteSweepMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "cold starts") {
		t.Errorf("a sweep without a Lambda fleet shows a cold-starts column:\n%s", md.String())
	}
	var csv bytes.Buffer
	if err := WriteSweepCSV(&csv, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csv.String(), ",0.3,,false,") {
		t.Errorf("the CSV's cold_starts should be empty without a fleet:\n%s", csv.String())
	}
}

// twoKeySweep is a sweep of L1 TTL × L2 TTL (3 × 3, one combination missing): longer
// TTLs are faster and cheaper but staler.
func twoKeySweep(t testing.TB) []*Result {
	t.Helper()
	l1 := []string{"1s", "5s", "30s"}
	l2 := []string{"2s", "10s", "1m"}
	var out []*Result
	for i, a := range l1 {
		for j, b := range l2 {
			if i == 2 && j == 0 {
				continue // did not run
			}
			r := fixtureResult(t)
			r.Scenario.Name = "ttl-sweep"
			r.Scenario.Point = "cache.l1.ttl=" + a + ",cache.l2.ttl=" + b
			r.LatencyUS.P99 = 12000 - 1500*float64(i) - 800*float64(j)
			r.Histograms.Latency = histogramWithP99(t, r.LatencyUS.P99)
			r.Consistency.StaleRatio = 0.01 * float64(1+2*i+j)
			r.Tiers.L1.HitRatio = 0.5 + 0.12*float64(i)
			r.Tiers.L2.HitRatio = 0.4 + 0.15*float64(j)
			r.CostUSD = &Cost{Total: 0.01, PerMillionRequests: 0.30 - 0.03*float64(i) - 0.02*float64(j)}
			r.Thresholds = []Threshold{{Expr: "stale_ratio < 0.05", OK: r.Consistency.StaleRatio < 0.05, Value: r.Consistency.StaleRatio, Unit: "ratio"}}
			out = append(out, r)
		}
	}
	return out
}

// TestSweepHeatmaps: a sweep over two keys draws a heatmap per figure with every
// combination that ran labelled with its value, the missing one said, and the Pareto
// frontier and the recommendation marked; a sweep over one key keeps its line charts.
func TestSweepHeatmaps(t *testing.T) {
	s := Sweep(twoKeySweep(t))
	if s.Recommended < 0 {
		t.Fatalf("no recommendation: %s", s.Recommendation)
	}
	charts, skipped := sweepCharts(s)
	var titles []string
	for _, c := range charts {
		titles = append(titles, c.Title)
	}
	want := []string{"p99 read latency (ms)", "L1 in-process hit ratio (%)", "L2 Redis hit ratio (%)", "Stale read ratio (% of reads checked)", "Cost per million requests (USD)"}
	for _, w := range want {
		if !slices.Contains(titles, w) {
			t.Errorf("charts %q lack the heatmap %q", titles, w)
		}
	}
	p99 := charts[slices.Index(titles, "p99 read latency (ms)")].SVG
	for _, p := range s.Points {
		if label := FormatUS(p.P99US); !strings.Contains(p99, ">"+label+"<") {
			t.Errorf("the p99 heatmap lacks the cell of %s (%s)", p.Point, label)
		}
	}
	for _, w := range []string{"□ recommended", "○ Pareto frontier", "cache.l1.ttl", "cache.l2.ttl", ">30s<", ">1m<", "blue better, red worse (7.40ms to 12.00ms)"} {
		if !strings.Contains(p99, w) {
			t.Errorf("the p99 heatmap lacks %q", w)
		}
	}
	if !strings.Contains(strings.Join(skipped, " "), "no heatmap cell for 1 of the 9 combinations of cache.l1.ttl and cache.l2.ttl") {
		t.Errorf("skipped %q: want the missing combination said", skipped)
	}
	// One key: line charts, no heatmap.
	one, _ := sweepCharts(Sweep(sweepFixture(t)))
	for _, c := range one {
		if strings.Contains(c.SVG, "blue better") {
			t.Errorf("a one-key sweep drew a heatmap: %q", c.Title)
		}
	}
}

// TestSweepHeldInvalidationsAndDailyCost: a sweep of tracking L1s shows the invalidations
// held by frozen environments and their mean wait, and a sweep of virtual-clock runs the
// cost per day and the Stripe calls; neither column appears without its figures.
func TestSweepHeldInvalidationsAndDailyCost(t *testing.T) {
	rs := sweepFixture(t)
	rs[1].Tiers.L1.Invalidations = &Invalidations{Received: 40, Held: 12, HeldMeanMS: 3.5, HeldMaxMS: 9}
	rs[2].CostUSD.PerDay = 4.25
	rs[2].Origin.Calls = 321
	s := Sweep(rs)
	if p := s.Points[1]; p.InvalidationsHeld == nil || *p.InvalidationsHeld != 12 || p.HeldMeanMS == nil || *p.HeldMeanMS != 3.5 {
		t.Errorf("point 2 held invalidations %v (mean %v), want 12 (3.5 ms)", p.InvalidationsHeld, p.HeldMeanMS)
	}
	if s.Points[0].InvalidationsHeld != nil {
		t.Errorf("point 1 has no tracking L1, held %v", *s.Points[0].InvalidationsHeld)
	}
	var md bytes.Buffer
	if err := WriteSweepMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"invalidations held (mean wait)", "| 12 (3.5 ms) |", "| $ per day | Stripe calls |", "| $4.25 | 321 |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, md.String())
		}
	}
	md.Reset()
	if err := WriteSweepMarkdown(&md, Sweep(sweepFixture(t))); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "invalidations held") || strings.Contains(md.String(), "$ per day") {
		t.Errorf("columns without figures:\n%s", md.String())
	}
}

// TestSweepStatesTLSCost: a sweep over cache.l2.tls says what the TLS point adds to the
// plain one at p99 and per million requests.
func TestSweepStatesTLSCost(t *testing.T) {
	var rs []*Result
	for _, p := range []struct {
		tls        string
		p99us, pmr float64
	}{{"false", 400, 0.50}, {"true", 700, 0.65}} {
		r := fixtureResult(t)
		r.Scenario.Point = "cache.l2.tls=" + p.tls
		r.LatencyUS.P99 = p.p99us
		r.Histograms.Latency = histogramWithP99(t, p.p99us)
		r.CostUSD = &Cost{Total: p.pmr / 10, PerMillionRequests: p.pmr}
		rs = append(rs, r)
	}
	s := Sweep(rs)
	var note string
	for _, n := range s.Notes {
		if strings.HasPrefix(n, "TLS and AUTH:") {
			note = n
		}
	}
	p99 := fmt.Sprintf("%+.0f µs at p99", s.Points[1].P99US-s.Points[0].P99US)
	if note == "" || !strings.Contains(note, "cache.l2.tls=true against cache.l2.tls=false") ||
		!strings.Contains(note, p99) || !strings.Contains(note, "+0.1500 USD per million requests") {
		t.Errorf("sweep notes %q: want the TLS point's added p99 (%s) and cost per million", s.Notes, p99)
	}
	if s.Points[1].P99US <= s.Points[0].P99US {
		t.Errorf("pooled p99 %v then %v: the fixture's TLS point is slower", s.Points[0].P99US, s.Points[1].P99US)
	}
	if n := redisSecurityCost(Sweep(sweepFixture(t))); n != nil {
		t.Errorf("a sweep of other keys states %q", n)
	}
}
