package bench_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/cachecore"
)

// TestOpenTelemetryEqualsResult runs a scenario with an OpenTelemetry MeterProvider given
// to the cache, as a function in production would have, and checks that the figures the
// cache exported equal the harness's own counters in result.json for the same run: L1
// hits and misses, the lookups L2 served, and the Stripe fetches and their requests. The
// reads are held back until the measured part has started, so both count the same reads.
func TestOpenTelemetryEqualsResult(t *testing.T) {
	env := local.Get(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	sc := parse(t, `
name: otel
warmup: 0s
duration: 2s
arrival: {model: closed, concurrency: 2}
keys: {object: customer, count: 200, distribution: zipf, zipf_s: 1.0}
cache:
  l1: {enabled: true, max_entries: 50, ttl: 1s}
  l2: {enabled: true}
  l3: {enabled: false}
  invalidation: ttl-only
lambda: {enabled: false}
stripe: {mode: none}
network: none
`)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var rm metricdata.ResourceMetrics
	var collectErr error
	res, err := bench.Run(ctx, sc, env, bench.Options{MeterProvider: mp, Hooks: bench.Hooks{
		BeforeRead: holdQuiet,
		Assembled:  func() { collectErr = reader.Collect(context.Background(), &rm) },
	}})
	if err != nil {
		t.Fatal(err)
	}
	if collectErr != nil {
		t.Fatal(collectErr)
	}
	sums := map[string]map[attribute.Distinct]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != cachecore.MeterName {
			continue
		}
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok {
				sums[m.Name] = map[attribute.Distinct]int64{}
				for _, dp := range s.DataPoints {
					sums[m.Name][dp.Attributes.Equivalent()] += dp.Value
				}
			}
		}
	}
	get := func(name string, kv ...attribute.KeyValue) int64 {
		set := attribute.NewSet(kv...)
		return sums[name][set.Equivalent()]
	}
	l1, l2, o := res.Tiers.L1, res.Tiers.L2, res.Origin
	tier := func(t string) attribute.KeyValue { return attribute.String("tier", t) }
	got := map[string][2]int64{
		"L1 hits":              {get("cachecore.hits", tier("l1")), l1.Hits},
		"L1 misses":            {get("cachecore.misses", tier("l1")), l1.Misses},
		"L2 lookups":           {get("cachecore.hits", tier("l2")) + get("cachecore.misses", tier("l2")), l2.Hits + l2.Misses - l2.Coalesced},
		"origin fetches":       {get("cachecore.origin.fetches"), o.Fetches},
		"origin HTTP requests": {get("cachecore.origin.calls"), o.Calls},
	}
	t.Logf("OpenTelemetry vs result.json: %v", got)
	if l1.Hits == 0 || l1.Misses == 0 || o.Fetches == 0 {
		t.Fatalf("L1 %d hits %d misses, %d fetches: the run must hit, miss and fetch", l1.Hits, l1.Misses, o.Fetches)
	}
	for what, v := range got {
		if v[0] != v[1] {
			t.Errorf("%s: OpenTelemetry %d, result.json %d", what, v[0], v[1])
		}
	}
}
