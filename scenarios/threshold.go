package scenarios

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Threshold is one parsed pass/fail expression, "<metric> <op> <value>", such as
// "p99 < 50ms" or "l1.hit_ratio >= 80%".
type Threshold struct {
	// Metric is one of ThresholdMetrics' names.
	Metric string
	// Op is <, <=, >, >= or ==.
	Op string
	// Value is the bound in the metric's base unit: seconds for a duration (50ms is
	// 0.05), a fraction for a percentage (0.5% is 0.005), the number itself otherwise.
	Value float64
	// Unit says how the value was written: "s" for a duration, "%" for a percentage, ""
	// for a plain number.
	Unit string
}

// Threshold units (Threshold.Unit).
const (
	UnitNone    = ""
	UnitSeconds = "s"
	UnitPercent = "%"
)

// Metric kinds (ThresholdMetric.Kind): what a metric measures and how its bound is written.
const (
	// KindDuration metrics are compared with a duration: p99 < 50ms.
	KindDuration = "duration"
	// KindRatio metrics are fractions from 0 to 1, compared with a fraction or a
	// percentage: l1.hit_ratio > 0.8, error_ratio < 0.5%.
	KindRatio = "ratio"
	// KindCount metrics are counts, compared with a plain number: cold_starts < 100.
	KindCount = "count"
	// KindUSD metrics are US dollars, compared with a plain number:
	// cost.per_million_requests < 5.
	KindUSD = "usd"
)

// ThresholdMetric is a metric a threshold may test.
type ThresholdMetric struct {
	// Name is the metric as written in a threshold.
	Name string
	// Kind is KindDuration, KindRatio, KindCount or KindUSD.
	Kind string
	// Result is where the figure is in result.json (cachebench/result/v1), with its unit.
	Result string
	// Doc says what the metric is.
	Doc string
}

var thresholdMetrics = []ThresholdMetric{
	{"p50", KindDuration, "latency_us.p50 (µs)", "median read latency, from the intended start time"},
	{"p90", KindDuration, "latency_us.p90 (µs)", "90th percentile read latency"},
	{"p99", KindDuration, "latency_us.p99 (µs)", "99th percentile read latency"},
	{"p999", KindDuration, "latency_us.p999 (µs)", "99.9th percentile read latency"},
	{"max", KindDuration, "latency_us.max (µs)", "slowest read"},
	{"mean", KindDuration, "latency_us.mean (µs)", "mean read latency"},
	{"error_ratio", KindRatio, "requests.errors / requests.total", "share of requests that failed"},
	{"errors", KindCount, "requests.errors", "requests that failed"},
	{"l1.hit_ratio", KindRatio, "tiers.l1.hit_ratio", "share of reads answered by L1"},
	{"l2.hit_ratio", KindRatio, "tiers.l2.hit_ratio", "share of reads reaching L2 that it answered"},
	{"l3.hit_ratio", KindRatio, "tiers.l3.hit_ratio", "share of reads reaching L3 that it answered"},
	{"stale_ratio", KindRatio, "consistency.stale_ratio", "share of checked reads that returned an older version"},
	{"stale_reads", KindCount, "consistency.stale_reads", "reads that returned an older version"},
	{"max_staleness", KindDuration, "consistency.max_staleness_ms (ms)", "how far behind the stalest read was"},
	{"origin.calls", KindCount, "origin.calls", "calls to the Stripe API"},
	{"origin.rate_limited", KindCount, "origin.rate_limited", "Stripe answers 429 (rate limited)"},
	{"origin.retries", KindCount, "origin.retries", "retried Stripe calls"},
	{"origin.errors", KindCount, "origin.errors", "Stripe calls that failed"},
	{"cold_starts", KindCount, "lambda.cold_starts", "Lambda execution environments started"},
	{"peak_environments", KindCount, "lambda.peak_environments", "most Lambda environments alive at once"},
	{"cost.per_million_requests", KindUSD, "cost_usd.per_million_requests", "simulated cost per million requests, US dollars"},
	{"cost.total", KindUSD, "cost_usd.total", "simulated cost of the run, US dollars"},
}

