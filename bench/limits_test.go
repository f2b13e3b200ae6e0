package bench_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/bench/workload"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
	"github.com/cachebench/cachebench/reports"
)

// missScenario is an all-miss read load on L1 alone (one entry, a million keys), with no
// network profile: every read is a Stripe call.
func missScenario(t *testing.T, rate int, duration string) string {
	t.Helper()
	return `
name: ` + t.Name() + `
seed: 7
duration: ` + duration + `
warmup: 0s
arrival: {model: constant, rate: ` + strconv.Itoa(rate) + `}
keys: {object: customer, count: 1000000, distribution: uniform}
ops: {get: 1}
cache:
  l1: {enabled: true, policy: lru, max_entries: 1, ttl: 1s}
  l2: {enabled: false}
  l3: {enabled: false}
  invalidation: ttl-only
lambda: {enabled: false}
network: none
stripe: {mode: none}
`
}

// idleCPU reports a machine far from saturated, so the CPU part of the rule cannot
// decide a test that is about another limit.
func idleCPU() (float64, float64) { return 5, 5 }

func runWith(t *testing.T, env *mocks.Env, yaml string, opt bench.Options) *reports.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := bench.Run(ctx, parse(t, yaml), env, opt)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

func wantReason(t *testing.T, g reports.Generator, reason string, bottleneck bool) {
	t.Helper()
	if g.BottleneckReason != reason || g.Bottleneck != bottleneck {
		t.Fatalf("bottleneck %v, reason %q (%s); want %v, %q", g.Bottleneck, g.BottleneckReason, g.BottleneckDetail, bottleneck, reason)
	}
	if g.BottleneckDetail == "" {
		t.Fatal("no bottleneck_detail")
	}
}

// TestLimitNoneWhenHealthy: a light run the harness and the embedded Stripe serve at
// once is attributed to nothing but the cache. A busy machine can make the dispatcher
// late (which the rule rightly reports), so the run is tried up to three times.
func TestLimitNoneWhenHealthy(t *testing.T) {
	env := embedded.Get(t)
	var g reports.Generator
	for try := 0; try < 3; try++ {
		res := runWith(t, env, missScenario(t, 50, "2s"), bench.Options{})
		if res.Requests.Errors > 0 {
			t.Fatalf("%d errors: %v", res.Requests.Errors, res.Requests.ErrorKinds)
		}
		g = res.Generator
		if g.BottleneckReason == reports.BottleneckNone {
			break
		}
		t.Logf("try %d: %s: %s", try+1, g.BottleneckReason, g.BottleneckDetail)
	}
	wantReason(t, g, reports.BottleneckNone, false)
	if g.PeakInFlight < 1 || g.PeakOpenFiles < 3 || g.MaxInFlight != 10000 {
		t.Errorf("peak in flight %d of %d, peak open files %d: want figures from the run", g.PeakInFlight, g.MaxInFlight, g.PeakOpenFiles)
	}
	if len(g.Mocks) != 1 || g.Mocks[0].Service != "stripe" || g.Mocks[0].Requests < 90 || g.Mocks[0].Saturated {
		t.Errorf("stand-in figures %+v: want the embedded stripe-mock's ~100 requests, not saturated", g.Mocks)
	}
	if g.Cores < 1 {
		t.Errorf("cores %d", g.Cores)
	}
}

// TestLimitInFlight: two in-flight slots and a read that takes 20 ms cannot serve 200
// requests a second; the dispatcher waits for slots, and the run says so.
func TestLimitInFlight(t *testing.T) {
	env := embedded.Get(t)
	res := runWith(t, env, missScenario(t, 200, "1s"), bench.Options{
		MaxInFlight: 2,
		Hooks: bench.Hooks{
			BeforeRead: func(time.Duration, time.Time) { time.Sleep(20 * time.Millisecond) },
			CPUPercent: idleCPU,
		},
	})
	g := res.Generator
	wantReason(t, g, reports.BottleneckInFlight, true)
	if g.SlotWaits == 0 || g.PeakInFlight != 2 || g.MaxInFlight != 2 {
		t.Errorf("slot waits %d, peak %d of %d: want waits at a peak of 2", g.SlotWaits, g.PeakInFlight, g.MaxInFlight)
	}
	if !strings.Contains(strings.Join(res.Notes, "\n"), "in_flight") {
		t.Errorf("notes %q do not name the limit", res.Notes)
	}
}

// TestLimitOpenFiles: a process holding 95% of its descriptors is at its limit.
func TestLimitOpenFiles(t *testing.T) {
	env := embedded.Get(t)
	res := runWith(t, env, missScenario(t, 50, "1s"), bench.Options{Hooks: bench.Hooks{
		OpenFiles:      func() int64 { return 950 },
		OpenFilesLimit: func() int64 { return 1000 },
		CPUPercent:     idleCPU,
	}})
	g := res.Generator
	wantReason(t, g, reports.BottleneckOpenFiles, true)
	if g.PeakOpenFiles != 950 || g.OpenFilesLimit != 1000 {
		t.Errorf("open files %d of %d, want 950 of 1000", g.PeakOpenFiles, g.OpenFilesLimit)
	}
}

// TestLimitHarnessCPU: a dispatcher that takes 3 ms per request cannot start 1000 a
// second on time; with the CPU saturated, the harness is the limit.
func TestLimitHarnessCPU(t *testing.T) {
	env := embedded.Get(t)
	res := runWith(t, env, missScenario(t, 1000, "1s"), bench.Options{Hooks: bench.Hooks{
		Dispatched: func(workload.Request) { time.Sleep(3 * time.Millisecond) },
		CPUPercent: func() (float64, float64) { return 97, 99 },
	}})
	g := res.Generator
	wantReason(t, g, reports.BottleneckHarnessCPU, true)
	if g.LateRatio < 0.5 || g.CPUPercent != 97 || g.MachineCPUPercent != 99 {
		t.Errorf("late %.2f, CPU %.0f%%/%.0f%%: want most requests late and the injected CPU", g.LateRatio, g.CPUPercent, g.MachineCPUPercent)
	}
}

// TestLimitMockSaturated: an embedded stripe-mock with one worker and 10 ms per request
// serves 100 requests a second; offered 300, it queues, and the run names it.
func TestLimitMockSaturated(t *testing.T) {
	env := mockstest.StartConfig(t, mocks.Config{Provider: mocks.ProviderEmbedded,
		Embedded: mocks.EmbeddedConfig{StripeWorkers: 1, StripeDelay: 10 * time.Millisecond}})
	res := runWith(t, env, missScenario(t, 300, "1s"), bench.Options{Hooks: bench.Hooks{CPUPercent: idleCPU}})
	g := res.Generator
	wantReason(t, g, reports.BottleneckMockSaturated, true)
	if g.BottleneckService != "stripe" {
		t.Errorf("bottleneck service %q, want stripe", g.BottleneckService)
	}
	if len(g.Mocks) != 1 || !g.Mocks[0].Saturated || g.Mocks[0].Workers != 1 || g.Mocks[0].QueueP95US < 10_000 || g.Mocks[0].HandlerP50US < 10_000 {
		t.Errorf("stand-in figures %+v: want one worker, handler ≥ 10 ms, and a queue", g.Mocks)
	}
	if res.Requests.Errors > 0 {
		t.Errorf("%d errors: a slow stand-in must make reads slower, not failed: %v", res.Requests.Errors, res.Requests.ErrorKinds)
	}
}
