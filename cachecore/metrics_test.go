package cachecore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// reportingFake is a fakeOrigin that reports retries and 429s: a fetch of an ID ending
// in 7 takes three requests, two of them retries after a 429.
type reportingFake struct{ *fakeOrigin }

func (o reportingFake) FetchReport(ctx context.Context, ref Ref) ([]byte, int64, bool, FetchInfo, error) {
	v, ver, ok, err := o.Fetch(ctx, ref)
	info := FetchInfo{Calls: 1}
	if strings.HasSuffix(ref.ID, "7") {
		info = FetchInfo{Calls: 3, Retries: 2, RateLimited: 2}
	}
	return v, ver, ok, info, err
}

// otelFigures reads one collection of a ManualReader.
type otelFigures struct {
	t       *testing.T
	metrics map[string]metricdata.Metrics
}

func collect(t *testing.T, r *sdkmetric.ManualReader) otelFigures {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	f := otelFigures{t: t, metrics: map[string]metricdata.Metrics{}}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != MeterName {
			continue
		}
		for _, m := range sm.Metrics {
			f.metrics[m.Name] = m
		}
	}
	return f
}

// sum is the value of the counter name for exactly the attributes kv (0 when absent).
func (f otelFigures) sum(name string, kv ...attribute.KeyValue) uint64 {
	f.t.Helper()
	m, ok := f.metrics[name]
	if !ok {
		f.t.Errorf("metric %s not collected", name)
		return 0
	}
	want := attribute.NewSet(kv...)
	s, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		f.t.Fatalf("%s is a %T, want Sum[int64]", name, m.Data)
	}
	for _, dp := range s.DataPoints {
		if dp.Attributes.Equals(&want) {
			return uint64(dp.Value)
		}
	}
	return 0
}

// count is the number of values the histogram name recorded with exactly kv.
func (f otelFigures) count(name string, kv ...attribute.KeyValue) uint64 {
	f.t.Helper()
	m, ok := f.metrics[name]
	if !ok {
		return 0
	}
	want := attribute.NewSet(kv...)
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok {
		f.t.Fatalf("%s is a %T, want Histogram[float64]", name, m.Data)
	}
	for _, dp := range h.DataPoints {
		if dp.Attributes.Equals(&want) {
			return dp.Count
		}
	}
	return 0
}

