package cachecore

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachebench/cachebench/mocks"
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
