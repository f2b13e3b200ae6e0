package reports

import (
	"fmt"
	"sort"
	"strings"
)

// section is one titled table of a run report. The Markdown and HTML renderers share
// these, so both say the same thing.
type section struct {
	title string
	// header names the columns; rows hold one cell per column.
	header []string
	rows   [][]string
	// note is a sentence printed under the table.
	note string
}

// runTitle names a run: the scenario and, for a sweep point, the point.
func runTitle(r *Result) string {
	t := r.Scenario.Name
	if t == "" {
		t = "(unnamed scenario)"
	}
	if r.Scenario.Point != "" {
		t += " [" + r.Scenario.Point + "]"
	}
	return t
}

// runPreamble is the sentences that open a run report: what was run and how far to trust it.
func runPreamble(r *Result) []string {
	var out []string
	if r.Interrupted {
		out = append(out, "INTERRUPTED: this run was stopped early; every figure covers only the part that ran.")
	}
	src := ""
	if r.Scenario.File != "" {
		src = " from " + r.Scenario.File
	}
	started := ""
	if r.StartedAt != "" {
		started = ", started " + r.StartedAt
	}
	out = append(out, fmt.Sprintf("Scenario %q%s, seed %d%s; %.1f s measured after a %s s warm-up that is excluded from every figure.",
		r.Scenario.Name, src, r.Scenario.Seed, started, r.DurationS, formatSeconds(r.WarmupS)))
	if tr := r.Scenario.Trace; tr != nil {
		t := fmt.Sprintf("Replayed trace %s (%s format, %d rows, %d distinct keys).", tr.File, tr.Format, tr.Rows, tr.DistinctKeys)
		if z := tr.Sizes; z != nil {
			t += fmt.Sprintf(" Its value sizes set the Stripe objects' sizes: %d keys sized, mean %.0f bytes, largest %d bytes", z.Keys, z.MeanBytes, z.MaxBytes)
			if z.Capped > 0 {
				t += fmt.Sprintf(" (%d keys capped at 350 KiB)", z.Capped)
			}
			t += fmt.Sprintf("; %d answers padded to their key's size, %d served larger than it (a Stripe object cannot be smaller than its own fields).", z.Padded, z.OverSize)
		}
		out = append(out, t)
	}
	if r.LatencyModel == "modelled" {
		out = append(out, "All figures come from a single run on the VIRTUAL clock: simulated time, so hours and days run in minutes. "+
			"Hit ratios, Stripe calls, cold starts and bytes held come from the real cache code; latency is MODELLED, drawn from each tier's service time as calibrated at the start (latency_calibration; see Notes), not measured.")
		return out
	}
	out = append(out, "All figures come from a single run: they show what happened once, not how much repeated runs vary. "+
		"Latency is measured from each request's intended start time (corrected for coordinated omission); "+
		"service time is measured from when a worker began the request.")
	return out
}

