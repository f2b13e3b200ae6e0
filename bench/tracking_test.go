package bench_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/bench"
)

// TestTrackingL1AgainstRedisCounters runs the tracking L1 (go-redis's client-side cache)
// against a real redis-server with no writes but the fills, and checks the L1 hits never
// reached Redis: Redis's own keyspace counters account for exactly the L2 lookups the
// reads made plus the guarded fills, as with no L1 at all (TestServersRedisMatchesL2),
// while the L1 answered a large share of the reads.
func TestTrackingL1AgainstRedisCounters(t *testing.T) {
	env := local.Get(t)
	res := runQuiet(t, env, `
name: tracking-counters
warmup: 0s
duration: 2s
arrival: {model: closed, concurrency: 2}
keys: {object: customer, count: 100, distribution: uniform}
cache:
  l1: {enabled: true, policy: tracking}
  l2: {enabled: true}
  l3: {enabled: false}
  invalidation: ttl-only
lambda: {enabled: false}
stripe: {mode: none}
network: none
`)
	l1, l2, o, rs := res.Tiers.L1, res.Tiers.L2, res.Origin, res.Servers.Redis
	t.Logf("L1 %d hits, %d misses (%d entries, %d bytes held); L2 %d hits, %d misses, %d coalesced; %d fetches; keyspace %d hits, %d misses",
		l1.Hits, l1.Misses, l1.EntriesHeld, l1.BytesHeld, l2.Hits, l2.Misses, l2.Coalesced, o.Fetches, *rs.KeyspaceHits, *rs.KeyspaceMisses)
	if l1.HitRatio < 0.5 || l1.EntriesHeld == 0 || l1.Caches != 1 {
		t.Fatalf("tracking L1 hit ratio %.2f holding %d entries in %d caches: 100 keys read for 2 s must mostly be served locally", l1.HitRatio, l1.EntriesHeld, l1.Caches)
	}
	if l1.Misses != l2.Hits+l2.Misses {
		t.Errorf("L1 misses %d, want every one an L2 lookup (%d)", l1.Misses, l2.Hits+l2.Misses)
	}
	wantKeyspaceLookups(t, res, false, ": L1 hits must not reach Redis")
	if l1.Invalidations == nil {
		t.Error("no tiers.l1.invalidations for a tracking L1")
	}
}

// TestTrackingL1FrozenEnvironments runs the tracking L1 in a Lambda fleet with updates
// whose webhooks rewrite L2: Redis invalidates the environments' copies, and those that
// are frozen between invocations hold the invalidations until their next one.
func TestTrackingL1FrozenEnvironments(t *testing.T) {
	env := local.Get(t)
	res := runWith(t, env, `
name: tracking-frozen
warmup: 0s
duration: 4s
arrival: {model: constant, rate: 60}
keys: {object: customer, count: 20, distribution: zipf, zipf_s: 1.0}
ops: {get: 0.8, update: 0.2}
cache:
  l1: {enabled: true, policy: tracking, ttl: 30s}
  l2: {enabled: true}
  l3: {enabled: false}
  invalidation: webhook
  event_mode: refresh
lambda: {enabled: true, max_concurrency: 200}
stripe: {mode: none, webhook_delay: 50ms}
network: none
`, bench.Options{})
	if l := res.Lambda; l != nil {
		t.Logf("lambda: %d invocations, %d cold starts, peak %d environments, %d throttled; latency p50 %.0fµs p99 %.0fµs",
			l.Invocations, l.ColdStarts, l.PeakEnvironments, l.Throttled, res.LatencyUS.P50, res.LatencyUS.P99)
	}
	if res.Requests.Errors > 0 {
		t.Fatalf("%d errors: %v", res.Requests.Errors, res.Requests.ErrorKinds)
	}
	inv := res.Tiers.L1.Invalidations
	if inv == nil {
		t.Fatal("no tiers.l1.invalidations")
	}
	t.Logf("L1 hit ratio %.2f; invalidations %+v; %d stale of %d reads, max staleness %.0f ms",
		res.Tiers.L1.HitRatio, *inv, res.Consistency.StaleReads, res.Consistency.ReadsChecked, res.Consistency.MaxStalenessMS)
	if res.Tiers.L1.Hits == 0 || inv.Received == 0 || inv.Held == 0 || inv.Held > inv.Received {
		t.Fatalf("L1 %d hits, invalidations %+v: want hits, and invalidations of which some waited for a thaw", res.Tiers.L1.Hits, *inv)
	}
	if inv.HeldMeanMS <= 0 || inv.HeldMaxMS < inv.HeldMeanMS {
		t.Errorf("held %.2f ms on average, %.2f ms at most: want the wait of frozen environments", inv.HeldMeanMS, inv.HeldMaxMS)
	}
}

// TestTrackingL1RefusedEmbedded: the embedded Redis has no CLIENT TRACKING, so a tracking
// scenario is refused before it starts, naming the environments that can run it.
func TestTrackingL1RefusedEmbedded(t *testing.T) {
	env := embedded.Get(t)
	sc := parse(t, "name: trk\nduration: 1s\ncache:\n  l1: {policy: tracking}\nlambda: {enabled: false}\n")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := bench.Run(ctx, sc, env, bench.Options{})
	if err == nil || !strings.Contains(err.Error(), "--env docker or --env local") {
		t.Fatalf("tracking on the embedded Redis: %v, want an error naming docker and local", err)
	}
}
