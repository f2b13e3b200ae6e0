package workload

import (
	"bufio"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/cachebench/cachebench/scenarios"
)

// peakRSS returns the process's peak resident set (VmHWM) in bytes, or 0 off Linux.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkTraceReplay10M streams a generated 10-million-row oracleGeneral trace
// (zstd-compressed, Zipf over 100,000 keys) through a Generator, as a replay does: it
// reports rows a second, the heap in use at the end and the peak RSS. Memory follows the
// distinct keys: a table of the rows would take 10M × 16 bytes alone.
func BenchmarkTraceReplay10M(b *testing.B) {
	const rows, keys = 10_000_000, 100_000
	path := filepath.Join(b.TempDir(), "big.oracleGeneral.zst")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	zw, _ := zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.SpeedFastest))
	w := bufio.NewWriterSize(zw, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	z := rand.NewZipf(rng, 1.1, 1, keys-1)
	var rec [24]byte
	for i := range rows {
		binary.LittleEndian.PutUint32(rec[0:4], uint32(i/100_000))
		binary.LittleEndian.PutUint64(rec[4:12], z.Uint64())
		binary.LittleEndian.PutUint32(rec[12:16], 1000)
		w.Write(rec[:])
	}
	w.Flush()
	zw.Close()
	f.Close()
	runtime.GC()
	s := &scenarios.Scenario{Seed: 1, Keys: scenarios.Keys{Distribution: scenarios.DistTrace, Trace: path, TraceRate: 1e9}}
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		g, err := NewGenerator(s, 0)
		if err != nil {
			b.Fatal(err)
		}
		var r Request
		n := 0
		for g.Next(&r) {
			n++
		}
		if n != rows || g.Err() != nil {
			b.Fatalf("%d rows, %v", n, g.Err())
		}
		b.ReportMetric(float64(rows)/time.Since(t0).Seconds(), "rows/s")
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(g.Count()), "distinct-keys")
	}
	b.ReportMetric(peakRSS()/(1<<20), "peak-rss-MiB")
}
