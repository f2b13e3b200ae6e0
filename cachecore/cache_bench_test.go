package cachecore

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
)

// benchEnv is the services the cache-path benchmarks run against: the local provider (real
// redis-server, DynamoDB Local, stripe-mock), shared by every benchmark of the binary.
var benchEnv = &mockstest.Shared{Provider: mocks.ProviderLocal}

// benchRedis returns the Redis client for benchmarks: CACHEBENCH_BENCH_REDIS_URL when set
// (scripts/bench-l2.sh points it at the Redis it also measures with redis-benchmark),
// else the shared environment's.
func benchRedis(b *testing.B, env *mocks.Env) redis.UniversalClient {
	b.Helper()
	u := os.Getenv("CACHEBENCH_BENCH_REDIS_URL")
	if u == "" {
		return env.NewRedisClient()
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		b.Fatalf("CACHEBENCH_BENCH_REDIS_URL: %v", err)
	}
	opts.PoolSize = 64
	return redis.NewClient(opts)
}

// latencies records per-goroutine HdrHistograms and merges them at the end.
type latencies struct {
	mu  sync.Mutex
	all *hdrhistogram.Histogram
}

func newLatencies() *latencies {
	return &latencies{all: hdrhistogram.New(1, int64(10*time.Second/time.Nanosecond), 3)}
}

func (l *latencies) local() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(10*time.Second/time.Nanosecond), 3)
}

func (l *latencies) merge(h *hdrhistogram.Histogram) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.all.Merge(h)
}

func (l *latencies) report(b *testing.B) {
	b.ReportMetric(float64(l.all.ValueAtQuantile(50))/1e3, "p50-us")
	b.ReportMetric(float64(l.all.ValueAtQuantile(99))/1e3, "p99-us")
}

// runGets measures c.GetKey over keys, serially or from parallel goroutines, and reports
// the p50/p99 and the tier that served the reads.
// runRedisGets is runGets for plain go-redis GETs of full keys.
func runRedisGets(b *testing.B, rc redis.UniversalClient, full []string, parallel bool) {
	b.Helper()
	lat := newLatencies()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var next atomic.Int64
	get := func(h *hdrhistogram.Histogram) bool {
		i := next.Add(1)
		start := time.Now()
		_, err := rc.Get(ctx, full[int(i)%len(full)]).Bytes()
		h.RecordValue(int64(time.Since(start)))
		if err != nil {
			b.Error(err)
			return false
		}
		return true
	}
	if !parallel {
		h := lat.local()
		for i := 0; i < b.N && get(h); i++ {
		}
		lat.merge(h)
	} else {
		b.RunParallel(func(pb *testing.PB) {
			h := lat.local()
			for pb.Next() && get(h) {
			}
			lat.merge(h)
		})
	}
	b.StopTimer()
	lat.report(b)
}

func runGets(b *testing.B, c *Cache, keys []string, parallel bool, wantTier TierID) {
	b.Helper()
	lat := newLatencies()
	var wrongTier atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	if !parallel {
		h := lat.local()
		for i := 0; i < b.N; i++ {
			start := time.Now()
			res, err := c.GetKey(ctx, keys[i%len(keys)])
			h.RecordValue(int64(time.Since(start)))
			if err != nil {
				b.Fatal(err)
			}
			if res.Tier != wantTier {
				wrongTier.Add(1)
			}
		}
		lat.merge(h)
	} else {
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			h := lat.local()
			for pb.Next() {
				i := next.Add(1)
				start := time.Now()
				res, err := c.GetKey(ctx, keys[int(i)%len(keys)])
				h.RecordValue(int64(time.Since(start)))
				if err != nil {
					b.Error(err)
					return
				}
				if res.Tier != wantTier {
					wrongTier.Add(1)
				}
			}
			lat.merge(h)
		})
	}
	b.StopTimer()
	lat.report(b)
	if n := wrongTier.Load(); n > 0 {
		b.ReportMetric(float64(n)/float64(b.N), "wrong-tier/op")
	}
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = Ref{Object: ObjectCustomer, ID: fmt.Sprintf("cus_bench%05d", i)}.Key()
	}
	return keys
}

