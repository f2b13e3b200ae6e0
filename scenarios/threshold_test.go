package scenarios

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	good := []struct {
		in   string
		want Threshold
		str  string
	}{
		{"p99 < 50ms", Threshold{"p99", "<", 0.05, UnitSeconds}, "p99 < 50ms"},
		{"p50<=2ms", Threshold{"p50", "<=", 0.002, UnitSeconds}, "p50 <= 2ms"},
		{"  max  <  1.5s ", Threshold{"max", "<", 1.5, UnitSeconds}, "max < 1.5s"},
		{"p999 < 500us", Threshold{"p999", "<", 0.0005, UnitSeconds}, "p999 < 500µs"},
		{"l1.hit_ratio > 0.8", Threshold{"l1.hit_ratio", ">", 0.8, UnitNone}, "l1.hit_ratio > 0.8"},
		{"l2.hit_ratio >= 80%", Threshold{"l2.hit_ratio", ">=", 0.8, UnitPercent}, "l2.hit_ratio >= 80%"},
		{"error_ratio < 0.5%", Threshold{"error_ratio", "<", 0.005, UnitPercent}, "error_ratio < 0.5%"},
		{"stale_ratio == 0", Threshold{"stale_ratio", "==", 0, UnitNone}, "stale_ratio == 0"},
		{"max_staleness < 2s", Threshold{"max_staleness", "<", 2, UnitSeconds}, "max_staleness < 2s"},
		{"origin.calls < 700", Threshold{"origin.calls", "<", 700, UnitNone}, "origin.calls < 700"},
		{"origin.rate_limited == 0", Threshold{"origin.rate_limited", "==", 0, UnitNone}, "origin.rate_limited == 0"},
		{"cost.per_million_requests < 2.5", Threshold{"cost.per_million_requests", "<", 2.5, UnitNone}, "cost.per_million_requests < 2.5"},
		{"cold_starts <= 20", Threshold{"cold_starts", "<=", 20, UnitNone}, "cold_starts <= 20"},
	}
	for _, tt := range good {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseThreshold(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.Metric != tt.want.Metric || got.Op != tt.want.Op || got.Unit != tt.want.Unit || fmt.Sprint(got.Value) != fmt.Sprint(tt.want.Value) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
			again, err := ParseThreshold(got.String())
			if err != nil || again != got {
				t.Errorf("String() does not read back: %+v %v", again, err)
			}
		})
	}
	bad := []struct{ in, want string }{
		{"", "no comparison"},
		{"p99 50ms", "no comparison"},
		{"< 50ms", "no metric"},
		{"p99 <", "no value"},
		{"p98 < 5ms", `did you mean p90, p99`},
		{"latency < 5ms", `unknown metric "latency"`},
		{"p99 = 5ms", "write == to compare"},
		{"p99 =< 5ms", "write <="},
		{"p99 => 5ms", "write >="},
		{"p99 != 5ms", "!= is not"},
		{"p99 <> 5ms", "unknown comparison"},
		{"p99 < 50", "write p99 < 50ms"},
		{"p99 < 5%", "needs a unit"},
		{"p99 < 10 sec", "write 10s"},
		{"p99 < -5ms", "cannot be negative"},
		{"l1.hit_ratio > 80", "write 80% or 0.8"},
		{"l1.hit_ratio > 150%", "outside 0%..100%"},
		{"l1.hit_ratio > 5ms", "a ratio, not a duration"},
		{"origin.calls < 5%", "a count"},
		{"cold_starts < 1s", "a count"},
		{"origin.calls < -1", "cannot be negative"},
		{"cost.total < lots", "not a number, a duration or a percentage"},
		{"p99 < 5ms or so", "not a number"},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.in, func(t *testing.T) {
			_, err := ParseThreshold(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseThreshold(%q) = %v, want an error with %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestThresholdPass(t *testing.T) {
	tests := []struct {
		expr   string
		actual float64
		want   bool
	}{
		{"p99 < 50ms", 0.049, true},
		{"p99 < 50ms", 0.05, false},
		{"p99 <= 50ms", 0.05, true},
		{"l1.hit_ratio > 80%", 0.81, true},
		{"l1.hit_ratio >= 0.8", 0.79, false},
		{"origin.calls == 0", 0, true},
	}
	for _, tt := range tests {
		th, err := ParseThreshold(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := th.Pass(tt.actual); got != tt.want {
			t.Errorf("%s with %v: %v, want %v", tt.expr, tt.actual, got, tt.want)
		}
	}
}

func TestThresholdMetrics(t *testing.T) {
	ms := ThresholdMetrics()
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.Name] {
			t.Errorf("%s listed twice", m.Name)
		}
		seen[m.Name] = true
		switch m.Kind {
		case KindDuration, KindRatio, KindCount, KindUSD:
		default:
			t.Errorf("%s: kind %q", m.Name, m.Kind)
		}
		if m.Result == "" || m.Doc == "" {
			t.Errorf("%s is undocumented", m.Name)
		}
	}
	for _, name := range []string{"p50", "p90", "p99", "p999", "max", "mean", "error_ratio", "l1.hit_ratio", "l2.hit_ratio",
		"l3.hit_ratio", "stale_ratio", "max_staleness", "origin.calls", "origin.rate_limited", "cost.per_million_requests", "cold_starts"} {
		if !seen[name] {
			t.Errorf("%s missing", name)
		}
	}
	ms[0].Name = "changed"
	if ThresholdMetrics()[0].Name == "changed" {
		t.Error("ThresholdMetrics shares its table with callers")
	}
}

func TestParsedThresholds(t *testing.T) {
	s := Defaults()
	s.Thresholds = []string{"p99 < 1s", "bogus", "l1.hit_ratio > 2"}
	if _, err := s.ParsedThresholds(); err == nil || !strings.Contains(err.Error(), "thresholds[1]") || !strings.Contains(err.Error(), "thresholds[2]") {
		t.Errorf("ParsedThresholds = %v", err)
	}
	s.Thresholds = s.Thresholds[:1]
	if ts, err := s.ParsedThresholds(); err != nil || len(ts) != 1 || ts[0].Metric != "p99" {
		t.Errorf("ParsedThresholds = %v, %v", ts, err)
	}
}
