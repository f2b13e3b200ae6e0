package scenarios

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	s := mustParse(t, `name: grid
thresholds: ["p99 < 1s"]
faults: [{at: 1s, for: 1s, target: redis, kind: down}]
keys: {mix: {customer: 0.5, price: 0.5}}
sweep:
  lambda.memory_mb: [128, 1024]
  cache.l1.ttl: [1s, 5s, 30s]
  network: [none, aws-cross-az]
`)
	points, err := Expand(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 12 {
		t.Fatalf("%d points, want 12", len(points))
	}
	var names []string
	for _, p := range points {
		names = append(names, p.Point)
	}
	want := []string{
		"lambda.memory_mb=128,cache.l1.ttl=1s,network=none",
		"lambda.memory_mb=128,cache.l1.ttl=1s,network=aws-cross-az",
		"lambda.memory_mb=128,cache.l1.ttl=5s,network=none",
		"lambda.memory_mb=128,cache.l1.ttl=5s,network=aws-cross-az",
		"lambda.memory_mb=128,cache.l1.ttl=30s,network=none",
		"lambda.memory_mb=128,cache.l1.ttl=30s,network=aws-cross-az",
		"lambda.memory_mb=1024,cache.l1.ttl=1s,network=none",
		"lambda.memory_mb=1024,cache.l1.ttl=1s,network=aws-cross-az",
		"lambda.memory_mb=1024,cache.l1.ttl=5s,network=none",
		"lambda.memory_mb=1024,cache.l1.ttl=5s,network=aws-cross-az",
		"lambda.memory_mb=1024,cache.l1.ttl=30s,network=none",
		"lambda.memory_mb=1024,cache.l1.ttl=30s,network=aws-cross-az",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("points:\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	p := points[9]
	if p.Lambda.MemoryMB != 1024 || p.Cache.L1.TTL != 5*time.Second || p.Network != NetworkFor(ProfileAWSCrossAZ) {
		t.Errorf("point 10 = %+v", p)
	}
	for i, p := range points {
		if p.Name != "grid" || p.Sweep != nil || p.File != "set.yaml" {
			t.Errorf("point %d: name %q sweep %v file %q", i, p.Name, p.Sweep, p.File)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("point %d: %v", i, err)
		}
	}
	if len(s.Sweep) != 3 || s.Point != "" || s.Lambda.MemoryMB != 512 {
		t.Errorf("Expand changed its input: %+v", s)
	}

	// Deep copies: changing one point changes neither the others nor the input.
	points[0].Faults[0].Target = TargetStripe
	points[0].Thresholds[0] = "p50 < 1ms"
	points[0].Keys.Mix["price"] = 0.9
	for _, other := range []*Scenario{points[1], s} {
		if other.Faults[0].Target != TargetRedis || other.Thresholds[0] != "p99 < 1s" || other.Keys.Mix["price"] != 0.5 {
			t.Errorf("points share memory: %+v", other)
		}
	}
	if err := points[1].Set("cache.l2.ttl", "1m"); err != nil || points[2].Cache.L2.TTL != 5*time.Minute {
		t.Errorf("Set on one point changed another (%v)", err)
	}
}

func TestExpandWithoutSweep(t *testing.T) {
	s := mustParse(t, "name: one\n")
	points, err := Expand(s)
	if err != nil || len(points) != 1 {
		t.Fatalf("Expand = %d points, %v", len(points), err)
	}
	if points[0] == s || points[0].Point != "" || !sameConfig(t, points[0], s) {
		t.Errorf("point = %+v", points[0])
	}
}

func TestExpandErrors(t *testing.T) {
	tests := []struct {
		name  string
		sweep []SweepAxis
		want  string
	}{
		{"too many points", []SweepAxis{{"seed", seq(20)}, {"arrival.rate", seq(20)}}, "more than 256 points"},
		{"unknown key", []SweepAxis{{"cache.l1.tll", []string{"1s"}}}, `unknown key "cache.l1.tll"`},
		{"no values", []SweepAxis{{"seed", nil}}, "seed has no values"},
		{"bad value", []SweepAxis{{"lambda.memory_mb", []string{"512", "99"}}}, "sweep point lambda.memory_mb=99: lambda.memory_mb is 99"},
		{"value of the wrong type", []SweepAxis{{"cache.l1.ttl", []string{"soon"}}}, `"soon" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Defaults()
			s.Name = "hand"
			s.Sweep = tt.sweep
			if _, err := Expand(&s); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Expand = %v, want an error with %q", err, tt.want)
			}
		})
	}
	if _, err := Expand(nil); err == nil {
		t.Error("Expand(nil) succeeded")
	}
}

func TestExpandErrorsPointAtTheSweepValue(t *testing.T) {
	s, errs := decode([]byte("name: x\nsweep:\n  cache.l1.ttl: [1s, -5s]\n"), "sw.yaml")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	_, err := Expand(s)
	if err == nil || !strings.HasPrefix(err.Error(), "sw.yaml:3:22: sweep point cache.l1.ttl=-5s: cache.l1.ttl is -5s") {
		t.Errorf("Expand = %v", err)
	}
}

func seq(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = string(rune('1'+i%9)) + strings.Repeat("0", i/9)
	}
	return out
}

// TestExpandShapeSweep: a sweep over cache.shape names the fields once; its full points
// keep whole objects (no fields), and without fields its fields point is an error.
func TestExpandShapeSweep(t *testing.T) {
	s, err := Parse([]byte("name: t\ncache: {fields: [id, email]}\nsweep: {cache.shape: [full, fields]}\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	points, err := Expand(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 2 || points[0].Cache.Shape != ShapeFull || points[0].Cache.Fields != nil ||
		points[1].Cache.Shape != ShapeFields || !slices.Equal(points[1].Cache.Fields, []string{"id", "email"}) {
		t.Errorf("points %+v, %+v", points[0].Cache, points[1].Cache)
	}
	if err := points[0].Validate(); err != nil {
		t.Errorf("the full point: %v", err)
	}

	_, err = Parse([]byte("name: t\nsweep: {cache.shape: [full, fields]}\n"), "t.yaml")
	if err == nil || !strings.Contains(err.Error(), "cache.fields names none") {
		t.Errorf("a shape sweep without fields: %v, want the fields point refused", err)
	}
	// Without the sweep, fields with shape full are refused again.
	s.Sweep = nil
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "cache.shape is full") {
		t.Errorf("fields with shape full and no sweep: %v", err)
	}
}

// TestSetShapeAndFields: --set cache.shape=fields with --set cache.fields=[...] is a
// valid scenario; either alone on a default scenario is refused with the fix.
func TestSetShapeAndFields(t *testing.T) {
	if s, err := Load("baseline", []string{"cache.shape=fields", "cache.fields=[id, email]"}); err != nil ||
		s.Cache.Shape != ShapeFields || !slices.Equal(s.Cache.Fields, []string{"id", "email"}) {
		t.Errorf("Load with both = %v", err)
	}
	if _, err := Load("baseline", []string{"cache.shape=fields"}); err == nil || !strings.Contains(err.Error(), "cache.fields names none") {
		t.Errorf("shape alone: %v", err)
	}
	if _, err := Load("baseline", []string{"cache.fields=[email]"}); err == nil || !strings.Contains(err.Error(), "set cache.shape: fields") {
		t.Errorf("fields alone: %v", err)
	}
}
