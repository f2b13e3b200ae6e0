package reports

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteSummary writes the short account of a run that `cachebench run` prints: requests,
// latency, hit ratios, origin calls, freshness, the fleet, thresholds and notes.
func WriteSummary(w io.Writer, r *Result) {
	title := r.Scenario.Name
	if r.Scenario.Point != "" {
		title += "  [" + r.Scenario.Point + "]"
	}
	if r.Interrupted {
		title += "  (INTERRUPTED: partial result)"
	}
	fmt.Fprintln(w, title)
	fmt.Fprintf(w, "  environment  %s: redis %s; dynamodb %s; stripe %s\n", r.Environment.Provider, joinNonEmpty(r.Environment.Redis, r.Environment.RedisShape()), r.Environment.DynamoDB, r.Environment.Stripe)
	if len(r.Environment.Network) > 0 {
		fmt.Fprintf(w, "  network      redis %s, dynamodb %s, stripe %s\n", r.Environment.Network["redis"], r.Environment.Network["dynamodb"], r.Environment.Network["stripe"])
	}
	q := r.Requests
	fmt.Fprintf(w, "  requests     %d (%d reads, %d updates), %d errors, %.1f/s over %.1f s (warm-up %s s excluded)\n",
		q.Total, q.Gets, q.Updates, q.Errors, q.RatePerS, r.DurationS, formatSeconds(r.WarmupS))
	l := r.LatencyUS
	fmt.Fprintf(w, "  latency      p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (reads, from intended start)\n",
		FormatUS(l.P50), FormatUS(l.P90), FormatUS(l.P99), FormatUS(l.P999), FormatUS(l.Max))
	fmt.Fprintf(w, "  service      p50 %s  p99 %s  (from when a worker began: queueing excluded)\n",
		FormatUS(r.ServiceUS.P50), FormatUS(r.ServiceUS.P99))
	var tiers []string
	for _, t := range []struct {
		name string
		s    TierStats
	}{{"L1", r.Tiers.L1}, {"L2", r.Tiers.L2}, {"L3", r.Tiers.L3}} {
		if !t.s.Enabled {
			tiers = append(tiers, t.name+" off")
			continue
		}
		v := fmt.Sprintf("%s %.1f%% (%d/%d", t.name, 100*t.s.HitRatio, t.s.Hits, t.s.Hits+t.s.Misses)
		if t.s.Failed > 0 {
			v += fmt.Sprintf(", %d failed", t.s.Failed)
		}
		tiers = append(tiers, v+")")
	}
	fmt.Fprintf(w, "  hit ratios   %s\n", strings.Join(tiers, "  "))
	o := r.Origin
	fmt.Fprintf(w, "  stripe       %d calls (%d saved by the cache), %d rate-limited, %d retries, %d errors",
		o.Calls, o.CallsSaved, o.RateLimited, o.Retries, o.Errors)
	if o.RateLimitShare > 0 {
		fmt.Fprintf(w, "; %.0f%% of the read limit", 100*o.RateLimitShare)
	}
	if l := r.Limiter; l != nil && l.Mode == "fleet" {
		fmt.Fprintf(w, "; fleet-wide limiter, %d fallbacks", l.Fallbacks)
	}
	fmt.Fprintln(w)
	c := r.Consistency
	if c.ReadsChecked > 0 {
		fmt.Fprintf(w, "  freshness    %d reads checked, %d stale (%.3f%%), max staleness %.0f ms\n",
			c.ReadsChecked, c.StaleReads, 100*c.StaleRatio, c.MaxStalenessMS)
	}
	if wh := r.Webhooks; wh != nil {
		fmt.Fprintf(w, "  webhooks     %d emitted, %d delivered, %d applied, %d rejected\n", wh.Emitted, wh.Delivered, wh.Applied, wh.Rejected)
	}
	if lm := r.Lambda; lm != nil {
		fmt.Fprintf(w, "  lambda       %d invocations, %d cold starts, peak %d environments (%.1f busy on average), %d throttled, %.1f GB-s (%d MB %s)",
			lm.Invocations, lm.ColdStarts, lm.PeakEnvironments, lm.MeanConcurrency, lm.Throttled, lm.GBSeconds, lm.MemoryMB, lm.Arch)
		if lm.ProvisionedConcurrency > 0 {
			fmt.Fprintf(w, ", %d provisioned", lm.ProvisionedConcurrency)
		}
		fmt.Fprintln(w)
	}
	if cost := r.CostUSD; cost != nil {
		fmt.Fprintf(w, "  cost         $%.6f this run, $%.4f per million requests", cost.Total, cost.PerMillionRequests)
		if cost.MonthlyRequests > 0 {
			fmt.Fprintf(w, ", $%.2f a month at %.0f requests", cost.Monthly, cost.MonthlyRequests)
		}
		fmt.Fprintln(w)
	}
	for _, f := range r.Faults {
		fmt.Fprintf(w, "  fault        %s %s from %.1fs to %.1fs", f.Target, f.Kind, f.StartS, f.EndS)
		if f.Err != "" {
			fmt.Fprintf(w, " (error: %s)", f.Err)
		}
		fmt.Fprintln(w)
	}
	if len(q.ErrorKinds) > 0 {
		kinds := make([]string, 0, len(q.ErrorKinds))
		for k := range q.ErrorKinds {
			kinds = append(kinds, k)
		}
		sort.Slice(kinds, func(i, j int) bool { return q.ErrorKinds[kinds[i]] > q.ErrorKinds[kinds[j]] })
		for i, k := range kinds {
			if i == 5 {
				fmt.Fprintf(w, "  errors       ... %d more kinds in result.json\n", len(kinds)-5)
				break
			}
			fmt.Fprintf(w, "  errors       %d × %s\n", q.ErrorKinds[k], k)
		}
	}
	for _, t := range r.Thresholds {
		mark := "pass"
		if !t.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  threshold    %s  %s (value %s)", mark, t.Expr, formatValue(t.Value, t.Unit))
		if t.Err != "" {
			fmt.Fprintf(w, " (%s)", t.Err)
		}
		fmt.Fprintln(w)
	}
	if g := r.Generator; g.BottleneckReason != "" {
		reason := g.BottleneckReason
		if g.BottleneckService != "" {
			reason += " (" + g.BottleneckService + ")"
		}
		if g.Bottleneck {
			// The detail is in the notes below.
			fmt.Fprintf(w, "  limit        %s: cachebench itself, not the cache under test, limited this run (see the note)\n", reason)
		} else {
			fmt.Fprintf(w, "  limit        %s: %s\n", reason, g.BottleneckDetail)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note         %s\n", n)
	}
}

// FormatUS formats microseconds for people: 870µs, 1.24ms, 2.10s.
func FormatUS(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2fms", us/1e3)
	default:
		return fmt.Sprintf("%.0fµs", us)
	}
}

func formatValue(v float64, unit string) string {
	switch unit {
	case "us":
		return FormatUS(v)
	case "ratio":
		return fmt.Sprintf("%.4g", v)
	case "ms":
		return fmt.Sprintf("%.0f ms", v)
	case "usd":
		return fmt.Sprintf("$%.4f", v)
	}
	return fmt.Sprintf("%.6g", v)
}
