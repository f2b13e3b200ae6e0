package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
	"github.com/cachebench/cachebench/reports"
)

// quietStart is how long the first reads of the servers tests wait, so that the
// services' counters are read at the start of the measured part before any of its
// requests reaches them: the relations below then hold exactly.
const quietStart = 300 * time.Millisecond

// holdQuiet is a BeforeRead hook that holds the reads intended in the first quietStart
// back until then.
func holdQuiet(at time.Duration, intended time.Time) {
	if at < quietStart {
		time.Sleep(time.Until(intended.Add(quietStart - at)))
	}
}

// wantKeyspaceLookups checks that Redis's keyspace hits and misses are the L2 lookups the
// reads made plus one per guarded fill after a fetch; a lookup that failed (a time-out on
// a loaded machine) may not have reached Redis. With ownGet, every read made a GET of its
// own before any coalescing, and a shared lookup that read L2 again made one more
// (Rereads): Hits + Misses + Rereads GETs. Without (a tracking L1), a coalesced read made
// none: Hits + Misses - Coalesced. why is appended to the message.
func wantKeyspaceLookups(t *testing.T, res *reports.Result, ownGet bool, why string) {
	t.Helper()
	l2, o, rs := res.Tiers.L2, res.Origin, res.Servers.Redis
	gets := l2.Hits + l2.Misses - l2.Coalesced
	if ownGet {
		gets = l2.Hits + l2.Misses + l2.Rereads
	}
	if n := *rs.KeyspaceHits + *rs.KeyspaceMisses; n > gets+o.Fetches || n < gets+o.Fetches-l2.Failed {
		t.Errorf("keyspace hits + misses = %d, want L2 lookups made %d + guarded fills %d = %d (%d lookups failed, %d coalesced, %d read again)%s",
			n, gets, o.Fetches, gets+o.Fetches, l2.Failed, l2.Coalesced, l2.Rereads, why)
	}
}

// runQuiet runs sc on env with no warm-up, holding the reads intended in its first
// quietStart back until then, and checks the counters' identities.
func runQuiet(t *testing.T, env *mocks.Env, yaml string) *reports.Result {
	t.Helper()
	sc := parse(t, yaml)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := bench.Run(ctx, sc, env, bench.Options{Hooks: bench.Hooks{BeforeRead: holdQuiet}})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	checkCounters(t, sc, res)
	if res.Requests.Errors > 0 {
		t.Fatalf("%d errors: %v", res.Requests.Errors, res.Requests.ErrorKinds)
	}
	if res.Servers == nil {
		t.Fatal("no servers block")
	}
	return res
}

