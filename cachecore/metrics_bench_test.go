package cachecore

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// BenchmarkL1Hit measures Cache.GetKey served by L1 over a warmed cache (the keys and
// zipf picks of BenchmarkL1Get): the path every production read takes most often. With
// metrics=off the cache has no MeterProvider; with metrics=on it has an SDK MeterProvider
// with a ManualReader, which is what the read path pays for whatever the exporter. On
// shared cores whole runs differ by more than the cost of metrics: BenchmarkL1HitOverhead
// measures that cost in pairs.
func BenchmarkL1Hit(b *testing.B) {
	d := newL1BenchData()
	for _, on := range []bool{false, true} {
		name := "metrics=off"
		if on {
			name = "metrics=on"
		}
		b.Run(name, func(b *testing.B) {
			var cfg Config
			if on {
				mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
				b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
				cfg.MeterProvider = mp
			}
			l1HitRun(b, d, newL1HitCache(b, d, cfg))
		})
	}
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
	if d.now.Add(time.Hour).Before(time.Now()) {
		b.Fatal("the benchmark's entries have expired")
	}
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

// BenchmarkL1HitOverhead is BenchmarkL1Hit's two caches read in alternating blocks of
// l1OverheadBlock hits, each block timed and each side first in half the pairs, so that
// both meet the same machine (on shared cores a whole run of one can be 30% slower than a
// run of the other). It reports each side's ns per hit and overhead-%, metrics=on
// against metrics=off; b.N counts pairs of reads.
func BenchmarkL1HitOverhead(b *testing.B) {
	d := newL1BenchData()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	off := newL1HitCache(b, d, Config{})
	on := newL1HitCache(b, d, Config{MeterProvider: mp})
	ctx := context.Background()
	var spent [2]time.Duration
	var misses int
	size := 0
	block := func(c *Cache, from, n int) time.Duration {
		start := time.Now()
		for i := from; i < from+n; i++ {
			res, err := c.GetKey(ctx, d.keys[d.picks[i&(l1BenchPicks-1)]])
			if err != nil || res.Tier != TierL1 {
				misses++
			}
			size += len(res.Value)
		}
		return time.Since(start)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i, k := 0, 0; i < b.N; i, k = i+l1OverheadBlock, k+1 {
		n := min(l1OverheadBlock, b.N-i)
		if k%2 == 0 { // each side goes first in half the pairs: the second finds the picks in cache
			spent[0] += block(off, i, n)
			spent[1] += block(on, i, n)
		} else {
			spent[1] += block(on, i, n)
			spent[0] += block(off, i, n)
		}
	}
	b.StopTimer()
	l1BenchSink.Add(int64(size))
	if misses > 0 {
		b.Fatalf("%d reads were not L1 hits", misses)
	}
	offNs, onNs := float64(spent[0].Nanoseconds())/float64(b.N), float64(spent[1].Nanoseconds())/float64(b.N)
	b.ReportMetric(offNs, "off-ns/hit")
	b.ReportMetric(onNs, "on-ns/hit")
	b.ReportMetric(100*(onNs-offNs)/offNs, "overhead-%")
}

// l1OverheadBlock is BenchmarkL1HitOverhead's block: long enough that its two clock
// reads are lost in it, short enough that both sides see the same machine.
const l1OverheadBlock = 4096
