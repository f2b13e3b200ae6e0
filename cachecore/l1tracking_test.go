package cachecore

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/mocks"
)

// trackingCache builds a Cache whose L1 is a tracking L1 over env's real Redis, with the
// L2 tier on the tracking client.
func trackingCache(t *testing.T, env *mocks.Env, origin Origin, prefix string) (*Cache, *L1) {
	t.Helper()
	opts := env.RedisOptions()
	if opts == nil {
		t.Fatal("no standalone Redis options")
	}
	l1, rc, err := NewTrackingL1(L1Config{Policy: l1PolicyTracking, TTL: time.Minute}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	l2, err := NewRedisTier(RedisConfig{Client: rc, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return newTestCache(t, Config{L1: l1, L2: l2, Origin: origin, L2Timeout: time.Second}), l1
}

// TestTrackingL1 runs the tracking policy against a real Redis: the first read fetches and
// writes L2, the second reads L2 (and go-redis keeps the reply), the third is answered by
// the client's own cache as an L1 hit. A write by another instance reaches it as Redis's
// invalidation; while frozen the invalidation waits, and the frozen instance serves the
// old version until it thaws.
func TestTrackingL1(t *testing.T) {
	env := tierEnv(t, mocks.ProviderLocal)
	var version atomic.Int64
	version.Store(1)
	origin := versionedOrigin(&version)
	prefix := "trk:" + tierUnique(t) + ":"
	a, _ := trackingCache(t, env, origin, prefix)
	b, bl1 := trackingCache(t, env, origin, prefix)
	ctx := context.Background()
	ref := Ref{Object: ObjectCustomer, ID: "cus_trk"}
	read := func(c *Cache) Result {
		t.Helper()
		res, err := c.Get(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := read(a); res.Tier != TierOrigin || res.Version != 1 {
		t.Fatalf("first read of a: version %d from %s, want 1 from the origin", res.Version, res.Tier)
	}
	// The next reads go to Redis until go-redis keeps a reply: Redis's invalidation of
	// the fill, read after a later GET, may drop that GET's reply once.
	untilLocal := func(c *Cache, version int64) {
		t.Helper()
		for i := 0; i < 200; i++ {
			res := read(c)
			if res.Version != version {
				t.Fatalf("read %d: version %d from %s, want %d", i, res.Version, res.Tier, version)
			}
			if res.Tier == TierL1 {
				return
			}
			if res.Tier != TierL2 {
				t.Fatalf("read %d: from %s, want l2 until the client keeps the reply", i, res.Tier)
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatal("no read answered by the client's own cache in 200")
	}
	untilLocal(a, 1)
	if res := read(a); res.Tier != TierL1 {
		t.Fatalf("the read after an L1 hit came from %s", res.Tier)
	}
	st := a.Stats()
	ts := a.cfg.L2.(*RedisTier).Stats()
	if st.L1.Hits < 2 || st.L1.Misses != ts.Gets || st.L2.Hits+st.L2.Misses != ts.Gets {
		t.Fatalf("a: L1 %d hits %d misses, L2 %d hits %d misses, Redis GETs %d: want every L1 miss, and nothing else, to be a Redis GET",
			st.L1.Hits, st.L1.Misses, st.L2.Hits, st.L2.Misses, ts.Gets)
	}
	if s := a.cfg.L1.Stats(); s.Entries != 1 || s.Bytes <= 0 {
		t.Fatalf("a's tracking L1 holds %d entries of %d bytes, want 1", s.Entries, s.Bytes)
	}
	untilLocal(b, 1)

	// A newer version written by a reaches b as Redis's invalidation.
	version.Store(2)
	if err := a.Apply(ctx, customerEvent("cus_trk", 2, "customer.updated")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return bl1.Stats().Invalidations >= 1 })
	if res := read(b); res.Version != 2 || res.Tier != TierL2 {
		t.Fatalf("b after the invalidation: version %d from %s, want 2 from l2", res.Version, res.Tier)
	}
	untilLocal(b, 2)

	// Frozen, b receives the next invalidation but holds it, and serves version 2.
	bl1.Freeze()
	before := bl1.Stats().Invalidations
	if err := a.Apply(ctx, customerEvent("cus_trk", 3, "customer.updated")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return bl1.Stats().Invalidations > before })
	time.Sleep(20 * time.Millisecond)
	if res := read(b); res.Version != 2 || res.Tier != TierL1 {
		t.Fatalf("frozen b: version %d from %s, want the stale 2 from l1", res.Version, res.Tier)
	}
	bl1.Thaw()
	waitFor(t, func() bool { return bl1.Stats().InvalidationsHeld >= 1 })
	if res := read(b); res.Version != 3 {
		t.Fatalf("thawed b: version %d from %s, want 3", res.Version, res.Tier)
	}
	if s := bl1.Stats(); s.HeldMax < 20*time.Millisecond || s.HeldTotal < s.HeldMax {
		t.Fatalf("held %d invalidations, longest %v, total %v: want at least the 20ms b was frozen", s.InvalidationsHeld, s.HeldMax, s.HeldTotal)
	}
}

// TestTrackingL1NeedsItsClient: a tracking L1 is the L2 client's own cache, so a Cache
// whose L2 uses another client, or NewL1 asked for tracking, is refused with the fix.
func TestTrackingL1NeedsItsClient(t *testing.T) {
	if _, err := NewL1(L1Config{Policy: l1PolicyTracking}); err == nil || !strings.Contains(err.Error(), "NewTrackingL1") {
		t.Fatalf("NewL1 tracking: %v, want an error naming NewTrackingL1", err)
	}
	l1, rc, err := NewTrackingL1(L1Config{Policy: l1PolicyTracking}, &redis.Options{Addr: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	other := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer other.Close()
	l2, err := NewRedisTier(RedisConfig{Client: other})
	if err != nil {
		t.Fatal(err)
	}
	origin := &fakeOrigin{objects: map[string][]byte{}}
	if _, err := New(Config{L1: l1, L2: l2, Origin: origin}); err == nil || !strings.Contains(err.Error(), "tracking") {
		t.Fatalf("New with another client's L2: %v, want the tracking error", err)
	}
	if _, err := New(Config{L1: l1, Origin: origin}); err == nil {
		t.Fatal("New with a tracking L1 and no L2: no error")
	}
}