// TestServersRedisMatchesL2 runs an L2-only scenario against a real redis-server and
// checks Redis's own keyspace counters against cachebench's L2 counters. Each read makes
// one GET of its own, a keyspace hit or miss; a read that missed joins the key's shared
// lookup, which reads L2 once more when a write through the cache finished in between
// (L2 rereads); and each fill of L2 after a Stripe fetch runs the version guard, which
// reads the key first: one more keyspace miss (no other instance fills these keys
// first). So, exactly:
//
//	keyspace_hits + keyspace_misses = L2 hits + L2 misses + L2 rereads + origin fetches
//	L2 hits - L2 coalesced <= keyspace_hits <= L2 hits
//
// (a coalesced read's own GET missed; its hit, if any, is the shared lookup's), and with
// no coalesced lookup and no reread, keyspace_hits = L2 hits and keyspace_misses = L2
// misses + origin fetches. The Stripe emulation's reads are the reads' origin calls.
func TestServersRedisMatchesL2(t *testing.T) {
	env := local.Get(t)
	res := runQuiet(t, env, `
name: servers-redis
warmup: 0s
duration: 2s
arrival: {model: closed, concurrency: 2}
keys: {object: customer, count: 200, distribution: uniform}
cache:
  l1: {enabled: false}
  l2: {enabled: true}
  l3: {enabled: false}
  invalidation: ttl-only
lambda: {enabled: false}
stripe: {mode: none}
network: none
`)
	rs, l2, o := res.Servers.Redis, res.Tiers.L2, res.Origin
	if rs == nil || rs.KeyspaceHits == nil || rs.KeyspaceMisses == nil || rs.Commands == nil || rs.UsedMemoryPeakBytes == nil {
		t.Fatalf("servers.redis = %+v: a real Redis reports every counter", rs)
	}
	hits, misses := *rs.KeyspaceHits, *rs.KeyspaceMisses
	t.Logf("L2 %d hits, %d misses, %d coalesced, %d read again; %d fetches; Redis keyspace %d hits, %d misses, %d commands, peak %d bytes",
		l2.Hits, l2.Misses, l2.Coalesced, l2.Rereads, o.Fetches, hits, misses, *rs.Commands, *rs.UsedMemoryPeakBytes)
	if l2.Hits == 0 || o.Fetches == 0 {
		t.Fatalf("L2 %d hits, %d fetches: the run must both hit and fill", l2.Hits, o.Fetches)
	}
	gets := l2.Hits + l2.Misses - l2.Coalesced
	wantKeyspaceLookups(t, res, true, "")
	if hits > l2.Hits || hits < l2.Hits-l2.Coalesced {
		t.Errorf("keyspace_hits %d, want within L2 hits %d less the %d coalesced lookups", hits, l2.Hits, l2.Coalesced)
	}
	if l2.Coalesced == 0 && l2.Failed == 0 && l2.Rereads == 0 && (hits != l2.Hits || misses != l2.Misses+o.Fetches) {
		t.Errorf("no coalescing: keyspace %d hits, %d misses; want %d and %d + %d", hits, misses, l2.Hits, l2.Misses, o.Fetches)
	}
	if *rs.Commands < gets+o.Fetches {
		t.Errorf("%d commands, fewer than the %d GETs and guarded writes", *rs.Commands, gets+o.Fetches)
	}
	if st := res.Servers.Stripe; st == nil || st.Reads != o.Calls {
		t.Errorf("servers.stripe = %+v, want its reads = the reads' %d origin calls", st, o.Calls)
	}
}

// TestServersDynamoDBCapacity runs an L3-only scenario against DynamoDB Local and checks
// the capacity DynamoDB reported for the measured part: an eventually consistent GetItem
// of an item up to 4 KB, found or not, consumes 0.5 read units, so the read units are
// half the L3 lookups the reads made; every fill is one PutItem of at least one write
// unit.
func TestServersDynamoDBCapacity(t *testing.T) {
	env := local.Get(t)
	res := runQuiet(t, env, `
name: servers-dynamodb
warmup: 0s
duration: 2s
arrival: {model: closed, concurrency: 2}
keys: {object: customer, count: 100, distribution: uniform}
cache:
  l1: {enabled: false}
  l2: {enabled: false}
  l3: {enabled: true}
  invalidation: ttl-only
lambda: {enabled: false}
stripe: {mode: none}
network: none
`)
	d, l3, o := res.Servers.DynamoDB, res.Tiers.L3, res.Origin
	if d == nil {
		t.Fatal("no servers.dynamodb: DynamoDB Local reports consumed capacity")
	}
	gets := l3.Hits + l3.Misses - l3.Coalesced
	t.Logf("L3 %d lookups made (%d hits, %d misses, %d coalesced, %d failed), %d fills; DynamoDB reported %.1f RCU, %.1f WCU",
		gets, l3.Hits, l3.Misses, l3.Coalesced, l3.Failed, o.Fetches, d.ConsumedRCU, d.ConsumedWCU)
	// A lookup that failed (a time-out on a loaded machine) may or may not have reached
	// DynamoDB; every other lookup did, once.
	if lo, hi := 0.5*float64(gets-l3.Failed), 0.5*float64(gets); d.ConsumedRCU < lo || d.ConsumedRCU > hi {
		t.Errorf("consumed RCU %.1f, want 0.5 per GetItem: %.1f (%d lookups failed: down to %.1f)", d.ConsumedRCU, hi, l3.Failed, lo)
	}
	if d.ConsumedWCU < float64(o.Fetches) {
		t.Errorf("consumed WCU %.1f, want at least one per fill (%d)", d.ConsumedWCU, o.Fetches)
	}
}

