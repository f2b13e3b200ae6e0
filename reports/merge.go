package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cachebench/cachebench/reports/pricing"
)

// Merge combines the results of every shard of one sharded run into the result of the
// whole run; names[i] says where results[i] came from (its file), for messages. The
// shards must be the same run: one scenario name, point, seed and effective
// configuration, one environment and one shard count, each index 0..count-1 exactly
// once. An interrupted shard is merged, and the merged result is marked interrupted
// with a note naming it, as `cachebench run` keeps the partial result of an interrupted
// run.
//
// Nothing is averaged that can be recomputed:
//   - latency_us, service_us, update_latency_us and the staleness p99 are computed from
//     the shards' HdrHistograms merged (histograms holds the merged ones);
//   - counters are summed and every ratio and rate is recomputed from the sums, over
//     the merged window (from the earliest shard's start to the latest shard's end);
//   - the cost is priced again for the whole fleet (see mergeCost);
//   - thresholds are evaluated again on the merged figures.
//
// Some figures are not sums, and the merged value says so in Notes:
//   - a peak (lambda peak_environments and peak_concurrency, generator peak_in_flight) is
//     the sum of the shards' peaks, an upper bound since they need not coincide;
//   - the services are shared, so each shard's servers.redis counts every shard's traffic
//     on Redis: the merged value is the largest shard's, not a sum (servers.dynamodb and
//     servers.stripe count each shard's own calls and are summed; in the embedded
//     environment each shard has its own Redis, and its counters are summed too);
//   - figures kept without a histogram (timeline p50_us and p99_us per second, lambda
//     first_minute p50_us and p99_us, generator lag_p99_us) cannot be merged without
//     loss: the merged value is the largest shard's, an upper bound;
//   - a timeline second's hit ratios are the shards' weighted by the reads each sent
//     to the tier that second (requests for L1, their L1 misses for L2, and so on).
//
// Every shard's generator health is listed in shards.generators, and the merged
// generator is a bottleneck when any shard's was, naming the shard.
func Merge(results []*Result, names []string) (*Result, error) {
	if len(results) == 0 {
		return nil, errors.New("merge: no results to merge: give the result.json of every shard")
	}
	if len(names) != len(results) {
		names = make([]string, len(results))
		for i := range names {
			names[i] = "result " + strconv.Itoa(i+1)
		}
	}
	order, err := checkShards(results, names)
	if err != nil {
		return nil, err
	}
	rs := make([]*Result, len(order))
	ns := make([]string, len(order))
	for i, j := range order {
		rs[i], ns[i] = results[j], names[j]
	}
	m := &mergeState{rs: rs, names: ns}
	return m.merge()
}

// shardIndex returns r's shard index, or -1.
func shardIndex(r *Result) int {
	if r.Shards == nil || r.Shards.Index == nil {
		return -1
	}
	return *r.Shards.Index
}

