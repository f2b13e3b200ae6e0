package cachecore

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/redis/go-redis/v9"
)

// The tier benchmarks run against the local provider (benchEnv): redis-server and
// DynamoDB Local as child processes on loopback. They report allocations and, from one
// HdrHistogram per goroutine merged at the end, p50 and p99 latency in microseconds.

// tierBenchValue is a Stripe customer of a typical size (about 1.2 KB, so it is stored
// compressed at the default threshold).
var tierBenchValue = []byte(`{"id":"cus_NffrFeUfNV2Hib","object":"customer","address":{"city":"South San Francisco","country":"US","line1":"354 Oyster Point Blvd","line2":null,"postal_code":"94080","state":"CA"},"balance":0,"created":1680893993,"currency":"usd","default_source":null,"delinquent":false,"description":"Enterprise plan since 2023, billed monthly","discount":null,"email":"jennyrosen@example.com","invoice_prefix":"0759376C","invoice_settings":{"custom_fields":null,"default_payment_method":"pm_1NrgXDLkdIwHu7ixLbPtxNfq","footer":null,"rendering_options":null},"livemode":false,"metadata":{"account_id":"acct_8812","plan":"enterprise","region":"us-west-2","seats":"250","salesforce_id":"0015f00000XyZabAAB"},"name":"Jenny Rosen","next_invoice_sequence":1,"phone":"+15555550123","preferred_locales":["en-US"],"shipping":{"address":{"city":"South San Francisco","country":"US","line1":"354 Oyster Point Blvd","line2":null,"postal_code":"94080","state":"CA"},"name":"Jenny Rosen","phone":"+15555550123"},"tax_exempt":"none","test_clock":null,"tax":{"automatic_tax":"supported","ip_address":null,"location":{"country":"US","source":"billing_address","state":"CA"}}}`)

const tierBenchKeys = 1000

func tierBenchKeyNames(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = Ref{Object: ObjectCustomer, ID: "cus_bench" + strconv.Itoa(i)}.Key()
	}
	return keys
}

// tierBenchFill stores the benchmark value under every key.
func tierBenchFill(b *testing.B, t Tier, keys []string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	now := time.Now()
	entries := make([]Entry, len(keys))
	for i := range entries {
		entries[i] = Entry{Value: tierBenchValue, Version: now.UnixNano(), FetchedAt: now, ExpiresAt: now.Add(time.Hour)}
	}
	if err := t.SetMulti(ctx, keys, entries); err != nil {
		b.Fatalf("fill %s: %v", t.Name(), err)
	}
}

// tierLatencies merges the HdrHistograms of the goroutines of one benchmark run.
type tierLatencies struct {
	mu  sync.Mutex
	all *hdrhistogram.Histogram
}

func newTierHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(10*time.Second), 3) // nanoseconds, 3 significant digits
}

func (l *tierLatencies) merge(h *hdrhistogram.Histogram) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.all == nil {
		l.all = newTierHistogram()
	}
	l.all.Merge(h)
}

func (l *tierLatencies) report(b *testing.B) {
	if l.all == nil || l.all.TotalCount() == 0 {
		return
	}
	b.ReportMetric(float64(l.all.ValueAtQuantile(50))/1e3, "p50-us")
	b.ReportMetric(float64(l.all.ValueAtQuantile(99))/1e3, "p99-us")
}

// runTierGets times Get of keys in turn, serially or from parallelism×GOMAXPROCS
// goroutines (parallelism 0 = serial), and fails the benchmark on any miss or error.
func runTierGets(b *testing.B, t Tier, keys []string, parallelism int) {
	b.Helper()
	ctx := context.Background()
	var lat tierLatencies
	var misses, errs atomic.Int64
	get := func(h *hdrhistogram.Histogram, i int) {
		start := time.Now()
		_, ok, err := t.Get(ctx, keys[i%len(keys)])
		_ = h.RecordValue(int64(time.Since(start)))
		switch {
		case err != nil:
			errs.Add(1)
		case !ok:
			misses.Add(1)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallelism == 0 {
		h := newTierHistogram()
		for i := 0; i < b.N; i++ {
			get(h, i)
		}
		lat.merge(h)
	} else {
		b.SetParallelism(parallelism)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			h := newTierHistogram()
			for pb.Next() {
				get(h, int(next.Add(1)))
			}
			lat.merge(h)
		})
	}
	b.StopTimer()
	if n, m := errs.Load(), misses.Load(); n+m > 0 {
		b.Fatalf("%d errors and %d misses in %d gets", n, m, b.N)
	}
	lat.report(b)
}

// tierParallelism is b.SetParallelism's argument for about n goroutines.
func tierParallelism(n int) int {
	procs := runtime.GOMAXPROCS(0)
	return max(1, (n+procs-1)/procs)
}

func BenchmarkRedisTierGet(b *testing.B) {
	env := benchEnv.Get(b)
	// A pool as large as the goroutines, so the parallel runs measure Redis, not waits
	// for a connection.
	rc := redis.NewClient(&redis.Options{Addr: env.Redis.Addrs[0], PoolSize: 64})
	defer rc.Close()
	keys := tierBenchKeyNames(tierBenchKeys)
	for _, ap := range []bool{false, true} {
		r, err := NewRedisTier(RedisConfig{Client: rc, Prefix: fmt.Sprintf("cbbench:%d:", time.Now().UnixNano()), AutoPipeline: ap})
		if err != nil {
			b.Fatal(err)
		}
		tierBenchFill(b, r, keys)
		suffix := ""
		if ap {
			suffix = "-autopipeline"
		}
		if !ap {
			b.Run("serial", func(b *testing.B) { runTierGets(b, r, keys, 0) })
		}
		b.Run("parallel50"+suffix, func(b *testing.B) { runTierGets(b, r, keys, tierParallelism(50)) })
	}
}

func BenchmarkRedisTierGetMulti(b *testing.B) {
	env := benchEnv.Get(b)
	rc := redis.NewClient(&redis.Options{Addr: env.Redis.Addrs[0]})
	defer rc.Close()
	r, err := NewRedisTier(RedisConfig{Client: rc, Prefix: fmt.Sprintf("cbbench:%d:", time.Now().UnixNano())})
	if err != nil {
		b.Fatal(err)
	}
	keys := tierBenchKeyNames(tierBenchKeys)
	tierBenchFill(b, r, keys)
	ctx := context.Background()
	const batch = 50
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := (i * batch) % (len(keys) - batch)
		_, found, err := r.GetMulti(ctx, keys[start:start+batch])
		if err != nil || !found[0] || !found[batch-1] {
			b.Fatalf("GetMulti = %v", err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/key")
}

func BenchmarkDynamoTierGet(b *testing.B) {
	env := benchEnv.Get(b)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := NewDynamoTier(ctx, DynamoConfig{Client: env.DynamoDBClient, Table: "cachebench-bench-tier"})
	if err != nil {
		b.Fatal(err)
	}
	keys := tierBenchKeyNames(200)
	tierBenchFill(b, d, keys)
	b.Run("serial", func(b *testing.B) {
		before := d.Stats().ReadUnits
		runTierGets(b, d, keys, 0)
		b.ReportMetric((d.Stats().ReadUnits-before)/float64(b.N), "RCU/op")
	})
}