// ThresholdMetrics lists the metrics a threshold may test, with their kind and where each
// is in result.json:
//
//	p50 p90 p99 p999 max mean   duration  read latency (latency_us)
//	error_ratio                 ratio     requests.errors / requests.total
//	errors                      count     requests.errors
//	l1.hit_ratio l2.hit_ratio l3.hit_ratio  ratio  tiers.*.hit_ratio
//	stale_ratio                 ratio     consistency.stale_ratio
//	stale_reads                 count     consistency.stale_reads
//	max_staleness               duration  consistency.max_staleness_ms
//	origin.calls origin.rate_limited origin.retries origin.errors  count  origin.*
//	cold_starts peak_environments  count  lambda.*
//	cost.per_million_requests cost.total  usd  cost_usd.*
func ThresholdMetrics() []ThresholdMetric {
	return append([]ThresholdMetric(nil), thresholdMetrics...)
}

// LookupThresholdMetric returns the metric called name.
func LookupThresholdMetric(name string) (ThresholdMetric, bool) {
	for _, m := range thresholdMetrics {
		if m.Name == name {
			return m, true
		}
	}
	return ThresholdMetric{}, false
}

var thresholdOps = []string{"<=", ">=", "==", "<", ">"}

// thresholdError is a threshold's problem and its fix.
type thresholdError struct{ msg, hint string }

func (e *thresholdError) Error() string {
	if e.hint == "" {
		return e.msg
	}
	return e.msg + " (hint: " + e.hint + ")"
}

func asThresholdError(err error, te **thresholdError) bool { return errors.As(err, te) }

func thErr(hint, format string, args ...any) error {
	return &thresholdError{msg: fmt.Sprintf(format, args...), hint: hint}
}

// ParseThreshold reads "<metric> <op> <value>": metric one of ThresholdMetrics, op one of
// < <= > >= ==, value a number (0.8), a duration (50ms) or a percentage (0.5%), as the
// metric's kind requires. Spaces around op are optional.
func ParseThreshold(s string) (Threshold, error) {
	const example = `write it as "<metric> <op> <value>", such as "p99 < 50ms" or "l1.hit_ratio > 0.8"`
	text := strings.TrimSpace(s)
	i := strings.IndexAny(text, "<>=!")
	if i < 0 {
		return Threshold{}, thErr(example, "no comparison (<, <=, >, >=, ==)")
	}
	metric, rest := strings.TrimSpace(text[:i]), text[i:]
	var op string
	for _, o := range thresholdOps {
		if strings.HasPrefix(rest, o) {
			op = o
			break
		}
	}
	switch {
	case strings.HasPrefix(rest, "=<"), strings.HasPrefix(rest, "=>"):
		return Threshold{}, thErr("write "+string(rest[1])+"=", "unknown comparison %q", rest[:2])
	case strings.HasPrefix(rest, "!="):
		return Threshold{}, thErr("use <, <=, >, >= or ==", "!= is not a threshold comparison")
	case strings.HasPrefix(rest, "=") && !strings.HasPrefix(rest, "=="):
		return Threshold{}, thErr("write == to compare for equality", "= is not a comparison")
	case op == "" || strings.HasPrefix(rest, "==="):
		return Threshold{}, thErr("use <, <=, >, >= or ==", "unknown comparison in %q", text)
	}
	value := strings.TrimSpace(rest[len(op):])
	if len(value) > 0 && strings.ContainsAny(value[:1], "<>=") {
		return Threshold{}, thErr("use <, <=, >, >= or ==", "unknown comparison in %q", text)
	}
	if metric == "" {
		return Threshold{}, thErr(example, "no metric before %s", op)
	}
	m, ok := LookupThresholdMetric(metric)
	if !ok {
		names := make([]string, len(thresholdMetrics))
		for i, tm := range thresholdMetrics {
			names[i] = tm.Name
		}
		hint := didYouMean(suggest(metric, names))
		if hint == "" {
			hint = "the metrics are " + strings.Join(names, ", ")
		}
		return Threshold{}, thErr(hint, "unknown metric %q", metric)
	}
	if value == "" {
		return Threshold{}, thErr(example, "no value after %s", op)
	}
	t := Threshold{Metric: metric, Op: op}
	var err error
	t.Value, t.Unit, err = thresholdValue(value)
	if err != nil {
		return Threshold{}, err
	}
	switch m.Kind {
	case KindDuration:
		if t.Unit != UnitSeconds {
			return Threshold{}, thErr(fmt.Sprintf("write %s %s %sms", metric, op, strings.TrimSuffix(value, "%")), "%s is a duration, so its bound needs a unit", metric)
		}
		if t.Value < 0 {
			return Threshold{}, thErr("use a positive duration", "%s cannot be negative", metric)
		}
	case KindRatio:
		switch {
		case t.Unit == UnitSeconds:
			return Threshold{}, thErr("write a fraction such as 0.8, or a percentage such as 80%", "%s is a ratio, not a duration", metric)
		case t.Unit == UnitNone && (t.Value < 0 || t.Value > 1):
			hint := "write a fraction between 0 and 1, or a percentage"
			if t.Value > 1 && t.Value <= 100 {
				hint = fmt.Sprintf("write %s%% or %s", value, fmtFloat(t.Value/100))
			}
			return Threshold{}, thErr(hint, "%s is a ratio between 0 and 1, not %s", metric, value)
		case t.Value < 0 || t.Value > 1:
			return Threshold{}, thErr("use a percentage from 0% to 100%", "%s is a ratio, and %s is outside 0%%..100%%", metric, value)
		}
	case KindCount, KindUSD:
		what := "a count"
		if m.Kind == KindUSD {
			what = "an amount of US dollars"
		}
		if t.Unit != UnitNone {
			return Threshold{}, thErr("write a plain number, such as "+metric+" "+op+" 100", "%s is %s, not a duration or a percentage", metric, what)
		}
		if t.Value < 0 {
			return Threshold{}, thErr("use a number of 0 or more", "%s is %s and cannot be negative", metric, what)
		}
	}
	return t, nil
}