// virtualSections are the first tables of a clock: virtual run: how much of the
// traffic each tier served and what each part cost, per day and per month, then the
// timeline bucket by bucket (per minute or per hour).
func virtualSections(r *Result) []section {
	if r.Clock != "virtual" {
		return nil
	}
	q := r.Requests.Gets
	share := func(n int64) string {
		if q <= 0 {
			return "-"
		}
		return formatPct(float64(n) / float64(q))
	}
	served := section{title: "What each tier served, and the cost", header: []string{"served by", "reads", "share of reads"},
		note: fmt.Sprintf("Over %s of simulated time.", formatSimulated(r.DurationS))}
	for _, t := range []struct {
		name string
		s    TierStats
	}{{"L1 in-process", r.Tiers.L1}, {"L2 Redis", r.Tiers.L2}, {"L3 DynamoDB", r.Tiers.L3}} {
		if t.s.Enabled {
			served.rows = append(served.rows, []string{t.name, fmt.Sprint(t.s.Hits), share(t.s.Hits)})
		}
	}
	served.rows = append(served.rows, []string{"Stripe (origin calls)", fmt.Sprint(r.Origin.Calls), share(r.Origin.Calls)})
	out := []section{served}
	if c := r.CostUSD; c != nil && c.Total > 0 {
		k := c.PerDay / c.Total
		cost := section{title: "Cost of the simulated time", header: []string{"part", "run", "per day", "per month"},
			note: "At the run's rate: a run of one simulated day is its own day. Storage is priced from the bytes held, bucket by bucket; the inputs are cost_usd.usage in result.json. Prices: " + c.Pricing + "."}
		for _, p := range []struct {
			name string
			usd  float64
		}{{"Lambda compute", c.LambdaCompute}, {"Lambda requests", c.LambdaRequests}, {"ElastiCache", c.ElastiCache}, {"DynamoDB", c.DynamoDB}, {"total", c.Total}} {
			cost.rows = append(cost.rows, []string{p.name, formatUSD(p.usd), formatUSD(p.usd * k), formatUSD(p.usd * k * c.PerMonth / c.PerDay)})
		}
		out = append(out, cost)
	}
	if len(r.Timeline) > 0 {
		tl := section{title: "Timeline (simulated)", header: []string{"from", "requests", "L1 hit", "L2 hit", "L3 hit", "Stripe calls", "cold starts", "environments", "Redis holds", "DynamoDB holds", "cost", "p99 (modelled)"},
			note: "Hit ratios are of the reads that reached each tier; what Redis and DynamoDB hold is at the bucket's end."}
		for _, b := range r.Timeline {
			tl.rows = append(tl.rows, []string{
				formatClock(b.TS), fmt.Sprint(b.Requests), formatPct(b.L1HitRatio), formatPct(b.L2HitRatio), formatPct(b.L3HitRatio),
				fmt.Sprint(b.OriginCalls), fmt.Sprint(b.ColdStarts), fmt.Sprint(b.Envs), formatBytes(b.RedisBytes), formatBytes(b.DynamoDBBytes),
				formatUSD(b.CostUSD), FormatUS(b.P99US),
			})
		}
		out = append(out, tl)
	}
	return out
}

// formatSimulated writes a simulated span in hours, or minutes below two hours.
func formatSimulated(s float64) string {
	switch {
	case s >= 7200:
		return fmt.Sprintf("%.1f h", s/3600)
	case s >= 120:
		return fmt.Sprintf("%.0f min", s/60)
	}
	return fmt.Sprintf("%.0f s", s) // a short trace
}

// formatClock writes an offset into a simulated run as h:mm.
func formatClock(s int) string { return fmt.Sprintf("%d:%02d", s/3600, s%3600/60) }

func latencyRow(name string, l Latency) []string {
	return []string{name, FormatUS(l.P50), FormatUS(l.P90), FormatUS(l.P99), FormatUS(l.P999), FormatUS(l.Max), FormatUS(l.Mean), fmt.Sprint(l.Count)}
}

