package bench

import (
	"context"
	"encoding/json"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cachebench/cachebench/bench/workload"
	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks/netsim"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/reports/pricing"
	"github.com/cachebench/cachebench/scenarios"
)

// assemble builds the result from the collector's totals and the run's counters.
func (r *runner) assemble(col *collector, gl generatorLag, windows []netsim.Window, end time.Time, interrupted bool) *reports.Result {
	s := r.s
	t := col.total
	cfg, _ := json.Marshal(s)
	measuredFor := end.Sub(r.measured)
	if measuredFor < 0 {
		measuredFor = 0
	}
	res := &reports.Result{
		Schema: reports.Schema,
		Scenario: reports.ScenarioRef{
			Name: s.Name, File: s.File, Seed: s.Seed, Point: s.Point, Config: cfg,
		},
		Environment: describe(r.world),
		StartedAt:   r.measured.UTC().Format(time.RFC3339Nano),
		DurationS:   measuredFor.Seconds(),
		WarmupS:     r.warmup.Seconds(),
		Interrupted: interrupted,
		Notes:       append([]string(nil), r.notes...),
	}
	if sh := r.opt.Shard; sh.Count > 0 {
		idx := sh.Index
		res.Shards = &reports.Shards{Count: sh.Count, Index: &idx}
	}
	ov := r.world.Overlay.Stats()
	res.Scenario.Trace = traceInfo(s, r.gen.Trace(), ov)
	c := t.c
	res.Requests = reports.Requests{
		Total: c.gets + c.updates, Errors: c.errors, OK: c.gets + c.updates - c.errors,
		Gets: c.gets, Updates: c.updates, NotFound: c.notFound,
	}
	if measuredFor > 0 {
		res.Requests.RatePerS = float64(res.Requests.Total) / measuredFor.Seconds()
	}
	if len(t.errKinds) > 0 {
		res.Requests.ErrorKinds = map[string]int64{}
		for k, n := range t.errKinds {
			res.Requests.ErrorKinds[k] = n
		}
	}
	res.LatencyUS = summary(t.lat)
	res.ServiceUS = summary(t.svc)
	if t.upd.TotalCount() > 0 {
		u := summary(t.upd)
		res.UpdateLatencyUS = &u
	}
	tr := tierRatios(&c, s.Cache.L1.Enabled, s.Cache.L2.Enabled, s.Cache.L3.Enabled)
	res.Tiers = reports.Tiers{L1: tr[0], L2: tr[1], L3: tr[2]}
	if s.Cache.L1.Enabled {
		if held, caches := r.exec.l1Held(); held.Entries > 0 {
			l1 := &res.Tiers.L1
			l1.Caches, l1.EntriesHeld, l1.BytesHeld = int64(caches), int64(held.Entries), held.Bytes
			l1.BytesPerEntry = float64(held.Bytes) / float64(held.Entries)
			l1.BytesMeasure = "l1_accounting"
		}
	}
	// The tiers' own counters, read once: for L3's item sizes here, and the cost below.
	l2, l3 := r.exec.tierStats()
	if s.Cache.L3.Enabled && l3.Sets > 0 {
		t := &res.Tiers.L3
		t.EntriesWritten, t.BytesWritten = int64(l3.Sets), int64(l3.SetBytes)
		t.BytesPerEntry = float64(l3.SetBytes) / float64(l3.Sets)
		t.BytesMeasure = "dynamodb_item_size"
	}

	// The origin's counters are the measured reads' own (cachecore.Trace); background
	// refreshes, which belong to no read, are counted apart by time.
	res.Origin = reports.Origin{
		Calls:              c.calls,
		RateLimited:        c.rateLimited,
		Retries:            c.retries,
		Errors:             c.originErrors,
		Fetches:            c.fetched,
		Coalesced:          c.shared,
		OverlayRateLimited: int64(ov.RateLimited - col.overlay0),
	}
	if mode := s.Stripe.Limiter; mode != "" {
		now := r.exec.originStats()
		res.Limiter = &reports.Limiter{
			Mode:      mode,
			WaitMS:    float64(now.LimiterWait-col.originAt.LimiterWait) / float64(time.Millisecond),
			Fallbacks: int64(now.LimiterFallbacks - col.originAt.LimiterFallbacks),
		}
	}
	// Saved: reads answered without a fetch of their own, by a tier or by another read's
	// fetch (a fetch may make several calls).
	res.Origin.CallsSaved = max(c.gets-c.incomplete-c.fetched, 0)
	res.Origin.Refreshes = refreshes(s, col.cacheAt, col.cacheNow)
	if s.Cache.L1.Enabled && s.Cache.L1.Policy == scenarios.PolicyTracking {
		res.Tiers.L1.Invalidations = invalidations(col.cacheAt.L1Size, col.cacheNow.L1Size)
	}
	if limit := readLimit(s.Stripe.Mode); limit > 0 && measuredFor > 0 {
		all := res.Origin.Calls
		if res.Origin.Refreshes != nil {
			all += res.Origin.Refreshes.Calls
		}
		res.Origin.RateLimitShare = float64(all) / measuredFor.Seconds() / limit
	}
	res.Consistency = reports.Consistency{ReadsChecked: c.checked, StaleReads: c.stale}
	if c.checked > 0 {
		res.Consistency.StaleRatio = float64(c.stale) / float64(c.checked)
	}
	if c.stale > 0 {
		res.Consistency.MaxStalenessMS = float64(t.stale.Max())
		res.Consistency.P99StalenessMS = float64(t.stale.ValueAtQuantile(99))
	}
	if s.Ops.Update > 0 || s.Cache.Invalidation == "webhook" {
		// Events are counted by time, over the measured part.
		o0 := col.overlayAt
		res.Webhooks = &reports.Webhooks{
			Emitted: int64(ov.EventsEmitted - o0.EventsEmitted), Delivered: int64(ov.EventsDelivered - o0.EventsDelivered),
			Duplicated: int64(ov.EventsDuplicated - o0.EventsDuplicated), Reordered: int64(ov.EventsReordered - o0.EventsReordered),
			Applied: r.applied.Load() - col.appliedAt, Rejected: r.rejected.Load() - col.rejectedAt,
		}
	}
	res.Lambda = r.exec.lambda()
	if res.Lambda != nil {
		lambdaByRequest(res.Lambda, &c)
		if c.youngReads > 0 {
			res.Lambda.FirstMinute = &reports.FirstMinute{
				Reads: c.youngReads, L1Hits: c.youngL1Hits, L1HitRatio: float64(c.youngL1Hits) / float64(c.youngReads),
				P50US: float64(t.young.ValueAtQuantile(50)), P99US: float64(t.young.ValueAtQuantile(99)),
			}
		}
		if f, ok := r.exec.(*fleet); ok {
			res.Lambda.Warming = f.warmed()
		}
	}
	res.Servers = r.serversOver(col.servers0, r.readServers())
	if s.Cache.L2.Enabled {
		// After the servers' counters are read: the sample's reads are not the run's.
		if note := r.l2Footprint(&res.Tiers.L2); note != "" {
			res.Notes = append(res.Notes, note)
		}
	}
	r.valueBytes = c.bytes
	cost, err := r.cost(res, subTier(l2, col.l2At), subTier(l3, col.l3At))
	if err != nil {
		res.Notes = append(res.Notes, err.Error())
	}
	res.CostUSD = cost

	res.Generator = reports.Generator{
		Model: s.Arrival.Model, Scheduled: gl.scheduled, LateOver1ms: gl.late,
		PeakWorkers: r.peakInFlight.Load(),
	}
	if gl.lag != nil && gl.scheduled > 0 {
		res.Generator.LateRatio = float64(gl.late) / float64(gl.scheduled)
		res.Generator.LagP99US = float64(gl.lag.ValueAtQuantile(99))
		res.Generator.LagMaxUS = float64(gl.lag.Max())
	}
	res.Notes = append(res.Notes, r.probe.attribute(&res.Generator, gl, end)...)
	res.Timeline = col.timeline
	for _, w := range windows {
		f := reports.Fault{
			Target: w.Target, Kind: w.Kind,
			AtS: w.PlannedAt.Seconds(), ForS: w.PlannedFor.Seconds(), Err: w.Err,
		}
		if !w.Start.IsZero() {
			f.StartS = w.Start.Sub(r.measured).Seconds()
		}
		if !w.End.IsZero() {
			f.EndS = w.End.Sub(r.measured).Seconds()
		}
		res.Faults = append(res.Faults, f)
	}
	res.Histograms = reports.Histograms{
		Latency: encode(t.lat), Service: encode(t.svc),
	}
	if t.upd.TotalCount() > 0 {
		res.Histograms.Update = encode(t.upd)
	}
	if t.stale.TotalCount() > 0 {
		res.Histograms.Staleness = encode(t.stale)
	}
	res.Thresholds = reports.Evaluate(res, r.thresholds)
	return res
}

