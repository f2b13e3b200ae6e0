package cachecore

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/maypok86/otter/v2"
)

// The benchmarks read a warmed cache of l1BenchKeys keys, chosen with a zipf distribution
// precomputed into a slice, so the loops allocate nothing of their own. BenchmarkBareGet
// reads the same keys and values straight from the libraries, configured as L1 configures
// them, so that L1's overhead shows side by side.
const (
	l1BenchKeys  = 10_000
	l1BenchPicks = 1 << 16 // a power of two, for the index mask
)

type l1BenchData struct {
	keys    []string
	entries []Entry
	picks   []int // indexes into keys, zipf-distributed
	now     time.Time
}

func newL1BenchData() *l1BenchData {
	d := &l1BenchData{now: time.Now()}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range l1BenchKeys {
		d.keys = append(d.keys, fmt.Sprintf("customer:cus_%08d", i))
		d.entries = append(d.entries, Entry{
			Value:      make([]byte, 200+r.IntN(800)),
			Version:    int64(i),
			FetchedAt:  d.now,
			ExpiresAt:  d.now.Add(time.Hour),
			StaleUntil: d.now.Add(2 * time.Hour),
		})
	}
	z := rand.NewZipf(r, 1.1, 1, l1BenchKeys-1)
	d.picks = make([]int, l1BenchPicks)
	for i := range d.picks {
		d.picks[i] = int(z.Uint64())
	}
	return d
}

// l1BenchSink keeps what the reads return alive, so that neither side of the comparison
// can skip loading the value.
var l1BenchSink atomic.Int64

// l1BenchRun runs get over the picked keys, serially or from GOMAXPROCS goroutines, and
// fails the benchmark if any read misses. get returns the length of the value it read.
func l1BenchRun(b *testing.B, d *l1BenchData, get func(key string) (int, bool)) {
	var misses atomic.Int64
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		miss, size := 0, 0
		runtime.GC() // the garbage of the set-up is not collected on the clock
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			n, ok := get(d.keys[d.picks[i&(l1BenchPicks-1)]])
			if !ok {
				miss++
			}
			size += n
		}
		misses.Add(int64(miss))
		l1BenchSink.Add(int64(size))
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		var seed atomic.Uint64
		runtime.GC()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seed.Add(7919) * 7919) // each goroutine starts elsewhere in the picks
			miss, size := 0, 0
			for pb.Next() {
				n, ok := get(d.keys[d.picks[i&(l1BenchPicks-1)]])
				if !ok {
					miss++
				}
				size += n
				i++
			}
			misses.Add(int64(miss))
			l1BenchSink.Add(int64(size))
		})
	})
	if n := misses.Load(); n > 0 {
		b.Fatalf("%d reads missed a warmed cache", n)
	}
}

func BenchmarkL1Get(b *testing.B) {
	d := newL1BenchData()
	for _, policy := range []string{l1PolicyLRU, l1PolicyTinyLFU} {
		b.Run(policy, func(b *testing.B) {
			l, err := NewL1(L1Config{Policy: policy, MaxEntries: 2 * l1BenchKeys})
			if err != nil {
				b.Fatal(err)
			}
			for i, k := range d.keys {
				if !l.SetIfNewer(k, d.entries[i], d.now) {
					b.Fatalf("SetIfNewer(%s) = false", k)
				}
			}
			l.cleanUp()
			l1BenchRun(b, d, func(key string) (int, bool) {
				e, ok := l.Get(key, d.now)
				return len(e.Value), ok
			})
		})
	}
}

func BenchmarkBareGet(b *testing.B) {
	d := newL1BenchData()
	b.Run("golang-lru", func(b *testing.B) {
		c, err := lru.New[string, Entry](2 * l1BenchKeys)
		if err != nil {
			b.Fatal(err)
		}
		for i, k := range d.keys {
			c.Add(k, d.entries[i])
		}
		l1BenchRun(b, d, func(key string) (int, bool) {
			e, ok := c.Get(key)
			return len(e.Value), ok
		})
	})
	b.Run("otter", func(b *testing.B) {
		// As L1 builds it: bounded by weight, with a per-entry expiry.
		const maxBytes = l1DefaultMaxBytes
		floor := int64(maxBytes / (2 * l1BenchKeys))
		c, err := otter.New(&otter.Options[string, l1Item]{
			MaximumWeight: maxBytes,
			Weigher: func(key string, it l1Item) uint32 {
				return uint32(max(l1Bytes(key, &it.entry), floor))
			},
			ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, l1Item]) time.Duration {
				return e.Value.life
			}),
		})
		if err != nil {
			b.Fatal(err)
		}
		for i, k := range d.keys {
			c.Set(k, l1Item{entry: d.entries[i], life: time.Duration(math.MaxInt64)})
		}
		c.CleanUp()
		l1BenchRun(b, d, func(key string) (int, bool) {
			it, ok := c.GetIfPresent(key)
			return len(it.entry.Value), ok
		})
	})
}