// runSections builds the tables of a run report, in reading order.
func runSections(r *Result) []section {
	out := virtualSections(r)
	q := r.Requests
	out = append(out, section{
		title:  "Requests",
		header: []string{"figure", "value"},
		rows: [][]string{
			{"requests (measured)", fmt.Sprintf("%d (%d reads, %d updates)", q.Total, q.Gets, q.Updates)},
			{"ok / errors", fmt.Sprintf("%d ok, %d errors (%s)", q.OK, q.Errors, formatPct(errorRatio(r)))},
			{"reads answered \"not found\"", fmt.Sprint(q.NotFound)},
			{"completion rate", fmt.Sprintf("%.1f requests/s over %.1f s", q.RatePerS, r.DurationS)},
		},
	})

	lat := section{
		title:  "Latency",
		header: []string{"measure", "p50", "p90", "p99", "p99.9", "max", "mean", "count"},
		rows: [][]string{
			latencyRow("reads, from intended start", r.LatencyUS),
			latencyRow("reads, service time", r.ServiceUS),
		},
		note: "Units as shown (µs, ms, s). The gap between the two rows is time spent queueing before a worker was free.",
	}
	if r.UpdateLatencyUS != nil {
		lat.rows = append(lat.rows, latencyRow("updates", *r.UpdateLatencyUS))
	}
	out = append(out, lat)

	tiers := section{title: "Cache tiers", header: []string{"tier", "hit ratio", "hits", "misses"},
		note: "A read served by L2 counts as an L1 miss and an L2 hit; L1 is summed over all execution environments."}
	for _, t := range []struct {
		name string
		s    TierStats
	}{{"L1 in-process", r.Tiers.L1}, {"L2 Redis", r.Tiers.L2}, {"L3 DynamoDB", r.Tiers.L3}} {
		if !t.s.Enabled {
			tiers.rows = append(tiers.rows, []string{t.name, "off", "-", "-"})
			continue
		}
		misses := fmt.Sprint(t.s.Misses)
		if t.s.Failed > 0 {
			misses += fmt.Sprintf(" (%d failed: error, time-out or open breaker)", t.s.Failed)
		}
		tiers.rows = append(tiers.rows, []string{t.name, formatPct(t.s.HitRatio), fmt.Sprint(t.s.Hits), misses})
	}
	if l1 := r.Tiers.L1; l1.EntriesHeld > 0 {
		tiers.note += fmt.Sprintf(" At the end the L1s held %d entries in %s, %.0f bytes an entry (key, value and overhead).",
			l1.EntriesHeld, formatBytes(l1.BytesHeld), l1.BytesPerEntry)
	}
	if inv := r.Tiers.L1.Invalidations; inv != nil {
		tiers.note += fmt.Sprintf(" Redis invalidated %d keys in the tracking L1s; %d of them reached an environment frozen between invocations and waited for its next one (%.1f ms on average, %.1f ms at most), its L1 serving the old value meanwhile.",
			inv.Received, inv.Held, inv.HeldMeanMS, inv.HeldMaxMS)
	}
	if l2 := r.Tiers.L2; l2.BytesPerEntry > 0 {
		if l2.BytesMeasure == "redis_memory_usage" {
			tiers.note += fmt.Sprintf(" In Redis an entry takes %.0f bytes (MEMORY USAGE of %d of the run's keys; the stored value %.0f bytes).",
				l2.BytesPerEntry, l2.SampledEntries, l2.ValueBytesPerEntry)
		} else {
			tiers.note += fmt.Sprintf(" In Redis an entry's key and stored value take %.0f bytes (%d of the run's keys; this server has no MEMORY USAGE, so Redis's own overhead is not counted).",
				l2.BytesPerEntry, l2.SampledEntries)
		}
	}
	if l3 := r.Tiers.L3; l3.BytesPerEntry > 0 {
		tiers.note += fmt.Sprintf(" DynamoDB items written: %d of %.0f bytes each on average, as DynamoDB counts an item's size.",
			l3.EntriesWritten, l3.BytesPerEntry)
	}
	out = append(out, tiers)

	o := r.Origin
	origin := section{title: "Stripe (origin)", header: []string{"figure", "value"}, rows: [][]string{
		{"calls to Stripe", fmt.Sprint(o.Calls)},
		{"calls saved by the cache", fmt.Sprint(o.CallsSaved)},
		{"rate-limited (429) answers", fmt.Sprint(o.RateLimited)},
		{"429s answered by the Stripe emulation", fmt.Sprint(o.OverlayRateLimited)},
		{"retries", fmt.Sprint(o.Retries)},
		{"errors", fmt.Sprint(o.Errors)},
	}}
	if o.RateLimitShare > 0 {
		origin.rows = append(origin.rows, []string{"share of the read rate limit", fmt.Sprintf("%.0f%%", 100*o.RateLimitShare)})
	}
	if l := r.Limiter; l != nil {
		v := l.Mode
		switch l.Mode {
		case "fleet":
			v = fmt.Sprintf("fleet (one limit in Redis for every environment); %d waits fell back to an environment's own share", l.Fallbacks)
		case "instance":
			v = "instance (each environment limits only itself: a fleet of N can send N times the limit)"
		}
		origin.rows = append(origin.rows, []string{"client-side rate limit", v},
			[]string{"time fetches waited for a token (all environments)", fmt.Sprintf("%.0f ms", l.WaitMS)})
	}
	origin.rows = append(origin.rows, originAttributionRows(o)...)
	out = append(out, origin)
	if r.Servers != nil {
		out = append(out, serversSection(r))
	}

	c := r.Consistency
	fresh := section{title: "Freshness", header: []string{"figure", "value"}}
	if c.ReadsChecked == 0 {
		fresh.note = "No read was checked against the staleness oracle in this run."
	} else {
		fresh.rows = [][]string{
			{"reads checked", fmt.Sprint(c.ReadsChecked)},
			{"stale reads", fmt.Sprintf("%d (%s)", c.StaleReads, formatPct(c.StaleRatio))},
			{"max staleness", fmt.Sprintf("%.0f ms", c.MaxStalenessMS)},
			{"p99 staleness of stale reads", fmt.Sprintf("%.0f ms", c.P99StalenessMS)},
		}
	}
	out = append(out, fresh)

	if wh := r.Webhooks; wh != nil {
		out = append(out, section{title: "Webhooks", header: []string{"figure", "value"}, rows: [][]string{
			{"emitted", fmt.Sprint(wh.Emitted)},
			{"delivered", fmt.Sprint(wh.Delivered)},
			{"duplicated", fmt.Sprint(wh.Duplicated)},
			{"reordered", fmt.Sprint(wh.Reordered)},
			{"applied", fmt.Sprint(wh.Applied)},
			{"rejected (older than the cached version)", fmt.Sprint(wh.Rejected)},
		}})
	}

	if lm := r.Lambda; lm != nil {
		ls := section{title: "Lambda fleet (simulated)", header: []string{"figure", "value"}, rows: [][]string{
			{"function", fmt.Sprintf("%d MB, %s", lm.MemoryMB, lm.Arch)},
			{"invocations", fmt.Sprint(lm.Invocations)},
			{"cold starts", fmt.Sprint(lm.ColdStarts)},
			{"peak execution environments", fmt.Sprint(lm.PeakEnvironments)},
			{"throttled", fmt.Sprint(lm.Throttled)},
			{"environments recycled", fmt.Sprint(lm.Recycled)},
			{"billed time", fmt.Sprintf("%d ms (+%d ms init)", lm.BilledMS, lm.InitBilledMS)},
			{"of which CPU-bound", fmt.Sprintf("%.0f ms (scaled to %d MB)", lm.CPUMS, lm.MemoryMB)},
			{"busy environments", fmt.Sprintf("mean %.1f, peak %d", lm.MeanConcurrency, lm.PeakConcurrency)},
			{"compute", fmt.Sprintf("%.3f GB-s", lm.GBSeconds)},
		}}
		if lm.ProvisionedConcurrency > 0 {
			ls.rows = append(ls.rows, []string{"provisioned concurrency", fmt.Sprintf("%d environments; their invocations billed %d ms", lm.ProvisionedConcurrency, lm.ProvisionedBilledMS)})
		}
		if fm := lm.FirstMinute; fm != nil {
			ls.rows = append(ls.rows, []string{"reads in an environment's first minute",
				fmt.Sprintf("%d: L1 hit ratio %s, p50 %s, p99 %s", fm.Reads, formatPct(fm.L1HitRatio), FormatUS(fm.P50US), FormatUS(fm.P99US))})
		}
		if w := lm.Warming; w != nil {
			ls.rows = append(ls.rows, []string{"cache warming at cold starts",
				fmt.Sprintf("%d warmed: %d of %d keys asked for loaded; %.1f ms on average, %.1f ms at most (part of INIT); %d cut short by the budget, %d failed",
					w.ColdStarts, w.KeysLoaded, w.KeysListed, w.MSMean, w.MSMax, w.OverBudget, w.Errors)})
		}
		out = append(out, ls)
	}

	if cost := r.CostUSD; cost != nil {
		cs := section{title: "Cost (simulated, USD)", header: []string{"item", "USD"}, rows: [][]string{
			{"Lambda compute", formatUSD(cost.LambdaCompute)},
			{"Lambda requests", formatUSD(cost.LambdaRequests)},
			{"ElastiCache", formatUSD(cost.ElastiCache)},
			{"DynamoDB", formatUSD(cost.DynamoDB)},
			{"total for this run", formatUSD(cost.Total)},
			{"per million requests", formatUSD(cost.PerMillionRequests)},
		}}
		if cost.MonthlyRequests > 0 {
			cs.rows = append(cs.rows, []string{fmt.Sprintf("a month at %.0f requests", cost.MonthlyRequests), formatUSD(cost.Monthly)})
		}
		if cost.Pricing != "" {
			cs.note = "Prices: " + cost.Pricing + "."
		}
		out = append(out, cs)
	}

	g := r.Generator
	out = append(out, section{title: "Load generator", header: []string{"figure", "value"}, rows: [][]string{
		{"arrival model", orDash(g.Model)},
		{"requests scheduled", fmt.Sprint(g.Scheduled)},
		{"dispatched over 1 ms late", fmt.Sprintf("%d (%s)", g.LateOver1ms, formatPct(g.LateRatio))},
		{"dispatch lag p99 / max", FormatUS(g.LagP99US) + " / " + FormatUS(g.LagMaxUS)},
		{"peak requests in flight", fmt.Sprint(g.PeakWorkers)},
		{"generator was the bottleneck", yesNo(g.Bottleneck)},
	}})
	out[len(out)-1].rows = append(out[len(out)-1].rows, harnessRows(g)...)
	if g.BottleneckDetail != "" {
		out[len(out)-1].note = "What limited the run: " + g.BottleneckDetail
	}

	out = append(out, environmentSection(r))

	faults := section{title: "Faults", header: []string{"target", "kind", "planned", "injected (s)", "cleared (s)", "error"}}
	if len(r.Faults) == 0 {
		faults.note = "No faults were injected."
	}
	for _, f := range r.Faults {
		faults.rows = append(faults.rows, []string{f.Target, f.Kind,
			fmt.Sprintf("at %gs for %gs", f.AtS, f.ForS), fmt.Sprintf("%.1f", f.StartS), fmt.Sprintf("%.1f", f.EndS), orDash(f.Err)})
	}
	if len(r.Faults) > 0 {
		faults.note = "Times are seconds from the start of the measured part."
	}
	out = append(out, faults)
	if f := r.Failover; f != nil {
		out = append(out, failoverSection(f))
	}

	th := section{title: "Thresholds", header: []string{"result", "threshold", "value", "error"}}
	if len(r.Thresholds) == 0 {
		th.note = "The scenario set no thresholds."
	}
	for _, t := range r.Thresholds {
		mark := "pass"
		if !t.OK {
			mark = "FAIL"
		}
		th.rows = append(th.rows, []string{mark, t.Expr, formatValue(t.Value, t.Unit), orDash(t.Err)})
	}
	out = append(out, th)

	if len(q.ErrorKinds) > 0 {
		ek := section{title: "Errors by kind", header: []string{"count", "error"}}
		kinds := make([]string, 0, len(q.ErrorKinds))
		for k := range q.ErrorKinds {
			kinds = append(kinds, k)
		}
		sort.Slice(kinds, func(i, j int) bool {
			if q.ErrorKinds[kinds[i]] != q.ErrorKinds[kinds[j]] {
				return q.ErrorKinds[kinds[i]] > q.ErrorKinds[kinds[j]]
			}
			return kinds[i] < kinds[j]
		})
		for _, k := range kinds {
			ek.rows = append(ek.rows, []string{fmt.Sprint(q.ErrorKinds[k]), k})
		}
		out = append(out, ek)
	}
	return out
}

