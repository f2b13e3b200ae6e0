package bench_test

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
	"github.com/cachebench/cachebench/reports"
)

// keyspaceHits reads a node's own INFO keyspace_hits.
func keyspaceHits(t *testing.T, env *mocks.Env, addr string) int64 {
	t.Helper()
	c := env.NewNodeClient(addr)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := c.Info(ctx, "stats").Result()
	if err != nil {
		t.Fatalf("INFO on %s: %v", addr, err)
	}
	m := regexp.MustCompile(`keyspace_hits:(\d+)`).FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("INFO on %s has no keyspace_hits", addr)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// TestReplicatedReadFromReplicaThenFailover runs two short scenarios on one replicated
// set the local provider starts (a primary, two replicas, three Sentinels). First, with
// read_from: replica, the L2 hits are served by the replicas: their own keyspace hits
// grow by at least the L2 hits, and the primary's by a tenth of that at most. Then the primary is killed
// mid-run: no read fails, L2 hits come back some time after the kill, and a replica is
// the primary afterwards.
func TestReplicatedReadFromReplicaThenFailover(t *testing.T) {
	const replicaReads = `
name: replicated-read-from-replica
warmup: 0s
duration: 2s
arrival: {model: closed, concurrency: 1}
keys: {object: customer, count: 100, distribution: uniform}
cache:
  l1: {enabled: false}
  l2: {enabled: true, topology: replicated, replicas: 2, read_from: replica}
  l3: {enabled: false}
  invalidation: ttl-only
lambda: {enabled: false}
stripe: {mode: none}
network: none
`
	const failover = `
name: replicated-failover
warmup: 1s
duration: 8s
arrival: {model: constant, rate: 200}
keys: {object: customer, count: 200, distribution: uniform}
cache:
  l1: {enabled: false}
  l2: {enabled: true, topology: replicated, replicas: 2}
  l3: {enabled: false}
  invalidation: ttl-only
lambda: {enabled: false}
stripe: {mode: none}
network: none
faults: [{at: 1s, for: 5s, target: redis, kind: failover}]
`
	env := mockstest.StartConfig(t, mocks.Config{Provider: mocks.ProviderLocal, Redis: bench.RedisTopology(parse(t, replicaReads))})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	primary, err := env.RedisPrimary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	replicas, err := env.RedisReplicas(ctx)
	if err != nil || len(replicas) != 2 {
		t.Fatalf("replicas %v, %v; want 2", replicas, err)
	}

	t.Run("read_from replica", func(t *testing.T) {
		before := map[string]int64{primary: keyspaceHits(t, env, primary)}
		for _, a := range replicas {
			before[a] = keyspaceHits(t, env, a)
		}
		res := runReplicated(t, env, replicaReads)
		var fromReplicas int64
		for _, a := range replicas {
			fromReplicas += keyspaceHits(t, env, a) - before[a]
		}
		fromPrimary := keyspaceHits(t, env, primary) - before[primary]
		l2 := res.Tiers.L2
		t.Logf("L2 %d hits (%d coalesced); keyspace hits: replicas %d, primary %d", l2.Hits, l2.Coalesced, fromReplicas, fromPrimary)
		// One reader coalesces nothing: every L2 hit was a GET a replica answered. The
		// primary sees only the cache's writes (its guarded SET reads the old value).
		if l2.Hits == 0 || fromReplicas < l2.Hits-l2.Coalesced || fromPrimary*10 >= l2.Hits {
			t.Errorf("L2 %d hits, replicas' keyspace hits %d, primary's %d: the replicas must serve the reads", res.Tiers.L2.Hits, fromReplicas, fromPrimary)
		}
	})

	t.Run("failover", func(t *testing.T) {
		res := runReplicated(t, env, failover)
		f := res.Failover
		if f == nil {
			t.Fatalf("no failover block; notes %v", res.Notes)
		}
		t.Logf("failover %+v; L2 %d hits, %d failed", *f, res.Tiers.L2.Hits, res.Tiers.L2.Failed)
		if f.ReadsFailed != 0 || res.Requests.Errors != 0 {
			t.Errorf("%d reads failed after the kill, %d errors in all; want none while Stripe answers", f.ReadsFailed, res.Requests.Errors)
		}
		if f.L2RecoveryS <= 0 || f.L2RecoveryS > 6 {
			t.Errorf("l2_recovery_s %v: want L2 hits back some time after the kill, before the run's end", f.L2RecoveryS)
		}
		if f.Killed != primary || f.Promoted == "" || f.Promoted == f.Killed {
			t.Errorf("killed %q (the primary was %s), promoted %q: want a replica promoted", f.Killed, primary, f.Promoted)
		}
		if res.Servers != nil && res.Servers.Redis != nil {
			t.Errorf("servers.redis %+v: the INFO deltas of two different primaries must be left out", *res.Servers.Redis)
		}
		if f.WritesLost < 0 || f.WritesChecked == 0 {
			t.Errorf("writes lost %d of %d checked: the check must run", f.WritesLost, f.WritesChecked)
		}
	})
}

func runReplicated(t *testing.T, env *mocks.Env, yaml string) *reports.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := bench.Run(ctx, parse(t, yaml), env, bench.Options{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}