// thresholdValue reads a number, a duration or a percentage.
func thresholdValue(v string) (float64, string, error) {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, "", thErr("write a percentage such as 0.5%", "%q is not a percentage", v)
		}
		return f / 100, UnitPercent, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		return f, UnitNone, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d.Seconds(), UnitSeconds, nil
	}
	return 0, "", thErr("write a number (0.8), a duration (50ms) or a percentage (0.5%); "+durationHint(v), "%q is not a number, a duration or a percentage", v)
}

// String writes t back as "<metric> <op> <value>", with the value in the unit it was
// written in (durations in their Go form).
func (t Threshold) String() string {
	var v string
	switch t.Unit {
	case UnitSeconds:
		v = formatDuration(time.Duration(math.Round(t.Value * 1e9)))
	case UnitPercent:
		v = fmtFloat(round(t.Value*100)) + "%"
	default:
		v = fmtFloat(t.Value)
	}
	return t.Metric + " " + t.Op + " " + v
}

// Pass reports whether actual, in the metric's base unit (seconds for a duration metric,
// a fraction for a ratio), satisfies t.
func (t Threshold) Pass(actual float64) bool {
	switch t.Op {
	case "<":
		return actual < t.Value
	case "<=":
		return actual <= t.Value
	case ">":
		return actual > t.Value
	case ">=":
		return actual >= t.Value
	case "==":
		return actual == t.Value
	}
	return false
}

// ParsedThresholds parses s.Thresholds in order.
func (s *Scenario) ParsedThresholds() ([]Threshold, error) {
	out := make([]Threshold, 0, len(s.Thresholds))
	var errs []error
	for i, t := range s.Thresholds {
		th, err := ParseThreshold(t)
		if err != nil {
			errs = append(errs, fmt.Errorf("thresholds[%d] %q: %w", i, t, err))
			continue
		}
		out = append(out, th)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}
