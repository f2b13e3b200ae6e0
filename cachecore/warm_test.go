package cachecore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/mocks"
)

// TestWarmFromHotKeys: one cache reads a few keys far more than the rest; its sampled
// tally reaches the hot list in Redis; a second cache with an empty L1 warms from that
// list, and its first reads of the hottest keys are L1 hits.
func TestWarmFromHotKeys(t *testing.T) {
	env := tierEnv(t, mocks.ProviderLocal)
	u := tierUnique(t)
	origin := OriginFunc(func(ctx context.Context, ref Ref) ([]byte, int64, bool, error) {
		return []byte(fmt.Sprintf(`{"id":%q,"object":"customer"}`, ref.ID)), 1, true, nil
	})
	hot := func(c *Config) {
		c.HotKeys, c.HotKeysKey, c.HotKeysEvery = 5, "hot:"+u, 20*time.Millisecond
		c.L3 = nil
	}
	a := fullCache(t, env, origin, "cb-warm-"+u, "warm:"+u+":", hot)
	b := fullCache(t, env, origin, "cb-warm-"+u, "warm:"+u+":", hot)
	ctx := context.Background()
	ref := func(i int) Ref { return Ref{Object: ObjectCustomer, ID: fmt.Sprintf("cus_w%02d", i)} }
	// Keys 0..4 are read 400 times each, keys 5..29 four times: with one read in 16
	// tallied, the five hot keys lead the list.
	for round := 0; round < 400; round++ {
		for i := 0; i < 5; i++ {
			if _, err := a.Get(ctx, ref(i)); err != nil {
				t.Fatal(err)
			}
		}
		if round < 4 {
			for i := 5; i < 30; i++ {
				if _, err := a.Get(ctx, ref(i)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// The tally reaches Redis every HotKeysEvery: a flush made while the loop ran may
	// hold the cold keys' early counts alone, so wait for one made after it.
	flushed := a.Stats().HotKeyFlushes
	var top []string
	hotLead := func() bool {
		var err error
		if top, err = a.cfg.Redis.ZRevRange(ctx, "hot:"+u, 0, 4).Result(); err != nil || len(top) < 5 {
			return false
		}
		for _, k := range top {
			if !strings.HasPrefix(k, "customer:cus_w0") || k > "customer:cus_w04" {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(5 * time.Second); !(a.Stats().HotKeyFlushes > flushed && hotLead()); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("hot list %v 5 s after the reads: want the five keys read 400 times", top)
		}
	}
	rep, err := b.Warm(ctx, WarmOptions{Keys: 5, Budget: time.Second})
	if err != nil || rep.Listed != 5 || rep.Loaded != 5 || rep.OverBudget || rep.Took <= 0 {
		t.Fatalf("Warm = %+v, %v; want 5 listed and loaded within the budget", rep, err)
	}
	for i := 0; i < 5; i++ {
		if res, err := b.Get(ctx, ref(i)); err != nil || res.Tier != TierL1 {
			t.Fatalf("warmed b reads %s from %s (%v), want l1", ref(i).ID, res.Tier, err)
		}
	}
	if st := b.Stats(); st.Warmed != 5 || st.L1.Hits != 5 || st.L1.Misses != 0 {
		t.Fatalf("b: warmed %d, L1 %d hits %d misses; want 5, 5, 0", st.Warmed, st.L1.Hits, st.L1.Misses)
	}
	// A given list: keys absent from L2 are listed but not loaded.
	rep, err = b.Warm(ctx, WarmOptions{List: []string{ref(7).Key(), "customer:cus_never"}})
	if err != nil || rep.Listed != 2 || rep.Loaded != 1 {
		t.Fatalf("Warm(List) = %+v, %v; want 2 listed, 1 loaded", rep, err)
	}
}

// TestWarmRefusals: Warm names what it lacks instead of doing nothing.
func TestWarmRefusals(t *testing.T) {
	origin := &fakeOrigin{objects: map[string][]byte{}}
	ctx := context.Background()
	noL2 := newTestCache(t, Config{L1: mustL1(t, L1Config{}), Origin: origin})
	if _, err := noL2.Warm(ctx, WarmOptions{Keys: 10}); err == nil || !strings.Contains(err.Error(), "L2") {
		t.Fatalf("Warm without L2: %v", err)
	}
	noHot := newTestCache(t, Config{L1: mustL1(t, L1Config{}), L2: newFakeTier("l2"), Origin: origin})
	if _, err := noHot.Warm(ctx, WarmOptions{Keys: 10}); err == nil || !strings.Contains(err.Error(), "HotKeys") {
		t.Fatalf("Warm from the hot list without HotKeys: %v", err)
	}
	if _, err := New(Config{Origin: origin, HotKeys: 10}); err == nil || !strings.Contains(err.Error(), "Redis") {
		t.Fatalf("HotKeys without Redis: %v", err)
	}
}

// TestFlushHotKeysManual: with HotKeysEvery negative no background flush runs; the tally
// reaches the hot list only when FlushHotKeys is called.
func TestFlushHotKeysManual(t *testing.T) {
	env := tierEnv(t, mocks.ProviderEmbedded)
	u := tierUnique(t)
	origin := OriginFunc(func(ctx context.Context, ref Ref) ([]byte, int64, bool, error) {
		return []byte(fmt.Sprintf(`{"id":%q,"object":"customer"}`, ref.ID)), 1, true, nil
	})
	c := fullCache(t, env, origin, "cb-flush-"+u, "flush:"+u+":", func(c *Config) {
		c.HotKeys, c.HotKeysKey, c.HotKeysEvery = 5, "hot:"+u, -1
		c.L3 = nil
	})
	ctx := context.Background()
	for range 200 {
		if _, err := c.Get(ctx, Ref{Object: ObjectCustomer, ID: "cus_hot"}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // a background flush would have run by now
	if n, err := c.cfg.Redis.ZCard(ctx, "hot:"+u).Result(); err != nil || n != 0 || c.Stats().HotKeyFlushes != 0 {
		t.Fatalf("before FlushHotKeys: %d hot keys (%v), %d flushes; want none", n, err, c.Stats().HotKeyFlushes)
	}
	c.FlushHotKeys(ctx)
	if top, err := c.cfg.Redis.ZRevRange(ctx, "hot:"+u, 0, 0).Result(); err != nil || len(top) != 1 || top[0] != "customer:cus_hot" {
		t.Fatalf("after FlushHotKeys: hot list %v (%v), want customer:cus_hot", top, err)
	}
}
