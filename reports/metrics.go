package reports

import (
	"fmt"
	"math"
	"strconv"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Direction says which way a metric is better.
type Direction int

const (
	// LowerIsBetter marks metrics such as latency, errors, staleness and cost.
	LowerIsBetter Direction = iota
	// HigherIsBetter marks metrics such as hit ratios and throughput.
	HigherIsBetter
)

// String returns "lower is better" or "higher is better".
func (d Direction) String() string {
	if d == HigherIsBetter {
		return "higher is better"
	}
	return "lower is better"
}

// arrow is the short form of a Direction used in table headers.
func (d Direction) arrow() string {
	if d == HigherIsBetter {
		return "↑ higher"
	}
	return "↓ lower"
}

// metricDef is one key metric that comparisons and sweeps show: how to read it from a
// Result, its unit and which way is better. get reports false when the run has no such
// figure (a tier that was off, a run without cost figures).
type metricDef struct {
	key    string
	label  string
	unit   string // "us", "ratio", "usd", "per_s", "ms", "" (count), "gb_s"
	better Direction
	get    func(*Result) (float64, bool)
	// For percentiles: hist picks the run's histogram and pool reads the metric from the
	// repeats' merged histogram (pooledHistogram), nil for other metrics.
	hist func(*Result) string
	pool func(*hdrhistogram.Histogram) float64
}

func always(f func(*Result) float64) func(*Result) (float64, bool) {
	return func(r *Result) (float64, bool) { return f(r), true }
}

func tierGet(pick func(*Result) TierStats) func(*Result) (float64, bool) {
	return func(r *Result) (float64, bool) {
		t := pick(r)
		return t.HitRatio, t.Enabled
	}
}

// keyMetrics are the metrics a comparison shows, in order.
var keyMetrics = []metricDef{
	{"p50", "latency p50", "us", LowerIsBetter, always(func(r *Result) float64 { return r.LatencyUS.P50 }), latencyHist, quantileOf(50)},
	{"p90", "latency p90", "us", LowerIsBetter, always(func(r *Result) float64 { return r.LatencyUS.P90 }), latencyHist, quantileOf(90)},
	{"p99", "latency p99", "us", LowerIsBetter, always(func(r *Result) float64 { return r.LatencyUS.P99 }), latencyHist, quantileOf(99)},
	{"p999", "latency p99.9", "us", LowerIsBetter, always(func(r *Result) float64 { return r.LatencyUS.P999 }), latencyHist, quantileOf(99.9)},
	{"max", "latency max", "us", LowerIsBetter, always(func(r *Result) float64 { return r.LatencyUS.Max }), latencyHist, histMax},
	{"service.p99", "service time p99", "us", LowerIsBetter, always(func(r *Result) float64 { return r.ServiceUS.P99 }), serviceHist, quantileOf(99)},
	{"rate", "throughput", "per_s", HigherIsBetter, always(func(r *Result) float64 { return r.Requests.RatePerS }), nil, nil},
	{"error_ratio", "error ratio", "ratio", LowerIsBetter, always(errorRatio), nil, nil},
	{"l1.hit_ratio", "L1 hit ratio", "ratio", HigherIsBetter, tierGet(func(r *Result) TierStats { return r.Tiers.L1 }), nil, nil},
	{"l2.hit_ratio", "L2 hit ratio", "ratio", HigherIsBetter, tierGet(func(r *Result) TierStats { return r.Tiers.L2 }), nil, nil},
	{"l3.hit_ratio", "L3 hit ratio", "ratio", HigherIsBetter, tierGet(func(r *Result) TierStats { return r.Tiers.L3 }), nil, nil},
	{"origin.calls", "Stripe calls", "", LowerIsBetter, always(func(r *Result) float64 { return float64(r.Origin.Calls) }), nil, nil},
	{"origin.rate_limited", "Stripe 429s", "", LowerIsBetter, always(func(r *Result) float64 { return float64(r.Origin.RateLimited) }), nil, nil},
	{"stale_ratio", "stale read ratio", "ratio", LowerIsBetter, always(func(r *Result) float64 { return r.Consistency.StaleRatio }), nil, nil},
	{"max_staleness", "max staleness", "ms", LowerIsBetter, always(func(r *Result) float64 { return r.Consistency.MaxStalenessMS }), nil, nil},
	{"cold_starts", "Lambda cold starts", "", LowerIsBetter, func(r *Result) (float64, bool) {
		if r.Lambda == nil {
			return 0, false
		}
		return float64(r.Lambda.ColdStarts), true
	}, nil, nil},
	{"cost.total", "cost of the run", "usd", LowerIsBetter, func(r *Result) (float64, bool) {
		if r.CostUSD == nil {
			return 0, false
		}
		return r.CostUSD.Total, true
	}, nil, nil},
	{"cost.per_million_requests", "cost per million requests", "usd", LowerIsBetter, func(r *Result) (float64, bool) {
		if r.CostUSD == nil {
			return 0, false
		}
		return r.CostUSD.PerMillionRequests, true
	}, nil, nil},
}

func errorRatio(r *Result) float64 {
	if r.Requests.Total == 0 {
		return 0
	}
	return float64(r.Requests.Errors) / float64(r.Requests.Total)
}

// formatMetric formats v in a metric's unit for a table cell.
func formatMetric(v float64, unit string) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	switch unit {
	case "us":
		return FormatUS(v)
	case "ratio":
		return formatPct(v)
	case "usd":
		return formatUSD(v)
	case "per_s":
		return fmt.Sprintf("%.1f/s", v)
	case "ms":
		return fmt.Sprintf("%.0f ms", v)
	}
	return trimFloat(v)
}

// formatDelta formats a difference in a metric's unit, with its sign.
func formatDelta(d float64, unit string) string {
	sign := "+"
	if d < 0 {
		sign = "-"
		d = -d
	}
	switch unit {
	case "ratio":
		// A difference of ratios is in percentage points.
		return fmt.Sprintf("%s%.2f pp", sign, 100*d)
	}
	return sign + formatMetric(d, unit)
}

func formatPct(ratio float64) string {
	return fmt.Sprintf("%.2f%%", 100*ratio)
}

func formatUSD(v float64) string {
	switch {
	case v == 0:
		return "$0"
	case math.Abs(v) >= 1:
		return fmt.Sprintf("$%.2f", v)
	case math.Abs(v) >= 0.01:
		return fmt.Sprintf("$%.4f", v)
	default:
		return fmt.Sprintf("$%.6f", v)
	}
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.4g", v)
}

// formatSeconds formats a duration in seconds to the millisecond, without trailing zeros:
// 5, 0.5, 1200.
func formatSeconds(s float64) string {
	return strconv.FormatFloat(math.Round(s*1000)/1000, 'f', -1, 64)
}
