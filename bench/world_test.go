package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/cachebench/cachebench/bench"
)

// TestNetworkProfilesShowInLatency runs reads served only by Redis, then only by Stripe,
// behind the aws-same-az profile (Redis +300 µs ± 100 µs a round trip, Stripe over the
// internet +250 ms ± 75 ms) and checks that the measured medians fall in the ranges the
// profiles document, above what loopback alone gives.
func TestNetworkProfilesShowInLatency(t *testing.T) {
	for _, tc := range []struct {
		name, cache string
		lo, hi      float64 // µs, for the median read
	}{
		// A Redis hit: one round trip through the proxy (300 µs) plus loopback Redis.
		{"redis", `{l1: {enabled: false}, l2: {enabled: true}, l3: {enabled: false}}`, 300, 3000},
		// Every read from Stripe: the 250 ms profile (log-normal, so the median is a
		// little below the mean) plus stripe-mock.
		{"stripe", `{l1: {enabled: false}, l2: {enabled: false}, l3: {enabled: false}}`, 150e3, 400e3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := parse(t, `
name: profiles
seed: 2
warmup: 2s
duration: 3s
arrival: {model: constant, rate: 40}
keys: {object: customer, count: 20, distribution: uniform}
cache: `+tc.cache+`
lambda: {enabled: false}
stripe: {mode: none}
network: aws-same-az
`)
			res := run(t, sc, bench.Options{})
			p50 := res.LatencyUS.P50
			t.Logf("p50 %.0f µs, p99 %.0f µs over %d reads; network %v", p50, res.LatencyUS.P99, res.Requests.Gets, res.Environment.Network)
			if p50 < tc.lo || p50 > tc.hi {
				t.Errorf("median read %.0f µs, want %.0f to %.0f µs for %s behind aws-same-az", p50, tc.lo, tc.hi, tc.name)
			}
		})
	}
}

// TestStripeLimitsAFleet runs a Lambda fleet whose environments each keep their own
// client-side limiter of Stripe's test-mode 25 requests per second: together they exceed
// it, and the overlay answers 429 as Stripe would.
func TestStripeLimitsAFleet(t *testing.T) {
	sc := parse(t, `
name: fleet-429
seed: 4
warmup: 1s
duration: 3s
arrival: {model: constant, rate: 120}
keys: {object: customer, count: 100000, distribution: uniform}
cache: {l1: {enabled: true}, l2: {enabled: false}, l3: {enabled: false}}
lambda: {enabled: true, memory_mb: 1769, max_concurrency: 50}
stripe: {mode: test}
network: none
`)
	env := embedded.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := bench.Run(ctx, sc, env, bench.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkCounters(t, sc, res)
	// Reads whose retries all met 429 fail: that is what the test provokes.
	t.Logf("origin %+v; lambda %+v; errors %v", res.Origin, res.Lambda, res.Requests.ErrorKinds)
	if res.Origin.OverlayRateLimited == 0 || res.Origin.RateLimited == 0 {
		t.Errorf("no 429s: the overlay answered %d and the origins saw %d, with %d environments each allowed 25/s",
			res.Origin.OverlayRateLimited, res.Origin.RateLimited, res.Lambda.PeakEnvironments)
	}
	if res.Lambda.PeakEnvironments < 2 {
		t.Errorf("peak %d environments; the test needs several", res.Lambda.PeakEnvironments)
	}
}

// TestStaleReadsCounted updates objects through the Stripe overlay while an L1 with a
// long TTL serves them: without webhooks the cache serves old versions and the oracle
// counts them; with webhooks (no delivery delay) the events reach the cache, verified by
// their signatures, and far fewer reads are stale.
func TestStaleReadsCounted(t *testing.T) {
	results := map[string]float64{}
	for _, inv := range []string{"ttl-only", "webhook"} {
		t.Run(inv, func(t *testing.T) {
			sc := parse(t, `
name: stale
seed: 9
warmup: 1s
duration: 4s
arrival: {model: constant, rate: 200}
keys: {object: customer, count: 50, distribution: uniform}
ops: {get: 0.9, update: 0.1}
cache:
  l1: {enabled: true, ttl: 1m}
  l2: {enabled: false}
  l3: {enabled: false}
  invalidation: `+inv+`
lambda: {enabled: false}
stripe: {mode: none, webhook_delay: 0s}
network: none
`)
			res := run(t, sc, bench.Options{})
			c := res.Consistency
			t.Logf("%d reads checked, %d stale (%.3f), max %.0f ms; webhooks %+v", c.ReadsChecked, c.StaleReads, c.StaleRatio, c.MaxStalenessMS, res.Webhooks)
			if c.ReadsChecked < res.Requests.Gets/2 {
				t.Fatalf("only %d of %d reads were checked against the oracle", c.ReadsChecked, res.Requests.Gets)
			}
			results[inv] = c.StaleRatio
			switch inv {
			case "ttl-only":
				if c.StaleReads == 0 || c.MaxStalenessMS <= 0 {
					t.Errorf("no stale reads counted, with updates and a 1 min L1 TTL")
				}
			case "webhook":
				if res.Webhooks == nil || res.Webhooks.Applied == 0 || res.Webhooks.Rejected != 0 {
					t.Errorf("webhooks %+v: want events applied and none rejected", res.Webhooks)
				}
			}
		})
	}
	if results["webhook"] >= results["ttl-only"]/2 {
		t.Errorf("stale ratio with webhooks %.4f, without %.4f: webhooks should cut it by more than half", results["webhook"], results["ttl-only"])
	}
}
