package bench

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// vparse parses a scenario for a test, failing it on error.
func vparse(t *testing.T, yaml string) *scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Parse([]byte(yaml), t.Name()+".yaml")
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	return s
}

// startVirtualEnv starts an embedded environment on the virtual clock (in process: it
// needs nothing installed, so it never skips).
func startVirtualEnv(t testing.TB) *mocks.Env {
	t.Helper()
	env, err := mocks.Start(context.Background(), mocks.Config{Provider: mocks.ProviderEmbedded, Embedded: mocks.EmbeddedConfig{VirtualClock: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = env.Close(ctx)
	})
	return env
}

// TestVirtualL3MatchesTTLModel: with L1 and L2 off, a simulated 40 minutes of Poisson
// reads over uniform keys gives the L3 hit ratio of the TTL-cache model (a key read at
// rate λ with TTL T hits with probability λT/(1+λT)), which only holds if L3 items expire
// on the simulated clock; the run's timeline is per minute and labelled virtual/modelled.
func TestVirtualL3MatchesTTLModel(t *testing.T) {
	env := startVirtualEnv(t)
	s := vparse(t, `
name: vl3
clock: virtual
duration: 40m
arrival: {model: poisson, rate: 5}
keys: {object: customer, count: 300, distribution: uniform}
lambda: {enabled: false}
cache: {l1: {enabled: false}, l2: {enabled: false}, l3: {enabled: true, ttl: 60s}}
`)
	res, err := Run(context.Background(), s, env, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lt := 5.0 / 300 * 60 // λT per key
	want := lt / (1 + lt)
	if got := res.Tiers.L3.HitRatio; math.Abs(got-want) > 0.03 {
		t.Errorf("L3 hit ratio %.4f, TTL-cache model %.4f", got, want)
	}
	if res.Clock != "virtual" || res.LatencyModel != "modelled" {
		t.Errorf("clock %q, latency_model %q; want virtual, modelled", res.Clock, res.LatencyModel)
	}
	if len(res.Timeline) != 40 || res.Timeline[0].BucketS != 60 {
		t.Errorf("timeline: %d buckets of %d s, want 40 of 60 s", len(res.Timeline), res.Timeline[0].BucketS)
	}
	var sum int64
	for _, b := range res.Timeline {
		sum += b.Requests
	}
	if sum != res.Requests.Total || res.Origin.Calls != res.Tiers.L3.Misses {
		t.Errorf("timeline sums to %d of %d requests; origin calls %d, L3 misses %d", sum, res.Requests.Total, res.Origin.Calls, res.Tiers.L3.Misses)
	}
}

// TestVirtualRefusals: what the virtual clock does not model is refused, naming the key
// and the fix, and clock: virtual on a wall-clock environment is refused too.
func TestVirtualRefusals(t *testing.T) {
	s := vparse(t, `
name: vr
clock: virtual
duration: 1m
ops: {get: 0.9, update: 0.1}
faults: [{at: 10s, for: 5s, target: redis, kind: down}]
lambda: {provisioned_concurrency: 2}
cache: {l1: {warm: {keys: 10}}}
`)
	err := virtualRefusals(s)
	for _, want := range []string{"lambda.provisioned_concurrency"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("virtualRefusals = %v, want it to name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "faults") || strings.Contains(err.Error(), "warm") {
		t.Errorf("virtualRefusals = %v: a redis down fault and warming run on the virtual clock", err)
	}
	tracking := vparse(t, "name: vt\nclock: virtual\nduration: 1m\nfaults: [{at: 10s, for: 5s, target: redis, kind: down}]\ncache: {l1: {policy: tracking}}\n")
	trace := vparse(t, `
name: vt
clock: virtual
keys: {distribution: trace, trace: traces/trace-replay.twitter.gz, trace_format: twitter}
`)
	if err := virtualRefusals(trace); err != nil {
		t.Errorf("virtualRefusals = %v: a trace replays on the virtual clock, to its end without a duration", err)
	}
	counted := vparse(t, "name: vn\nclock: virtual\nrequests: 1000\n")
	if err := virtualRefusals(counted); err == nil || !strings.Contains(err.Error(), "requests") {
		t.Errorf("virtualRefusals = %v, want it to refuse a request count", err)
	}
	if err := virtualRefusals(tracking); err == nil || !strings.Contains(err.Error(), "cache.l1.policy tracking") {
		t.Errorf("virtualRefusals = %v, want it to refuse redis faults with a tracking L1", err)
	}
	wall, err := mocks.Start(context.Background(), mocks.Config{Provider: mocks.ProviderEmbedded})
	if err != nil {
		t.Fatal(err)
	}
	defer wall.Close(context.Background())
	ok := vparse(t, "name: v\nclock: virtual\nduration: 1m\nlambda: {enabled: false}\n")
	if _, err := Run(context.Background(), ok, wall, Options{}); err == nil || !strings.Contains(err.Error(), "--env embedded") {
		t.Errorf("Run on a wall-clock environment = %v, want an error naming --env embedded", err)
	}
}

// TestVirtualAgreesWithReal: one scenario short enough for real time, run on both
// clocks on the embedded services, gives hit ratios per tier and stale-read ratios within
// 0.02 and origin calls within 2% (or 3 calls). TTLs are short so every tier's expiry is
// exercised, and 5% of the requests are updates whose webhooks come half a second later
// (some twice, some after the next), so reads between an update and its webhook are
// stale on both clocks. It runs about 15 s of real time (up to 40 s when the real clock
// must be retried).
func TestVirtualAgreesWithReal(t *testing.T) {
	const yaml = `
name: agree
duration: 12s
arrival: {model: constant, rate: 150}
keys: {object: customer, count: 400, distribution: zipf, zipf_s: 1.0}
ops: {get: 0.95, update: 0.05}
lambda: {enabled: false}
cache: {l1: {enabled: true, ttl: 1s}, l2: {enabled: true, ttl: 3s, ttl_jitter: 0}, l3: {enabled: true, ttl: 6s}}
stripe: {mode: none, webhook_delay: 500ms, webhook_duplicates: 0.1, webhook_reorder: 0.1}
`
	virt, err := Run(context.Background(), vparse(t, yaml+"clock: virtual\n"), startVirtualEnv(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if w := virt.Webhooks; virt.Requests.Updates == 0 || virt.Consistency.StaleReads == 0 || w == nil || w.Applied == 0 || w.Duplicated == 0 {
		t.Fatalf("virtual: %d updates, %d stale reads, webhooks %+v: want updates whose webhooks (some duplicated) apply, and stale reads before them",
			virt.Requests.Updates, virt.Consistency.StaleReads, w)
	}
	// The real clock's figures move with the machine's load (a late request can find an
	// entry expired, or overlap another's miss): up to three tries, one must agree.
	var problems []string
	for try := 1; try <= 3; try++ {
		realEnv, err := mocks.Start(context.Background(), mocks.Config{Provider: mocks.ProviderEmbedded})
		if err != nil {
			t.Fatal(err)
		}
		real, err := Run(context.Background(), vparse(t, yaml), realEnv, Options{})
		_ = realEnv.Close(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		problems = agreement(real, virt)
		t.Logf("try %d: real L1 %.4f L2 %.4f L3 %.4f origin %d stale %.4f; virtual L1 %.4f L2 %.4f L3 %.4f origin %d stale %.4f; %v", try,
			real.Tiers.L1.HitRatio, real.Tiers.L2.HitRatio, real.Tiers.L3.HitRatio, real.Origin.Calls, real.Consistency.StaleRatio,
			virt.Tiers.L1.HitRatio, virt.Tiers.L2.HitRatio, virt.Tiers.L3.HitRatio, virt.Origin.Calls, virt.Consistency.StaleRatio, problems)
		if len(problems) == 0 {
			return
		}
	}
	t.Errorf("real and virtual clocks disagree: %v", problems)
}

// agreement lists where two results' hit ratios or stale-read ratios differ by more
// than 0.02 or their origin calls by more than 2% (or 3 calls).
func agreement(real, virt *reports.Result) []string {
	var out []string
	for _, tc := range []struct {
		tier       string
		real, virt float64
	}{
		{"l1", real.Tiers.L1.HitRatio, virt.Tiers.L1.HitRatio},
		{"l2", real.Tiers.L2.HitRatio, virt.Tiers.L2.HitRatio},
		{"l3", real.Tiers.L3.HitRatio, virt.Tiers.L3.HitRatio},
		{"stale-read", real.Consistency.StaleRatio, virt.Consistency.StaleRatio},
	} {
		if math.Abs(tc.real-tc.virt) > 0.02 {
			out = append(out, fmt.Sprintf("%s hit ratio real %.4f, virtual %.4f", tc.tier, tc.real, tc.virt))
		}
	}
	rc, vc := float64(real.Origin.Calls), float64(virt.Origin.Calls)
	if math.Abs(rc-vc) > max(0.02*rc, 3) {
		out = append(out, fmt.Sprintf("origin calls real %v, virtual %v", rc, vc))
	}
	return out
}

// TestVirtualCalibration: the modelled latency comes from the calibration, which is
// measured through the network profiles: with 2 ms added in front of Redis and every
// read reaching L2, both the calibration and the reads' p50 are at least 2 ms.
func TestVirtualCalibration(t *testing.T) {
	s := vparse(t, `
name: vcal
clock: virtual
duration: 2m
arrival: {model: constant, rate: 20}
keys: {object: customer, count: 100, distribution: uniform}
lambda: {enabled: false}
cache: {l1: {enabled: false}, l2: {enabled: true, ttl: 1h}, l3: {enabled: false}}
network: {redis: {profile: custom, latency: 2ms}, dynamodb: none, stripe: none}
`)
	res, err := Run(context.Background(), s, startVirtualEnv(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	cal, ok := res.LatencyCalibration["redis"]
	if !ok || cal.Count == 0 {
		t.Fatalf("latency_calibration = %+v, want a redis entry", res.LatencyCalibration)
	}
	if cal.P50 < 2000 || res.LatencyUS.P50 < 2000 {
		t.Errorf("calibrated redis p50 %v µs, reads' p50 %v µs: want both at least the profile's 2 ms", cal.P50, res.LatencyUS.P50)
	}
	if _, ok := res.LatencyCalibration["dynamodb"]; ok {
		t.Error("L3 is off, but it was calibrated")
	}
	if res.LatencyModel != "modelled" {
		t.Errorf("latency_model = %q, want modelled", res.LatencyModel)
	}
}

// TestVirtualFleetAndCost: with the Lambda fleet on the virtual clock, cold starts and
// environments are counted, every minute's bucket says what Redis and DynamoDB hold and
// what it cost, the buckets' costs add up to the run's, and the day's cost is the run's
// at its rate.
func TestVirtualFleetAndCost(t *testing.T) {
	s := vparse(t, `
name: vfleet
clock: virtual
duration: 20m
arrival: {model: poisson, rate: 30}
keys: {object: customer, count: 2000, distribution: zipf, zipf_s: 1.0}
lambda: {enabled: true, memory_mb: 512, max_concurrency: 50, idle_timeout: 2m, handler_time: 50ms}
cache: {l1: {enabled: true, ttl: 30s}, l2: {enabled: true, ttl: 2m}, l3: {enabled: true, ttl: 24h}}
`)
	res, err := Run(context.Background(), s, startVirtualEnv(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	lm := res.Lambda
	if lm == nil || lm.ColdStarts < 1 || lm.PeakEnvironments < 1 || lm.Invocations != res.Requests.Total-lm.Throttled {
		t.Fatalf("lambda = %+v, want cold starts, environments and one invocation a request", lm)
	}
	if lm.PeakConcurrency < 2 {
		t.Errorf("peak concurrency %d: 30 requests/s of at least 50 ms each overlap", lm.PeakConcurrency)
	}
	if len(res.Timeline) != 20 {
		t.Fatalf("%d timeline buckets, want 20 (one a minute)", len(res.Timeline))
	}
	var sum float64
	var coldStarts int64
	for _, b := range res.Timeline {
		if b.BucketS != 60 || b.RedisBytes <= 0 || b.DynamoDBBytes <= 0 || b.CostUSD <= 0 || b.Envs < 1 {
			t.Errorf("bucket %+v: want 60 s, bytes held in Redis and DynamoDB, a cost and environments", b)
		}
		sum += b.CostUSD
		coldStarts += b.ColdStarts
	}
	if coldStarts != lm.ColdStarts {
		t.Errorf("buckets' cold starts %d, run's %d", coldStarts, lm.ColdStarts)
	}
	c := res.CostUSD
	if c == nil || c.Usage == nil {
		t.Fatalf("cost_usd = %+v, want a cost with its usage", c)
	}
	if math.Abs(sum-c.Total) > 0.01*c.Total {
		t.Errorf("buckets' costs add up to %v, the run's is %v", sum, c.Total)
	}
	if want := c.Total * 86400 / res.DurationS; math.Abs(c.PerDay-want) > 1e-9*want {
		t.Errorf("per_day %v, want the run's cost at its rate, %v", c.PerDay, want)
	}
	if c.Usage.LambdaInvocations != lm.Invocations || c.Usage.DynamoDBBytesMean <= 0 || c.Usage.RedisBytesMean <= 0 {
		t.Errorf("usage %+v does not match the run", c.Usage)
	}
}

// TestVirtualMeanConcurrencyMeasuredPart: the virtual fleet's mean concurrency is of the
// measured part only, as the real fleet's is: after a quiet warm-up, it is the measured
// part's busy time over its length (Little's law: invocations' billed time over the
// duration), not diluted by the warm-up.
func TestVirtualMeanConcurrencyMeasuredPart(t *testing.T) {
	s := vparse(t, `
name: vconc
clock: virtual
warmup: 1m
duration: 1m
arrival: {model: steps, steps: [{rate: 2, for: 1m}, {rate: 40, for: 1m}]}
keys: {object: customer, count: 200, distribution: uniform}
lambda: {enabled: true, memory_mb: 1024, max_concurrency: 100, idle_timeout: 10m, handler_time: 100ms}
cache: {l1: {enabled: true, ttl: 1m}, l2: {enabled: false}, l3: {enabled: false}}
`)
	res, err := Run(context.Background(), s, startVirtualEnv(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := res.Lambda
	if l == nil || l.Invocations == 0 {
		t.Fatalf("lambda = %+v, want invocations", l)
	}
	want := float64(l.BilledMS) / 1e3 / res.DurationS // billed time rounds each invocation up by < 1 ms
	if d := math.Abs(l.MeanConcurrency-want) / want; d > 0.03 {
		t.Errorf("mean concurrency %.3f, the measured part's busy time over its length %.3f", l.MeanConcurrency, want)
	}
	if want < 3.5 {
		t.Errorf("busy time over the measured part %.3f: 40 requests/s of 100 ms each keep about 4 environments busy", want)
	}
}

// TestVirtualWebhooksReachEveryL1: on the virtual clock a webhook reaches every Lambda
// environment's L1 the way it does in real time (one environment applies it, the others
// hear of it over Redis pub/sub) before the next read: with webhooks delivered at once
// and L1 entries that would otherwise live an hour, no read of many environments is
// stale, while the same run with invalidation: ttl-only has stale reads.
func TestVirtualWebhooksReachEveryL1(t *testing.T) {
	const yaml = `
name: vfanout
clock: virtual
duration: 2m
arrival: {model: poisson, rate: 40}
keys: {object: customer, count: 50, distribution: zipf, zipf_s: 1.0}
ops: {get: 0.9, update: 0.1}
lambda: {enabled: true, max_concurrency: 50, idle_timeout: 10m, handler_time: 200ms}
cache: {l1: {enabled: true, ttl: 1h}, l2: {enabled: true, ttl: 1h}, l3: {enabled: false}}
stripe: {webhook_delay: 0s}
`
	res, err := Run(context.Background(), vparse(t, yaml), startVirtualEnv(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if l := res.Lambda; l == nil || l.PeakEnvironments < 4 {
		t.Fatalf("lambda %+v: want several environments, each with its own L1", l)
	}
	w := res.Webhooks
	if res.Requests.Updates == 0 || w == nil || w.Applied == 0 || w.Applied != w.Delivered || w.Rejected != 0 {
		t.Fatalf("%d updates, webhooks %+v: want every delivered event applied", res.Requests.Updates, w)
	}
	if c := res.Consistency; c.ReadsChecked == 0 || c.StaleReads != 0 {
		t.Errorf("consistency %+v: with webhooks at once, no read should be stale", c)
	}
	ttlOnly := strings.Replace(yaml, "cache: {", "cache: {invalidation: ttl-only, ", 1)
	ttl, err := Run(context.Background(), vparse(t, ttlOnly), startVirtualEnv(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ttl.Consistency.StaleReads == 0 {
		t.Errorf("invalidation: ttl-only: no stale reads; the test cannot tell webhooks from none")
	}
}

// TestVirtualRedisFaults: the fault timeline runs on the virtual clock. While Redis is
// down (minute 2) and paused (minute 4) no read is an L2 hit, and the L2 serves again
// in the minutes after each; every read still succeeds from Stripe; a pause costs each
// read the cache's L2 time-out (100 ms) in modelled latency, a refused connection does
// not.
func TestVirtualRedisFaults(t *testing.T) {
	s := vparse(t, `
name: vfaults
clock: virtual
duration: 6m
arrival: {model: poisson, rate: 20}
keys: {object: customer, count: 100, distribution: uniform}
lambda: {enabled: false}
cache: {l1: {enabled: false}, l2: {enabled: true, ttl: 1h}, l3: {enabled: false}}
faults: [{at: 2m, for: 1m, target: redis, kind: down}, {at: 4m, for: 1m, target: redis, kind: pause}]
`)
	res, err := Run(context.Background(), s, startVirtualEnv(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests.Errors != 0 {
		t.Errorf("%d reads failed; with Stripe answering, none should", res.Requests.Errors)
	}
	if len(res.Timeline) != 6 {
		t.Fatalf("%d timeline buckets, want 6", len(res.Timeline))
	}
	for i, b := range res.Timeline {
		faulted := i == 2 || i == 4
		if b.Requests == 0 || b.Errors != 0 || faulted != (b.L2HitRatio == 0) {
			t.Errorf("minute %d: %d requests, %d errors, L2 hit ratio %.3f; want L2 hits %s", i, b.Requests, b.Errors, b.L2HitRatio,
				map[bool]string{true: "none (Redis faulted)", false: "back"}[faulted])
		}
	}
	if p := res.Timeline[4].P50US; p < 100_000 {
		t.Errorf("minute 4 (pause): p50 %v µs, want at least the L2 time-out of 100 ms", p)
	}
	if p := res.Timeline[2].P50US; p >= 100_000 {
		t.Errorf("minute 2 (down): p50 %v µs, want a refused connection to cost no time-out", p)
	}
	if len(res.Faults) != 2 || res.Faults[0].StartS != 120 || res.Faults[0].EndS != 180 || res.Faults[1].Kind != "pause" {
		t.Errorf("faults %+v, want the two windows at their simulated instants", res.Faults)
	}
}

// TestVirtualStripeFaults: Stripe's HTTP faults are the overlay's own, switched at their
// simulated instants, and the origin's retries wait on the virtual clock (on the wall
// clock this minute of failing reads would take minutes): while every answer is a 500,
// every read that reaches Stripe fails after its retries, whose waits are in its
// modelled latency; before and after, none does.
func TestVirtualStripeFaults(t *testing.T) {
	s := vparse(t, `
name: vstripe
clock: virtual
duration: 3m
arrival: {model: poisson, rate: 20}
keys: {object: customer, count: 5000, distribution: uniform}
lambda: {enabled: false}
cache: {l1: {enabled: false}, l2: {enabled: true, ttl: 1h}, l3: {enabled: false}}
faults: [{at: 1m, for: 1m, target: stripe, kind: errors, rate: 1}]
`)
	res, err := Run(context.Background(), s, startVirtualEnv(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Timeline) != 3 {
		t.Fatalf("%d timeline buckets, want 3", len(res.Timeline))
	}
	b0, b1, b2 := res.Timeline[0], res.Timeline[1], res.Timeline[2]
	if b0.Errors != 0 || b2.Errors != 0 || b1.Errors == 0 || b1.OriginCalls != 4*b1.Errors {
		t.Errorf("errors by minute %d, %d, %d with origin calls %d, %d, %d: want every read reaching Stripe in minute 1 to fail after 4 calls (3 retries), none outside it",
			b0.Errors, b1.Errors, b2.Errors, b0.OriginCalls, b1.OriginCalls, b2.OriginCalls)
	}
	if o := res.Origin; o.Retries != 3*b1.Errors || o.Calls != b0.OriginCalls+b1.OriginCalls+b2.OriginCalls {
		t.Errorf("origin %+v: want 3 retries of each failed fetch and the minutes' calls adding up", o)
	}
	if b1.P50US < 50_000 {
		t.Errorf("minute 1: p50 %v µs; want the retries' backoff (about 100+200+400 ms, jittered) in the modelled latency", b1.P50US)
	}
}

// TestVirtualWarming: cache.l1.warm runs on the virtual clock: every cold start warms
// its L1 from the hot list the environments flush once a simulated second, its modelled
// time is part of INIT, and the fleet's L1 serves more reads than without it.
func TestVirtualWarming(t *testing.T) {
	const yaml = `
name: vwarm
clock: virtual
duration: 10m
arrival: {model: steps, steps: [{rate: 5, for: 30s}, {rate: 60, for: 30s}, {rate: 5, for: 30s}, {rate: 60, for: 30s}, {rate: 5, for: 30s}, {rate: 60, for: 30s}, {rate: 5, for: 30s}, {rate: 60, for: 30s}, {rate: 5, for: 30s}, {rate: 60, for: 30s}, {rate: 5, for: 30s}, {rate: 60, for: 30s}, {rate: 5, for: 30s}, {rate: 60, for: 30s}, {rate: 5, for: 30s}, {rate: 60, for: 30s}, {rate: 5, for: 30s}, {rate: 60, for: 30s}, {rate: 5, for: 30s}, {rate: 60, for: 30s}]}
keys: {object: customer, count: 2000, distribution: zipf, zipf_s: 1.1}
lambda: {enabled: true, max_concurrency: 100, idle_timeout: 20s, handler_time: 200ms}
cache: {l1: {enabled: true, ttl: 10m, warm: {keys: KEYS}}, l2: {enabled: true, ttl: 1h}, l3: {enabled: false}}
`
	run := func(keys string) *reports.Result {
		res, err := Run(context.Background(), vparse(t, strings.Replace(yaml, "KEYS", keys, 1)), startVirtualEnv(t), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	warm, cold := run("200"), run("0")
	w, l := warm.Lambda.Warming, warm.Lambda
	if w == nil || w.ColdStarts != l.ColdStarts || w.ColdStarts < 5 || w.KeysLoaded == 0 || w.MSMean <= 0 || w.Errors != 0 {
		t.Fatalf("warming %+v with %d cold starts: want every cold start warmed, keys loaded, a modelled time", w, l.ColdStarts)
	}
	if cold.Lambda.Warming != nil {
		t.Errorf("warming %+v with cache.l1.warm.keys 0", cold.Lambda.Warming)
	}
	if warm.Tiers.L1.HitRatio <= cold.Tiers.L1.HitRatio {
		t.Errorf("L1 hit ratio %.4f warmed, %.4f not: warming should serve more reads from L1", warm.Tiers.L1.HitRatio, cold.Tiers.L1.HitRatio)
	}
	t.Logf("warmed: L1 %.4f, %+v; not: L1 %.4f", warm.Tiers.L1.HitRatio, *w, cold.Tiers.L1.HitRatio)
}

// TestVirtualSameSeedSameCounts: the caches' counts of a virtual run without the Lambda
// fleet are reproducible from its seed, TTL jitter included (the caches draw it from a
// source seeded by the scenario): two runs give the same counts at every tier and the
// same origin calls. Without the seeded source the L2 expiries, and with them the L3 and
// origin counts, differ from run to run. (With the fleet, which environment serves a
// read follows the modelled latencies, drawn from each run's own calibration.)
func TestVirtualSameSeedSameCounts(t *testing.T) {
	s := vparse(t, `
name: vseed
clock: virtual
duration: 10m
arrival: {model: poisson, rate: 25}
keys: {object: customer, count: 3000, distribution: zipf, zipf_s: 0.9}
lambda: {enabled: false}
cache: {l1: {enabled: true, max_entries: 500, ttl: 20s}, l2: {enabled: true, ttl: 1m, ttl_jitter: 0.3}, l3: {enabled: true, ttl: 3m}}
`)
	env := startVirtualEnv(t)
	type counts struct {
		l1, l2, l3 reports.TierStats
		origin     int64
	}
	var got []counts
	for range 2 {
		res, err := Run(context.Background(), s, env, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, counts{res.Tiers.L1, res.Tiers.L2, res.Tiers.L3, res.Origin.Calls})
	}
	if got[0] != got[1] {
		t.Errorf("same seed, different runs:\n%+v\n%+v", got[0], got[1])
	}
	if got[0].l3.Hits == 0 || got[0].origin == 0 {
		t.Errorf("counts %+v: want L3 hits and origin calls, so that expiries shape them", got[0])
	}
}