// checkShards checks that the results are the shards of one run, and returns their
// positions in index order.
func checkShards(results []*Result, names []string) ([]int, error) {
	for i, r := range results {
		if r == nil {
			return nil, fmt.Errorf("merge: %s holds no result", names[i])
		}
		if r.Shards == nil {
			return nil, fmt.Errorf("merge: %s is not a shard's result (it has no shards key): merge only the results of cachebench run --shard I/N", names[i])
		}
		if r.Shards.Index == nil {
			if len(r.Shards.MergedFrom) > 0 {
				return nil, fmt.Errorf("merge: %s is already a merged result (of %s): give the shards' own results", names[i], strings.Join(r.Shards.MergedFrom, ", "))
			}
			return nil, fmt.Errorf("merge: %s has shards without an index: it is not a shard's result; give the results of cachebench run --shard I/N", names[i])
		}
	}
	first := results[0]
	count := first.Shards.Count
	cfg0, err := compactJSON(first.Scenario.Config)
	if err != nil {
		return nil, fmt.Errorf("merge: %s: scenario.config is not JSON: %v", names[0], err)
	}
	for i, r := range results[1:] {
		i++
		differ := func(what, a, b string) error {
			return fmt.Errorf("merge: %s and %s are not shards of one run: %s %s differs from %s; give the shards of one run (same scenario, seed, configuration and --shard count)", names[0], names[i], what, a, b)
		}
		switch {
		case r.Shards.Count != count:
			return nil, differ("the shard count", strconv.Itoa(count), strconv.Itoa(r.Shards.Count))
		case r.Scenario.Name != first.Scenario.Name:
			return nil, differ("the scenario", strconv.Quote(first.Scenario.Name), strconv.Quote(r.Scenario.Name))
		case r.Scenario.Point != first.Scenario.Point:
			return nil, differ("the sweep point", strconv.Quote(first.Scenario.Point), strconv.Quote(r.Scenario.Point))
		case r.Scenario.Seed != first.Scenario.Seed:
			return nil, differ("the seed", strconv.FormatInt(first.Scenario.Seed, 10), strconv.FormatInt(r.Scenario.Seed, 10))
		}
		cfg, err := compactJSON(r.Scenario.Config)
		if err != nil {
			return nil, fmt.Errorf("merge: %s: scenario.config is not JSON: %v", names[i], err)
		}
		if !bytes.Equal(cfg, cfg0) {
			return nil, fmt.Errorf("merge: %s and %s are not shards of one run: their effective configurations (scenario.config) differ%s; run every shard with the same scenario file and --set overrides", names[0], names[i], firstConfigDiff(cfg0, cfg))
		}
		if !reflect.DeepEqual(normEnv(r.Environment), normEnv(first.Environment)) {
			return nil, fmt.Errorf("merge: the shards ran against different services:\n  %s: %s\n  %s: %s\nshards share the services they measure; run them against the same ones", names[0], envString(first.Environment), names[i], envString(r.Environment))
		}
	}
	if count < 1 {
		return nil, fmt.Errorf("merge: %s has shards.count %d: a sharded run has at least one shard", names[0], count)
	}
	at := make([]int, count)
	for i := range at {
		at[i] = -1
	}
	for i, r := range results {
		idx := *r.Shards.Index
		if idx < 0 || idx >= count {
			return nil, fmt.Errorf("merge: %s is shard index %d of %d: indices run from 0 to %d", names[i], idx, count, count-1)
		}
		if at[idx] >= 0 {
			return nil, fmt.Errorf("merge: shard %d of %d appears twice, in %s and %s: give each shard's result once", idx, count, names[at[idx]], names[i])
		}
		at[idx] = i
	}
	var missing []string
	for idx, i := range at {
		if i < 0 {
			missing = append(missing, strconv.Itoa(idx))
		}
	}
	if len(missing) > 0 {
		word := "shard"
		if len(missing) > 1 {
			word = "shards"
		}
		return nil, fmt.Errorf("merge: %s %s of %d missing (got %d results): give the result.json of every shard, indices 0 to %d", word, strings.Join(missing, ", "), count, len(results), count-1)
	}
	return at, nil
}

