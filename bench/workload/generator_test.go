package workload

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

// scenario returns a scenario with every part of the stream in use.
func scenario(seed int64) *scenarios.Scenario {
	return &scenarios.Scenario{
		Seed:    seed,
		Arrival: scenarios.Arrival{Model: scenarios.ArrivalPoisson, Rate: 1000},
		Keys: scenarios.Keys{
			Count: 1000, Distribution: scenarios.DistZipf, ZipfS: 1.1,
			Mix: map[string]float64{ObjectCustomer: 0.7, ObjectSubscription: 0.2, ObjectInvoice: 0.1},
		},
		Ops: scenarios.Ops{Get: 0.9, Update: 0.1},
	}
}

func mustGenerator(t testing.TB, s *scenarios.Scenario, horizon time.Duration) *Generator {
	t.Helper()
	g, err := NewGenerator(s, horizon)
	if err != nil {
		t.Fatalf("NewGenerator: %v", err)
	}
	return g
}

// take returns the next n requests of g (fewer if it ends).
func take(g *Generator, n int) []Request {
	out := make([]Request, 0, n)
	var r Request
	for len(out) < n && g.Next(&r) {
		out = append(out, r)
	}
	return out
}

func TestGeneratorDeterministic(t *testing.T) {
	const n = 10_000
	a := take(mustGenerator(t, scenario(42), 0), n)
	b := take(mustGenerator(t, scenario(42), 0), n)
	c := take(mustGenerator(t, scenario(43), 0), n)
	if len(a) != n || len(b) != n || len(c) != n {
		t.Fatalf("got %d, %d, %d requests", len(a), len(b), len(c))
	}
	diff := [4]int{} // at, key, object, op
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d differs with the same seed: %+v and %+v", i, a[i], b[i])
		}
		if a[i].At != c[i].At {
			diff[0]++
		}
		if a[i].Index != c[i].Index {
			diff[1]++
		}
		if a[i].Object != c[i].Object {
			diff[2]++
		}
		if a[i].Op != c[i].Op {
			diff[3]++
		}
	}
	// With another seed every part differs often: times always, keys and types mostly.
	for i, name := range []string{"times", "keys", "objects", "ops"} {
		if diff[i] < n/20 {
			t.Errorf("seeds 42 and 43: only %d of %d %s differ", diff[i], n, name)
		}
	}
}

// TestGeneratorStreamsIndependent changes one part of the scenario at a time and checks
// that the sequences of the other parts stay as they were.
func TestGeneratorStreamsIndependent(t *testing.T) {
	const n = 5000
	base := take(mustGenerator(t, scenario(9), 0), n)

	s := scenario(9)
	s.Arrival = scenarios.Arrival{Model: scenarios.ArrivalConstant, Rate: 77}
	other := take(mustGenerator(t, s, 0), n)
	for i := range base {
		if base[i].Index != other[i].Index || base[i].Object != other[i].Object || base[i].Op != other[i].Op {
			t.Fatalf("request %d: changing the arrival model changed the key, object or op: %+v, %+v", i, base[i], other[i])
		}
	}

	s = scenario(9)
	s.Keys.Distribution = scenarios.DistUniform
	s.Ops = scenarios.Ops{Get: 0.5, Update: 0.5}
	other = take(mustGenerator(t, s, 0), n)
	for i := range base {
		if base[i].At != other[i].At || base[i].Object != other[i].Object {
			t.Fatalf("request %d: changing keys and ops changed the time or object: %+v, %+v", i, base[i], other[i])
		}
	}
}

