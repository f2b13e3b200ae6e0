package bench_test

import (
	"fmt"
	"testing"

	"github.com/cachebench/cachebench/bench"
)

// limiterScenario is all-miss traffic at rate a second for seconds, through envs
// provisioned Lambda environments, against Stripe's test-mode limit with the given
// stripe.limiter; extra is appended (faults).
func limiterScenario(limiter string, rate, envs, seconds int, extra string) string {
	return fmt.Sprintf(`
name: limiter-%s
warmup: 1s
duration: %ds
arrival: {model: constant, rate: %d}
keys: {object: customer, count: 100000, distribution: uniform}
cache:
  l1: {enabled: false}
  l2: {enabled: false}
  l3: {enabled: false}
lambda: {enabled: true, memory_mb: 512, max_concurrency: %d, provisioned_concurrency: %d}
network: none
stripe: {mode: test, limiter: %s}
%s`, limiter, seconds, rate, envs, envs, limiter, extra)
}

// TestFleetLimiterKeepsTheFleetUnderStripesLimit drives 100 Lambda environments with
// all-miss traffic at four times Stripe's test-mode read limit. With stripe.limiter:
// instance each environment limits only itself, so together they draw 429s; with fleet
// the one limit in Redis keeps every environment together under it: no 429 at all.
// Failed fetches (429s with instance, Lambda throttles with fleet) are the point here.
func TestFleetLimiterKeepsTheFleetUnderStripesLimit(t *testing.T) {
	inst := runAllowingErrors(t, parse(t, limiterScenario("instance", 100, 100, 3, "")), bench.Options{})
	fleet := runAllowingErrors(t, parse(t, limiterScenario("fleet", 100, 100, 3, "")), bench.Options{})
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
	s := parse(t, limiterScenario("fleet", 60, 20, 4, "faults: [{target: redis, kind: down, at: 1s, for: 2s}]\n"))
	res := runAllowingErrors(t, s, bench.Options{})
	t.Logf("limiter %+v; %d Stripe calls, %d answered 429, %d fetches failed", *res.Limiter, res.Origin.Calls, res.Origin.RateLimited, res.Origin.Errors)
	if res.Limiter.Fallbacks == 0 {
		t.Errorf("no fallback while Redis was down")
	}
	if res.Origin.Errors != 0 || res.Origin.Calls == 0 {
		t.Errorf("%d Stripe calls, %d fetches failed; want calls and no failed fetch", res.Origin.Calls, res.Origin.Errors)
	}
}
