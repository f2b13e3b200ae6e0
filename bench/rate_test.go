package bench_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/mocks/mockstest"
	"github.com/cachebench/cachebench/reports"
)

// rateTestSeconds is how long each rate test offers its load: short enough for CI (about
// 15 s each with set-up and drain), long enough that a leak of connections or descriptors
// would show. Under the race detector the load is a tenth (testRate) and 4 s of it check the
// bookkeeping under concurrency; the full-rate pass without -race keeps the 10 s.
// CACHEBENCH_RATE_SECONDS overrides both (the README's 60 s runs).
func rateTestSeconds(t *testing.T) int {
	if v := os.Getenv("CACHEBENCH_RATE_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("CACHEBENCH_RATE_SECONDS=%q: want a positive whole number of seconds", v)
		}
		return n
	}
	if raceEnabled {
		return 4
	}
	return 10
}

// requireRateTests runs the rate tests where services are required (CI, make test): they
// load the machine for tens of seconds, which a developer's `go test ./...` need not do.
// Under the race detector, whose instrumentation multiplies the CPU cost of a request,
// the rate is divided by raceRateDivisor: the run then checks the harness's bookkeeping
// at a load the instrumented binary can carry (scripts/test.sh also runs these tests
// without -race at the full rate).
func requireRateTests(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("rate test: not with -short")
	}
	if !mockstest.Required() {
		t.Skip("rate test: runs under CI=true or CACHEBENCH_REQUIRE_SERVICES=1")
	}
}

// raceRateDivisor divides a rate test's rate under the race detector.
const raceRateDivisor = 10

// testRate is rate, or rate/raceRateDivisor under the race detector.
func testRate(t *testing.T, rate int) int {
	if raceEnabled {
		t.Logf("race detector: offering %d/s instead of %d/s", rate/raceRateDivisor, rate)
		return rate / raceRateDivisor
	}
	return rate
}

func logHarness(t *testing.T, res *reports.Result) {
	t.Helper()
	g := res.Generator
	t.Logf("%d requests, %d errors, %.0f/s; origin %d calls; service p50 %s p99 %s; latency p50 %s p99 %s; peak in flight %d, peak open files %d of %d, CPU %.0f%% (machine %.0f%%); limit %s: %s",
		res.Requests.Total, res.Requests.Errors, res.Requests.RatePerS, res.Origin.Calls,
		reports.FormatUS(res.ServiceUS.P50), reports.FormatUS(res.ServiceUS.P99),
		reports.FormatUS(res.LatencyUS.P50), reports.FormatUS(res.LatencyUS.P99),
		g.PeakInFlight, g.PeakOpenFiles, g.OpenFilesLimit, g.CPUPercent, g.MachineCPUPercent,
		g.BottleneckReason, g.BottleneckDetail)
	for _, m := range g.Mocks {
		t.Logf("stand-in %s: %d requests, handler p50 %s p99 %s, wait p95 %s", m.Service, m.Requests,
			reports.FormatUS(m.HandlerP50US), reports.FormatUS(m.HandlerP99US), reports.FormatUS(m.QueueP95US))
	}
}

