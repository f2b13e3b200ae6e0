package cachecore

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
)

// maxL2HitAllocs is the most allocations an L2 hit may make on the cache's default path
// (Pipeline auto), whether it goes to the connection itself (a lone caller) or through
// go-redis's autopipeliner (concurrent callers). The ones left are listed at
// RedisTier.Get.
const maxL2HitAllocs = 10

// TestL2HitAllocs counts the allocations of an L2 hit against a real Redis on the default
// path: a lone caller's, which goes to the connection itself, and those of 50 concurrent
// callers, which go through go-redis's autopipeliner and share its batches.
func TestL2HitAllocs(t *testing.T) {
	env := tierEnv(t, mocks.ProviderLocal)
	ctx := tierCtx(t)
	origin := &fakeOrigin{}
	now := time.Now()
	rc := env.NewRedisClient()
	t.Cleanup(func() { _ = rc.Close() })
	l2, err := NewRedisTier(RedisConfig{Client: rc, Prefix: "cbt:" + tierUnique(t) + ":"})
	if err != nil {
		t.Fatal(err)
	}
	key := Ref{Object: ObjectCustomer, ID: "cus_allocs"}.Key()
	e := Entry{Value: []byte(`{"id":"cus_allocs","object":"customer","email":"a@example.com","metadata":{}}`),
		Version: 1, FetchedAt: now, ExpiresAt: now.Add(time.Hour)}
	if _, err := l2.SetIfNewer(ctx, key, e); err != nil {
		t.Fatal(err)
	}
	c := newTestCache(t, Config{L2: l2, Origin: origin})
	var notL2 atomic.Int64
	get := func() {
		if res, err := c.GetKey(context.Background(), key); err != nil || res.Tier != TierL2 {
			notL2.Add(1)
		}
	}
	for i := 0; i < 20; i++ { // connections dialled, the deadline timers started
		get()
	}

	lone := testing.AllocsPerRun(200, get)

	// 50 callers, 100 hits each; the goroutines' own few allocations are counted too.
	const callers, each = 50, 100
	var start, end runtime.MemStats
	var wg sync.WaitGroup
	runtime.ReadMemStats(&start)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				get()
			}
		}()
	}
	wg.Wait()
	runtime.ReadMemStats(&end)
	concurrent := float64(end.Mallocs-start.Mallocs) / (callers * each)

	t.Logf("allocations per L2 hit: %.1f for a lone caller, %.1f with %d callers", lone, concurrent, callers)
	if n := notL2.Load(); n > 0 {
		t.Fatalf("%d reads were not L2 hits", n)
	}
	if lone > maxL2HitAllocs || concurrent > maxL2HitAllocs {
		t.Errorf("an L2 hit made %.1f allocations (lone caller) and %.1f (%d callers), want at most %d", lone, concurrent, callers, maxL2HitAllocs)
	}
	if s := c.Stats(); s.Coalesced != 0 || origin.calls.Load() != 0 {
		t.Errorf("coalesced %d, origin calls %d: want every read an L2 hit of its own", s.Coalesced, origin.calls.Load())
	}
}

// TestLookupRereadsL2AfterWrite: the coalesced lookup after a missed L2 read takes that
// read's answer, unless a write to L2 finished since it began; then it reads L2 again
// (another lookup of the key may have filled it), and the origin is not called.
func TestLookupRereadsL2AfterWrite(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	l2 := newFakeTier("l2")
	origin := &fakeOrigin{objects: map[string][]byte{"customer:cus_1": []byte(`{"id":"cus_1"}`)}}
	c := newTestCache(t, Config{L2: l2, Origin: origin})
	key := "customer:cus_1"

	p := &probed{writes: c.l2.writes.Load()} // a miss, with no write since
	res, err := c.loadAfter(ctx, key, p)
	if err != nil || res.Tier != TierOrigin || l2.calls.Load() != 1 { // the fill's write only
		t.Fatalf("no write since the miss: %s, %v, %d L2 calls; want the origin and no second read", res.Tier, err, l2.calls.Load())
	}
	if res.Trace.L2Reread {
		t.Error("no second L2 read, yet the trace says L2Reread")
	}

	// Another lookup filled L2 after this one's read missed.
	p = &probed{writes: c.l2.writes.Load()}
	c.l2.set(ctx, key, Entry{Value: []byte(`{"id":"cus_1"}`), Version: now.Add(time.Hour).UnixNano(), FetchedAt: now, ExpiresAt: now.Add(time.Hour)})
	calls := l2.calls.Load()
	res, err = c.loadAfter(ctx, key, p)
	if err != nil || res.Tier != TierL2 || l2.calls.Load() != calls+1 || origin.calls.Load() != 1 {
		t.Fatalf("after a write: %s, %v, %d L2 reads, %d origin calls; want L2 read again and hit", res.Tier, err, l2.calls.Load()-calls, origin.calls.Load())
	}
	if !res.Trace.L2Reread || res.Trace.joined().L2Reread {
		t.Errorf("after a write: L2Reread %v (want true), and %v for a read that joined (want false)", res.Trace.L2Reread, res.Trace.joined().L2Reread)
	}

	// A failed read is not made again: a down L2 costs a read one time-out.
	l2.fail.Store(true)
	calls = l2.calls.Load()
	if _, err := c.Get(ctx, Ref{Object: ObjectCustomer, ID: "cus_1"}); err != nil {
		t.Fatal(err)
	}
	if n := l2.calls.Load() - calls; n != 2 { // the read, and the fill's write
		t.Fatalf("with L2 failing a read made %d L2 calls, want 2 (one read, one write)", n)
	}
}

