package reports

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// SweepReport is the account of one sweep: a row per point, the Pareto frontier over
// (p99 latency, stale ratio, cost per million requests), all lower-is-better, and a
// recommendation.
type SweepReport struct {
	// Scenario is the swept scenario's name.
	Scenario string
	// Keys are the swept configuration keys, in the order the points name them.
	Keys   []string
	Points []SweepPoint
	// Thresholds are the threshold expressions of the sweep's runs, in the order first
	// seen; the charts draw each as a bound on the figure it limits.
	Thresholds []string
	// ParetoOver names the dimensions the frontier was computed over.
	ParetoOver []string
	// Recommended is the index in Points of the recommended point, or -1.
	Recommended int
	// Recommendation says which point to pick and why, or plainly that none passes its
	// thresholds and which threshold failed most often.
	Recommendation string
	// Notes are further cautions (single runs, missing cost figures, mixed scenarios).
	Notes []string
}

// SweepPoint is one point of a sweep; figures are means when the point ran more than once,
// except latency percentiles, which are pooled.
type SweepPoint struct {
	// Point is the point as the scenario names it: "cache.l1.ttl=10s,lambda.memory_mb=512".
	Point string
	// Values holds the value of each of SweepReport.Keys at this point ("" when unset).
	Values []string
	// Runs is the number of results for this point.
	Runs int
	// P50US, P99US and P999US are read latencies from intended start, in microseconds.
	// For a point that ran more than once they are the percentiles of the runs' merged
	// HdrHistograms (Pooled), and P99MinUS and P99MaxUS the runs' own smallest and largest
	// p99 (equal to P99US for one run).
	P50US, P99US, P999US float64
	P99MinUS, P99MaxUS   float64
	Pooled               bool
	// L1HitRatio, L2HitRatio and L3HitRatio are nil when the tier was off.
	L1HitRatio, L2HitRatio, L3HitRatio *float64
	StaleRatio                         float64
	MaxStalenessMS                     float64
	OriginCalls                        float64
	RateLimited                        float64
	// CostTotalUSD and PerMillionUSD are nil when a run of the point has no cost figures.
	CostTotalUSD  *float64
	PerMillionUSD *float64
	// ColdStarts is the Lambda cold starts in the measured part; nil when a run of the
	// point had no Lambda fleet.
	ColdStarts *float64
	// L1BytesPerCache is what one L1 held at the end, in bytes (tiers.l1.bytes_held over
	// tiers.l1.caches: per execution environment with a fleet); nil when a run of the
	// point does not say.
	L1BytesPerCache *float64
	// FirstMinuteL1 and FirstMinuteP99US are the L1 hit ratio and p99 of the reads served
	// by environments in their first minute (lambda.first_minute; the mean over runs);
	// nil when a run of the point has none.
	FirstMinuteL1, FirstMinuteP99US *float64
	// InvalidationsHeld and HeldMeanMS (tracking L1s) are the invalidations that reached
	// an environment frozen between invocations, and how long they waited on average.
	InvalidationsHeld, HeldMeanMS *float64
	// PerDayUSD (clock: virtual) is the cost per day.
	PerDayUSD *float64
	// L1BytesPerEntry, L2BytesPerEntry and L3BytesPerEntry are each tier's
	// tiers.*.bytes_per_entry (measured as its bytes_measure says); nil when a run of the
	// point lacks the figure.
	L1BytesPerEntry, L2BytesPerEntry, L3BytesPerEntry *float64
	// Interrupted counts the runs of the point that were stopped early.
	Interrupted int
	// ThresholdsOK is true when every threshold of every run passed (and there was at
	// least one, or the scenario set none).
	ThresholdsOK bool
	// Failed lists the threshold expressions that failed in some run, sorted.
	Failed []string
	// Pareto marks points no other point beats on every frontier dimension.
	Pareto bool
}

