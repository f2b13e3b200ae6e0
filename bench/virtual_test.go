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
	for _, want := range []string{"ops.update", "faults", "lambda.provisioned_concurrency", "cache.l1.warm"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("virtualRefusals = %v, want it to name %s", err, want)
		}
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
// clocks on the embedded services, gives hit ratios per tier within 0.02 and origin calls
// within 2% (or 3 calls). TTLs are short so every tier's expiry is exercised. It runs
// about 15 s of real time (up to 40 s when the real clock must be retried).
func TestVirtualAgreesWithReal(t *testing.T) {
	const yaml = `
name: agree
duration: 12s
arrival: {model: constant, rate: 150}
keys: {object: customer, count: 400, distribution: zipf, zipf_s: 1.0}
lambda: {enabled: false}
cache: {l1: {enabled: true, ttl: 1s}, l2: {enabled: true, ttl: 3s, ttl_jitter: 0}, l3: {enabled: true, ttl: 6s}}
stripe: {mode: none}
`
	virt, err := Run(context.Background(), vparse(t, yaml+"clock: virtual\n"), startVirtualEnv(t), Options{})
	if err != nil {
		t.Fatal(err)
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
		t.Logf("try %d: real L1 %.4f L2 %.4f L3 %.4f origin %d; virtual L1 %.4f L2 %.4f L3 %.4f origin %d; %v", try,
			real.Tiers.L1.HitRatio, real.Tiers.L2.HitRatio, real.Tiers.L3.HitRatio, real.Origin.Calls,
			virt.Tiers.L1.HitRatio, virt.Tiers.L2.HitRatio, virt.Tiers.L3.HitRatio, virt.Origin.Calls, problems)
		if len(problems) == 0 {
			return
		}
	}
	t.Errorf("real and virtual clocks disagree: %v", problems)
}

// agreement lists where two results' hit ratios differ by more than 0.02 or their origin
// calls by more than 2% (or 3 calls).
func agreement(real, virt *reports.Result) []string {
	var out []string
	for _, tc := range []struct {
		tier       string
		real, virt float64
	}{
		{"l1", real.Tiers.L1.HitRatio, virt.Tiers.L1.HitRatio},
		{"l2", real.Tiers.L2.HitRatio, virt.Tiers.L2.HitRatio},
		{"l3", real.Tiers.L3.HitRatio, virt.Tiers.L3.HitRatio},
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
