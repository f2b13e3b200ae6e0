package workload

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

// shardScenarios are a scenario for every arrival model that has a schedule, and a trace
// replay, each with updates in the mix.
func shardScenarios(t *testing.T) map[string]*scenarios.Scenario {
	t.Helper()
	out := map[string]*scenarios.Scenario{}
	for name, a := range map[string]scenarios.Arrival{
		"constant": {Model: scenarios.ArrivalConstant, Rate: 997},
		"poisson":  {Model: scenarios.ArrivalPoisson, Rate: 1000},
		"ramp":     {Model: scenarios.ArrivalRamp, From: 100, To: 2000},
		"steps": {Model: scenarios.ArrivalSteps, Steps: []scenarios.Step{
			{Rate: 500, For: time.Second}, {Rate: 0, For: 500 * time.Millisecond}, {Rate: 1500},
		}},
	} {
		s := scenario(7)
		s.Arrival = a
		s.Keys.Distribution = scenarios.DistHotspot // follows r.At: the times must be the whole run's
		s.Keys.HotKeys, s.Keys.HotShare, s.Keys.HotMove = 0.1, 0.9, 500*time.Millisecond
		out[name] = s
	}
	var b strings.Builder
	for i := 0; i < 3000; i++ {
		op := "get"
		if i%7 == 3 {
			op = "update"
		}
		fmt.Fprintf(&b, "%.3f,cus_%d,%s\n", float64(i)/1000, i*31%97, op)
	}
	path := filepath.Join(t.TempDir(), "t.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out["trace"] = &scenarios.Scenario{Seed: 7, Keys: scenarios.Keys{Distribution: scenarios.DistTrace, Trace: path}}
	return out
}

// stream returns every request of s over horizon, as shard sh of n when n > 0.
func stream(t *testing.T, s *scenarios.Scenario, horizon time.Duration, sh, n int, limit int64) []Request {
	t.Helper()
	g := mustGenerator(t, s, horizon)
	if n > 0 {
		if err := g.Shard(sh, n); err != nil {
			t.Fatal(err)
		}
	}
	g.Limit(0, limit)
	var out []Request
	var r Request
	for g.Next(&r) {
		out = append(out, r)
		if len(out) > 1e6 {
			t.Fatal("endless stream")
		}
	}
	return out
}

// TestShardPartition checks that the shards of a run, for every arrival model and a
// trace, are disjoint, add up to exactly the whole run's stream (times, keys, objects,
// operations), give every update to shard 0, and are the same on every call.
func TestShardPartition(t *testing.T) {
	const horizon = 3 * time.Second
	for name, s := range shardScenarios(t) {
		t.Run(name, func(t *testing.T) {
			whole := stream(t, s, horizon, 0, 0, 0)
			if len(whole) < 1000 {
				t.Fatalf("only %d requests in the whole run", len(whole))
			}
			for _, n := range []int{1, 2, 3, 4, 7} {
				var got [][]Request
				for i := 0; i < n; i++ {
					got = append(got, stream(t, s, horizon, i, n, 0))
				}
				again := stream(t, s, horizon, n-1, n, 0)
				if fmt.Sprint(again) != fmt.Sprint(got[n-1]) {
					t.Fatalf("%d shards: shard %d differs between two generators of the same seed", n, n-1)
				}
				next := make([]int, n) // the next unread request of each shard
				for j, w := range whole {
					owner := j % n
					if w.Op == OpUpdate {
						owner = 0
					}
					sh := got[owner]
					if next[owner] >= len(sh) || sh[next[owner]] != w {
						t.Fatalf("%d shards: request %d of the whole run (%+v) is not the next of shard %d", n, j, w, owner)
					}
					next[owner]++
				}
				total := 0
				for i, sh := range got {
					if next[i] != len(sh) {
						t.Fatalf("%d shards: shard %d has %d requests that are not the whole run's", n, i, len(sh)-next[i])
					}
					total += len(sh)
				}
				if total != len(whole) {
					t.Fatalf("%d shards: %d requests in all, want the whole run's %d", n, total, len(whole))
				}
			}
		})
	}
}

// TestShardLimit checks that a request count is the whole run's: the shards make that
// many between them, whatever their number.
func TestShardLimit(t *testing.T) {
	s := shardScenarios(t)["poisson"]
	whole := stream(t, s, 0, 0, 0, 1001)
	if len(whole) != 1001 {
		t.Fatalf("whole run: %d requests, want 1001", len(whole))
	}
	total := 0
	for i := 0; i < 3; i++ {
		total += len(stream(t, s, 0, i, 3, 1001))
	}
	if total != 1001 {
		t.Fatalf("3 shards made %d requests, want 1001", total)
	}
}

// TestShardRefused checks that the closed model and bad shards are refused.
func TestShardRefused(t *testing.T) {
	s := scenario(1)
	s.Arrival = scenarios.Arrival{Model: scenarios.ArrivalClosed, Concurrency: 4}
	g := mustGenerator(t, s, time.Second)
	if err := g.Shard(0, 2); !errors.Is(err, ErrShardClosed) {
		t.Fatalf("closed model: %v, want ErrShardClosed", err)
	}
	g = mustGenerator(t, scenario(1), time.Second)
	for _, bad := range [][2]int{{2, 2}, {-1, 4}, {0, 0}} {
		if err := g.Shard(bad[0], bad[1]); err == nil {
			t.Errorf("Shard(%d, %d) accepted", bad[0], bad[1])
		}
	}
}

// BenchmarkShardNext measures one request of a shard's stream: with N shards each request
// kept costs drawing N of the whole run's.
func BenchmarkShardNext(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("shards=%d", n), func(b *testing.B) {
			s := scenario(1)
			s.Arrival = scenarios.Arrival{Model: scenarios.ArrivalConstant, Rate: 1e6}
			s.Keys.Count = 100_000
			g := mustGenerator(b, s, 0)
			if err := g.Shard(n-1, n); err != nil {
				b.Fatal(err)
			}
			var r Request
			b.ReportAllocs()
			for b.Loop() {
				if !g.Next(&r) {
					b.Fatal("stream ended")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
