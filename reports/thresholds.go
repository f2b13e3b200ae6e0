package reports

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cachebench/cachebench/scenarios"
)

// ParsedThreshold is a threshold expression ready to evaluate.
type ParsedThreshold struct {
	Expr string
	T    scenarios.Threshold
}

// ParseThresholds parses a scenario's threshold expressions, reporting every bad one.
func ParseThresholds(exprs []string) ([]ParsedThreshold, error) {
	var out []ParsedThreshold
	var errs []error
	for i, e := range exprs {
		t, err := scenarios.ParseThreshold(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("thresholds[%d]: %w", i, err))
			continue
		}
		out = append(out, ParsedThreshold{Expr: e, T: t})
	}
	return out, errors.Join(errs...)
}

// Evaluate checks each threshold against r. A metric the result does not have (the cost
// of a run without the Lambda fleet, say) fails with an error saying so.
func Evaluate(r *Result, ts []ParsedThreshold) []Threshold {
	out := make([]Threshold, 0, len(ts))
	for _, pt := range ts {
		v, unit, err := MetricValue(r, pt.T.Metric)
		th := Threshold{Expr: pt.Expr, Value: v, Unit: unit}
		if err != nil {
			th.Err = err.Error()
			out = append(out, th)
			continue
		}
		th.OK = pt.T.Pass(inBaseUnit(v, unit))
		out = append(out, th)
	}
	return out
}

// inBaseUnit converts a metric's value from the unit the result holds it in to the base
// unit thresholds are written in (seconds for durations).
func inBaseUnit(v float64, unit string) float64 {
	switch unit {
	case "us":
		return v / 1e6
	case "ms":
		return v / 1e3
	}
	return v
}

// MetricValue returns the value of a threshold metric in r and its unit: "us" for
// latencies, "ms" for staleness, "ratio" for ratios, "usd" for money, "" for counts.
func MetricValue(r *Result, metric string) (float64, string, error) {
	switch metric {
	case "p50":
		return r.LatencyUS.P50, "us", nil
	case "p90":
		return r.LatencyUS.P90, "us", nil
	case "p99":
		return r.LatencyUS.P99, "us", nil
	case "p999":
		return r.LatencyUS.P999, "us", nil
	case "max":
		return r.LatencyUS.Max, "us", nil
	case "mean":
		return r.LatencyUS.Mean, "us", nil
	case "error_ratio":
		if r.Requests.Total == 0 {
			return 0, "ratio", nil
		}
		return float64(r.Requests.Errors) / float64(r.Requests.Total), "ratio", nil
	case "l1.hit_ratio":
		return tierRatio(r.Tiers.L1, "l1")
	case "l2.hit_ratio":
		return tierRatio(r.Tiers.L2, "l2")
	case "l3.hit_ratio":
		return tierRatio(r.Tiers.L3, "l3")
	case "stale_ratio":
		return r.Consistency.StaleRatio, "ratio", nil
	case "max_staleness":
		return r.Consistency.MaxStalenessMS, "ms", nil
	case "errors":
		return float64(r.Requests.Errors), "", nil
	case "stale_reads":
		return float64(r.Consistency.StaleReads), "", nil
	case "origin.calls":
		return float64(r.Origin.Calls), "", nil
	case "origin.rate_limited":
		return float64(r.Origin.RateLimited), "", nil
	case "origin.retries":
		return float64(r.Origin.Retries), "", nil
	case "origin.errors":
		return float64(r.Origin.Errors), "", nil
	case "cold_starts", "peak_environments":
		if r.Lambda == nil {
			return 0, "", errors.New("the run had no Lambda fleet (lambda.enabled: false)")
		}
		if metric == "cold_starts" {
			return float64(r.Lambda.ColdStarts), "", nil
		}
		return float64(r.Lambda.PeakEnvironments), "", nil
	case "cost.per_million_requests", "cost.total":
		if r.CostUSD == nil {
			return 0, "usd", errors.New("the run has no cost figures")
		}
		if metric == "cost.total" {
			return r.CostUSD.Total, "usd", nil
		}
		return r.CostUSD.PerMillionRequests, "usd", nil
	}
	var names []string
	for _, m := range scenarios.ThresholdMetrics() {
		names = append(names, m.Name)
	}
	return 0, "", fmt.Errorf("unknown metric %q (known: %s)", metric, strings.Join(names, ", "))
}

func tierRatio(t TierStats, name string) (float64, string, error) {
	if !t.Enabled {
		return 0, "ratio", fmt.Errorf("tier %s is off in this run", name)
	}
	return t.HitRatio, "ratio", nil
}