func TestGeneratorRequests(t *testing.T) {
	s := scenario(1)
	s.Arrival = scenarios.Arrival{Model: scenarios.ArrivalConstant, Rate: 100_000}
	const horizon = time.Second
	g := mustGenerator(t, s, horizon)
	if g.Closed() || g.Expected() != 100_000 || g.Count() != 1000 || len(g.Objects()) != 3 {
		t.Fatalf("Closed %v Expected %v Count %d Objects %v", g.Closed(), g.Expected(), g.Count(), g.Objects())
	}
	ids := map[string][]string{}
	for _, obj := range g.Objects() {
		ids[obj] = IDs(obj, g.Count())
	}
	objects := map[string]int{}
	updates := 0
	all := take(g, 1e6)
	if len(all) != 100_000 {
		t.Fatalf("%d requests in %v at 100000/s", len(all), horizon)
	}
	for i, r := range all {
		if r.At != time.Duration(i)*10*time.Microsecond {
			t.Fatalf("request %d at %v", i, r.At)
		}
		if r.Index < 0 || r.Index >= g.Count() || r.ID != ids[r.Object][r.Index] {
			t.Fatalf("request %+v: ID is not IDs(%s)[%d]", r, r.Object, r.Index)
		}
		objects[r.Object]++
		if r.Op == OpUpdate {
			updates++
		}
	}
	// Shares: standard errors are at most √(0.25/1e5) ≈ 0.0016; allow 0.008.
	const tol = 0.008
	for obj, want := range s.Keys.Mix {
		if f := float64(objects[obj]) / float64(len(all)); math.Abs(f-want) > tol {
			t.Errorf("%s share %.4f, want %v ± %v", obj, f, want, tol)
		}
	}
	if f := float64(updates) / float64(len(all)); math.Abs(f-0.1) > tol {
		t.Errorf("update share %.4f, want 0.1 ± %v", f, tol)
	}
	var r Request
	if g.Next(&r) {
		t.Errorf("a request past the horizon: %+v", r)
	}
}

func TestGeneratorDefaults(t *testing.T) {
	// Zero values: customer, uniform, every request a get.
	s := &scenarios.Scenario{Seed: 1, Arrival: scenarios.Arrival{Rate: 10}, Keys: scenarios.Keys{Count: 5}}
	for _, r := range take(mustGenerator(t, s, time.Second), 100) {
		if r.Object != ObjectCustomer || r.Op != OpGet || !strings.HasPrefix(r.ID, "cus_") {
			t.Fatalf("request %+v", r)
		}
	}
	s.Keys.Object = ObjectPrice
	s.Ops = scenarios.Ops{Update: 1}
	for _, r := range take(mustGenerator(t, s, time.Second), 100) {
		if r.Object != ObjectPrice || r.Op != OpUpdate || !strings.HasPrefix(r.ID, "price_") {
			t.Fatalf("request %+v", r)
		}
	}
}

func TestGeneratorClosed(t *testing.T) {
	s := scenario(3)
	s.Arrival = scenarios.Arrival{Model: scenarios.ArrivalClosed, Concurrency: 4}
	g := mustGenerator(t, s, time.Minute)
	if !g.Closed() || g.Expected() != 0 {
		t.Fatalf("Closed %v Expected %v", g.Closed(), g.Expected())
	}
	var r Request
	if g.Next(&r) {
		t.Fatal("Next of the closed model reported a request")
	}
	// NextKey gives the same keys as the open model's stream, and leaves At alone.
	open := take(mustGenerator(t, scenario(3), 0), 100)
	for i := range open {
		r.At = 12345
		if !g.NextKey(&r) {
			t.Fatal("NextKey reported false")
		}
		if r.At != 12345 || r.ID != open[i].ID || r.Op != open[i].Op {
			t.Fatalf("NextKey %d: %+v, open model %+v", i, r, open[i])
		}
	}
}

