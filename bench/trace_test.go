package bench_test

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cachebench/cachebench/bench"
)

// zipfTrace returns n object IDs drawn from a Zipf popularity over keys distinct keys
// (exponent 0.9), from a fixed seed: a trace nobody wrote by hand, whose LRU hit ratio is
// neither near 0 nor near 1 at a few hundred entries.
func zipfTrace(n, keys int) []uint64 {
	rng := rand.New(rand.NewPCG(11, 12))
	z := rand.NewZipf(rng, 1.0001, 8, uint64(keys-1))
	out := make([]uint64, n)
	for i := range out {
		out[i] = z.Uint64()*7919 + 1 // spread the IDs out, as real traces' are
	}
	return out
}

// oracleGeneral encodes ids as libCacheSim's oracleGeneral records of 512 bytes,
// gzip-compressed, ten requests a recorded second.
func oracleGeneral(t *testing.T, ids []uint64) []byte { return oracleGeneralSized(t, ids, 512) }

// oracleGeneralSized is oracleGeneral with objects of size bytes.
func oracleGeneralSized(t *testing.T, ids []uint64, size uint32) []byte {
	t.Helper()
	var raw bytes.Buffer
	var rec [24]byte
	for i, id := range ids {
		binary.LittleEndian.PutUint32(rec[0:4], uint32(1_600_000_000+i/10))
		binary.LittleEndian.PutUint64(rec[4:12], id)
		binary.LittleEndian.PutUint32(rec[12:16], size)
		binary.LittleEndian.PutUint64(rec[16:24], math.MaxUint64) // next access: unknown (-1)
		raw.Write(rec[:])
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(raw.Bytes())
	w.Close()
	return gz.Bytes()
}

// lruHits simulates an exact LRU cache of capacity entries over ids.
func lruHits(ids []uint64, capacity int) int64 {
	order := list.New()
	at := map[uint64]*list.Element{}
	var hits int64
	for _, id := range ids {
		if e, ok := at[id]; ok {
			hits++
			order.MoveToFront(e)
			continue
		}
		at[id] = order.PushFront(id)
		if order.Len() > capacity {
			old := order.Back()
			order.Remove(old)
			delete(at, old.Value.(uint64))
		}
	}
	return hits
}

// TestTraceReplayMatchesExactLRU replays a public-format trace (oracleGeneral, gzip) whose
// keyspace is far larger than keys.count, without a duration, through an L1 lru alone, and
// checks that the whole trace is replayed and that the L1 hits equal an exact LRU
// simulation of the same rows. One caller replays the rows in order (the closed model at
// concurrency 1), so no read overlaps another and the two must agree exactly, however
// slow the machine. (An open-loop replay differs by the reads that wait on a fetch in
// flight: README, "Replaying a trace".)
func TestTraceReplayMatchesExactLRU(t *testing.T) {
	const rows, keys, capacity = 10_000, 2_000, 250
	ids := zipfTrace(rows, keys)
	path := filepath.Join(t.TempDir(), "sample.oracleGeneral.bin.gz")
	if err := os.WriteFile(path, oracleGeneral(t, ids), 0o644); err != nil {
		t.Fatal(err)
	}
	s := parse(t, `
name: trace-lru
seed: 1
warmup: 0s
arrival: {model: closed, concurrency: 1}
keys: {object: customer, count: 10, distribution: trace, trace: `+strconv.Quote(path)+`}
cache:
  l1: {enabled: true, policy: lru, max_entries: `+strconv.Itoa(capacity)+`, ttl: 1h}
  l2: {enabled: false}
  l3: {enabled: false}
  invalidation: ttl-only
lambda: {enabled: false}
network: none
stripe: {mode: none}
`)
	res := run(t, s, bench.Options{})
	if res.Requests.Total != rows {
		t.Fatalf("replayed %d requests, want the whole trace's %d", res.Requests.Total, rows)
	}
	tr := res.Scenario.Trace
	if tr == nil || tr.Rows != rows || tr.Format != "oracle-general" {
		t.Fatalf("scenario.trace = %+v", tr)
	}
	distinct := map[uint64]bool{}
	for _, id := range ids {
		distinct[id] = true
	}
	if tr.DistinctKeys != int64(len(distinct)) {
		t.Fatalf("distinct keys %d, want %d", tr.DistinctKeys, len(distinct))
	}
	for i, sec := range res.Timeline { // only the last second may be partial
		if sec.Partial && (i != len(res.Timeline)-1 || sec.LengthS <= 0 || sec.LengthS >= 1) {
			t.Errorf("second %d: partial, length %v", sec.TS, sec.LengthS)
		}
	}
	want := lruHits(ids, capacity)
	l1 := res.Tiers.L1
	t.Logf("L1 hits %d, misses %d, origin calls %d; exact LRU hits %d of %d rows", l1.Hits, l1.Misses, res.Origin.Calls, want, rows)
	if l1.Hits != want || res.Origin.Calls != rows-want {
		t.Errorf("L1 hits %d and origin calls %d; an exact LRU of the same rows has %d hits and %d misses", l1.Hits, res.Origin.Calls, want, rows-want)
	}
}

// TestTraceSizesSetObjectSizes replays an oracleGeneral trace whose objects are 20,000
// bytes: the Stripe objects served are padded to that size, so the L1 holds 20 KB an
// entry and its byte bound (not its entry bound) limits what it keeps.
func TestTraceSizesSetObjectSizes(t *testing.T) {
	const rows, keys, size, maxBytes = 3_000, 500, 20_000, 2 << 20
	ids := zipfTrace(rows, keys)
	path := filepath.Join(t.TempDir(), "sized.oracleGeneral.bin.gz")
	if err := os.WriteFile(path, oracleGeneralSized(t, ids, size), 0o644); err != nil {
		t.Fatal(err)
	}
	s := parse(t, `
name: trace-sizes
warmup: 0s
arrival: {model: closed, concurrency: 2}
keys: {trace: `+strconv.Quote(path)+`}
cache:
  l1: {enabled: true, policy: lru, max_entries: 100000, max_bytes: `+strconv.Itoa(maxBytes)+`, ttl: 1h}
  l2: {enabled: false}
  l3: {enabled: false}
  invalidation: ttl-only
lambda: {enabled: false}
network: none
stripe: {mode: none}
`)
	res := run(t, s, bench.Options{})
	z := res.Scenario.Trace.Sizes
	if z == nil || z.MaxBytes != size || z.MeanBytes != size || z.Padded == 0 || z.OverSize != 0 {
		t.Fatalf("scenario.trace.sizes = %+v; want every key %d bytes and answers padded", z, size)
	}
	if z.Padded != res.Origin.Calls {
		t.Errorf("%d answers padded, want one for each of the %d origin calls", z.Padded, res.Origin.Calls)
	}
	l1 := res.Tiers.L1
	t.Logf("L1 holds %d entries, %d bytes (%.0f an entry); hit ratio %.3f", l1.EntriesHeld, l1.BytesHeld, l1.BytesPerEntry, l1.HitRatio)
	if l1.BytesPerEntry < size || l1.BytesPerEntry > size+1024 {
		t.Errorf("L1 bytes per entry %.0f, want the trace's %d plus the key and overhead", l1.BytesPerEntry, size)
	}
	if l1.BytesHeld > maxBytes || l1.EntriesHeld > maxBytes/size {
		t.Errorf("L1 holds %d entries, %d bytes: more than max_bytes %d allows", l1.EntriesHeld, l1.BytesHeld, maxBytes)
	}
	if l1.EntriesHeld < maxBytes/size/2 {
		t.Errorf("L1 holds %d entries, want it near full (%d of %d bytes fit)", l1.EntriesHeld, maxBytes/size, maxBytes)
	}
}
