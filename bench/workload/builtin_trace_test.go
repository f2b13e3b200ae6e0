package workload

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

var update = flag.Bool("update", false, "rewrite the trace the trace-replay scenario ships with")

// builtinTracePath is the trace of the built-in scenario trace-replay.
const builtinTracePath = "../../scenarios/traces/trace-replay.twitter.gz"

// replayTrace makes the trace trace-replay ships with, in Twitter's cache-trace format:
// 30 recorded seconds at 600 requests a second over 20,000 keys with Zipf popularity
// (exponent 0.9, from Go's rand.Zipf with a fixed seed), 97% get and 3% set, values of
// 200 to 2,000 bytes, three clients. It is generated, not recorded: a stand-in with the
// shape of a public trace, small enough to ship.
func replayTrace() []byte {
	const seconds, rate, keys = 30, 600, 20_000
	rng := rand.New(rand.NewPCG(2026, 12))
	z := rand.NewZipf(rng, 1.0001, 4, keys-1)
	var b bytes.Buffer
	for sec := range seconds {
		for range rate {
			k := z.Uint64()
			op := "get"
			if rng.Float64() < 0.03 {
				op = "set"
			}
			fmt.Fprintf(&b, "%d,obj:%06d,10,%d,%d,%s,0\n", 1_700_000_000+sec, k, 200+int(k*7919%1801), 1+rng.IntN(3), op)
		}
	}
	return b.Bytes()
}

// TestBuiltinReplayTrace checks the shipped trace is the one replayTrace makes (go test
// -run TestBuiltinReplayTrace -update ./bench/workload/ rewrites it), that it loads as
// the scenario names it, and that a replay of it fits a built-in's minute.
func TestBuiltinReplayTrace(t *testing.T) {
	want := replayTrace()
	if *update {
		var gz bytes.Buffer
		w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		w.Write(want)
		w.Close()
		if err := os.WriteFile(builtinTracePath, gz.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(builtinTracePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the shipped trace differs from replayTrace's (%v): run with -update", err)
	}
	data, err := scenarios.Builtin("trace-replay")
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenarios.Parse(data, "scenarios/trace-replay.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g, err := NewGenerator(s, 0) // from the embedded copy: the working directory has none
	if err != nil {
		t.Fatal(err)
	}
	tr := g.Trace()
	if tr.Len() != 18_000 || tr.Format() != scenarios.TraceTwitter {
		t.Fatalf("Len %d format %s", tr.Len(), tr.Format())
	}
	if run := s.Warmup + tr.Span(); run > 60*time.Second || s.Duration != 0 {
		t.Errorf("a replay takes %v (duration %v)", run, s.Duration)
	}
}
