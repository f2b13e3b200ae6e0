package reports

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// timelineColumns are the columns WriteCSV writes, in order:
//
//	t_s              second of the measured part (0 = first second after warm-up); the row covers [t_s, t_s+length_s)
//	requests         requests completed in that second (counts are per row: divide by length_s for a rate)
//	p50_us, p99_us   read latency from intended start, microseconds
//	l1_hit_ratio, l2_hit_ratio, l3_hit_ratio   hits / reads that reached the tier, 0..1
//	errors           failed requests
//	origin_calls     calls to the Stripe API
//	rate_limited     Stripe 429 answers
//	stale_reads      reads that returned an older version than Stripe held
//	cold_starts      Lambda cold starts
//	environments     Lambda execution environments alive
//	faults           faults active during the second, as target:kind separated by ";"
//	length_s         how long the row lasted: 1, or less for the last second when the run ended inside it
//	                 (result.json marks that second "partial": true)
var timelineColumns = []string{"t_s", "requests", "p50_us", "p99_us", "l1_hit_ratio", "l2_hit_ratio", "l3_hit_ratio",
	"errors", "origin_calls", "rate_limited", "stale_reads", "cold_starts", "environments", "faults", "length_s"}

// WriteCSV writes the run's timeline as CSV: a header row (timelineColumns) and one row
// per second of the measured part. Numbers are plain decimals without units or grouping.
func WriteCSV(w io.Writer, r *Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(timelineColumns); err != nil {
		return fmt.Errorf("write timeline csv: %w", err)
	}
	for _, s := range r.Timeline {
		rec := []string{
			strconv.Itoa(s.TS), i64(s.Requests), f64(s.P50US), f64(s.P99US),
			f64(s.L1HitRatio), f64(s.L2HitRatio), f64(s.L3HitRatio),
			i64(s.Errors), i64(s.OriginCalls), i64(s.RateLimited), i64(s.StaleReads), i64(s.ColdStarts), i64(s.Envs),
			strings.Join(activeFaults(r.Faults, float64(s.TS), float64(s.TS)+1), ";"),
			f64(s.Length()), // below 1 for a partial last second
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write timeline csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write timeline csv: %w", err)
	}
	return nil
}

// activeFaults names the faults whose window overlaps [from, to).
func activeFaults(faults []Fault, from, to float64) []string {
	var out []string
	for _, f := range faults {
		if f.StartS < to && f.EndS > from {
			out = append(out, f.Target+":"+f.Kind)
		}
	}
	return out
}

// sweepColumns are the columns WriteSweepCSV writes, in order, after one column per swept
// key (named by the key):
//
//	point            the point as the scenario names it
//	runs             results averaged into the row
//	p50_us, p99_us, p999_us   read latency from intended start, microseconds
//	l1_hit_ratio, l2_hit_ratio, l3_hit_ratio   0..1, empty when the tier was off
//	stale_ratio      stale reads / reads checked, 0..1
//	max_staleness_ms staleness of the stalest read, milliseconds
//	origin_calls, rate_limited   Stripe calls and 429s
//	cost_total_usd, cost_per_million_usd   simulated cost in USD, empty when absent
//	cold_starts      Lambda cold starts in the measured part, empty without a Lambda fleet
//	thresholds_ok    true when every threshold passed
//	failed_thresholds the failed expressions, separated by ";"
//	pareto           true on the Pareto frontier
//	recommended      true for the recommended point
var sweepColumns = []string{"point", "runs", "p50_us", "p99_us", "p999_us", "l1_hit_ratio", "l2_hit_ratio", "l3_hit_ratio",
	"stale_ratio", "max_staleness_ms", "origin_calls", "rate_limited", "cost_total_usd", "cost_per_million_usd", "cold_starts",
	"thresholds_ok", "failed_thresholds", "pareto", "recommended"}

// WriteSweepCSV writes a sweep as CSV: a header row (the swept keys, then sweepColumns)
// and one row per point.
func WriteSweepCSV(w io.Writer, s SweepReport) error {
	cw := csv.NewWriter(w)
	header := append(append([]string{}, s.Keys...), sweepColumns...)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write sweep csv: %w", err)
	}
	opt := func(p *float64) string {
		if p == nil {
			return ""
		}
		return f64(*p)
	}
	for i, p := range s.Points {
		rec := append([]string{}, p.Values...)
		rec = append(rec, p.Point, strconv.Itoa(p.Runs), f64(p.P50US), f64(p.P99US), f64(p.P999US),
			opt(p.L1HitRatio), opt(p.L2HitRatio), opt(p.L3HitRatio), f64(p.StaleRatio), f64(p.MaxStalenessMS),
			f64(p.OriginCalls), f64(p.RateLimited), opt(p.CostTotalUSD), opt(p.PerMillionUSD), opt(p.ColdStarts),
			strconv.FormatBool(p.ThresholdsOK), strings.Join(p.Failed, ";"), strconv.FormatBool(p.Pareto),
			strconv.FormatBool(i == s.Recommended))
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write sweep csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write sweep csv: %w", err)
	}
	return nil
}

func i64(v int64) string   { return strconv.FormatInt(v, 10) }
func f64(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