// TestEmbeddedSustains4000OriginCallsPerSecond: 4000 all-miss reads a second, each a call
// to the embedded Stripe through the overlay, with and without the Lambda fleet; the
// harness fails none of them and runs out of nothing.
func TestEmbeddedSustains4000OriginCallsPerSecond(t *testing.T) {
	requireRateTests(t)
	secs := rateTestSeconds(t)
	rate := testRate(t, 4000)
	for _, c := range []struct{ name, lambda string }{
		{"lambda-off", "{enabled: false}"},
		{"lambda-on", "{enabled: true, memory_mb: 512, max_concurrency: 2000}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := runWith(t, embedded.Get(t), `
name: miss-4000
seed: 11
duration: `+strconv.Itoa(secs)+`s
warmup: 1s
arrival: {model: constant, rate: `+strconv.Itoa(rate)+`}
keys: {object: customer, count: 1000000, distribution: uniform}
ops: {get: 1}
cache:
  l1: {enabled: true, policy: lru, max_entries: 1000, ttl: 30s}
  l2: {enabled: false}
  l3: {enabled: false}
  invalidation: ttl-only
lambda: `+c.lambda+`
network: none
stripe: {mode: none}
`, bench.Options{})
			logHarness(t, res)
			// No request may fail for the harness's sake. A Lambda throttle is the
			// simulated fleet at its concurrency limit, which a machine short of CPU
			// reaches (every invocation lasts longer): allowed only when the run names
			// that limit.
			throttled := res.Requests.ErrorKinds["lambda: throttled at the concurrency limit (TooManyRequestsException)"]
			if other := res.Requests.Errors - throttled; other > 0 || (throttled > 0 && res.Generator.BottleneckReason == reports.BottleneckNone) {
				t.Fatalf("%d errors (%d throttled, limit %q): %v", res.Requests.Errors, throttled, res.Generator.BottleneckReason, res.Requests.ErrorKinds)
			}
			want := int64(rate * secs)
			if res.Requests.Total < want*95/100 || res.Origin.Calls < (res.Requests.Total-throttled)*95/100 {
				t.Errorf("%d requests and %d origin calls; want about %d of each", res.Requests.Total, res.Origin.Calls, want)
			}
			g := res.Generator
			if g.OpenFilesErrors > 0 || g.BottleneckReason == reports.BottleneckOpenFiles || g.BottleneckReason == reports.BottleneckMockSaturated {
				t.Errorf("limit %s: %s", g.BottleneckReason, g.BottleneckDetail)
			}
		})
	}
}

// TestDockerSustains20kL2HitsPerSecond: 20,000 reads a second served by Redis in Docker
// (L1 off, a keyspace that fits), none failed by the harness. The warm-up fills L2 at a
// twentieth of the rate: 20,000 cold reads a second at once send a thousand concurrent
// fetches to stripe-mock, starve the 2-core machine, time L2 calls out past 100 ms, and
// the cache's L2 breaker then stays open (every read goes to Stripe): the cache's own
// degradation, measured elsewhere, not the L2 path this test is about.
func TestDockerSustains20kL2HitsPerSecond(t *testing.T) {
	requireRateTests(t)
	secs := rateTestSeconds(t)
	rate := testRate(t, 20000)
	res := runWith(t, docker.Get(t), `
name: l2-20k
seed: 12
duration: `+strconv.Itoa(secs)+`s
warmup: 2s
arrival: {model: steps, steps: [{rate: `+strconv.Itoa(rate/20)+`, for: 2s}, {rate: `+strconv.Itoa(rate)+`, for: `+strconv.Itoa(secs)+`s}]}
keys: {object: customer, count: 1000, distribution: uniform}
ops: {get: 1}
cache:
  l1: {enabled: false}
  l2: {enabled: true, ttl: 10m}
  l3: {enabled: false}
  invalidation: ttl-only
lambda: {enabled: false}
network: none
stripe: {mode: none}
`, bench.Options{})
	logHarness(t, res)
	if res.Requests.Errors > 0 {
		t.Fatalf("%d errors: %v", res.Requests.Errors, res.Requests.ErrorKinds)
	}
	if want := int64(rate * secs); res.Requests.Total < want*95/100 {
		t.Errorf("%d requests, want about %d", res.Requests.Total, want)
	}
	t.Logf("L2 hit ratio %.3f", res.Tiers.L2.HitRatio)
	switch {
	case res.Tiers.L2.HitRatio < 0.9 && res.Generator.BottleneckReason == reports.BottleneckNone:
		// A 2-core machine carrying Docker, Redis and cachebench at 20k/s can run out of
		// CPU (then L2 calls time out and the cache's breaker sends reads to Stripe):
		// the run must then say that the machine, not the cache, was the limit.
		t.Errorf("L2 hit ratio %.3f, yet the run names no limit: %s", res.Tiers.L2.HitRatio, res.Generator.BottleneckDetail)
	}
	if g := res.Generator; g.OpenFilesErrors > 0 || g.BottleneckReason == reports.BottleneckOpenFiles {
		t.Errorf("limit %s: %s", g.BottleneckReason, g.BottleneckDetail)
	}
}
