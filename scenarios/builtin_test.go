package scenarios

import (
	"io/fs"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBuiltins(t *testing.T) {
	want := []string{
		"baseline", "cold-start-storm", "cold-start-warming", "day-in-the-life", "l1-memory-sweep", "l1-strategies", "l3-ttl-sweep", "lambda-memory-sweep",
		"payload-shape", "redis-cluster", "redis-failover", "redis-outage", "redis-tls-overhead",
		"stripe-rate-limit", "trace-replay", "ttl-sweep", "webhook-invalidation", "zipf-read-heavy",
	}
	list := List()
	var names []string
	for _, in := range list {
		names = append(names, in.Name)
	}
	if !slices.Equal(names, want) {
		t.Fatalf("List() = %v, want %v", names, want)
	}
	for _, in := range list {
		t.Run(in.Name, func(t *testing.T) {
			if in.Description == "" || strings.ContainsRune(in.Description, '\n') {
				t.Errorf("description %q", in.Description)
			}
			if in.File != "scenarios/"+in.Name+".yaml" {
				t.Errorf("file %q", in.File)
			}
			data, err := Builtin(in.Name)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(data, in.File)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), "\nname: "+in.Name+"\n") || s.Name != in.Name {
				t.Errorf("the file names itself %q", s.Name)
			}
			if s.Description != in.Description {
				t.Errorf("description %q, List says %q", s.Description, in.Description)
			}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ParsedThresholds(); err != nil || len(s.Thresholds) == 0 {
				t.Errorf("thresholds %v: %v", s.Thresholds, err)
			}
			points, err := Expand(s)
			if err != nil {
				t.Fatal(err)
			}
			// Laptop-sized: modest rates, each run under about a minute, a sweep about two; on
			// the virtual clock, where simulated time is cheap, at most 9 million requests in all.
			var total time.Duration
			var simulated float64
			for _, p := range points {
				if p.Clock == ClockVirtual {
					simulated += p.Arrival.Rate * (p.Warmup + p.Duration).Seconds()
					continue
				}
				if p.Duration == 0 && p.Keys.Distribution != DistTrace {
					t.Errorf("%s: counts requests; built-ins are timed", p.Point)
				} // a trace's length is checked where traces are read (TestBuiltinReplayTrace)
				run := p.Warmup + p.Duration
				if run > 60*time.Second {
					t.Errorf("%s: one run takes %v", p.Point, run)
				}
				total += run
				if peak := math.Max(p.Arrival.Rate, p.Arrival.To); p.Arrival.Model != ArrivalClosed && peak > 2000 {
					t.Errorf("%s: %v requests per second", p.Point, peak)
				}
			}
			if simulated > 9e6 {
				t.Errorf("the scenario simulates %.0f requests in all", simulated)
			}
			if total > 2*time.Minute {
				t.Errorf("the scenario runs for %v in all", total)
			}
			// The canonical form reads back to the same scenario.
			out, err := s.YAML()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(out, in.File)
			if err != nil {
				t.Fatalf("canonical form: %v\n%s", err, out)
			}
			if !sameConfig(t, s, back) {
				t.Errorf("canonical form reads back differently:\n%s", out)
			}
		})
	}
}

func TestBuiltinsAreTheEmbeddedFiles(t *testing.T) {
	entries, err := fs.Glob(builtins, "*.yaml")
	if err != nil || len(entries) != len(List()) {
		t.Errorf("embedded %v (%v), List has %d", entries, err, len(List()))
	}
	if _, err := Builtin("../doc"); err == nil {
		t.Error("Builtin read outside the scenarios")
	}
}

