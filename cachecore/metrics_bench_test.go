package cachecore

import (
	"context"
	"testing"
)

// BenchmarkL1Hit measures Cache.GetKey served by L1 over a warmed cache (the keys and
// zipf picks of BenchmarkL1Get), with no MeterProvider set: the path every production
// read takes most often, so that what instrumenting it costs shows beside it.
func BenchmarkL1Hit(b *testing.B) {
	d := newL1BenchData()
	b.Run("metrics=off", func(b *testing.B) {
		c := newL1HitCache(b, d, Config{})
		l1HitRun(b, d, c)
	})
}

// newL1HitCache returns a cache whose L1 holds every key of d, configured by cfg (L1 and
// Origin are set here; the origin is never called). The clock is the real one, as in
// production: the entries live an hour.
func newL1HitCache(b *testing.B, d *l1BenchData, cfg Config) *Cache {
	b.Helper()
	l1, err := NewL1(L1Config{Policy: l1PolicyTinyLFU, MaxEntries: 2 * l1BenchKeys})
	if err != nil {
		b.Fatal(err)
	}
	for i, k := range d.keys {
		if !l1.SetIfNewer(k, d.entries[i], d.now) {
			b.Fatalf("SetIfNewer(%s) = false", k)
		}
	}
	l1.cleanUp()
	cfg.L1 = l1
	cfg.Origin = OriginFunc(func(context.Context, Ref) ([]byte, int64, bool, error) {
		b.Error("origin called on a warmed cache")
		return nil, 0, false, ErrNotFound
	})
	return newBenchCache(b, cfg)
}

// l1HitRun reads the picked keys through c.GetKey, serially and from GOMAXPROCS
// goroutines, and fails the benchmark if a read is not an L1 hit.
func l1HitRun(b *testing.B, d *l1BenchData, c *Cache) {
	ctx := context.Background()
	l1BenchRun(b, d, func(key string) (int, bool) {
		res, err := c.GetKey(ctx, key)
		return len(res.Value), err == nil && res.Tier == TierL1
	})
}
