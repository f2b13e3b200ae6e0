package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cachebench/cachebench/reports"
)

// writeShards splits the reports package's sample result into n shards' results under
// dir/shard-I/result.json: latencies drawn at random, each recorded into one shard's
// histogram and into whole, and the request counters split. It returns the folders.
func writeShards(t *testing.T, dir string, n int, whole *hdrhistogram.Histogram) []string {
	t.Helper()
	base, err := reports.Read(filepath.Join("..", "..", "reports", "testdata", "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]*hdrhistogram.Histogram, n)
	for i := range parts {
		parts[i] = hdrhistogram.New(1, 60_000_000, 3)
	}
	rng := rand.New(rand.NewPCG(12, 1))
	for i := 0; i < 30000; i++ {
		v := int64(300*math.Exp(0.7*rng.NormFloat64())) + 1
		if err := whole.RecordValue(v); err != nil {
			t.Fatal(err)
		}
		if err := parts[rng.IntN(n)].RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	var dirs []string
	for i := 0; i < n; i++ {
		data, err := json.Marshal(base)
		if err != nil {
			t.Fatal(err)
		}
		var r reports.Result
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		idx := i
		r.Shards = &reports.Shards{Count: n, Index: &idx}
		enc, err := reports.EncodeHistogram(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		r.Histograms.Latency, r.LatencyUS = enc, reports.Summarize(parts[i])
		q := &r.Requests
		q.Total, q.OK, q.Errors, q.Gets, q.Updates = q.Total/int64(n), q.OK/int64(n), q.Errors/int64(n), q.Gets/int64(n), q.Updates/int64(n)
		d := filepath.Join(dir, "shard-"+string(rune('0'+i)))
		if err := r.Write(filepath.Join(d, "result.json")); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	return dirs
}

// TestMergeCLI merges three shards' results with the command line, checks the merged
// percentiles against one histogram of every value, then runs report and compare on the
// merged result, and checks the bad input cases exit 2 naming the problem.
func TestMergeCLI(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	whole := hdrhistogram.New(1, 60_000_000, 3)
	shards := writeShards(t, filepath.Join(dir, "shards"), 3, whole)
	out := filepath.Join(dir, "merged")

	// Shards given in any order, one as its result.json.
	code, stdout, stderr := exitCode(t, exec.Command(bin, "merge", out, shards[2], filepath.Join(shards[0], "result.json"), shards[1]))
	if code != exitOK && code != exitThreshold {
		t.Fatalf("merge: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "merged 3 shards") {
		t.Errorf("stdout lacks the merge line:\n%s", stdout)
	}
	m, err := reports.Read(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m.LatencyUS.P99 != float64(whole.ValueAtQuantile(99)) || m.LatencyUS.P50 != float64(whole.ValueAtQuantile(50)) || m.LatencyUS.Count != whole.TotalCount() {
		t.Errorf("merged latency %+v; one histogram of every value has p50 %d, p99 %d, count %d", m.LatencyUS, whole.ValueAtQuantile(50), whole.ValueAtQuantile(99), whole.TotalCount())
	}
	if m.Shards == nil || m.Shards.Count != 3 || len(m.Shards.MergedFrom) != 3 || !strings.HasSuffix(m.Shards.MergedFrom[0], filepath.Join("shard-0", "result.json")) {
		t.Errorf("shards = %+v", m.Shards)
	}
	for _, f := range []string{"report.md", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// Merging again into the same folder, from the folder holding every shard, gives
	// the same result.
	code, _, stderr = exitCode(t, exec.Command(bin, "merge", out, filepath.Join(dir, "shards")))
	if code != exitOK && code != exitThreshold {
		t.Fatalf("merge of the shards' parent folder: exit %d: %s", code, stderr)
	}

	// report and compare work on the merged result as on a run's.
	code, stdout, stderr = exitCode(t, exec.Command(bin, "report", out, "--format", "md,csv", "--out", filepath.Join(dir, "rep")))
	if code != exitOK {
		t.Fatalf("report of the merged result: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if md := readFile(t, filepath.Join(dir, "rep", "report.md")); !strings.Contains(md, m.Scenario.Name) {
		t.Errorf("report.md of the merged result does not name its scenario")
	}
	code, stdout, stderr = exitCode(t, exec.Command(bin, "compare", shards[0], out, "--format", "md"))
	if code != exitOK {
		t.Fatalf("compare with the merged result: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "p99") {
		t.Errorf("compare shows no p99:\n%s", stdout)
	}

	// Bad input: exit 2 and a message naming the problem; nothing written.
	bad := filepath.Join(dir, "bad")
	badInput(t, exec.Command(bin, "merge", bad, shards[0], shards[2]), "shard 1 of 3 missing")
	badInput(t, exec.Command(bin, "merge", bad, shards[0], shards[1], shards[2], out), "already a merged result")
	badInput(t, exec.Command(bin, "merge", bad, shards[0], filepath.Join(dir, "nowhere")), "nowhere does not exist")
	badInput(t, exec.Command(bin, "merge", bad), "merge needs")
	if _, err := os.Stat(bad); err == nil {
		t.Errorf("a failed merge wrote %s", bad)
	}
}
