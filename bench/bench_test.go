package bench_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
)

// docker is the environment of the benchmarks: real Redis, DynamoDB Local and
// stripe-mock in containers, as a user's `go test -bench` would have them.
var docker = &mockstest.Shared{Provider: mocks.ProviderDocker}

// local is the local provider's services (redis-server, DynamoDB Local, stripe-mock) for
// the tests that check the real servers' own counters. Each run keeps its data under a
// namespace of its own (Redis key prefix, DynamoDB table) and drops it at its end, and
// the tests read the servers' counters as differences over their measured part, so they
// can share one set of processes rather than start a JVM each (about 3 s apiece).
var local = &mockstest.Shared{Provider: mocks.ProviderLocal}

func TestMain(m *testing.M) {
	code := m.Run()
	embedded.Close()
	docker.Close()
	local.Close()
	os.Exit(code)
}

// benchConfigs are the cache configurations the path benchmarks compare; run two of them
// with -count and compare with benchstat.
var benchConfigs = []struct{ name, cache string }{
	{"tiered-tinylfu", `{l1: {policy: tinylfu, max_entries: 2000}, l2: {enabled: true}, l3: {enabled: true}}`},
	{"tiered-lru", `{l1: {policy: lru, max_entries: 2000}, l2: {enabled: true}, l3: {enabled: true}}`},
	{"no-l1", `{l1: {enabled: false}, l2: {enabled: true}, l3: {enabled: true}}`},
	{"no-l1-autopipeline", `{l1: {enabled: false}, l2: {enabled: true, autopipeline: true}, l3: {enabled: true}}`},
	{"l3-only", `{l1: {enabled: false}, l2: {enabled: false}, l3: {enabled: true}}`},
}

// BenchmarkCachePath runs b.N Zipf-distributed reads through each cache configuration
// against the docker services, with 16 concurrent callers (closed loop, after a 1 s
// warm-up), and reports what benchstat should compare: the mean service time as ns/op,
// p50 and p99 in µs, each tier's hit ratio and Stripe calls per read.
func BenchmarkCachePath(b *testing.B) {
	for _, bc := range benchConfigs {
		b.Run(bc.name, func(b *testing.B) {
			env := docker.Get(b)
			sc := parse(b, fmt.Sprintf(`
name: bench-%s
seed: 1
warmup: 1s
requests: %d
arrival: {model: closed, concurrency: 16}
keys: {object: customer, count: 10000, distribution: zipf, zipf_s: 1.0}
cache: %s
lambda: {enabled: false}
stripe: {mode: none}
network: none
`, bc.name, b.N, bc.cache))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			res, err := bench.Run(ctx, sc, env, bench.Options{})
			if err != nil {
				b.Fatal(err)
			}
			checkCounters(b, sc, res)
			if res.Requests.Errors > 0 {
				b.Fatalf("%d errors: %v", res.Requests.Errors, res.Requests.ErrorKinds)
			}
			b.ReportMetric(res.ServiceUS.Mean*1e3, "ns/op")
			b.ReportMetric(res.LatencyUS.P50, "p50-us")
			b.ReportMetric(res.LatencyUS.P99, "p99-us")
			for _, t := range []struct {
				name string
				s    float64
				on   bool
			}{{"l1", res.Tiers.L1.HitRatio, res.Tiers.L1.Enabled}, {"l2", res.Tiers.L2.HitRatio, res.Tiers.L2.Enabled}, {"l3", res.Tiers.L3.HitRatio, res.Tiers.L3.Enabled}} {
				if t.on {
					b.ReportMetric(t.s, t.name+"-hit-ratio")
				}
			}
			if res.Requests.Gets > 0 {
				b.ReportMetric(float64(res.Origin.Calls)/float64(res.Requests.Gets), "origin-calls/op")
			}
		})
	}
}

// BenchmarkRecorderRead measures what recording one read costs a worker: two
// HdrHistogram records and the counters, under the recorder's uncontended lock.
func BenchmarkRecorderRead(b *testing.B) {
	rec := bench.NewRecorder()
	l1 := cachecore.TierSet(0).With(cachecore.TierL1)
	outcomes := [4]bench.ReadOutcome{
		{Served: cachecore.TierL1, Checked: true, Size: 2048},
		{Served: cachecore.TierL2, Trace: cachecore.Trace{Missed: l1}, Checked: true, Size: 2048},
		{Served: cachecore.TierL3, Trace: cachecore.Trace{Missed: l1.With(cachecore.TierL2)}, Checked: true, Size: 2048},
		{Served: cachecore.TierOrigin, Trace: cachecore.Trace{Missed: l1.With(cachecore.TierL2).With(cachecore.TierL3),
			Origin: cachecore.OriginFetched, Calls: 1}, Checked: true, Size: 2048},
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := time.Duration(i%5000+50) * time.Microsecond
		rec.Read(d, d, &outcomes[i%4])
	}
}

// BenchmarkOpenLoopL1 offers 50,000 scheduled reads per second of L1 hits for 3 s and
// reports how many started more than 1 ms late: the generator's own limit on this
// machine. The target is under 1%.
func BenchmarkOpenLoopL1(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sc := parse(b, `
name: open-loop-l1
seed: 1
warmup: 1s
duration: 3s
arrival: {model: constant, rate: 50000}
keys: {object: customer, count: 100, distribution: uniform}
cache:
  l1: {enabled: true, ttl: 0s}
  l2: {enabled: false}
  l3: {enabled: false}
lambda: {enabled: false}
stripe: {mode: none}
network: none
`)
		env := embedded.Get(b)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		res, err := bench.Run(ctx, sc, env, bench.Options{})
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		checkCounters(b, sc, res)
		b.ReportMetric(res.Requests.RatePerS, "req/s")
		b.ReportMetric(100*res.Generator.LateRatio, "late-%")
		b.ReportMetric(res.Generator.LagP99US, "lag-p99-us")
		b.ReportMetric(res.LatencyUS.P99, "p99-us")
		b.ReportMetric(res.Tiers.L1.HitRatio, "l1-hit-ratio")
	}
}
