package reports

import (
	"errors"
	"fmt"
	"math"
)

// checkFields returns every figure of r that no run can produce (a missing scenario name,
// a negative count or duration, a hit ratio outside 0..1, a timeline out of order), joined
// into one error, or nil. Such a result.json was edited or damaged, and reports built on
// it would be wrong without saying so.
func checkFields(r *Result) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if r.Scenario.Name == "" {
		bad("scenario.name is missing")
	}
	for _, f := range []struct {
		key string
		v   float64
	}{
		{"duration_s", r.DurationS}, {"warmup_s", r.WarmupS}, {"requests.rate_per_s", r.Requests.RatePerS},
		{"latency_us.p50", r.LatencyUS.P50}, {"latency_us.p99", r.LatencyUS.P99}, {"latency_us.max", r.LatencyUS.Max},
		{"service_us.p50", r.ServiceUS.P50}, {"service_us.p99", r.ServiceUS.P99}, {"service_us.max", r.ServiceUS.Max},
	} {
		if f.v < 0 {
			bad("%s is %v, below 0", f.key, f.v)
		}
	}
	for _, c := range []struct {
		key string
		v   int64
	}{
		{"requests.total", r.Requests.Total}, {"requests.ok", r.Requests.OK}, {"requests.errors", r.Requests.Errors},
		{"requests.gets", r.Requests.Gets}, {"requests.updates", r.Requests.Updates}, {"requests.not_found", r.Requests.NotFound},
		{"tiers.l1.hits", r.Tiers.L1.Hits}, {"tiers.l1.misses", r.Tiers.L1.Misses},
		{"tiers.l2.hits", r.Tiers.L2.Hits}, {"tiers.l2.misses", r.Tiers.L2.Misses},
		{"tiers.l3.hits", r.Tiers.L3.Hits}, {"tiers.l3.misses", r.Tiers.L3.Misses},
		{"origin.calls", r.Origin.Calls}, {"origin.rate_limited", r.Origin.RateLimited},
		{"origin.retries", r.Origin.Retries}, {"origin.errors", r.Origin.Errors},
		{"consistency.reads_checked", r.Consistency.ReadsChecked}, {"consistency.stale_reads", r.Consistency.StaleReads},
	} {
		if c.v < 0 {
			bad("%s is %d, below 0", c.key, c.v)
		}
	}
	for _, t := range []struct {
		key string
		v   float64
	}{
		{"tiers.l1.hit_ratio", r.Tiers.L1.HitRatio}, {"tiers.l2.hit_ratio", r.Tiers.L2.HitRatio},
		{"tiers.l3.hit_ratio", r.Tiers.L3.HitRatio}, {"consistency.stale_ratio", r.Consistency.StaleRatio},
	} {
		if t.v < 0 || t.v > 1 {
			bad("%s is %v, outside 0..1", t.key, t.v)
		}
	}
	for _, t := range []struct {
		key string
		s   TierStats
	}{{"tiers.l1", r.Tiers.L1}, {"tiers.l2", r.Tiers.L2}, {"tiers.l3", r.Tiers.L3}} {
		if t.s.Failed < 0 || t.s.Failed > t.s.Misses {
			bad("%s.failed is %d; failed lookups are among the %d misses", t.key, t.s.Failed, t.s.Misses)
		}
		if t.s.Coalesced < 0 || t.s.Coalesced > t.s.Hits+t.s.Misses {
			bad("%s.coalesced is %d; coalesced lookups are among the %d lookups", t.key, t.s.Coalesced, t.s.Hits+t.s.Misses)
		}
		if msg := checkBytesPerEntry(t.s); msg != "" {
			bad("%s.%s", t.key, msg)
		}
	}
	for i, s := range r.Timeline {
		switch {
		case s.TS < 0:
			bad("timeline[%d].t_s is %d, below 0", i, s.TS)
		case i > 0 && s.TS <= r.Timeline[i-1].TS:
			bad("timeline[%d].t_s is %d, not after the second before it (%d)", i, s.TS, r.Timeline[i-1].TS)
		}
		if s.Requests < 0 || s.Errors < 0 {
			bad("timeline[%d] counts are below 0", i)
		}
		if s.Partial && i != len(r.Timeline)-1 {
			bad("timeline[%d] is partial but not the last second", i)
		}
		if s.Partial && (s.LengthS <= 0 || s.LengthS > 1) {
			bad("timeline[%d].length_s is %v; a partial second lasts more than 0 and at most 1 s", i, s.LengthS)
		}
	}
	if sh := r.Shards; sh != nil {
		switch {
		case sh.Count < 1:
			bad("shards.count is %d; a sharded run has at least one shard", sh.Count)
		case sh.Index != nil && (*sh.Index < 0 || *sh.Index >= sh.Count):
			bad("shards.index is %d; shards of %d are numbered 0 to %d", *sh.Index, sh.Count, sh.Count-1)
		case sh.Index == nil && len(sh.MergedFrom) != sh.Count:
			bad("shards.merged_from names %d results; a merged result of %d shards names each", len(sh.MergedFrom), sh.Count)
		}
	}
	return errors.Join(errs...)
}

// checkBytesPerEntry says what is wrong with a tier's bytes_per_entry: it must follow from
// the counters its bytes_measure names (TierStats.BytesPerEntry).
func checkBytesPerEntry(t TierStats) string {
	ratio := func(num, den int64) (float64, bool) {
		if num < 0 || den <= 0 {
			return 0, false
		}
		return float64(num) / float64(den), true
	}
	var want float64
	var ok bool
	switch t.BytesMeasure {
	case "":
		if t.BytesPerEntry == 0 {
			return ""
		}
		// Results written before bytes_measure: only the L1's figure existed.
		want, ok = ratio(t.BytesHeld, t.EntriesHeld)
	case "l1_accounting":
		want, ok = ratio(t.BytesHeld, t.EntriesHeld)
	case "redis_memory_usage":
		if t.SampledMemoryBytes != nil {
			want, ok = ratio(*t.SampledMemoryBytes, t.SampledEntries)
		}
	case "redis_stored_bytes":
		want, ok = ratio(t.SampledKeyBytes+t.SampledValueBytes, t.SampledEntries)
	case "dynamodb_item_size":
		want, ok = ratio(t.BytesWritten, t.EntriesWritten)
	default:
		return fmt.Sprintf("bytes_measure %q is not one cachebench writes", t.BytesMeasure)
	}
	if !ok || math.Abs(t.BytesPerEntry-want) > 1e-6*math.Max(1, want) {
		return fmt.Sprintf("bytes_per_entry is %v, but its %s counters give %v", t.BytesPerEntry, t.BytesMeasure, want)
	}
	return ""
}