// failoverSection says what a failover fault did to the reads that began after the kill.
func failoverSection(f *Failover) section {
	secs := func(v float64, none string) string {
		if v < 0 {
			return none
		}
		return fmt.Sprintf("%.2f s", v)
	}
	lost := fmt.Sprintf("%d of %d", f.WritesLost, f.WritesChecked)
	if f.WritesLost < 0 {
		lost = "not checked"
	}
	return section{title: "Failover", header: []string{"figure", "value"}, rows: [][]string{
		{"primary killed → promoted", orDash(f.Killed) + " → " + orDash(f.Promoted)},
		{"reads failed after the kill", fmt.Sprint(f.ReadsFailed)},
		{"L2 hits back after (l2_recovery_s)", secs(f.L2RecoveryS, "not before the run ended")},
		{"last read that found L2 failing", secs(f.L2LastErrorS, "none")},
		{"acknowledged writes lost", lost},
	}, note: "Times are from the kill. Writes lost are the writes the old primary acknowledged in the last second before the kill that the promoted primary does not hold."}
}

// environmentSection says what answered for each tier and the network profile in front of it.
func environmentSection(r *Result) section {
	e := r.Environment
	net := func(k string) string {
		if v := e.Network[k]; v != "" {
			return v
		}
		return "none (direct)"
	}
	l1 := "in the benchmark process (one cache shared by all requests)"
	if r.Lambda != nil {
		l1 = fmt.Sprintf("in each simulated Lambda execution environment (%d MB, %s)", r.Lambda.MemoryMB, r.Lambda.Arch)
	}
	provider := orDash(e.Provider)
	return section{
		title:  "Environment",
		header: []string{"tier", "backend", "network profile"},
		rows: [][]string{
			{"L1 in-process", l1, "none (in memory)"},
			{"L2 Redis", orDash(joinNonEmpty(e.Redis, e.RedisShape())), net("redis")},
			{"L3 DynamoDB", orDash(e.DynamoDB), net("dynamodb")},
			{"origin Stripe", orDash(e.Stripe), net("stripe")},
		},
		note: "Environment provider: " + provider + ".",
	}
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// harnessRows are the load generator's own limits: in-flight slots, file descriptors,
// CPU, and the stand-in services' queueing.
func harnessRows(g Generator) [][]string {
	var rows [][]string
	if g.BottleneckReason != "" {
		reason := g.BottleneckReason
		if g.BottleneckService != "" {
			reason += " (" + g.BottleneckService + ")"
		}
		rows = append(rows, []string{"limit of the run", reason})
	}
	if g.MaxInFlight > 0 {
		rows = append(rows, []string{"in-flight slots", fmt.Sprintf("peak %d of %d; %d dispatches waited for one", g.PeakInFlight, g.MaxInFlight, g.SlotWaits)})
	}
	for _, svc := range sortedKeys(g.PoolWaits) {
		rows = append(rows, []string{"connection pool full (" + svc + ")", fmt.Sprint(g.PoolWaits[svc])})
	}
	if g.PeakOpenFiles > 0 {
		v := fmt.Sprint(g.PeakOpenFiles)
		if g.OpenFilesLimit > 0 {
			v += fmt.Sprintf(" of %d", g.OpenFilesLimit)
		}
		if g.OpenFilesErrors > 0 {
			v += fmt.Sprintf("; %d requests failed for want of one", g.OpenFilesErrors)
		}
		rows = append(rows, []string{"peak open files", v})
	}
	if g.Cores > 0 {
		rows = append(rows, []string{"CPU (this process / whole machine)", fmt.Sprintf("%.0f%% / %.0f%% of %d cores", g.CPUPercent, g.MachineCPUPercent, g.Cores)})
	}
	for _, m := range g.Mocks {
		workers := "unbounded"
		if m.Workers > 0 {
			workers = fmt.Sprint(m.Workers)
		}
		rows = append(rows, []string{"stand-in " + m.Service + " (" + orDash(m.Backend) + ")", fmt.Sprintf(
			"%d requests; handler p50 %s p99 %s; wait for one of %s workers p50 %s p95 %s p99 %s; saturated: %s",
			m.Requests, FormatUS(m.HandlerP50US), FormatUS(m.HandlerP99US), workers,
			FormatUS(m.QueueP50US), FormatUS(m.QueueP95US), FormatUS(m.QueueP99US), yesNo(m.Saturated))})
	}
	return rows
}

// originAttributionRows are the origin's per-read counts and the background refreshes,
// for results that carry them.
func originAttributionRows(o Origin) [][]string {
	var rows [][]string
	if o.Fetches > 0 || o.Coalesced > 0 {
		rows = append(rows,
			[]string{"reads that fetched from Stripe", fmt.Sprint(o.Fetches)},
			[]string{"reads that took another read's fetch (coalesced)", fmt.Sprint(o.Coalesced)})
	}
	if f := o.Refreshes; f != nil {
		rows = append(rows, []string{"background refreshes (not in the counts above)",
			fmt.Sprintf("%d stale-while-revalidate, %d early (XFetch) started; %d done, %d calls, %d 429s, %d errors",
				f.Stale, f.Early, f.Done, f.Calls, f.RateLimited, f.Errors)})
	}
	return rows
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// serversSection sets the services' own counters beside cachebench's, and says why they
// differ.
func serversSection(r *Result) section {
	sv := r.Servers
	s := section{title: "Servers' own counters", header: []string{"counter", "cachebench", "the service"}}
	opt := func(v *int64) string {
		if v == nil {
			return "not reported"
		}
		return fmt.Sprint(*v)
	}
	l2 := r.Tiers.L2
	if rs := sv.Redis; rs != nil {
		coalesced := ""
		if l2.Coalesced > 0 {
			coalesced = fmt.Sprintf(" (%d of the lookups coalesced)", l2.Coalesced)
		}
		s.rows = append(s.rows,
			[]string{"Redis key reads that found the key", fmt.Sprintf("%d L2 hits%s", l2.Hits, coalesced), "keyspace_hits " + opt(rs.KeyspaceHits)},
			[]string{"Redis key reads that did not", fmt.Sprintf("%d L2 misses", l2.Misses), "keyspace_misses " + opt(rs.KeyspaceMisses)},
			[]string{"Redis commands", "-", opt(rs.Commands)},
			[]string{"Redis keys evicted / expired", "-", opt(rs.EvictedKeys) + " / " + opt(rs.ExpiredKeys)},
			[]string{"Redis peak memory (since the server started)", "-", formatBytesPtr(rs.UsedMemoryPeakBytes)},
		)
		if h, m := rs.KeyspaceHits, rs.KeyspaceMisses; h != nil && m != nil && *h+*m > 0 {
			s.rows = append(s.rows, []string{"L2 hit ratio", formatPct(l2.HitRatio),
				formatPct(float64(*h)/float64(*h+*m)) + " (what CloudWatch's CacheHitRate computes)"})
		}
	}
	if d := sv.DynamoDB; d != nil {
		s.rows = append(s.rows, []string{"DynamoDB consumed capacity", fmt.Sprintf("%d L3 hits, %d misses", r.Tiers.L3.Hits, r.Tiers.L3.Misses),
			fmt.Sprintf("%.1f RCU, %.1f WCU", d.ConsumedRCU, d.ConsumedWCU)})
	}
	if st := sv.Stripe; st != nil {
		ours := r.Origin.Calls
		if f := r.Origin.Refreshes; f != nil {
			ours += f.Calls
		}
		s.rows = append(s.rows, []string{"Stripe API requests", fmt.Sprintf("%d (the reads' calls and the refreshes')", ours),
			fmt.Sprintf("%d (%d reads)", st.Requests, st.Reads)})
	}
	s.note = "The services count by wall-clock time, from just before the measured part to after its last request, " +
		"so work of warm-up requests still in flight at its start is in their figures, and cachebench counts by request. " +
		"Redis counts every key read by anyone: the version-guarded write that fills L2 after a Stripe fetch (or a backfill from L3) " +
		"reads the key first, adding one keyspace miss per fill (a hit when another instance filled it first); " +
		"reads that shared another read's lookup (coalesced) made one GET between them; lease waits poll L2; other clients of the server count too. " +
		"So CloudWatch's CacheHitRate, keyspace_hits / (keyspace_hits + keyspace_misses), is below cachebench's L2 hit ratio by the fills. " +
		"DynamoDB's figure is the capacity it reported for the cache's own calls; writes refused by the version guard are billed but not reported. " +
		"The Stripe emulation counts every HTTP request it served, the scenario's updates included. " +
		"\"not reported\": the service did not give that counter (the embedded miniredis reports only commands)."
	return s
}

// formatBytesPtr formats a byte count, or says it was not reported.
func formatBytesPtr(v *int64) string {
	if v == nil {
		return "not reported"
	}
	return formatBytes(*v)
}

// formatBytes formats a byte count: in MiB from one MiB up.
func formatBytes(v int64) string {
	const mib = 1 << 20
	if v >= mib {
		return fmt.Sprintf("%.1f MiB", float64(v)/mib)
	}
	return fmt.Sprintf("%d bytes", v)
}

// joinNonEmpty joins the non-empty parts with "; ".
func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