func compactJSON(raw json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// firstConfigDiff names the first top-level key of two configurations that differs.
func firstConfigDiff(a, b []byte) string {
	var ma, mb map[string]json.RawMessage
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil {
		return ""
	}
	keys := map[string]bool{}
	for k := range ma {
		keys[k] = true
	}
	for k := range mb {
		keys[k] = true
	}
	list := make([]string, 0, len(keys))
	for k := range keys {
		list = append(list, k)
	}
	sort.Strings(list)
	for _, k := range list {
		if !bytes.Equal(ma[k], mb[k]) {
			return fmt.Sprintf(" (first at %s: %s against %s)", k, orNone(ma[k]), orNone(mb[k]))
		}
	}
	return ""
}

func orNone(b []byte) string {
	if len(b) == 0 {
		return "absent"
	}
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

func normEnv(e Environment) Environment {
	if len(e.Network) == 0 {
		e.Network = nil
	}
	return e
}

func envString(e Environment) string {
	s := fmt.Sprintf("%s: redis %s; dynamodb %s; stripe %s", e.Provider, e.Redis, e.DynamoDB, e.Stripe)
	if len(e.Network) > 0 {
		keys := make([]string, 0, len(e.Network))
		for k := range e.Network {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s += fmt.Sprintf("; network %s %s", k, e.Network[k])
		}
	}
	return s
}

// mergeState holds the shards' results in index order while Merge combines them.
type mergeState struct {
	rs    []*Result
	names []string
	out   *Result
	notes []string
}

func (m *mergeState) note(format string, args ...any) {
	m.notes = append(m.notes, fmt.Sprintf(format, args...))
}

func (m *mergeState) merge() (*Result, error) {
	rs := m.rs
	first := rs[0]
	out := &Result{
		Schema:      Schema,
		Scenario:    first.Scenario,
		Environment: first.Environment,
	}
	m.out = out
	out.Scenario.Trace = mergeTrace(rs)

	// The window: from the earliest start to the latest end. Shard i's seconds are
	// shifted by its start's distance from the earliest, in whole seconds.
	starts := make([]time.Time, len(rs))
	startsOK := true
	for i, r := range rs {
		t, err := time.Parse(time.RFC3339Nano, r.StartedAt)
		if err != nil {
			startsOK = false
			break
		}
		starts[i] = t
	}
	offsets := make([]int, len(rs))
	if startsOK {
		t0, end := starts[0], starts[0]
		for i, r := range rs {
			if starts[i].Before(t0) {
				t0 = starts[i]
			}
			if e := starts[i].Add(time.Duration(r.DurationS * float64(time.Second))); e.After(end) {
				end = e
			}
		}
		out.StartedAt = t0.UTC().Format(time.RFC3339Nano)
		out.DurationS = end.Sub(t0).Seconds()
		for i := range rs {
			offsets[i] = int(math.Round(starts[i].Sub(t0).Seconds()))
		}
	} else {
		out.StartedAt = first.StartedAt
		for _, r := range rs {
			out.DurationS = max(out.DurationS, r.DurationS)
		}
		m.note("merge: a shard's started_at is not a time, so the shards' timelines are aligned on their first seconds and the window is the longest shard's")
	}
	for i, r := range rs {
		out.WarmupS = max(out.WarmupS, r.WarmupS)
		if r.Interrupted {
			out.Interrupted = true
			m.note("shard %d (%s) was interrupted: the merged result is partial", i, m.names[i])
		}
	}

	if err := m.histograms(); err != nil {
		return nil, err
	}
	m.requests()
	m.tiers()
	m.origin()
	m.consistency()
	m.fleet()
	m.servers()
	if err := m.cost(); err != nil {
		return nil, err
	}
	m.generator()
	out.Timeline = mergeTimeline(rs, offsets)
	out.Faults = mergeFaults(rs)

	// Notes: the shards' own, once each, naming the shards that wrote them.
	seen := map[string][]int{}
	var order []string
	for i, r := range rs {
		for _, n := range r.Notes {
			if _, ok := seen[n]; !ok {
				order = append(order, n)
			}
			seen[n] = append(seen[n], i)
		}
	}
	for _, n := range order {
		idx := seen[n]
		if len(idx) == len(rs) {
			out.Notes = append(out.Notes, n)
			continue
		}
		out.Notes = append(out.Notes, fmt.Sprintf("shard %s: %s", joinInts(idx), n))
	}
	out.Notes = append(out.Notes, m.notes...)

	// Thresholds: the scenario's expressions, evaluated again on the merged figures.
	var exprs []string
	for _, t := range first.Thresholds {
		exprs = append(exprs, t.Expr)
	}
	parsed, err := ParseThresholds(exprs)
	if err != nil {
		return nil, fmt.Errorf("merge: %s: %w", m.names[0], err)
	}
	out.Thresholds = Evaluate(out, parsed)
	if out.Thresholds == nil {
		out.Thresholds = []Threshold{}
	}

	out.Shards = &Shards{Count: len(rs), MergedFrom: append([]string(nil), m.names...)}
	for i, r := range rs {
		g := r.Generator
		out.Shards.Generators = append(out.Shards.Generators, ShardGenerator{
			Index: i, Scheduled: g.Scheduled, LateOver1ms: g.LateOver1ms, LateRatio: g.LateRatio,
			LagP99US: g.LagP99US, Bottleneck: g.Bottleneck, BottleneckReason: g.BottleneckReason,
			BottleneckService: g.BottleneckService, BottleneckDetail: g.BottleneckDetail,
			CPUPercent: g.CPUPercent, MachineCPUPercent: g.MachineCPUPercent,
		})
	}
	return out, nil
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// mergeHistograms decodes each encoded histogram (empty ones are absent), merges them
// into the first, and returns it (nil when every one is absent).
func mergeHistograms(encs []string, key string, names []string) (*hdrhistogram.Histogram, error) {
	var sum *hdrhistogram.Histogram
	for i, enc := range encs {
		if enc == "" {
			continue
		}
		h, err := DecodeHistogram(enc)
		if err != nil {
			return nil, fmt.Errorf("merge: %s: histograms.%s does not decode (%v): the file is corrupt; run that shard again", names[i], key, err)
		}
		if sum == nil {
			sum = h
			continue
		}
		if dropped := sum.Merge(h); dropped > 0 {
			return nil, fmt.Errorf("merge: %s: histograms.%s has %d values outside the range of the others' (%d..%d): the shards were not written by one cachebench version; run them again with one", names[i], key, dropped, sum.LowestTrackableValue(), sum.HighestTrackableValue())
		}
	}
	return sum, nil
}

// EncodeHistogram encodes h as result.json stores it (hdrhistogram-go's compressed V2
// encoding, base64).
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Summarize returns the latency summary of a histogram of microseconds, as result.json's
// latency_us holds it; the zero Latency for an empty one.
func Summarize(h *hdrhistogram.Histogram) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		P50:   float64(h.ValueAtQuantile(50)),
		P90:   float64(h.ValueAtQuantile(90)),
		P99:   float64(h.ValueAtQuantile(99)),
		P999:  float64(h.ValueAtQuantile(99.9)),
		Max:   float64(h.Max()),
		Mean:  h.Mean(),
		Count: h.TotalCount(),
	}
}

func (m *mergeState) histograms() error {
	out := m.out
	for _, h := range []struct {
		key string
		get func(*Result) string
		set func(string, *hdrhistogram.Histogram)
	}{
		{"latency_us", func(r *Result) string { return r.Histograms.Latency }, func(e string, h *hdrhistogram.Histogram) {
			out.Histograms.Latency, out.LatencyUS = e, Summarize(h)
		}},
		{"service_us", func(r *Result) string { return r.Histograms.Service }, func(e string, h *hdrhistogram.Histogram) {
			out.Histograms.Service, out.ServiceUS = e, Summarize(h)
		}},
		{"update_us", func(r *Result) string { return r.Histograms.Update }, func(e string, h *hdrhistogram.Histogram) {
			out.Histograms.Update = e
			if h.TotalCount() > 0 {
				l := Summarize(h)
				out.UpdateLatencyUS = &l
			}
		}},
		{"staleness_ms", func(r *Result) string { return r.Histograms.Staleness }, func(e string, h *hdrhistogram.Histogram) {
			out.Histograms.Staleness = e
			if h.TotalCount() > 0 {
				out.Consistency.P99StalenessMS = float64(h.ValueAtQuantile(99))
				out.Consistency.MaxStalenessMS = float64(h.Max())
			}
		}},
	} {
		encs := make([]string, len(m.rs))
		for i, r := range m.rs {
			encs[i] = h.get(r)
		}
		sum, err := mergeHistograms(encs, h.key, m.names)
		if err != nil {
			return err
		}
		if sum == nil {
			continue
		}
		enc, err := EncodeHistogram(sum)
		if err != nil {
			return fmt.Errorf("merge: encode histograms.%s: %w", h.key, err)
		}
		h.set(enc, sum)
	}
	return nil
}

func ratio(num, den int64) float64 {
	if den <= 0 {
		return 0
	}
	return float64(num) / float64(den)
}

func (m *mergeState) requests() {
	q := &m.out.Requests
	for _, r := range m.rs {
		s := r.Requests
		q.Total += s.Total
		q.OK += s.OK
		q.Errors += s.Errors
		q.Gets += s.Gets
		q.Updates += s.Updates
		q.NotFound += s.NotFound
		for k, n := range s.ErrorKinds {
			if q.ErrorKinds == nil {
				q.ErrorKinds = map[string]int64{}
			}
			q.ErrorKinds[k] += n
		}
	}
	// At most 20 kinds, as a run keeps: the most frequent.
	if len(q.ErrorKinds) > 20 {
		kinds := make([]string, 0, len(q.ErrorKinds))
		for k := range q.ErrorKinds {
			kinds = append(kinds, k)
		}
		sort.Slice(kinds, func(i, j int) bool {
			a, b := q.ErrorKinds[kinds[i]], q.ErrorKinds[kinds[j]]
			return a > b || a == b && kinds[i] < kinds[j]
		})
		for _, k := range kinds[20:] {
			delete(q.ErrorKinds, k)
		}
	}
	if m.out.DurationS > 0 {
		q.RatePerS = float64(q.Total) / m.out.DurationS
	}
}

func (m *mergeState) tiers() {
	out := &m.out.Tiers
	for _, t := range []struct {
		dst *TierStats
		get func(*Result) TierStats
	}{
		{&out.L1, func(r *Result) TierStats { return r.Tiers.L1 }},
		{&out.L2, func(r *Result) TierStats { return r.Tiers.L2 }},
		{&out.L3, func(r *Result) TierStats { return r.Tiers.L3 }},
	} {
		d := t.dst
		var memory int64
		haveMemory := false
		var heldSum float64
		for _, r := range m.rs {
			s := t.get(r)
			d.Enabled = d.Enabled || s.Enabled
			d.Hits += s.Hits
			d.Misses += s.Misses
			d.Coalesced += s.Coalesced
			d.Rereads += s.Rereads
			d.Failed += s.Failed
			d.Caches += s.Caches
			d.EntriesHeld += s.EntriesHeld
			d.BytesHeld += s.BytesHeld
			if d.BytesMeasure == "" {
				d.BytesMeasure = s.BytesMeasure
			}
			d.SampledEntries += s.SampledEntries
			d.SampledKeyBytes += s.SampledKeyBytes
			d.SampledValueBytes += s.SampledValueBytes
			if s.SampledMemoryBytes != nil {
				memory += *s.SampledMemoryBytes
				haveMemory = true
			}
			d.EntriesWritten += s.EntriesWritten
			d.BytesWritten += s.BytesWritten
			if v := s.Invalidations; v != nil {
				if d.Invalidations == nil {
					d.Invalidations = &Invalidations{}
				}
				d.Invalidations.Received += v.Received
				d.Invalidations.Held += v.Held
				heldSum += v.HeldMeanMS * float64(v.Held)
				d.Invalidations.HeldMaxMS = max(d.Invalidations.HeldMaxMS, v.HeldMaxMS)
			}
		}
		if haveMemory {
			d.SampledMemoryBytes = &memory
		}
		if d.Invalidations != nil && d.Invalidations.Held > 0 {
			d.Invalidations.HeldMeanMS = heldSum / float64(d.Invalidations.Held)
		}
		d.HitRatio = ratio(d.Hits, d.Hits+d.Misses)
		switch d.BytesMeasure {
		case "l1_accounting":
			d.BytesPerEntry = ratio(d.BytesHeld, d.EntriesHeld)
		case "redis_memory_usage":
			d.BytesPerEntry = ratio(memory, d.SampledEntries)
		case "redis_stored_bytes":
			d.BytesPerEntry = ratio(d.SampledKeyBytes+d.SampledValueBytes, d.SampledEntries)
		case "dynamodb_item_size":
			d.BytesPerEntry = ratio(d.BytesWritten, d.EntriesWritten)
		}
		if d.SampledEntries > 0 {
			d.ValueBytesPerEntry = ratio(d.SampledValueBytes, d.SampledEntries)
		}
	}
}

func (m *mergeState) origin() {
	o := &m.out.Origin
	shareSeconds := 0.0
	for _, r := range m.rs {
		s := r.Origin
		o.Calls += s.Calls
		o.RateLimited += s.RateLimited
		o.Retries += s.Retries
		o.Errors += s.Errors
		o.Fetches += s.Fetches
		o.Coalesced += s.Coalesced
		o.CallsSaved += s.CallsSaved
		o.OverlayRateLimited += s.OverlayRateLimited
		// rate_limit_share is calls / duration / limit: share × duration is the shard's
		// calls over the limit, which add up.
		shareSeconds += s.RateLimitShare * r.DurationS
		if f := s.Refreshes; f != nil {
			if o.Refreshes == nil {
				o.Refreshes = &Refreshes{}
			}
			d := o.Refreshes
			d.Stale += f.Stale
			d.Early += f.Early
			d.Done += f.Done
			d.Fetches += f.Fetches
			d.Calls += f.Calls
			d.Retries += f.Retries
			d.RateLimited += f.RateLimited
			d.Errors += f.Errors
		}
		if l := r.Limiter; l != nil {
			if m.out.Limiter == nil {
				m.out.Limiter = &Limiter{Mode: l.Mode}
			}
			m.out.Limiter.WaitMS += l.WaitMS
			m.out.Limiter.Fallbacks += l.Fallbacks
		}
		if w := r.Webhooks; w != nil {
			if m.out.Webhooks == nil {
				m.out.Webhooks = &Webhooks{}
			}
			d := m.out.Webhooks
			d.Emitted += w.Emitted
			d.Delivered += w.Delivered
			d.Duplicated += w.Duplicated
			d.Reordered += w.Reordered
			d.Applied += w.Applied
			d.Rejected += w.Rejected
		}
	}
	if m.out.DurationS > 0 {
		o.RateLimitShare = shareSeconds / m.out.DurationS
	}
}

func (m *mergeState) consistency() {
	c := &m.out.Consistency
	haveHist := m.out.Histograms.Staleness != ""
	for _, r := range m.rs {
		c.ReadsChecked += r.Consistency.ReadsChecked
		c.StaleReads += r.Consistency.StaleReads
		if !haveHist {
			c.MaxStalenessMS = max(c.MaxStalenessMS, r.Consistency.MaxStalenessMS)
			c.P99StalenessMS = max(c.P99StalenessMS, r.Consistency.P99StalenessMS)
		}
	}
	c.StaleRatio = ratio(c.StaleReads, c.ReadsChecked)
	if !haveHist && c.StaleReads > 0 {
		m.note("merge: the shards carry no staleness histogram, so consistency.p99_staleness_ms is the largest shard's, an upper bound")
	}
}

func (m *mergeState) fleet() {
	var any bool
	l := &Lambda{}
	var meanSum, warmSum float64
	var fmReads, fmHits int64
	var fm *FirstMinute
	for _, r := range m.rs {
		s := r.Lambda
		if s == nil {
			continue
		}
		any = true
		l.Invocations += s.Invocations
		l.ColdStarts += s.ColdStarts
		l.PeakEnvironments += s.PeakEnvironments
		l.Throttled += s.Throttled
		l.BilledMS += s.BilledMS
		l.InitBilledMS += s.InitBilledMS
		l.GBSeconds += s.GBSeconds
		l.MemoryMB = s.MemoryMB
		l.Arch = s.Arch
		l.Recycled += s.Recycled
		l.CPUMS += s.CPUMS
		meanSum += s.MeanConcurrency * r.DurationS
		l.PeakConcurrency += s.PeakConcurrency
		l.ProvisionedConcurrency += s.ProvisionedConcurrency
		l.ProvisionedBilledMS += s.ProvisionedBilledMS
		if f := s.FirstMinute; f != nil {
			if fm == nil {
				fm = &FirstMinute{}
			}
			fmReads += f.Reads
			fmHits += f.L1Hits
			fm.P50US = max(fm.P50US, f.P50US)
			fm.P99US = max(fm.P99US, f.P99US)
		}
		if w := s.Warming; w != nil {
			if l.Warming == nil {
				l.Warming = &Warming{}
			}
			d := l.Warming
			d.ColdStarts += w.ColdStarts
			d.KeysListed += w.KeysListed
			d.KeysLoaded += w.KeysLoaded
			warmSum += w.MSMean * float64(w.ColdStarts)
			d.MSMax = max(d.MSMax, w.MSMax)
			d.OverBudget += w.OverBudget
			d.Errors += w.Errors
		}
	}
	if !any {
		return
	}
	if m.out.DurationS > 0 {
		l.MeanConcurrency = meanSum / m.out.DurationS
	}
	if fm != nil {
		fm.Reads, fm.L1Hits, fm.L1HitRatio = fmReads, fmHits, ratio(fmHits, fmReads)
		l.FirstMinute = fm
	}
	if l.Warming != nil && l.Warming.ColdStarts > 0 {
		l.Warming.MSMean = warmSum / float64(l.Warming.ColdStarts)
	}
	m.out.Lambda = l
	if len(m.rs) > 1 {
		m.note("merge: lambda.peak_environments and peak_concurrency are the sum of the %d shards' peaks, an upper bound (the shards' peaks need not coincide); lambda.first_minute p50_us and p99_us, kept without a histogram, are the largest shard's", len(m.rs))
	}
}

func (m *mergeState) servers() {
	var out Servers
	any := false
	// The embedded environment runs its services inside each shard's process: each
	// shard's Redis is its own and its counters add up.
	own := m.out.Environment.Provider == "embedded"
	maxPtr := func(dst **int64, v *int64) {
		if v == nil {
			return
		}
		switch {
		case *dst == nil:
			x := *v
			*dst = &x
		case own:
			**dst += *v
		case *v > **dst:
			**dst = *v
		}
	}
	for _, r := range m.rs {
		s := r.Servers
		if s == nil {
			continue
		}
		any = true
		if v := s.Redis; v != nil {
			if out.Redis == nil {
				out.Redis = &RedisServer{}
			}
			d := out.Redis
			maxPtr(&d.KeyspaceHits, v.KeyspaceHits)
			maxPtr(&d.KeyspaceMisses, v.KeyspaceMisses)
			maxPtr(&d.EvictedKeys, v.EvictedKeys)
			maxPtr(&d.ExpiredKeys, v.ExpiredKeys)
			maxPtr(&d.UsedMemoryPeakBytes, v.UsedMemoryPeakBytes)
			maxPtr(&d.Commands, v.Commands)
		}
		if v := s.DynamoDB; v != nil {
			if out.DynamoDB == nil {
				out.DynamoDB = &DynamoDBServer{}
			}
			out.DynamoDB.ConsumedRCU += v.ConsumedRCU
			out.DynamoDB.ConsumedWCU += v.ConsumedWCU
		}
		if v := s.Stripe; v != nil {
			if out.Stripe == nil {
				out.Stripe = &StripeServer{}
			}
			out.Stripe.Requests += v.Requests
			out.Stripe.Reads += v.Reads
		}
	}
	if !any {
		return
	}
	m.out.Servers = &out
	if out.Redis != nil && len(m.rs) > 1 && !own {
		m.note("merge: the shards share Redis, so each shard's servers.redis counts every shard's traffic: the merged counters are the largest shard's, not a sum")
	}
}

// cost prices the merged run. Lambda is priced again from the merged fleet's counters
// with the pricing table the shards used, when it is the embedded one (a table given
// with --pricing is not in the result: the shards' Lambda charges are then summed, which
// is the same figure since a run's Lambda charges are proportional to its counters).
// ElastiCache nodes are shared by the shards and billed once for the merged window (the
// largest shard's charge); serverless ElastiCache (ECPUs, data written) and DynamoDB
// (request units, items written) are each shard's own use and summed. The monthly
// projection, when there is one, is each shard's projection of the whole month from its
// own share of the traffic, weighted by its requests: for every charge proportional to
// requests that is the projection of the summed counters.
func (m *mergeState) cost() error {
	var shards []*Cost
	for _, r := range m.rs {
		if r.CostUSD != nil {
			shards = append(shards, r.CostUSD)
		}
	}
	if len(shards) == 0 {
		return nil
	}
	if len(shards) != len(m.rs) {
		m.note("merge: only %d of the %d shards have cost_usd; the merged cost is theirs", len(shards), len(m.rs))
	}
	c := &Cost{Pricing: shards[0].Pricing}
	serverless := l2Serverless(m.rs[0].Scenario.Config)
	var monthlyW, monthlyReq float64
	for i, s := range shards {
		if s.Pricing != c.Pricing {
			return fmt.Errorf("merge: the shards were priced with different tables (%q and %q): run every shard with the same --pricing", c.Pricing, s.Pricing)
		}
		c.LambdaCompute += s.LambdaCompute
		c.LambdaRequests += s.LambdaRequests
		if serverless {
			c.ElastiCache += s.ElastiCache
		} else {
			c.ElastiCache = max(c.ElastiCache, s.ElastiCache)
		}
		c.DynamoDB += s.DynamoDB
		if s.MonthlyRequests > 0 {
			c.MonthlyRequests = s.MonthlyRequests
			req := float64(m.rs[i].Requests.Total)
			monthlyW += s.Monthly * req
			monthlyReq += req
		}
	}
	if t := pricing.Default(); c.Pricing == t.Label() && m.out.Lambda != nil && m.out.DurationS > 0 {
		l := m.out.Lambda
		u := pricing.RunUsage{DurationS: m.out.DurationS, Requests: m.out.Requests.Total, Lambda: &pricing.LambdaUsage{
			Arch: pricing.Arch(l.Arch), MemoryMB: l.MemoryMB, Invocations: l.Invocations, BilledMS: l.BilledMS,
		}}
		if l.ProvisionedConcurrency > 0 {
			u.Lambda.Provisioned = &pricing.Provisioned{
				Concurrency: l.ProvisionedConcurrency, Hours: m.out.DurationS / 3600, BilledMS: l.ProvisionedBilledMS,
			}
		}
		b, err := pricing.RunCost(t, u)
		if err != nil {
			return fmt.Errorf("merge: price the merged fleet: %w", err)
		}
		c.LambdaCompute, c.LambdaRequests = b.LambdaComputeUSD, b.LambdaRequestsUSD
	}
	c.Total = c.LambdaCompute + c.LambdaRequests + c.ElastiCache + c.DynamoDB
	if n := m.out.Requests.Total; n > 0 {
		c.PerMillionRequests = c.Total / float64(n) * 1e6
	}
	if monthlyReq > 0 {
		c.Monthly = monthlyW / monthlyReq
	}
	m.out.CostUSD = c
	return nil
}

// l2Serverless reports whether an effective configuration prices its L2 as ElastiCache
// Serverless (cost.elasticache.serverless).
func l2Serverless(cfg json.RawMessage) bool {
	var c struct {
		Cost struct {
			ElastiCache struct {
				Serverless bool `json:"serverless"`
			} `json:"elasticache"`
		} `json:"cost"`
	}
	return json.Unmarshal(cfg, &c) == nil && c.Cost.ElastiCache.Serverless
}

func (m *mergeState) generator() {
	g := &m.out.Generator
	g.Model = m.rs[0].Generator.Model
	g.OpenFilesLimit = 0
	var reasons []string
	for i, r := range m.rs {
		s := r.Generator
		g.Scheduled += s.Scheduled
		g.LateOver1ms += s.LateOver1ms
		g.LagP99US = max(g.LagP99US, s.LagP99US)
		g.LagMaxUS = max(g.LagMaxUS, s.LagMaxUS)
		g.PeakWorkers += s.PeakWorkers
		g.PeakInFlight += s.PeakInFlight
		g.MaxInFlight += s.MaxInFlight
		g.SlotWaits += s.SlotWaits
		for k, n := range s.PoolWaits {
			if g.PoolWaits == nil {
				g.PoolWaits = map[string]int64{}
			}
			g.PoolWaits[k] += n
		}
		g.PeakOpenFiles = max(g.PeakOpenFiles, s.PeakOpenFiles)
		if s.OpenFilesLimit > 0 && (g.OpenFilesLimit == 0 || s.OpenFilesLimit < g.OpenFilesLimit) {
			g.OpenFilesLimit = s.OpenFilesLimit
		}
		g.OpenFilesErrors += s.OpenFilesErrors
		g.CPUPercent = max(g.CPUPercent, s.CPUPercent)
		g.MachineCPUPercent = max(g.MachineCPUPercent, s.MachineCPUPercent)
		g.Cores = max(g.Cores, s.Cores)
		if s.Bottleneck {
			g.Bottleneck = true
			reason := s.BottleneckReason
			if reason == "" {
				reason = "bottleneck"
			}
			if g.BottleneckReason == "" || g.BottleneckReason == BottleneckNone {
				g.BottleneckReason, g.BottleneckService = s.BottleneckReason, s.BottleneckService
			}
			d := fmt.Sprintf("shard %d: %s", i, reason)
			if s.BottleneckDetail != "" {
				d += ": " + s.BottleneckDetail
			}
			reasons = append(reasons, d)
		} else if g.BottleneckReason == "" {
			g.BottleneckReason = s.BottleneckReason
		}
		for _, mk := range s.Mocks {
			found := false
			for j := range g.Mocks {
				d := &g.Mocks[j]
				if d.Service != mk.Service {
					continue
				}
				found = true
				d.Requests += mk.Requests
				d.Workers = max(d.Workers, mk.Workers)
				d.HandlerP50US = max(d.HandlerP50US, mk.HandlerP50US)
				d.HandlerP99US = max(d.HandlerP99US, mk.HandlerP99US)
				d.QueueP50US = max(d.QueueP50US, mk.QueueP50US)
				d.QueueP95US = max(d.QueueP95US, mk.QueueP95US)
				d.QueueP99US = max(d.QueueP99US, mk.QueueP99US)
				d.Saturated = d.Saturated || mk.Saturated
			}
			if !found {
				g.Mocks = append(g.Mocks, mk)
			}
		}
	}
	g.LateRatio = ratio(g.LateOver1ms, g.Scheduled)
	if len(reasons) > 0 {
		g.BottleneckDetail = strings.Join(reasons, "; ")
	}
	if len(m.rs) > 1 {
		m.note("merge: generator lag_p99_us, cpu_percent and the stand-ins' percentiles are the largest shard's (each shard's own are in shards.generators); peak_in_flight is the sum of the shards' peaks, an upper bound")
	}
}

func mergeTrace(rs []*Result) *TraceInfo {
	if rs[0].Scenario.Trace == nil {
		return nil
	}
	t := *rs[0].Scenario.Trace
	if t.Sizes != nil {
		s := *t.Sizes
		s.Padded, s.OverSize = 0, 0
		for _, r := range rs {
			if tr := r.Scenario.Trace; tr != nil && tr.Sizes != nil {
				s.Padded += tr.Sizes.Padded
				s.OverSize += tr.Sizes.OverSize
			}
		}
		t.Sizes = &s
	}
	return &t
}

// mergeTimeline combines the shards' seconds that fall on the same second of the merged
// window (shard i's shifted by offsets[i]): counters summed, hit ratios weighted by the
// reads each shard sent to the tier, p50 and p99 the largest shard's.
func mergeTimeline(rs []*Result, offsets []int) []Second {
	type acc struct {
		s                      Second
		w1, w2, w3, h1, h2, h3 float64
	}
	byTS := map[int]*acc{}
	for i, r := range rs {
		for _, s := range r.Timeline {
			ts := s.TS + offsets[i]
			a := byTS[ts]
			if a == nil {
				a = &acc{s: Second{TS: ts}}
				byTS[ts] = a
			}
			d := &a.s
			d.Requests += s.Requests
			d.P50US = max(d.P50US, s.P50US)
			d.P99US = max(d.P99US, s.P99US)
			d.Errors += s.Errors
			d.OriginCalls += s.OriginCalls
			d.RateLimited += s.RateLimited
			d.StaleReads += s.StaleReads
			d.ColdStarts += s.ColdStarts
			d.Envs += s.Envs
			if s.Partial {
				d.Partial = true
				d.LengthS = max(d.LengthS, s.LengthS)
			}
			w1 := float64(s.Requests)
			w2 := w1 * (1 - s.L1HitRatio)
			w3 := w2 * (1 - s.L2HitRatio)
			a.w1 += w1
			a.h1 += w1 * s.L1HitRatio
			a.w2 += w2
			a.h2 += w2 * s.L2HitRatio
			a.w3 += w3
			a.h3 += w3 * s.L3HitRatio
		}
	}
	out := make([]Second, 0, len(byTS))
	for _, a := range byTS {
		if a.w1 > 0 {
			a.s.L1HitRatio = a.h1 / a.w1
		}
		if a.w2 > 0 {
			a.s.L2HitRatio = a.h2 / a.w2
		}
		if a.w3 > 0 {
			a.s.L3HitRatio = a.h3 / a.w3
		}
		out = append(out, a.s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TS < out[j].TS })
	// Only the last second may be partial: a shard that ended early shares its partial
	// second with shards that ran through it.
	for i := range out {
		if i != len(out)-1 {
			out[i].Partial, out[i].LengthS = false, 0
		}
	}
	return out
}

// mergeFaults lists each fault window once: shards that inject the same fault into the
// shared services report it each.
func mergeFaults(rs []*Result) []Fault {
	var out []Fault
	for _, r := range rs {
	next:
		for _, f := range r.Faults {
			for j := range out {
				o := &out[j]
				if o.Target == f.Target && o.Kind == f.Kind && o.AtS == f.AtS && o.ForS == f.ForS {
					o.StartS = min(o.StartS, f.StartS)
					o.EndS = max(o.EndS, f.EndS)
					if o.Err == "" {
						o.Err = f.Err
					}
					continue next
				}
			}
			out = append(out, f)
		}
	}
	return out
}

// MergeFiles reads the shards' result.json files at paths (each checked as Read does) and
// merges them (see Merge); errors name the file.
func MergeFiles(paths []string) (*Result, error) {
	rs := make([]*Result, len(paths))
	for i, p := range paths {
		r, err := Read(p)
		if err != nil {
			return nil, err
		}
		rs[i] = r
	}
	return Merge(rs, paths)
}
