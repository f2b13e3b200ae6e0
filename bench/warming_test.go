package bench_test

import (
	"testing"

	"github.com/cachebench/cachebench/bench"
)

// TestColdStartWarming: with cache.l1.warm, every cold start of the measured part warms
// its environment's L1 from the hot list the fleet keeps in Redis, within the budget; the
// warming is billed as INIT; and the reads in the environments' first minute are counted.
func TestColdStartWarming(t *testing.T) {
	env := embedded.Get(t)
	res := runWith(t, env, `
name: warming
seed: 3
warmup: 3s
duration: 4s
arrival:
  model: steps
  steps:
    - {rate: 50, for: 3s}
    - {rate: 300, for: 1s}
    - {rate: 20, for: 1s}
    - {rate: 300, for: 2s}
keys: {object: customer, count: 300, distribution: zipf, zipf_s: 1.1}
cache:
  l1: {enabled: true, ttl: 60s, warm: {keys: 100, budget: 500ms}}
  l2: {enabled: true}
  l3: {enabled: false}
lambda: {enabled: true, max_concurrency: 300, idle_timeout: 1s}
stripe: {mode: none}
network: none
`, bench.Options{})
	if res.Requests.Errors > 0 {
		t.Fatalf("%d errors: %v", res.Requests.Errors, res.Requests.ErrorKinds)
	}
	l := res.Lambda
	if l == nil || l.Warming == nil || l.FirstMinute == nil {
		t.Fatalf("lambda %+v: want warming and first_minute", l)
	}
	w, fm := l.Warming, l.FirstMinute
	t.Logf("cold starts %d (INIT %d ms); warming %+v; first minute %+v", l.ColdStarts, l.InitBilledMS, *w, *fm)
	if l.ColdStarts == 0 || w.ColdStarts != l.ColdStarts {
		t.Fatalf("%d cold starts, %d warmed: want every cold start warmed", l.ColdStarts, w.ColdStarts)
	}
	if w.KeysLoaded == 0 || w.KeysLoaded > w.KeysListed || w.KeysListed > 100*w.ColdStarts || w.Errors != 0 {
		t.Fatalf("warming %+v: want keys from the hot list loaded, at most 100 a start, no errors", *w)
	}
	if w.MSMean <= 0 || w.MSMax < w.MSMean || w.MSMax > 500+50 {
		t.Errorf("warming took %.1f ms on average, %.1f at most: want within the 500 ms budget", w.MSMean, w.MSMax)
	}
	if float64(l.InitBilledMS) < w.MSMean*float64(w.ColdStarts) {
		t.Errorf("INIT billed %d ms, less than the %.0f ms of warming it includes", l.InitBilledMS, w.MSMean*float64(w.ColdStarts))
	}
	// Every environment of a 7 s run is in its first minute.
	if fm.Reads != res.Requests.Gets || fm.L1Hits != res.Tiers.L1.Hits {
		t.Errorf("first minute: %d reads, %d L1 hits; want all %d reads and %d L1 hits", fm.Reads, fm.L1Hits, res.Requests.Gets, res.Tiers.L1.Hits)
	}
}