// BenchmarkCacheGet measures Get served by each tier, and a full miss, against real
// services, single-goroutine and with 50 parallel callers.
func BenchmarkCacheGet(b *testing.B) {
	env := benchEnv.Get(b)
	ctx := context.Background()
	origin, err := NewStripeOrigin(StripeOriginConfig{Client: env.StripeClient, RateLimit: "none"})
	if err != nil {
		b.Fatal(err)
	}
	keys := benchKeys(1000)
	value := []byte(`{"id":"cus_bench","object":"customer","email":"bench@example.com","metadata":{}}`)
	now := time.Now()
	fill := func(t Tier) {
		es := make([]Entry, len(keys))
		for i := range es {
			es[i] = Entry{Value: value, Version: 1, FetchedAt: now, ExpiresAt: now.Add(time.Hour)}
		}
		if err := t.SetMulti(ctx, keys, es); err != nil {
			b.Fatal(err)
		}
	}
	modes := []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel50", true}}

	b.Run("L1", func(b *testing.B) {
		l1, err := NewL1(L1Config{Policy: "tinylfu", MaxEntries: 10000})
		if err != nil {
			b.Fatal(err)
		}
		c := newBenchCache(b, Config{L1: l1, Origin: origin})
		for _, k := range keys {
			l1.SetIfNewer(k, Entry{Value: value, Version: 1, FetchedAt: now}, now)
		}
		for _, m := range modes {
			b.Run(m.name, func(b *testing.B) { setParallel(b, m.parallel); runGets(b, c, keys, m.parallel, TierL1) })
		}
		// The same hits with no per-read timing (two time.Now calls a read), to set beside
		// BenchmarkBareGet/otter: the cost of the cache's own L1-hit path.
		b.Run("untimed", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := c.GetKey(ctx, keys[i%len(keys)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	// redis-GET is a plain go-redis GET of the same stored entries: what the cache's L2 hit
	// path is measured against (its own cost is the difference).
	b.Run("redis-GET", func(b *testing.B) {
		rc := benchRedis(b, env)
		defer rc.Close()
		l2, err := NewRedisTier(RedisConfig{Client: rc})
		if err != nil {
			b.Fatal(err)
		}
		fill(l2)
		full := make([]string, len(keys))
		for i, k := range keys {
			full[i] = l2.key(k)
		}
		for _, m := range modes {
			b.Run(m.name, func(b *testing.B) { setParallel(b, m.parallel); runRedisGets(b, rc, full, m.parallel) })
		}
	})
	// L2 is the default (Pipeline auto); L2-autopipeline always pipelines, L2-direct never.
	for _, v := range []struct{ name, pipeline string }{{"L2", ""}, {"L2-autopipeline", PipelineAlways}, {"L2-direct", PipelineNever}} {
		b.Run(v.name, func(b *testing.B) {
			rc := benchRedis(b, env)
			defer rc.Close()
			l2, err := NewRedisTier(RedisConfig{Client: rc, Pipeline: v.pipeline})
			if err != nil {
				b.Fatal(err)
			}
			fill(l2)
			c := newBenchCache(b, Config{L2: l2, Origin: origin})
			for _, m := range modes {
				b.Run(m.name, func(b *testing.B) { setParallel(b, m.parallel); runGets(b, c, keys, m.parallel, TierL2) })
			}
		})
	}
	b.Run("L3", func(b *testing.B) {
		l3, err := NewDynamoTier(ctx, DynamoConfig{Client: env.DynamoDBClient, Table: "cachebench-bench"})
		if err != nil {
			b.Fatal(err)
		}
		fill(l3)
		c := newBenchCache(b, Config{L3: l3, Origin: origin, L3Timeout: time.Second})
		for _, m := range modes {
			b.Run(m.name, func(b *testing.B) { setParallel(b, m.parallel); runGets(b, c, keys, m.parallel, TierL3) })
		}
	})
	b.Run("miss", func(b *testing.B) {
		// Every read is of a key no tier has: L2 and L3 miss, stripe-mock answers, and the
		// answer is written to both.
		l2, err := NewRedisTier(RedisConfig{Client: env.RedisClient})
		if err != nil {
			b.Fatal(err)
		}
		l3, err := NewDynamoTier(ctx, DynamoConfig{Client: env.DynamoDBClient, Table: "cachebench-bench-miss"})
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range modes {
			b.Run(m.name, func(b *testing.B) {
				setParallel(b, m.parallel)
				c := newBenchCache(b, Config{L2: l2, L3: l3, Origin: origin, L3Timeout: time.Second})
				fresh := make([]string, max(b.N, 1))
				run := time.Now().UnixNano()
				for i := range fresh {
					fresh[i] = Ref{Object: ObjectCustomer, ID: fmt.Sprintf("cus_m%d_%d", run, i)}.Key()
				}
				runGets(b, c, fresh, m.parallel, TierOrigin)
				b.ReportMetric(float64(c.Stats().OriginFetches)/float64(b.N), "origin-calls/op")
			})
		}
	})
}

// setParallel makes RunParallel use 50 goroutines in all.
func setParallel(b *testing.B, parallel bool) {
	if parallel {
		p := 50 / max(1, runtimeProcs())
		b.SetParallelism(max(1, p))
	}
}

func newBenchCache(b *testing.B, cfg Config) *Cache {
	b.Helper()
	c, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// BenchmarkL2HitVsGET is one caller's L2 hit through the default cache (Pipeline auto)
// and a plain go-redis GET of the same stored entries, read in alternating blocks of
// l2VsGETBlock, each side first in half the pairs, so both meet the same machine. It
// reports each side's ns per read and l2/get-%, the hit's time as a share of the GET's;
// b.N counts pairs of reads.
func BenchmarkL2HitVsGET(b *testing.B) {
	env := benchEnv.Get(b)
	ctx := context.Background()
	rc := benchRedis(b, env)
	defer rc.Close()
	l2, err := NewRedisTier(RedisConfig{Client: rc})
	if err != nil {
		b.Fatal(err)
	}
	keys := benchKeys(1000)
	now := time.Now()
	es := make([]Entry, len(keys))
	for i := range es {
		es[i] = Entry{Value: []byte(`{"id":"cus_bench","object":"customer","email":"bench@example.com","metadata":{}}`),
			Version: 1, FetchedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	if err := l2.SetMulti(ctx, keys, es); err != nil {
		b.Fatal(err)
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = l2.key(k)
	}
	c := newBenchCache(b, Config{L2: l2, Origin: &benchNoOrigin{}})
	var bad int
	block := func(cache bool, from, n int) time.Duration {
		start := time.Now()
		for i := from; i < from+n; i++ {
			if cache {
				if res, err := c.GetKey(ctx, keys[i%len(keys)]); err != nil || res.Tier != TierL2 {
					bad++
				}
			} else if _, err := rc.Get(ctx, full[i%len(full)]).Bytes(); err != nil {
				bad++
			}
		}
		return time.Since(start)
	}
	var spent [2]time.Duration // GET, L2 hit
	b.ReportAllocs()
	b.ResetTimer()
	for i, k := 0, 0; i < b.N; i, k = i+l2VsGETBlock, k+1 {
		n := min(l2VsGETBlock, b.N-i)
		if k%2 == 0 {
			spent[0] += block(false, i, n)
			spent[1] += block(true, i, n)
		} else {
			spent[1] += block(true, i, n)
			spent[0] += block(false, i, n)
		}
	}
	b.StopTimer()
	if bad > 0 {
		b.Fatalf("%d reads failed or were not L2 hits", bad)
	}
	getNs, hitNs := float64(spent[0].Nanoseconds())/float64(b.N), float64(spent[1].Nanoseconds())/float64(b.N)
	b.ReportMetric(getNs, "get-ns/read")
	b.ReportMetric(hitNs, "l2hit-ns/read")
	b.ReportMetric(100*hitNs/getNs, "l2/get-%")
}

// l2VsGETBlock is BenchmarkL2HitVsGET's block: a few milliseconds of reads.
const l2VsGETBlock = 100

// benchNoOrigin is the origin of benchmarks that must never reach it.
type benchNoOrigin struct{}

func (benchNoOrigin) Fetch(context.Context, Ref) ([]byte, int64, bool, error) {
	return nil, 0, false, fmt.Errorf("benchmark read reached the origin")
}
