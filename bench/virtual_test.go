package bench

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/mocks"
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
func startVirtualEnv(t *testing.T) *mocks.Env {
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
`)
	err := virtualRefusals(s)
	for _, want := range []string{"ops.update", "faults", "lambda.enabled"} {
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