// readLimit is the Stripe read limit of a rate-limit mode, requests per second
// (docs.stripe.com/rate-limits): 0 for none.
func readLimit(mode string) float64 {
	switch mode {
	case "live":
		return 100
	case "none":
		return 0
	default:
		return 25
	}
}

// summary turns a histogram of microseconds into the result's latency block.
func summary(h *hdrhistogram.Histogram) reports.Latency { return reports.Summarize(h) }

// encode returns h in HdrHistogram's compressed V2 encoding, base64.
func encode(h *hdrhistogram.Histogram) string {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return ""
	}
	return string(b)
}

// subTier returns the counters of a that came after b.
func subTier(a, b cachecore.TierStats) cachecore.TierStats {
	return cachecore.TierStats{
		Gets: a.Gets - b.Gets, Hits: a.Hits - b.Hits, Misses: a.Misses - b.Misses,
		Sets: a.Sets - b.Sets, SetsRejected: a.SetsRejected - b.SetsRejected, Deletes: a.Deletes - b.Deletes,
		Corrupt: a.Corrupt - b.Corrupt, Errors: a.Errors - b.Errors,
		ReadUnits: a.ReadUnits - b.ReadUnits, WriteUnits: a.WriteUnits - b.WriteUnits, Oversize: a.Oversize - b.Oversize,
		ReportedReadUnits: a.ReportedReadUnits - b.ReportedReadUnits, ReportedWriteUnits: a.ReportedWriteUnits - b.ReportedWriteUnits,
		CapacityReports: a.CapacityReports - b.CapacityReports, SetBytes: a.SetBytes - b.SetBytes,
	}
}