// TestMetricsEqualCounters runs a seeded workload through a three-tier cache with an
// OpenTelemetry MeterProvider, L2 and L3 failing for a stretch of it, and checks that the figures
// a ManualReader collects equal Cache.Stats and the tally of the reads' own Results.
func TestMetricsEqualCounters(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })

	origin := reportingFake{&fakeOrigin{objects: map[string][]byte{}}}
	l2, l3 := newFakeTier("l2"), newFakeTier("l3")
	now := time.Now()
	const nKeys = 200
	keys := make([]string, nKeys)
	for i := range keys {
		keys[i] = Ref{Object: ObjectCustomer, ID: fmt.Sprintf("cus_%03d", i)}.Key()
		e := Entry{Value: []byte(`{"id":"x"}`), Version: 1, FetchedAt: now, ExpiresAt: now.Add(time.Hour)}
		switch {
		case i < 50:
			l2.m[keys[i]] = e
		case i < 100:
			l3.m[keys[i]] = e
		case i < 180:
			origin.set(keys[i], `{"id":"x"}`)
		} // the rest do not exist
	}
	c := newTestCache(t, Config{
		L1: mustL1(t, L1Config{Policy: "lru", MaxEntries: 64}), L2: l2, L3: l3, Origin: origin,
		L2TTL: 50 * time.Millisecond, NegativeTTL: 50 * time.Millisecond, BreakerCooldown: time.Millisecond,
		MeterProvider: mp,
	})

	var tally struct {
		served                      [TierOrigin + 1]uint64
		missed                      [TierL3 + 1]uint64
		fetched, notFound           uint64
		calls, retries, rateLimited uint64
	}
	r := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	const reads = 3000
	for i := range reads {
		if i == 1000 { // errors, then the breakers open
			l2.fail.Store(true)
			l3.fail.Store(true)
		}
		if i == 1400 {
			l2.fail.Store(false)
			l3.fail.Store(false)
		}
		res, err := c.GetKey(ctx, keys[r.IntN(nKeys)])
		if err != nil && !errors.Is(err, ErrNotFound) {
			t.Fatalf("read %d: %v", i, err)
		}
		tally.served[res.Tier]++
		for id := TierL1; id <= TierL3; id++ {
			if res.Trace.Missed.Has(id) {
				tally.missed[id]++
			}
		}
		if res.Trace.Origin == OriginFetched {
			tally.fetched++
			if errors.Is(err, ErrNotFound) {
				tally.notFound++
			}
		}
		tally.calls += uint64(res.Trace.Calls)
		tally.retries += uint64(res.Trace.Retries)
		tally.rateLimited += uint64(res.Trace.RateLimited)
	}

	s := c.Stats()
	f := collect(t, reader)
	t.Logf("reads served by none/l1/l2/l3/origin: %v; L1 %+v; L2 %+v; L3 %+v; origin fetches %d, calls %d",
		tally.served, s.L1, s.L2, s.L3, s.OriginFetches, s.OriginCalls)
	tier := func(id TierID) attribute.KeyValue { return attribute.String("tier", id.String()) }
	type row struct {
		name       string
		otel, want uint64
	}
	rows := []row{
		{"origin.fetches = tally", f.sum("cachecore.origin.fetches"), tally.fetched},
		{"origin.fetches = Stats", f.sum("cachecore.origin.fetches"), s.OriginFetches},
		{"origin.not_found = tally", f.sum("cachecore.origin.not_found"), tally.notFound},
		{"origin.not_found = Stats", f.sum("cachecore.origin.not_found"), s.OriginNotFound},
		{"origin.errors = Stats", f.sum("cachecore.origin.errors"), s.OriginErrors},
		{"origin.calls = tally", f.sum("cachecore.origin.calls"), tally.calls},
		{"origin.calls = Stats", f.sum("cachecore.origin.calls"), s.OriginCalls},
		{"origin.retries = tally", f.sum("cachecore.origin.retries"), tally.retries},
		{"origin.rate_limited = tally", f.sum("cachecore.origin.rate_limited"), tally.rateLimited},
		{"origin.rate_limited = Stats", f.sum("cachecore.origin.rate_limited"), s.OriginRateLimited},
		{"get.duration{origin} count = reads served by the origin", f.count("cachecore.get.duration", tier(TierOrigin)), tally.served[TierOrigin]},
		{"get.duration{l1} count = L1 hits / 64", f.count("cachecore.get.duration", tier(TierL1)), tally.served[TierL1] / l1HitSampleEvery},
		{"origin.duration count = fetches", f.count("cachecore.origin.duration"), tally.fetched},
	}
	for _, tc := range []struct {
		id TierID
		st TierCounts
	}{{TierL1, s.L1}, {TierL2, s.L2}, {TierL3, s.L3}} {
		n := tc.id.String()
		rows = append(rows,
			row{n + " hits = tally", f.sum("cachecore.hits", tier(tc.id)), tally.served[tc.id]},
			row{n + " hits = Stats", f.sum("cachecore.hits", tier(tc.id)), tc.st.Hits},
			row{n + " misses = tally", f.sum("cachecore.misses", tier(tc.id)), tally.missed[tc.id]},
			row{n + " misses = Stats", f.sum("cachecore.misses", tier(tc.id)), tc.st.Misses},
			row{n + " backfills = Stats", f.sum("cachecore.backfills", tier(tc.id)), tc.st.Backfills},
			row{n + " errors = Stats", f.sum("cachecore.tier.errors", tier(tc.id), attribute.String("error.type", "error")), tc.st.Errors},
			row{n + " circuit_open = Stats", f.sum("cachecore.tier.errors", tier(tc.id), attribute.String("error.type", "circuit_open")), tc.st.Bypassed},
		)
		if tc.id != TierL1 {
			rows = append(rows, row{"get.duration{" + n + "} count = reads served by " + n,
				f.count("cachecore.get.duration", tier(tc.id)), tally.served[tc.id]})
		}
	}
	for _, r := range rows {
		if r.otel != r.want {
			t.Errorf("%s: OpenTelemetry %d, want %d", r.name, r.otel, r.want)
		}
	}
	// The workload must have exercised what it checks.
	for _, v := range []struct {
		what string
		n    uint64
	}{{"L1 hits", s.L1.Hits}, {"L2 hits", s.L2.Hits}, {"L3 hits", s.L3.Hits}, {"origin fetches", s.OriginFetches},
		{"not found", s.OriginNotFound}, {"retries", s.OriginRetries}, {"L2 errors", s.L2.Errors}, {"L3 errors", s.L3.Errors}, {"L3 circuit open", s.L3.Bypassed},
		{"L1 hits timed", tally.served[TierL1] / l1HitSampleEvery}} {
		if v.n == 0 {
			t.Errorf("the workload made no %s", v.what)
		}
	}
	if got, want := f.sum("cachecore.l1.evictions", attribute.String("reason", "size")), s.L1Size.Evictions; got != want {
		t.Errorf("l1.evictions{size}: OpenTelemetry %d, Stats %d", got, want)
	}

	// Close unregisters the callback: the provider no longer observes the cache.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if m, ok := collect(t, reader).metrics["cachecore.hits"]; ok {
		if s, _ := m.Data.(metricdata.Sum[int64]); len(s.DataPoints) > 0 {
			t.Errorf("after Close the provider still observes the cache: %v", s.DataPoints)
		}
	}
}

// TestMetricsL1HitAllocs: with metrics on, an L1 hit still allocates nothing, including
// the sampled hits whose time is recorded.
func TestMetricsL1HitAllocs(t *testing.T) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	now := time.Now()
	l1 := mustL1(t, L1Config{Policy: "tinylfu", TTL: time.Hour})
	key := "customer:cus_1"
	l1.SetIfNewer(key, Entry{Value: []byte(`{"id":"cus_1"}`), Version: 1, FetchedAt: now, ExpiresAt: now.Add(time.Hour)}, now)
	l1.cleanUp()
	c := newTestCache(t, Config{L1: l1, Origin: &fakeOrigin{}, MeterProvider: mp})
	ctx := context.Background()
	if res, err := c.GetKey(ctx, key); err != nil || res.Tier != TierL1 {
		t.Fatalf("GetKey = %v, %v; want an L1 hit", res.Tier, err)
	}
	if a := testing.AllocsPerRun(10*l1HitSampleEvery, func() { _, _ = c.GetKey(ctx, key) }); a != 0 {
		t.Errorf("an L1 hit with metrics allocates %v times, want 0", a)
	}
	if a := testing.AllocsPerRun(1000, func() { c.met.recordGet(ctx, TierL1, time.Microsecond) }); a != 0 {
		t.Errorf("recording a read's time allocates %v times, want 0", a)
	}
}

// TestNoMeterProvider: without a MeterProvider the cache has no instruments to feed.
func TestNoMeterProvider(t *testing.T) {
	c := newTestCache(t, Config{Origin: &fakeOrigin{}})
	if c.met != nil {
		t.Fatal("a cache without a MeterProvider has metrics")
	}
}
