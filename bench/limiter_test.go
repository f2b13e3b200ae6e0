package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/reports"
)

// TestFleetLimiterKeepsTheFleetUnderStripesLimit drives 100 Lambda environments with
// all-miss traffic at four times Stripe's test-mode read limit. With stripe.limiter:
// instance each environment limits only itself, so together they draw 429s; with fleet
// the one limit in Redis keeps every environment together under it: no 429 at all.
func TestFleetLimiterKeepsTheFleetUnderStripesLimit(t *testing.T) {
	scenario := func(limiter string) string {
		return fmt.Sprintf(`
name: limiter-%s
warmup: 1s
duration: 3s
arrival: {model: constant, rate: 100}
keys: {object: customer, count: 100000, distribution: uniform}
cache:
  l1: {enabled: false}
  l2: {enabled: false}
  l3: {enabled: false}
lambda: {enabled: true, memory_mb: 512, max_concurrency: 100, provisioned_concurrency: 100}
network: none
stripe: {mode: test, limiter: %s}
`, limiter, limiter)
	}
	// Failed fetches (429s with instance, Lambda throttles with fleet) are the point here.
	runAllowingErrors := func(yaml string) *reports.Result {
		s := parse(t, yaml)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		res, err := bench.Run(ctx, s, embedded.Get(t), bench.Options{})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		checkCounters(t, s, res)
		return res
	}
	inst := runAllowingErrors(scenario("instance"))
	fleet := runAllowingErrors(scenario("fleet"))
	for _, r := range []struct {
		name string
		o    int64
		ov   int64
		c    int64
	}{{"instance", inst.Origin.RateLimited, inst.Origin.OverlayRateLimited, inst.Origin.Calls}, {"fleet", fleet.Origin.RateLimited, fleet.Origin.OverlayRateLimited, fleet.Origin.Calls}} {
		t.Logf("%s: %d Stripe calls, %d answered 429 (the emulation counted %d)", r.name, r.c, r.o, r.ov)
	}
	if inst.Limiter == nil || inst.Limiter.Mode != "instance" || fleet.Limiter == nil || fleet.Limiter.Mode != "fleet" {
		t.Fatalf("limiter blocks %+v and %+v", inst.Limiter, fleet.Limiter)
	}
	if inst.Origin.RateLimited == 0 {
		t.Errorf("instance: no 429: 100 environments each limiting itself to 25/s should exceed Stripe's 25/s")
	}
	if fleet.Origin.RateLimited != 0 || fleet.Origin.OverlayRateLimited != 0 || fleet.Origin.Calls == 0 {
		t.Errorf("fleet: %d calls, %d answered 429 (%d by the emulation); want calls and no 429", fleet.Origin.Calls, fleet.Origin.RateLimited, fleet.Origin.OverlayRateLimited)
	}
	if fleet.Limiter.Fallbacks != 0 {
		t.Errorf("fleet: %d fallbacks with Redis up", fleet.Limiter.Fallbacks)
	}
	if fleet.Limiter.WaitMS <= 0 {
		t.Errorf("fleet: no time waited for a token, at four times the limit")
	}
}

// TestFleetLimiterFallsBackWhenRedisIsDown takes Redis down for two seconds of a run with
// the fleet limiter: the environments fall back to their own shares (counted), and no
// fetch fails for it.
func TestFleetLimiterFallsBackWhenRedisIsDown(t *testing.T) {
	s := parse(t, `
name: limiter-fallback
warmup: 1s
duration: 4s
arrival: {model: constant, rate: 60}
keys: {object: customer, count: 100000, distribution: uniform}
cache:
  l1: {enabled: false}
  l2: {enabled: false}
  l3: {enabled: false}
lambda: {enabled: true, memory_mb: 512, max_concurrency: 20, provisioned_concurrency: 20}
network: none
stripe: {mode: test, limiter: fleet}
faults:
  - {target: redis, kind: down, at: 1s, for: 2s}
`)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := bench.Run(ctx, s, embedded.Get(t), bench.Options{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	checkCounters(t, s, res)
	t.Logf("limiter %+v; %d Stripe calls, %d answered 429, %d fetches failed", *res.Limiter, res.Origin.Calls, res.Origin.RateLimited, res.Origin.Errors)
	if res.Limiter.Fallbacks == 0 {
		t.Errorf("no fallback while Redis was down")
	}
	if res.Origin.Errors != 0 || res.Origin.Calls == 0 {
		t.Errorf("%d Stripe calls, %d fetches failed; want calls and no failed fetch", res.Origin.Calls, res.Origin.Errors)
	}
}