// refreshes returns the background refreshes of the measured part (nil when the scenario
// has none and none ran): started, by reason, from the caches' counters at its start
// (at) and at its end (now); fetches, calls, retries and 429s of those that finished.
func refreshes(s *scenarios.Scenario, at, now cachecore.Stats) *reports.Refreshes {
	d := subRefresh(now.Refresh, at.Refresh)
	started := now.BackgroundRefreshes - at.BackgroundRefreshes
	early := now.EarlyRefreshes - at.EarlyRefreshes
	if s.Cache.SWR <= 0 && s.Cache.XFetchBeta <= 0 && started == 0 && d.Done == 0 {
		return nil
	}
	return &reports.Refreshes{
		Stale: int64(started - early), Early: int64(early), Done: int64(d.Done), Fetches: int64(d.Fetches),
		Calls: int64(d.Calls), Retries: int64(d.Retries), RateLimited: int64(d.RateLimited),
		Errors: int64(now.BackgroundErrors - at.BackgroundErrors),
	}
}

// lambdaByRequest sets the fleet's per-request figures from the measured requests' own
// invocations, so they count what those requests caused (a cold start at the end of the
// warm-up belongs to the warm-up's request); peaks and mean concurrency stay the fleet's
// state over the measured part.
func lambdaByRequest(l *reports.Lambda, c *counts) {
	l.Invocations = c.invocations
	l.ColdStarts = c.coldStarts
	l.Throttled = c.throttled
	l.BilledMS = c.billedMS
	l.InitBilledMS = c.initMS
	l.ProvisionedBilledMS = c.provMS
	l.CPUMS = float64(c.cpuNS) / 1e6
	l.GBSeconds = pricing.GBSeconds(l.MemoryMB, l.BilledMS)
}

