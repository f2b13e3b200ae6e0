package reports

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cachebench/cachebench/reports/pricing"
)

// part is shard i's share of a counter v split over n shards: v/n each, the remainder
// on the first shards.
func part(v int64, i, n int) int64 {
	p := v / int64(n)
	if int64(i) < v%int64(n) {
		p++
	}
	return p
}

// splitRun is a whole run and the n shard results it was split into: every latency
// recorded once into the whole run's histograms and once into a shard's (chosen at
// random), every counter split with part.
type splitRun struct {
	whole          *Result
	lat, svc, stal *hdrhistogram.Histogram
	shards         []*Result
	names          []string
}

func encodeT(t testing.TB, h *hdrhistogram.Histogram) string {
	t.Helper()
	s, err := EncodeHistogram(h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newSplitRun(t testing.TB, n int, seed uint64) *splitRun {
	t.Helper()
	base := fixtureResult(t)
	sr := &splitRun{whole: base}
	newH := func() *hdrhistogram.Histogram { return hdrhistogram.New(1, 60_000_000, 3) }
	sr.lat, sr.svc, sr.stal = newH(), newH(), newH()
	lat, svc, stal := make([]*hdrhistogram.Histogram, n), make([]*hdrhistogram.Histogram, n), make([]*hdrhistogram.Histogram, n)
	for i := range lat {
		lat[i], svc[i], stal[i] = newH(), newH(), newH()
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	record := func(whole *hdrhistogram.Histogram, parts []*hdrhistogram.Histogram, v int64) {
		if err := whole.RecordValue(v); err != nil {
			t.Fatal(err)
		}
		if err := parts[rng.IntN(n)].RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20000; i++ {
		v := 300 * math.Exp(0.6*rng.NormFloat64())
		if rng.IntN(100) == 0 {
			v *= 20 // the tail
		}
		record(sr.lat, lat, int64(v)+1)
		record(sr.svc, svc, int64(v*0.9)+1)
		if i%50 == 0 {
			record(sr.stal, stal, int64(rng.IntN(2000))+1)
		}
	}
	for i := 0; i < n; i++ {
		r := fixtureResult(t)
		idx := i
		r.Shards = &Shards{Count: n, Index: &idx}
		p := func(v int64) int64 { return part(v, i, n) }
		q := &r.Requests
		q.Total, q.OK, q.Errors, q.Gets, q.Updates, q.NotFound = p(q.Total), p(q.OK), p(q.Errors), p(q.Gets), p(q.Updates), p(q.NotFound)
		q.RatePerS = float64(q.Total) / r.DurationS
		q.ErrorKinds = map[string]int64{}
		for k, v := range base.Requests.ErrorKinds {
			q.ErrorKinds[k] = p(v)
		}
		for _, ts := range []*TierStats{&r.Tiers.L1, &r.Tiers.L2, &r.Tiers.L3} {
			ts.Hits, ts.Misses = p(ts.Hits)+int64(i), p(ts.Misses) // uneven ratios across shards
			ts.HitRatio = ratio(ts.Hits, ts.Hits+ts.Misses)
		}
		o := &r.Origin
		o.Calls, o.RateLimited, o.Retries, o.Errors, o.CallsSaved = p(o.Calls), p(o.RateLimited), p(o.Retries), p(o.Errors), p(o.CallsSaved)
		o.RateLimitShare = base.Origin.RateLimitShare * float64(o.Calls) / float64(base.Origin.Calls)
		c := &r.Consistency
		c.ReadsChecked, c.StaleReads = p(c.ReadsChecked), p(c.StaleReads)
		c.StaleRatio = ratio(c.StaleReads, c.ReadsChecked)
		c.P99StalenessMS, c.MaxStalenessMS = float64(stal[i].ValueAtQuantile(99)), float64(stal[i].Max())
		l := r.Lambda
		l.Invocations, l.ColdStarts, l.BilledMS, l.InitBilledMS = p(l.Invocations), p(l.ColdStarts), p(l.BilledMS), p(l.InitBilledMS)
		l.ProvisionedBilledMS, l.PeakEnvironments = p(l.ProvisionedBilledMS), p(l.PeakEnvironments)
		g := &r.Generator
		g.Scheduled, g.LateOver1ms = p(g.Scheduled), p(g.LateOver1ms)
		g.LateRatio = ratio(g.LateOver1ms, g.Scheduled)
		for s := range r.Timeline {
			sec := &r.Timeline[s]
			sec.Requests, sec.OriginCalls, sec.Errors = p(sec.Requests), p(sec.OriginCalls), p(sec.Errors)
		}
		r.LatencyUS, r.ServiceUS = Summarize(lat[i]), Summarize(svc[i])
		r.Histograms = Histograms{Latency: encodeT(t, lat[i]), Service: encodeT(t, svc[i]), Staleness: encodeT(t, stal[i])}
		sr.shards = append(sr.shards, r)
		sr.names = append(sr.names, "shard-"+string(rune('a'+i))+"/result.json")
	}
	return sr
}

func TestMergeIsLossless(t *testing.T) {
	for _, n := range []int{1, 3, 8} {
		t.Run(string(rune('0'+n))+"-shards", func(t *testing.T) {
			sr := newSplitRun(t, n, uint64(n))
			// Give them in reverse: Merge orders them by index.
			in := make([]*Result, n)
			names := make([]string, n)
			for i := range in {
				in[i], names[i] = sr.shards[n-1-i], sr.names[n-1-i]
			}
			m, err := Merge(in, names)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name string
				got  Latency
				h    *hdrhistogram.Histogram
			}{{"latency_us", m.LatencyUS, sr.lat}, {"service_us", m.ServiceUS, sr.svc}} {
				want := map[string]float64{
					"p50": float64(c.h.ValueAtQuantile(50)), "p90": float64(c.h.ValueAtQuantile(90)),
					"p99": float64(c.h.ValueAtQuantile(99)), "p999": float64(c.h.ValueAtQuantile(99.9)),
					"max": float64(c.h.Max()), "count": float64(c.h.TotalCount()),
				}
				got := map[string]float64{"p50": c.got.P50, "p90": c.got.P90, "p99": c.got.P99, "p999": c.got.P999, "max": c.got.Max, "count": float64(c.got.Count)}
				for k, w := range want {
					if got[k] != w {
						t.Errorf("%s.%s = %v, want %v (one histogram of every value)", c.name, k, got[k], w)
					}
				}
			}
			if want := float64(sr.stal.ValueAtQuantile(99)); m.Consistency.P99StalenessMS != want {
				t.Errorf("p99_staleness_ms = %v, want %v", m.Consistency.P99StalenessMS, want)
			}
			// Counters: the sums of the shards' (which are the whole run's).
			b := sr.whole
			eq := func(name string, got, want int64) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %d, want %d", name, got, want)
				}
			}
			eq("requests.total", m.Requests.Total, b.Requests.Total)
			eq("requests.errors", m.Requests.Errors, b.Requests.Errors)
			eq("requests.gets", m.Requests.Gets, b.Requests.Gets)
			for k, v := range b.Requests.ErrorKinds {
				eq("requests.error_kinds["+k+"]", m.Requests.ErrorKinds[k], v)
			}
			eq("origin.calls", m.Origin.Calls, b.Origin.Calls)
			eq("origin.calls_saved", m.Origin.CallsSaved, b.Origin.CallsSaved)
			eq("consistency.stale_reads", m.Consistency.StaleReads, b.Consistency.StaleReads)
			eq("lambda.invocations", m.Lambda.Invocations, b.Lambda.Invocations)
			eq("lambda.billed_ms", m.Lambda.BilledMS, b.Lambda.BilledMS)
			eq("generator.scheduled", m.Generator.Scheduled, b.Generator.Scheduled)
			var l1h, l1m int64
			for _, s := range sr.shards {
				l1h += s.Tiers.L1.Hits
				l1m += s.Tiers.L1.Misses
			}
			eq("tiers.l1.hits", m.Tiers.L1.Hits, l1h)
			eq("tiers.l1.misses", m.Tiers.L1.Misses, l1m)
			// Ratios: recomputed from the sums, not averaged.
			near := func(name string, got, want float64) {
				t.Helper()
				if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			near("tiers.l1.hit_ratio", m.Tiers.L1.HitRatio, float64(l1h)/float64(l1h+l1m))
			near("consistency.stale_ratio", m.Consistency.StaleRatio, float64(b.Consistency.StaleReads)/float64(b.Consistency.ReadsChecked))
			near("requests.rate_per_s", m.Requests.RatePerS, float64(b.Requests.Total)/b.DurationS)
			near("origin.rate_limit_share", m.Origin.RateLimitShare, b.Origin.RateLimitShare)
			near("generator.late_ratio", m.Generator.LateRatio, float64(b.Generator.LateOver1ms)/float64(b.Generator.Scheduled))
			near("duration_s", m.DurationS, b.DurationS)
			// The timeline: one second per second, its counters summed.
			if len(m.Timeline) != len(b.Timeline) {
				t.Fatalf("timeline has %d seconds, want %d", len(m.Timeline), len(b.Timeline))
			}
			for s := range m.Timeline {
				eq("timeline requests", m.Timeline[s].Requests, b.Timeline[s].Requests)
				near("timeline l1_hit_ratio", m.Timeline[s].L1HitRatio, b.Timeline[s].L1HitRatio)
			}
			// Thresholds: evaluated again on the merged figures.
			if len(m.Thresholds) != 2 || m.Thresholds[0].Value != m.LatencyUS.P99 || !m.Thresholds[0].OK {
				t.Errorf("thresholds[0] = %+v, want p99 < 50ms evaluated on merged p99 %v", m.Thresholds, m.LatencyUS.P99)
			}
			if len(m.Thresholds) == 2 && (m.Thresholds[1].OK || m.Thresholds[1].Value != m.Tiers.L1.HitRatio) {
				t.Errorf("thresholds[1] = %+v, want l1.hit_ratio > 0.9 failing at %v", m.Thresholds[1], m.Tiers.L1.HitRatio)
			}
			// shards: merged_from in index order, index absent; each generator listed.
			if m.Shards == nil || m.Shards.Count != n || m.Shards.Index != nil || len(m.Shards.MergedFrom) != n || m.Shards.MergedFrom[0] != sr.names[0] {
				t.Errorf("shards = %+v, want count %d, no index, merged_from %v", m.Shards, n, sr.names)
			}
			if len(m.Shards.Generators) != n {
				t.Errorf("shards.generators has %d entries, want %d", len(m.Shards.Generators), n)
			}
			// The merged result is one a reader accepts as it is.
			data, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(data, "merged")
			if err != nil {
				t.Fatalf("the merged result does not parse: %v", err)
			}
			if back.LatencyUS.P99 != m.LatencyUS.P99 || back.LatencyUS.Count != m.LatencyUS.Count {
				t.Errorf("round trip changed latency_us: %+v, was %+v", back.LatencyUS, m.LatencyUS)
			}
			if !strings.Contains(string(data), `"shards":{"count":`+string(rune('0'+n))+`,"merged_from"`) {
				t.Errorf("a merged result writes shards.index, or no merged_from")
			}
		})
	}
}

func TestShardIndexZeroIsWritten(t *testing.T) {
	sr := newSplitRun(t, 2, 1)
	data, err := json.Marshal(sr.shards[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"shards":{"count":2,"index":0}`) {
		t.Errorf("shard 0's result does not write its index: %s", data[strings.Index(string(data), `"shards"`):])
	}
	r, err := Parse(data, "shard0")
	if err != nil {
		t.Fatal(err)
	}
	if r.Shards == nil || r.Shards.Index == nil || *r.Shards.Index != 0 {
		t.Errorf("shards read back as %+v", r.Shards)
	}
}

func TestMergeErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		edit  func(rs []*Result) []*Result
		wants []string
	}{
		{"not a shard", func(rs []*Result) []*Result { rs[1].Shards = nil; return rs }, []string{"shard-b/result.json", "not a shard's result"}},
		{"different scenario", func(rs []*Result) []*Result { rs[2].Scenario.Name = "other"; return rs }, []string{"scenario", `"other"`, "shard-c"}},
		{"different seed", func(rs []*Result) []*Result { rs[1].Scenario.Seed = 7; return rs }, []string{"seed", "42", "7"}},
		{"different config", func(rs []*Result) []*Result {
			rs[1].Scenario.Config = json.RawMessage(`{"name":"zipf-read-heavy","seed":42,"duration":"60s"}`)
			return rs
		}, []string{"effective configurations", "duration"}},
		{"different count", func(rs []*Result) []*Result { rs[1].Shards.Count = 4; return rs }, []string{"shard count", "3", "4"}},
		{"missing shard", func(rs []*Result) []*Result { return []*Result{rs[0], rs[2]} }, []string{"shard 1 of 3 missing"}},
		{"duplicate shard", func(rs []*Result) []*Result { return []*Result{rs[0], rs[1], rs[1]} }, []string{"shard 1 of 3 appears twice"}},
		{"index out of range", func(rs []*Result) []*Result { i := 5; rs[2].Shards.Index = &i; return rs }, []string{"index 5 of 3"}},
		{"different environment", func(rs []*Result) []*Result { rs[1].Environment.Redis = "redis elsewhere"; return rs }, []string{"different services", "redis elsewhere"}},
		{"already merged", func(rs []*Result) []*Result {
			rs[0].Shards = &Shards{Count: 3, MergedFrom: []string{"a", "b", "c"}}
			return rs
		}, []string{"already a merged result"}},
		{"corrupt histogram", func(rs []*Result) []*Result { rs[1].Histograms.Latency = "not-a-histogram"; return rs }, []string{"shard-b", "latency_us", "does not decode"}},
		{"different pricing", func(rs []*Result) []*Result { rs[2].CostUSD.Pricing = "other"; return rs }, []string{"different tables"}},
		{"none", func([]*Result) []*Result { return nil }, []string{"no results"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sr := newSplitRun(t, 3, 5)
			nameOf := map[*Result]string{}
			for i, r := range sr.shards {
				nameOf[r] = sr.names[i]
			}
			rs := c.edit(sr.shards)
			names := make([]string, len(rs))
			for i, r := range rs {
				names[i] = nameOf[r]
			}
			_, err := Merge(rs, names)
			if err == nil {
				t.Fatal("merged; want an error")
			}
			for _, w := range c.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestMergeInterruptedShard(t *testing.T) {
	sr := newSplitRun(t, 2, 9)
	sr.shards[1].Interrupted = true
	m, err := Merge(sr.shards, sr.names)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Interrupted {
		t.Error("a merge with an interrupted shard is not marked interrupted")
	}
	if !strings.Contains(strings.Join(m.Notes, "\n"), "shard 1 ("+sr.names[1]+") was interrupted") {
		t.Errorf("no note names the interrupted shard: %q", m.Notes)
	}
}

func TestMergeGeneratorAndTimeline(t *testing.T) {
	sr := newSplitRun(t, 3, 11)
	g := &sr.shards[2].Generator
	g.Bottleneck, g.BottleneckReason, g.BottleneckDetail = true, BottleneckHarnessCPU, "requests started late"
	sr.shards[0].Generator.BottleneckReason = BottleneckNone
	// Shard 1 started two seconds late and ran two seconds less.
	sr.shards[1].StartedAt = "2026-11-23T10:00:02Z"
	sr.shards[1].DurationS = 28
	sr.shards[1].Timeline = sr.shards[1].Timeline[:28]
	m, err := Merge(sr.shards, sr.names)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Generator.Bottleneck || m.Generator.BottleneckReason != BottleneckHarnessCPU || !strings.Contains(m.Generator.BottleneckDetail, "shard 2: harness_cpu") {
		t.Errorf("generator = %+v, want a harness_cpu bottleneck naming shard 2", m.Generator)
	}
	if sg := m.Shards.Generators; len(sg) != 3 || !sg[2].Bottleneck || sg[0].Bottleneck || sg[2].Index != 2 {
		t.Errorf("shards.generators = %+v", sg)
	}
	if len(m.Timeline) != 30 {
		t.Fatalf("timeline has %d seconds, want 30", len(m.Timeline))
	}
	// Second 0 has shards 0 and 2 only; second 2 all three.
	want0 := sr.shards[0].Timeline[0].Requests + sr.shards[2].Timeline[0].Requests
	want2 := sr.shards[0].Timeline[2].Requests + sr.shards[1].Timeline[0].Requests + sr.shards[2].Timeline[2].Requests
	if m.Timeline[0].Requests != want0 || m.Timeline[2].Requests != want2 {
		t.Errorf("timeline requests at 0 and 2 = %d, %d; want %d, %d", m.Timeline[0].Requests, m.Timeline[2].Requests, want0, want2)
	}
	if m.DurationS != 30 {
		t.Errorf("duration_s = %v, want 30 (the earliest start to the latest end)", m.DurationS)
	}
}

func TestMergeCostIsPricedForTheFleet(t *testing.T) {
	sr := newSplitRun(t, 4, 13)
	table := pricing.Default()
	var want float64
	for _, r := range sr.shards {
		l := r.Lambda
		b, err := pricing.RunCost(table, pricing.RunUsage{DurationS: r.DurationS, Requests: r.Requests.Total,
			Lambda: &pricing.LambdaUsage{Arch: pricing.Arch(l.Arch), MemoryMB: l.MemoryMB, Invocations: l.Invocations, BilledMS: l.BilledMS,
				Provisioned: &pricing.Provisioned{Concurrency: l.ProvisionedConcurrency, Hours: r.DurationS / 3600, BilledMS: l.ProvisionedBilledMS}}})
		if err != nil {
			t.Fatal(err)
		}
		r.CostUSD.Pricing = table.Label()
		r.CostUSD.LambdaRequests = b.LambdaRequestsUSD
		want += b.LambdaRequestsUSD
		r.CostUSD.ElastiCache = 0.0011 // nodes: one shared cluster
	}
	m, err := Merge(sr.shards, sr.names)
	if err != nil {
		t.Fatal(err)
	}
	c := m.CostUSD
	if math.Abs(c.LambdaRequests-want) > 1e-12 {
		t.Errorf("lambda_requests = %v, want %v (the fleet's invocations priced)", c.LambdaRequests, want)
	}
	if c.ElastiCache != 0.0011 {
		t.Errorf("elasticache = %v, want the shared cluster's 0.0011 once", c.ElastiCache)
	}
	if math.Abs(c.DynamoDB-4*0.0004) > 1e-12 {
		t.Errorf("dynamodb = %v, want the shards' sum %v", c.DynamoDB, 4*0.0004)
	}
	if sum := c.LambdaCompute + c.LambdaRequests + c.ElastiCache + c.DynamoDB; math.Abs(c.Total-sum) > 1e-12 {
		t.Errorf("total = %v, want the parts' sum %v", c.Total, sum)
	}
	if math.Abs(c.PerMillionRequests-c.Total/float64(m.Requests.Total)*1e6) > 1e-9 {
		t.Errorf("per_million_requests = %v is not total over the merged requests", c.PerMillionRequests)
	}
	if c.Monthly != 23.5 {
		t.Errorf("monthly = %v, want 23.5 (every shard projected the same month)", c.Monthly)
	}
}

// FuzzMerge merges two shards whose placing, window, counters, timeline and
// configuration the fuzzer chooses (Parse, which reads the files, has FuzzRead): Merge
// either refuses with an error or returns a result that Parse accepts; it never panics.
func FuzzMerge(f *testing.F) {
	sr := newSplitRun(f, 2, 17)
	f.Add(2, 0, 1, "2026-11-23T10:00:00Z", 30.0, int64(100), int64(10), int64(3), 0, false, `{"seed":42}`, "a note")
	f.Add(2, 1, 1, "2026-11-23T10:00:03Z", 12.5, int64(0), int64(0), int64(0), 7, true, `{"seed":42}`, "")
	f.Add(3, 0, 2, "not a time", -1.0, int64(-5), int64(1<<62), int64(9), -3, false, `{`, "x")
	f.Fuzz(func(t *testing.T, count, i0, i1 int, started string, durationS float64, hits, misses, failed int64, ts int, interrupted bool, config, note string) {
		a, b := *sr.shards[0], *sr.shards[1]
		a.Shards = &Shards{Count: count, Index: &i0}
		b.Shards = &Shards{Count: count, Index: &i1}
		b.StartedAt, b.DurationS, b.Interrupted = started, durationS, interrupted
		b.Tiers.L1.Hits, b.Tiers.L1.Misses, b.Tiers.L1.Failed = hits, misses, failed
		b.Timeline = append([]Second(nil), b.Timeline...)
		b.Timeline[0].TS = ts
		b.Scenario.Config = json.RawMessage(config)
		b.Notes = []string{note}
		// Shards that pass Parse: the fuzzer's values only where they are ones a run writes.
		data, err := json.Marshal(&b)
		if err != nil {
			return
		}
		if _, err := Parse(data, "b"); err != nil {
			return
		}
		m, err := Merge([]*Result{&a, &b}, []string{"a", "b"})
		if err != nil {
			return
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("the merged result does not encode: %v", err)
		}
		if _, err := Parse(out, "merged"); err != nil {
			t.Fatalf("the merged result does not parse: %v", err)
		}
	})
}

func TestMergeServersCounters(t *testing.T) {
	for _, c := range []struct {
		provider    string
		wantCommand int64
	}{{"local", 700}, {"embedded", 1200}} {
		t.Run(c.provider, func(t *testing.T) {
			sr := newSplitRun(t, 2, 21)
			for i, r := range sr.shards {
				cmds := int64(500 + 200*i)
				r.Environment.Provider = c.provider
				r.Servers = &Servers{Redis: &RedisServer{Commands: &cmds}, Stripe: &StripeServer{Requests: 10, Reads: 8}}
			}
			m, err := Merge(sr.shards, sr.names)
			if err != nil {
				t.Fatal(err)
			}
			if got := *m.Servers.Redis.Commands; got != c.wantCommand {
				t.Errorf("servers.redis.commands = %d, want %d (shared Redis: the largest shard's; embedded: the sum)", got, c.wantCommand)
			}
			if m.Servers.Stripe.Requests != 20 || m.Servers.Stripe.Reads != 16 {
				t.Errorf("servers.stripe = %+v, want the shards' sums", *m.Servers.Stripe)
			}
		})
	}
}