// TestServersEmbeddedOmitsUnreported runs on the embedded environment, whose miniredis
// answers INFO with its command count only: the other Redis counters are left out, not
// written as zeros, and the in-memory L3 reports its capacity like DynamoDB.
func TestServersEmbeddedOmitsUnreported(t *testing.T) {
	sc := parse(t, `
name: servers-embedded
warmup: 0s
duration: 1s
arrival: {model: constant, rate: 200}
keys: {object: customer, count: 50, distribution: uniform}
cache:
  l1: {enabled: false}
  l2: {enabled: true}
  l3: {enabled: true}
lambda: {enabled: false}
stripe: {mode: none}
network: none
`)
	res := run(t, sc, bench.Options{})
	sv := res.Servers
	if sv == nil || sv.Redis == nil || sv.DynamoDB == nil || sv.Stripe == nil {
		t.Fatalf("servers = %+v: want redis, dynamodb and stripe", sv)
	}
	r := sv.Redis
	if r.Commands == nil || *r.Commands <= 0 {
		t.Errorf("servers.redis.commands = %v, want miniredis's command count", r.Commands)
	}
	if r.KeyspaceHits != nil || r.KeyspaceMisses != nil || r.EvictedKeys != nil || r.ExpiredKeys != nil || r.UsedMemoryPeakBytes != nil {
		t.Errorf("servers.redis = %+v: miniredis does not report these, so they must be left out", *r)
	}
	if sv.DynamoDB.ConsumedRCU <= 0 {
		t.Errorf("servers.dynamodb = %+v, want the read units the in-memory L3 reported", *sv.DynamoDB)
	}
}

// TestServersRedisClusterMatchesL2 is TestServersRedisMatchesL2 on a Redis Cluster the
// local provider starts: 3 shards with a replica each, TLS, and the cache connected as
// the ACL user (so the user's commands are all the run needs). servers.redis sums the
// primaries' own INFO counters, and with one reader (nothing coalesced) keyspace_hits
// must equal L2 hits exactly, and keyspace_misses L2 misses plus the guarded fills.
func TestServersRedisClusterMatchesL2(t *testing.T) {
	const yaml = `
name: servers-redis-cluster
warmup: 0s
duration: 2s
arrival: {model: closed, concurrency: 1}
keys: {object: customer, count: 200, distribution: uniform}
cache:
  l1: {enabled: false}
  l2: {enabled: true, topology: cluster, shards: 3, replicas: 1, tls: true, auth: acl}
  l3: {enabled: false}
  invalidation: ttl-only
lambda: {enabled: false}
stripe: {mode: none}
network: none
`
	env := mockstest.StartConfig(t, mocks.Config{Provider: mocks.ProviderLocal, Redis: bench.RedisTopology(parse(t, yaml))})
	res := runQuiet(t, env, yaml)
	e := res.Environment
	if e.RedisTopology != "cluster" || e.Shards != 3 || e.Replicas != 1 || !e.TLS || e.Auth != "acl" {
		t.Errorf("environment %+v does not name the cluster, TLS and ACL", e)
	}
	rs, l2, o := res.Servers.Redis, res.Tiers.L2, res.Origin
	if rs == nil || rs.KeyspaceHits == nil || rs.KeyspaceMisses == nil {
		t.Fatalf("servers.redis = %+v: a real Redis Cluster reports its keyspace counters", rs)
	}
	hits, misses := *rs.KeyspaceHits, *rs.KeyspaceMisses
	t.Logf("L2 %d hits, %d misses, %d coalesced, %d failed; %d fetches; cluster keyspace %d hits, %d misses",
		l2.Hits, l2.Misses, l2.Coalesced, l2.Failed, o.Fetches, hits, misses)
	if l2.Hits == 0 || o.Fetches == 0 {
		t.Fatalf("L2 %d hits, %d fetches: the run must both hit and fill", l2.Hits, o.Fetches)
	}
	if l2.Failed > 0 {
		t.Errorf("%d L2 lookups failed on the cluster", l2.Failed)
	}
	wantKeyspaceLookups(t, res, true, " (summed over the cluster's primaries)")
	// One reader coalesces nothing, so the identities are exact.
	if l2.Coalesced != 0 {
		t.Errorf("%d coalesced lookups with one reader", l2.Coalesced)
	}
	if hits != l2.Hits || misses != l2.Misses+o.Fetches {
		t.Errorf("keyspace summed over the primaries: %d hits, %d misses; want %d and %d + %d", hits, misses, l2.Hits, l2.Misses, o.Fetches)
	}
}