// invalidations are the tracking L1s' invalidations from the counters at the start of the
// measured part (at) to the end (end).
func invalidations(at, end cachecore.L1Stats) *reports.Invalidations {
	inv := &reports.Invalidations{
		Received:  int64(end.Invalidations - at.Invalidations),
		Held:      int64(end.InvalidationsHeld - at.InvalidationsHeld),
		HeldMaxMS: float64(end.HeldMax) / 1e6,
	}
	if inv.Held > 0 {
		inv.HeldMeanMS = float64(end.HeldTotal-at.HeldTotal) / 1e6 / float64(inv.Held)
	}
	return inv
}

// footprintSample bounds the L2 keys measured at the end of a run.
const footprintSample = 200

// l2Footprint measures what the run's L2 entries take in Redis from a sample of them
// (cachecore.RedisTier.Footprint), read directly from the server like INFO, not through
// the network profile or its faults. It returns a note when Redis could not be read.
func (r *runner) l2Footprint(t *reports.TierStats) string {
	env := r.world.Env
	if env == nil || env.RedisClient == nil {
		return ""
	}
	tier, err := cachecore.NewRedisTier(cachecore.RedisConfig{Client: env.RedisClient, Prefix: r.ns.redisPrefix, Pipeline: cachecore.PipelineNever})
	if err != nil {
		return "l2 bytes per entry: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), serverInfoTimeout)
	defer cancel()
	f, err := tier.Footprint(ctx, footprintSample)
	if err != nil {
		return "l2 bytes per entry not measured: " + err.Error()
	}
	if f.Entries == 0 {
		return ""
	}
	n := float64(f.Entries)
	t.SampledEntries, t.SampledKeyBytes, t.SampledValueBytes = int64(f.Entries), f.KeyBytes, f.ValueBytes
	t.ValueBytesPerEntry = float64(f.ValueBytes) / n
	if f.MemoryReported {
		m := f.MemoryBytes
		t.SampledMemoryBytes = &m
		t.BytesPerEntry, t.BytesMeasure = float64(m)/n, "redis_memory_usage"
	} else {
		t.BytesPerEntry, t.BytesMeasure = float64(f.KeyBytes+f.ValueBytes)/n, "redis_stored_bytes"
	}
	return ""
}

// traceInfo describes the trace a run replayed (nil for none): its file, format, rows and
// keys, and with keys.trace_sizes the sizes it gave the objects and what the overlay did
// with them.
func traceInfo(s *scenarios.Scenario, tr *workload.Trace, ov stripeoverlay.Stats) *reports.TraceInfo {
	if tr == nil {
		return nil
	}
	info := &reports.TraceInfo{
		File: workload.TracePath(s), Format: tr.Format(), Rows: int64(tr.Len()), DistinctKeys: int64(tr.Count()),
	}
	if tr.Sized() && s.Keys.TraceSizes {
		keys, mean, largest, capped := tr.SizeSummary()
		info.Sizes = &reports.TraceSizes{
			Keys: int64(keys), MeanBytes: mean, MaxBytes: int64(largest), Capped: int64(capped),
			Padded: int64(ov.Padded), OverSize: int64(ov.OverSize),
		}
	}
	return info
}