// TestRedisTierLoneConn: a lone caller's commands (Pipeline auto, over a *redis.Client)
// keep one connection of the client's pool while they come less than loneKeep apart,
// give it back after loneKeep and take another, go through the pool when they come
// further apart, and survive Redis closing the kept connection (as a failover does): the
// command goes again through the client, and no error is counted. A client whose pool
// cannot spare a connection, or with a client-side cache, keeps none.
func TestRedisTierLoneConn(t *testing.T) {
	env := tierEnv(t, mocks.ProviderLocal)
	opts := env.RedisOptions()
	if opts == nil {
		if mockstest.Required() {
			t.Fatalf("the local Redis is a %s; the test needs a standalone one", env.Redis.Topology)
		}
		t.Skipf("the local Redis is a %s; the test needs a standalone one", env.Redis.Topology)
	}
	ctx := tierCtx(t)
	rc := redis.NewClient(opts)
	t.Cleanup(func() { _ = rc.Close() })
	r, err := NewRedisTier(RedisConfig{Client: rc, Prefix: "cbt:" + tierUnique(t) + ":"})
	if err != nil {
		t.Fatal(err)
	}
	if r.lone == nil {
		t.Fatalf("no lone connection over a *redis.Client with a pool of %d", rc.Options().PoolSize)
	}
	now := time.Now()
	key := Ref{Object: ObjectCustomer, ID: "cus_lone"}.Key()
	e := Entry{Value: []byte(`{"id":"cus_lone"}`), Version: 1, FetchedAt: now, ExpiresAt: now.Add(time.Hour)}
	if _, err := r.SetIfNewer(ctx, key, e); err != nil {
		t.Fatal(err)
	}
	get := func(when string) {
		t.Helper()
		got, ok, err := r.Get(ctx, key)
		if err != nil || !ok || !bytes.Equal(got.Value, e.Value) {
			t.Fatalf("Get %s: %q, %v, %v; want the entry stored", when, got.Value, ok, err)
		}
	}
	// The write was EVALSHA, and EVAL after NOSCRIPT: the second may have kept one.
	if r.lone.conn != nil {
		r.lone.drop()
	}
	r.lone.last = r.lone.last.Add(-loneKeep)
	get("loneKeep after the last command")
	if r.lone.conn != nil {
		t.Fatal("a lone command loneKeep after the last kept a connection; want it sent through the pool")
	}
	get("right after")
	kept := r.lone.conn
	if kept == nil {
		t.Fatal("a lone command right after another kept no connection")
	}
	get("again")
	if r.lone.conn != kept {
		t.Fatal("a third lone command took another connection; want the one kept")
	}

	// Redis closes the kept connection.
	id, err := kept.ClientID(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	admin := env.NewAdminRedisClient()
	t.Cleanup(func() { _ = admin.Close() })
	if err := admin.ClientKillByFilter(ctx, "ID", strconv.FormatInt(id, 10)).Err(); err != nil {
		t.Fatal(err)
	}
	get("after Redis closed the kept connection")
	if r.lone.conn != nil {
		t.Error("the connection Redis closed is still kept")
	}
	if s := r.Stats(); s.Errors != 0 || s.Hits != 4 {
		t.Errorf("stats %+v; want 4 hits and no error", s)
	}
	get("after that")
	if r.lone.conn == nil {
		t.Fatal("no connection kept after the closed one was given up")
	}

	// Kept loneKeep: given back, and another taken.
	kept = r.lone.conn
	r.lone.taken = r.lone.taken.Add(-loneKeep)
	get("with the connection kept loneKeep")
	if r.lone.conn == nil || r.lone.conn == kept {
		t.Error("a connection kept loneKeep was not replaced")
	}

	// Commands loneKeep apart go through the pool.
	r.lone.taken = r.lone.taken.Add(-loneKeep)
	r.lone.last = r.lone.last.Add(-loneKeep)
	get("loneKeep after the last")
	if r.lone.conn != nil {
		t.Error("a lone command loneKeep after the last kept a connection; want it sent through the pool")
	}
	if st := rc.PoolStats(); st.IdleConns != st.TotalConns {
		t.Errorf("pool: %d connections, %d idle; want every one given back", st.TotalConns, st.IdleConns)
	}

	// Pools that cannot spare a connection, and other clients, keep none.
	small := *opts
	small.PoolSize = loneMinPool - 1
	sc := redis.NewClient(&small)
	t.Cleanup(func() { _ = sc.Close() })
	_, tc, err := NewTrackingL1(L1Config{Policy: l1PolicyTracking}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tc.Close() })
	uc := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{opts.Addr}, Username: opts.Username,
		Password: opts.Password, TLSConfig: opts.TLSConfig, IsClusterMode: true})
	t.Cleanup(func() { _ = uc.Close() })
	for _, c := range []struct {
		name string
		cfg  RedisConfig
	}{
		{"a pool of loneMinPool-1", RedisConfig{Client: sc}},
		{"Pipeline never", RedisConfig{Client: rc, Pipeline: PipelineNever}},
		{"Pipeline always", RedisConfig{Client: rc, Pipeline: PipelineAlways}},
		{"a cluster client", RedisConfig{Client: uc}},
		{"a client with a client-side cache", RedisConfig{Client: tc}},
	} {
		if r, err := NewRedisTier(c.cfg); err != nil || r.lone != nil {
			t.Errorf("%s: %v, lone connection %v; want none", c.name, err, err == nil && r.lone != nil)
		}
	}
}