func TestBuiltinScenarioShapes(t *testing.T) {
	load := func(name string) *Scenario {
		s, err := Load(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := load("baseline"); s.Arrival.Rate != 500 || s.Duration != 15*time.Second || s.Warmup != 5*time.Second ||
		s.Keys.Distribution != DistZipf || s.Keys.Count != 10000 || !s.Lambda.Enabled || s.Lambda.MemoryMB != 512 ||
		s.Lambda.Arch != ArchARM64 || s.Network != NetworkFor(ProfileAWSSameAZ) ||
		!s.Cache.L1.Enabled || !s.Cache.L2.Enabled || !s.Cache.L3.Enabled {
		t.Errorf("baseline = %+v", s)
	}
	if s := load("day-in-the-life"); s.Clock != ClockVirtual || s.Duration != 24*time.Hour || s.Arrival.Model != ArrivalDiurnal ||
		s.Arrival.Rate != 100 || !s.Cache.L1.Enabled || !s.Cache.L2.Enabled || !s.Cache.L3.Enabled || s.Cache.L3.TTL != 24*time.Hour {
		t.Errorf("day-in-the-life = %+v", s)
	}
	if s := load("cold-start-storm"); s.Arrival.Model != ArrivalRamp || s.Arrival.To <= 10*s.Arrival.From || !s.Lambda.Enabled {
		t.Errorf("cold-start-storm arrival = %+v", s.Arrival)
	}
	if s := load("webhook-invalidation"); s.Ops.Update != 0.05 || s.Cache.Invalidation != InvalidationWebhook {
		t.Errorf("webhook-invalidation = %+v %+v", s.Ops, s.Cache)
	}
	if s := load("redis-outage"); len(s.Faults) != 1 || s.Faults[0].Target != TargetRedis || s.Faults[0].Kind != FaultDown ||
		s.Faults[0].For != 10*time.Second || s.Faults[0].At == 0 || s.Faults[0].At+s.Faults[0].For >= s.Duration {
		t.Errorf("redis-outage faults = %+v", s.Faults)
	}
	if s := load("stripe-rate-limit"); s.Stripe.Mode != StripeModeTest || s.Keys.Distribution != DistUniform ||
		s.Arrival.Rate <= 25 || len(s.Faults) != 1 || s.Faults[0].Kind != FaultRateLimit {
		t.Errorf("stripe-rate-limit = %+v", s)
	}
	sweeps := map[string][]string{
		"ttl-sweep":           {"cache.l1.ttl", "cache.l2.ttl"},
		"l1-memory-sweep":     {"cache.l1.max_entries"},
		"l1-strategies":       {"cache.l1.policy"},
		"cold-start-warming":  {"cache.l1.warm.keys"},
		"lambda-memory-sweep": {"lambda.memory_mb"},
		"payload-shape":       {"cache.shape"},
		"l3-ttl-sweep":        {"cache.l3.ttl"},
	}
	for name, keys := range sweeps {
		var got []string
		for _, ax := range load(name).Sweep {
			got = append(got, ax.Key)
		}
		if !slices.Equal(got, keys) {
			t.Errorf("%s sweeps %v, want %v", name, got, keys)
		}
	}
	if s := load("lambda-memory-sweep"); !slices.Equal(s.Sweep[0].Values, []string{"128", "256", "512", "1024", "1769", "3008"}) {
		t.Errorf("lambda-memory-sweep values %v", s.Sweep[0].Values)
	}
	if points, err := Expand(load("payload-shape")); err != nil || len(points) != 2 ||
		points[0].Cache.Shape != ShapeFull || points[0].Cache.Fields != nil ||
		points[1].Cache.Shape != ShapeFields || !slices.Equal(points[1].Cache.Fields, []string{"id", "email", "metadata"}) ||
		!points[1].Cache.L1.Enabled || !points[1].Cache.L2.Enabled || !points[1].Cache.L3.Enabled {
		t.Errorf("payload-shape points: %v", err)
		for _, p := range points {
			t.Logf("%s: %+v", p.Point, p.Cache)
		}
	}
	if s := load("ttl-sweep"); s.Ops.Update == 0 {
		t.Error("ttl-sweep has no updates, so no stale reads")
	}
}