func TestGeneratorTrace(t *testing.T) {
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	s := &scenarios.Scenario{
		Seed: 1, File: filepath.Join(dir, "scenario.yaml"),
		Arrival: scenarios.Arrival{Rate: 1}, // ignored: the trace has the times
		Keys:    scenarios.Keys{Distribution: scenarios.DistTrace, Trace: "trace.csv"},
	}
	g := mustGenerator(t, s, 2*time.Second)
	if g.Expected() != 4 || g.Count() != 4 || len(g.Objects()) != 3 {
		t.Fatalf("Expected %v Count %d Objects %v", g.Expected(), g.Count(), g.Objects())
	}
	got := take(g, 100)
	want := []Request{
		{At: 0, Op: OpGet, Object: ObjectCustomer, Index: 0, ID: "cus_a"},
		{At: 500 * time.Millisecond, Op: OpGet, Object: ObjectCustomer, Index: 1, ID: "cus_b"},
		{At: 500 * time.Millisecond, Op: OpUpdate, Object: ObjectCustomer, Index: 0, ID: "cus_a"},
		{At: 1250 * time.Millisecond, Op: OpGet, Object: ObjectSubscription, Index: 2, ID: "sub_x"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d requests before 2s, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// Closed with a trace: its keys in order, without times, to its end.
	s.Arrival = scenarios.Arrival{Model: scenarios.ArrivalClosed}
	g = mustGenerator(t, s, 0)
	var r Request
	n := 0
	for g.NextKey(&r) {
		n++
	}
	if n != 6 || r.ID != "cus_b" {
		t.Errorf("closed trace: %d requests, last %+v", n, r)
	}
}

func TestGeneratorErrors(t *testing.T) {
	s := &scenarios.Scenario{
		Arrival: scenarios.Arrival{Model: scenarios.ArrivalPoisson},
		Keys:    scenarios.Keys{Mix: map[string]float64{"customer": 0.5, "charge": 0.4}},
		Ops:     scenarios.Ops{Get: 0.5, Update: 0.4},
	}
	_, err := NewGenerator(s, time.Second)
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{"arrival.rate", "keys.count", `unknown object type "charge"`, "ops: get (0.5) and update (0.4) must sum to 1"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	s = &scenarios.Scenario{Arrival: scenarios.Arrival{Rate: 1}, Keys: scenarios.Keys{Count: 1, Mix: map[string]float64{"customer": 0.5, "price": 0.4}}}
	if _, err := NewGenerator(s, time.Second); err == nil || !strings.Contains(err.Error(), "keys.mix: shares must sum to 1") {
		t.Errorf("mix summing to 0.9: %v", err)
	}
	s = &scenarios.Scenario{Arrival: scenarios.Arrival{Rate: 1}, Keys: scenarios.Keys{Distribution: "trace", Trace: "nope.csv"}}
	if _, err := NewGenerator(s, time.Second); err == nil || !strings.Contains(err.Error(), "keys.trace") {
		t.Errorf("missing trace: %v", err)
	}
}

func TestGeneratorNextDoesNotAllocate(t *testing.T) {
	for name, s := range allocScenarios(t) {
		g := mustGenerator(t, s, 0)
		var r Request
		allocs := testing.AllocsPerRun(10_000, func() {
			if !g.Next(&r) {
				t.Fatal("stream ended")
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per Next, want 0", name, allocs)
		}
		allocs = testing.AllocsPerRun(10_000, func() { g.NextKey(&r) })
		if allocs != 0 {
			t.Errorf("%s: %v allocations per NextKey, want 0", name, allocs)
		}
	}
}

func allocScenarios(t testing.TB) map[string]*scenarios.Scenario {
	zipf := scenario(1)
	zipf.Arrival = scenarios.Arrival{Model: scenarios.ArrivalConstant, Rate: 1e6}
	hot := scenario(1)
	hot.Keys.Distribution = scenarios.DistHotspot
	hot.Keys.HotMove = time.Millisecond
	steps := scenario(1)
	steps.Arrival = scenarios.Arrival{Model: scenarios.ArrivalSteps, Steps: []scenarios.Step{{Rate: 1e5, For: time.Second}, {Rate: 0, For: time.Second}, {Rate: 1e6}}}
	steps.Keys.Distribution = scenarios.DistUniform
	// A long trace, so that it does not end within AllocsPerRun.
	var b strings.Builder
	ids := IDs(ObjectCustomer, 100)
	for i := range 30_000 {
		fmt.Fprintf(&b, "%.3f,%s,get\n", float64(i)/1000, ids[i%100])
	}
	path := filepath.Join(t.TempDir(), "long.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	trace := &scenarios.Scenario{Seed: 1, Arrival: scenarios.Arrival{Rate: 1}, Keys: scenarios.Keys{Distribution: scenarios.DistTrace, Trace: path}}
	return map[string]*scenarios.Scenario{"constant+zipf": zipf, "poisson+hotspot": hot, "steps+uniform": steps, "trace": trace}
}
