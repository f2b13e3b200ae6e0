package bench_test

import (
	"container/list"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/mocks"
)

// ttlLRU simulates, exactly, the lru L1 policy with a retention of ttl over reads of ids
// made at i*gap: a read of an entry past its retention drops it and misses; a miss
// stores the fetched entry as the most recently used and drops the least recently used
// past capacity (capacity 0: no bound, a TTL cache). It returns the hits.
func ttlLRU(ids []uint64, gap, ttl time.Duration, capacity int) int64 {
	type ent struct {
		id     uint64
		filled time.Duration
	}
	order := list.New()
	at := map[uint64]*list.Element{}
	var hits int64
	for i, id := range ids {
		now := time.Duration(i) * gap
		if e, ok := at[id]; ok {
			if now < e.Value.(ent).filled+ttl {
				hits++
				order.MoveToFront(e)
				continue
			}
			order.Remove(e)
			delete(at, id)
		}
		at[id] = order.PushFront(ent{id, now})
		if capacity > 0 && order.Len() > capacity {
			old := order.Back()
			order.Remove(old)
			delete(at, old.Value.(ent).id)
		}
	}
	return hits
}

// TestVirtualTraceReplayMatchesExactModels replays a public-format trace (libCacheSim's
// oracleGeneral, ten rows a recorded second, which the replay spreads evenly: row i at
// i*100ms) on the virtual clock, to its end, with no duration. The virtual clock serves
// the rows one after another at their trace instants, so the caches must agree exactly
// with simulations of the same rows on the trace's own time: an lru L1 of 250 entries
// that forget after 60.05 s, and, alone, a DynamoDB tier whose items live 30.05 s (the
// .05 keeps every expiry off the 100 ms grid of the reads, so no read ties with one).
// Both only hold if every expiry follows the trace's time, and the whole trace (1,000
// recorded seconds) replays in a few seconds of wall time.
func TestVirtualTraceReplayMatchesExactModels(t *testing.T) {
	const rows, keys = 10_000, 2_000
	ids := zipfTrace(rows, keys)
	path := filepath.Join(t.TempDir(), "sample.oracleGeneral.bin.gz")
	if err := os.WriteFile(path, oracleGeneral(t, ids), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cache string
		ttl         time.Duration
		capacity    int
	}{
		{"l1-lru", `{l1: {enabled: true, policy: lru, max_entries: 250, ttl: 60050ms}, l2: {enabled: false}, l3: {enabled: false}, invalidation: ttl-only}`, 60050 * time.Millisecond, 250},
		{"l3-ttl", `{l1: {enabled: false}, l2: {enabled: false, ttl_jitter: 0}, l3: {enabled: true, ttl: 30050ms}, invalidation: ttl-only}`, 30050 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := parse(t, `
name: vtrace-`+tc.name+`
seed: 1
warmup: 0s
clock: virtual
keys: {object: customer, distribution: trace, trace: `+strconv.Quote(path)+`}
cache: `+tc.cache+`
lambda: {enabled: false}
stripe: {mode: none}
`)
			env, err := mocks.Start(context.Background(), mocks.Config{Provider: mocks.ProviderEmbedded, Embedded: mocks.EmbeddedConfig{VirtualClock: true}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = env.Close(context.Background()) })
			res, err := bench.Run(context.Background(), s, env, bench.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests.Total != rows || res.Requests.Errors != 0 {
				t.Fatalf("replayed %d requests (%d errors), want the whole trace's %d", res.Requests.Total, res.Requests.Errors, rows)
			}
			if tr := res.Scenario.Trace; tr == nil || tr.Rows != rows || tr.Format != "oracle-general" {
				t.Fatalf("scenario.trace = %+v", tr)
			}
			// The trace's span: to the end of its last recorded second.
			if want := float64(rows / 10); res.DurationS != want {
				t.Errorf("duration_s %v, want the trace's %v s", res.DurationS, want)
			}
			var sum int64
			for _, b := range res.Timeline {
				sum += b.Requests
			}
			if sum != rows {
				t.Errorf("the timeline's buckets hold %d requests, want %d", sum, rows)
			}
			want := ttlLRU(ids, 100*time.Millisecond, tc.ttl, tc.capacity)
			hits := res.Tiers.L1.Hits
			if tc.capacity == 0 {
				hits = res.Tiers.L3.Hits
			}
			t.Logf("hits %d, origin calls %d, L3 failed %d; the exact model: %d hits of %d rows", hits, res.Origin.Calls, res.Tiers.L3.Failed, want, rows)
			if hits != want || res.Origin.Calls != rows-want {
				t.Errorf("%d hits and %d origin calls; the exact model of the same rows has %d hits and %d misses", hits, res.Origin.Calls, want, rows-want)
			}
		})
	}
}
