package reports

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// BenchmarkMerge64x1M times the whole of `cachebench merge` on 64 shards' result.json
// files of a million recorded latencies each: reading and checking the files, decoding
// and merging their histograms, and writing the merged result.json with its Markdown and
// HTML reports. Building the inputs is outside the timer. It fails unless the merged
// p50, p99 and p99.9 are those of one histogram holding all 64 million values.
func BenchmarkMerge64x1M(b *testing.B) {
	const shards, perShard = 64, 1_000_000
	dir := b.TempDir()
	whole := hdrhistogram.New(1, 60_000_000, 3)
	paths := make([]string, shards)
	for i := 0; i < shards; i++ {
		h := hdrhistogram.New(1, 60_000_000, 3)
		rng := rand.New(rand.NewPCG(uint64(i), 64))
		for j := 0; j < perShard; j++ {
			// Log-normal around 300 µs; 1% a tail of misses to Stripe, 20 times slower.
			v := 300 * math.Exp(0.5*rng.NormFloat64())
			if rng.IntN(100) == 0 {
				v *= 20
			}
			if err := h.RecordValue(int64(v) + 1); err != nil {
				b.Fatal(err)
			}
			if err := whole.RecordValue(int64(v) + 1); err != nil {
				b.Fatal(err)
			}
		}
		r := fixtureResult(b)
		idx := i
		r.Shards = &Shards{Count: shards, Index: &idx}
		enc := encodeT(b, h)
		r.Histograms = Histograms{Latency: enc, Service: enc}
		r.LatencyUS, r.ServiceUS = Summarize(h), Summarize(h)
		paths[i] = filepath.Join(dir, fmt.Sprintf("shard-%02d", i), "result.json")
		if err := r.Write(paths[i]); err != nil {
			b.Fatal(err)
		}
	}
	out := filepath.Join(dir, "merged")
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var m *Result
	for n := 0; n < b.N; n++ {
		var err error
		m, err = MergeFiles(paths)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Write(filepath.Join(out, "result.json")); err != nil {
			b.Fatal(err)
		}
		for name, write := range map[string]func(*bytes.Buffer) error{
			"report.md":   func(w *bytes.Buffer) error { return WriteMarkdown(w, m) },
			"report.html": func(w *bytes.Buffer) error { return WriteHTML(w, m) },
		} {
			var buf bytes.Buffer
			if err := write(&buf); err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, name), buf.Bytes(), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/merge")
	for _, q := range []struct {
		name string
		got  float64
		q    float64
	}{{"p50", m.LatencyUS.P50, 50}, {"p99", m.LatencyUS.P99, 99}, {"p999", m.LatencyUS.P999, 99.9}} {
		if want := float64(whole.ValueAtQuantile(q.q)); q.got != want {
			b.Fatalf("merged %s = %v µs, one histogram of all %d values has %v", q.name, q.got, whole.TotalCount(), want)
		}
	}
	if m.LatencyUS.Count != shards*perShard {
		b.Fatalf("merged count %d, want %d", m.LatencyUS.Count, shards*perShard)
	}
}