// Label is the point's short name for tables and chart axes: the values of the keys that
// vary across the sweep ("10s", or "10s, 512"), or "#n" when no key varies.
func (s SweepReport) Label(i int) string {
	p := s.Points[i]
	var parts []string
	for k := range s.Keys {
		varies := false
		for _, q := range s.Points {
			if k < len(q.Values) && k < len(p.Values) && q.Values[k] != p.Values[k] {
				varies = true
				break
			}
		}
		if varies && k < len(p.Values) {
			parts = append(parts, p.Values[k])
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("#%d", i+1)
	}
	return strings.Join(parts, ", ")
}

// varyingKeys are the swept keys whose value differs between points.
func (s SweepReport) varyingKeys() []string {
	var out []string
	for k, key := range s.Keys {
		for _, q := range s.Points {
			if k < len(q.Values) && len(s.Points[0].Values) > k && q.Values[k] != s.Points[0].Values[k] {
				out = append(out, key)
				break
			}
		}
	}
	return out
}

// parsePoint splits "a.b=1,c=2s" into keys and values, keeping order. A comma that is not
// followed by "key=" stays inside the value.
func parsePoint(point string) (keys, values []string) {
	if point == "" {
		return nil, nil
	}
	parts := strings.Split(point, ",")
	var cur []string
	for _, p := range parts {
		if strings.Contains(p, "=") || len(cur) == 0 {
			cur = append(cur, p)
		} else {
			cur[len(cur)-1] += "," + p
		}
	}
	for _, kv := range cur {
		k, v, _ := strings.Cut(kv, "=")
		keys = append(keys, strings.TrimSpace(k))
		values = append(values, strings.TrimSpace(v))
	}
	return keys, values
}

// splitPoint splits a point into its "key=value" parts, as parsePoint reads them.
func splitPoint(point string) []string {
	keys, values := parsePoint(point)
	out := make([]string, len(keys))
	for i := range keys {
		out[i] = keys[i] + "=" + values[i]
	}
	return out
}

// Sweep builds the report of a sweep from the results of its points, in the order given;
// results that share a point are repeats and are averaged.
func Sweep(results []*Result) SweepReport {
	s := SweepReport{Recommended: -1}
	type acc struct {
		point string
		runs  []*Result
	}
	var order []*acc
	byPoint := map[string]*acc{}
	names := map[string]bool{}
	var nameOrder []string
	for _, r := range results {
		if r == nil {
			continue
		}
		if !names[r.Scenario.Name] {
			names[r.Scenario.Name] = true
			nameOrder = append(nameOrder, r.Scenario.Name)
		}
		a, ok := byPoint[r.Scenario.Point]
		if !ok {
			a = &acc{point: r.Scenario.Point}
			byPoint[r.Scenario.Point] = a
			order = append(order, a)
		}
		a.runs = append(a.runs, r)
		for _, t := range r.Thresholds {
			if !contains(s.Thresholds, t.Expr) {
				s.Thresholds = append(s.Thresholds, t.Expr)
			}
		}
		keys, _ := parsePoint(r.Scenario.Point)
		for _, k := range keys {
			if !contains(s.Keys, k) {
				s.Keys = append(s.Keys, k)
			}
		}
	}
	if len(nameOrder) > 0 {
		s.Scenario = nameOrder[0]
	}
	if len(nameOrder) > 1 {
		s.Notes = append(s.Notes, "The results come from several scenarios ("+strings.Join(nameOrder, ", ")+"): their points are compared as if from one sweep.")
	}
	if len(order) == 0 {
		s.Recommendation = "No results: nothing to recommend."
		return s
	}

	anyThreshold := false
	single := true
	for _, a := range order {
		p := SweepPoint{Point: a.point, Runs: len(a.runs), ThresholdsOK: true}
		if p.Runs > 1 {
			single = false
		}
		keys, values := parsePoint(a.point)
		p.Values = make([]string, len(s.Keys))
		for i, k := range keys {
			p.Values[indexOf(s.Keys, k)] = values[i]
		}
		mean := func(f func(*Result) float64) float64 {
			var sum float64
			for _, r := range a.runs {
				sum += f(r)
			}
			return sum / float64(len(a.runs))
		}
		optMean := func(f func(*Result) (float64, bool)) *float64 {
			var sum float64
			for _, r := range a.runs {
				v, ok := f(r)
				if !ok {
					return nil
				}
				sum += v
			}
			m := sum / float64(len(a.runs))
			return &m
		}
		p.P50US = mean(func(r *Result) float64 { return r.LatencyUS.P50 })
		p.P99US = mean(func(r *Result) float64 { return r.LatencyUS.P99 })
		p.P999US = mean(func(r *Result) float64 { return r.LatencyUS.P999 })
		p.P99MinUS, p.P99MaxUS = p.P99US, p.P99US
		if len(a.runs) > 1 {
			// Repeats' percentiles come from their merged histograms (all their requests),
			// with the runs' own p99s as the spread.
			p99s := make([]float64, len(a.runs))
			for i, r := range a.runs {
				p99s[i] = r.LatencyUS.P99
			}
			p.P99MinUS, p.P99MaxUS = minMax(p99s)
			if h, ok := pooledHistogram(a.runs, latencyHist); ok {
				p.Pooled = true
				p.P50US, p.P99US, p.P999US = quantileOf(50)(h), quantileOf(99)(h), quantileOf(99.9)(h)
			}
		}
		p.L1HitRatio = optMean(tierGet(func(r *Result) TierStats { return r.Tiers.L1 }))
		p.L2HitRatio = optMean(tierGet(func(r *Result) TierStats { return r.Tiers.L2 }))
		p.L3HitRatio = optMean(tierGet(func(r *Result) TierStats { return r.Tiers.L3 }))
		p.StaleRatio = mean(func(r *Result) float64 { return r.Consistency.StaleRatio })
		p.MaxStalenessMS = mean(func(r *Result) float64 { return r.Consistency.MaxStalenessMS })
		p.OriginCalls = mean(func(r *Result) float64 { return float64(r.Origin.Calls) })
		p.RateLimited = mean(func(r *Result) float64 { return float64(r.Origin.RateLimited) })
		p.CostTotalUSD = optMean(func(r *Result) (float64, bool) {
			if r.CostUSD == nil {
				return 0, false
			}
			return r.CostUSD.Total, true
		})
		p.PerMillionUSD = optMean(func(r *Result) (float64, bool) {
			if r.CostUSD == nil {
				return 0, false
			}
			return r.CostUSD.PerMillionRequests, true
		})
		bytesOf := func(get func(r *Result) (float64, bool)) *float64 { return optMean(get) }
		p.L1BytesPerEntry = bytesOf(func(r *Result) (float64, bool) { return r.Tiers.L1.BytesPerEntry, r.Tiers.L1.BytesPerEntry > 0 })
		p.L2BytesPerEntry = bytesOf(func(r *Result) (float64, bool) { return r.Tiers.L2.BytesPerEntry, r.Tiers.L2.BytesPerEntry > 0 })
		p.L3BytesPerEntry = bytesOf(func(r *Result) (float64, bool) { return r.Tiers.L3.BytesPerEntry, r.Tiers.L3.BytesPerEntry > 0 })
		p.ColdStarts = optMean(func(r *Result) (float64, bool) {
			if r.Lambda == nil {
				return 0, false
			}
			return float64(r.Lambda.ColdStarts), true
		})
		p.FirstMinuteL1 = optMean(func(r *Result) (float64, bool) {
			if r.Lambda == nil || r.Lambda.FirstMinute == nil {
				return 0, false
			}
			return r.Lambda.FirstMinute.L1HitRatio, true
		})
		p.FirstMinuteP99US = optMean(func(r *Result) (float64, bool) {
			if r.Lambda == nil || r.Lambda.FirstMinute == nil {
				return 0, false
			}
			return r.Lambda.FirstMinute.P99US, true
		})
		p.InvalidationsHeld = optMean(func(r *Result) (float64, bool) {
			if inv := r.Tiers.L1.Invalidations; inv != nil {
				return float64(inv.Held), true
			}
			return 0, false
		})
		p.HeldMeanMS = optMean(func(r *Result) (float64, bool) {
			if inv := r.Tiers.L1.Invalidations; inv != nil && inv.Held > 0 {
				return inv.HeldMeanMS, true
			}
			return 0, false
		})
		p.PerDayUSD = optMean(func(r *Result) (float64, bool) {
			if r.CostUSD == nil || r.CostUSD.PerDay <= 0 {
				return 0, false
			}
			return r.CostUSD.PerDay, true
		})
		p.L1BytesPerCache = optMean(func(r *Result) (float64, bool) {
			l1 := r.Tiers.L1
			if l1.Caches <= 0 {
				return 0, false
			}
			return float64(l1.BytesHeld) / float64(l1.Caches), true
		})
		for _, r := range a.runs {
			if r.Interrupted {
				p.Interrupted++
			}
			for _, t := range r.Thresholds {
				anyThreshold = true
				if !t.OK {
					p.ThresholdsOK = false
					if !contains(p.Failed, t.Expr) {
						p.Failed = append(p.Failed, t.Expr)
					}
				}
			}
		}
		sort.Strings(p.Failed)
		s.Points = append(s.Points, p)
	}
	if single {
		s.Notes = append(s.Notes, "Each point ran once: differences between neighbouring points may be noise.")
	} else {
		s.Notes = append(s.Notes, "For points that ran more than once, latency percentiles are those of all their runs' requests together "+
			"(their HdrHistograms merged, not an average of the runs' p99s), with the runs' own p99s as a range; other figures are means over the runs.")
	}
	s.Notes = append(s.Notes, redisSecurityCost(s)...)
	var partial []string
	for i, p := range s.Points {
		if p.Interrupted > 0 {
			partial = append(partial, fmt.Sprintf("#%d", i+1))
		}
	}
	if len(partial) > 0 {
		s.Notes = append(s.Notes, "INTERRUPTED: points "+strings.Join(partial, ", ")+" include a run that was stopped early; their figures cover only the part that ran.")
	}

	// The Pareto frontier: cost joins only when every point has it.
	haveCost := true
	for _, p := range s.Points {
		if p.PerMillionUSD == nil {
			haveCost = false
		}
	}
	dims := []func(SweepPoint) float64{
		func(p SweepPoint) float64 { return p.P99US },
		func(p SweepPoint) float64 { return p.StaleRatio },
	}
	s.ParetoOver = []string{"p99 latency", "stale ratio"}
	if haveCost {
		dims = append(dims, func(p SweepPoint) float64 { return *p.PerMillionUSD })
		s.ParetoOver = append(s.ParetoOver, "cost per million requests")
	} else {
		s.Notes = append(s.Notes, "Not every point has cost figures: cost is left out of the Pareto frontier and the recommendation.")
	}
	for i := range s.Points {
		s.Points[i].Pareto = true
		for j := range s.Points {
			if i != j && dominates(s.Points[j], s.Points[i], dims) {
				s.Points[i].Pareto = false
				break
			}
		}
	}

	s.recommend(anyThreshold, haveCost)
	return s
}

// dominates reports whether a is no worse than b on every dimension and better on one.
func dominates(a, b SweepPoint, dims []func(SweepPoint) float64) bool {
	better := false
	for _, d := range dims {
		va, vb := d(a), d(b)
		if va > vb {
			return false
		}
		if va < vb {
			better = true
		}
	}
	return better
}

func (s *SweepReport) recommend(anyThreshold, haveCost bool) {
	var passing []int
	for i, p := range s.Points {
		if p.ThresholdsOK {
			passing = append(passing, i)
		}
	}
	if len(passing) == 0 {
		counts := map[string]int{}
		for _, p := range s.Points {
			for _, f := range p.Failed {
				counts[f]++
			}
		}
		worst, n := "", 0
		for expr, c := range counts {
			if c > n || (c == n && expr < worst) {
				worst, n = expr, c
			}
		}
		s.Recommendation = fmt.Sprintf("No point passes all its thresholds. The threshold that failed most often is %q (failed at %d of %d points).",
			worst, n, len(s.Points))
		return
	}
	cost := func(i int) float64 {
		if p := s.Points[i].PerMillionUSD; haveCost && p != nil {
			return *p
		}
		return math.Inf(1)
	}
	best := passing[0]
	for _, i := range passing[1:] {
		ci, cb := cost(i), cost(best)
		if ci < cb || (ci == cb && s.Points[i].P99US < s.Points[best].P99US) {
			best = i
		}
	}
	s.Recommended = best
	p := s.Points[best]
	why := "the cheapest point whose thresholds all pass"
	if !anyThreshold {
		why = "the cheapest point (the scenario set no thresholds, so every point passes)"
	}
	if math.IsInf(cost(best), 1) {
		why = "the passing point with the lowest p99 (no cost figures to choose by)"
		if !anyThreshold {
			why = "the point with the lowest p99 (no thresholds and no cost figures to choose by)"
		}
	}
	money := "n/a"
	if p.PerMillionUSD != nil {
		money = formatUSD(*p.PerMillionUSD)
	}
	s.Recommendation = fmt.Sprintf("Recommended: %s — %s: p99 %s, stale ratio %s, %s per million requests.",
		p.Point, why, FormatUS(p.P99US), formatPct(p.StaleRatio), money)
	if p.Point == "" {
		s.Recommendation = strings.Replace(s.Recommendation, "Recommended: ", fmt.Sprintf("Recommended: point #%d", best+1), 1)
	}
}

// sweepRows is the table of a sweep, shared by the Markdown and HTML renderers. The
// frontier's figures (p99, stale ratio, cost) come first, then Lambda cold starts when
// the runs had a Lambda fleet, then the hit ratios.
func sweepRows(s SweepReport) (header []string, rows [][]string) {
	lambda, memory, young, sized, held, daily := false, false, false, false, false, false
	for _, p := range s.Points {
		if p.InvalidationsHeld != nil {
			held = true
		}
		if p.PerDayUSD != nil {
			daily = true
		}
		if p.ColdStarts != nil {
			lambda = true
		}
		if p.FirstMinuteL1 != nil {
			young = true
		}
		if p.L1BytesPerCache != nil {
			memory = true
		}
		if p.L1BytesPerEntry != nil || p.L2BytesPerEntry != nil || p.L3BytesPerEntry != nil {
			sized = true
		}
	}
	header = []string{"#", "point", "runs", "p99", "stale ratio", "$ per M requests"}
	if daily {
		header = append(header, "$ per day", "Stripe calls")
	}
	if lambda {
		header = append(header, "cold starts")
	}
	if young {
		header = append(header, "first minute: L1 hit", "first minute: p99")
	}
	if sized {
		header = append(header, "p50", "bytes/entry L1 · L2 · L3")
	}
	header = append(header, "L1 hit", "L2 hit", "L3 hit")
	if memory {
		header = append(header, "L1 memory per env")
	}
	if held {
		header = append(header, "invalidations held (mean wait)")
	}
	header = append(header, "thresholds", "Pareto", "recommended")
	ratio := func(p *float64) string {
		if p == nil {
			return "off"
		}
		return formatPct(*p)
	}
	for i, p := range s.Points {
		money := "n/a"
		if p.PerMillionUSD != nil {
			money = formatUSD(*p.PerMillionUSD)
		}
		th := "pass"
		if !p.ThresholdsOK {
			th = "FAIL: " + strings.Join(p.Failed, "; ")
		}
		pareto, rec := "", ""
		if p.Pareto {
			pareto = "★ frontier"
		}
		if i == s.Recommended {
			rec = "✔"
		}
		// A space after each key's value lets a long point wrap in narrow table cells.
		name := strings.Join(splitPoint(p.Point), ", ")
		if name == "" {
			name = s.Label(i)
		}
		if p.Interrupted > 0 {
			name += " (INTERRUPTED)"
		}
		p99 := FormatUS(p.P99US)
		if p.Runs > 1 {
			p99 += " (runs " + FormatUS(p.P99MinUS) + "–" + FormatUS(p.P99MaxUS) + ")"
		}
		row := []string{fmt.Sprint(i + 1), name, fmt.Sprint(p.Runs), p99, formatPct(p.StaleRatio), money}
		if daily {
			day := "n/a"
			if p.PerDayUSD != nil {
				day = formatUSD(*p.PerDayUSD)
			}
			row = append(row, day, trimFloat(p.OriginCalls))
		}
		if lambda {
			cold := "n/a"
			if p.ColdStarts != nil {
				cold = trimFloat(*p.ColdStarts)
			}
			row = append(row, cold)
		}
		if young {
			l1, p99 := "n/a", "n/a"
			if p.FirstMinuteL1 != nil {
				l1 = formatPct(*p.FirstMinuteL1)
			}
			if p.FirstMinuteP99US != nil {
				p99 = FormatUS(*p.FirstMinuteP99US)
			}
			row = append(row, l1, p99)
		}
		if sized {
			bytes := func(v *float64) string {
				if v == nil {
					return "-"
				}
				return fmt.Sprintf("%.0f", *v)
			}
			row = append(row, FormatUS(p.P50US), bytes(p.L1BytesPerEntry)+" · "+bytes(p.L2BytesPerEntry)+" · "+bytes(p.L3BytesPerEntry))
		}
		row = append(row, ratio(p.L1HitRatio), ratio(p.L2HitRatio), ratio(p.L3HitRatio))
		if memory {
			mem := "n/a"
			if p.L1BytesPerCache != nil {
				mem = formatBytes(int64(*p.L1BytesPerCache))
			}
			row = append(row, mem)
		}
		if held {
			h := "n/a"
			if p.InvalidationsHeld != nil {
				h = trimFloat(*p.InvalidationsHeld)
				if p.HeldMeanMS != nil {
					h += fmt.Sprintf(" (%.1f ms)", *p.HeldMeanMS)
				}
			}
			row = append(row, h)
		}
		row = append(row, th, pareto, rec)
		rows = append(rows, row)
	}
	return header, rows
}

// WriteSweepMarkdown writes a sweep as Markdown: a table of the points (p99, stale ratio,
// $ per million requests, Lambda cold starts when there was a fleet, hit ratios,
// thresholds), the Pareto frontier marked, and the recommendation.
func WriteSweepMarkdown(w io.Writer, s SweepReport) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# cachebench sweep: %s\n\n", mdEscape(orDash(s.Scenario)))
	if len(s.Keys) > 0 {
		fmt.Fprintf(bw, "Swept: %s. ", mdEscape(strings.Join(s.Keys, ", ")))
	}
	fmt.Fprintf(bw, "p99 is read latency from intended start; $ per M requests is the simulated cost per million requests (USD).%s\n\n", sizeLegend(s))
	header, rows := sweepRows(s)
	writeMarkdownTable(bw, header, rows)
	fmt.Fprintf(bw, "\n★ marks the Pareto frontier over %s (all lower is better): no other point is at least as good on all of them and better on one.\n\n",
		strings.Join(s.ParetoOver, ", "))
	fmt.Fprintf(bw, "**%s**\n", mdEscape(s.Recommendation))
	if len(s.Notes) > 0 {
		fmt.Fprintln(bw)
		for _, n := range s.Notes {
			fmt.Fprintf(bw, "- %s\n", mdEscape(n))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write sweep report: %w", err)
	}
	return nil
}

func contains(xs []string, s string) bool { return indexOf(xs, s) >= 0 }

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// sizeLegend says how the table's bytes per entry were measured, when it has them.
func sizeLegend(s SweepReport) string {
	for _, p := range s.Points {
		if p.L1BytesPerEntry != nil || p.L2BytesPerEntry != nil || p.L3BytesPerEntry != nil {
			return " Bytes per entry: L1 by its own count of key, value and overhead; L2 by Redis's MEMORY USAGE of up to 200 of the run's keys" +
				" (key and stored value only where the server lacks MEMORY USAGE, as miniredis does; each result's tiers.l2.bytes_measure says which);" +
				" L3 the mean item written, sized as DynamoDB counts it. L1 memory per env is what one L1 held at the end."
		}
	}
	return ""
}

// redisSecurityCost states, for a sweep over cache.l2.tls or cache.l2.auth, what each
// point costs against the first (the sweep's order puts tls: false and auth: none
// first when the scenario lists them first): the read latency it adds at p50 and p99, and
// the cost per million requests. With L1 off and the keys in Redis, every read is an L2
// hit, so these are the cost of TLS and AUTH on an L2 hit.
func redisSecurityCost(s SweepReport) []string {
	swept := false
	for _, k := range s.Keys {
		if k == "cache.l2.tls" || k == "cache.l2.auth" {
			swept = true
		}
	}
	if !swept || len(s.Points) < 2 {
		return nil
	}
	base := s.Points[0]
	var out []string
	for _, p := range s.Points[1:] {
		n := fmt.Sprintf("TLS and AUTH: %s against %s adds %+.0f µs at p50 and %+.0f µs at p99 per read",
			p.Point, base.Point, p.P50US-base.P50US, p.P99US-base.P99US)
		if p.PerMillionUSD != nil && base.PerMillionUSD != nil {
			n += fmt.Sprintf(", and %+.4f USD per million requests", *p.PerMillionUSD-*base.PerMillionUSD)
		}
		if l2 := p.L2HitRatio; l2 != nil && p.L1HitRatio == nil {
			n += fmt.Sprintf(" (L1 off, %.1f%% of reads L2 hits: the cost on an L2 hit)", 100**l2)
		}
		out = append(out, n+".")
	}
	return out
}
