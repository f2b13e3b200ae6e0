package workload

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

// drain returns every offset of s (at most max).
func drain(t *testing.T, s Schedule, max int) []time.Duration {
	t.Helper()
	var out []time.Duration
	for len(out) < max {
		at, ok := s.Next()
		if !ok {
			return out
		}
		if n := len(out); n > 0 && at < out[n-1] {
			t.Fatalf("offset %d: %v is before the previous %v", n, at, out[n-1])
		}
		out = append(out, at)
	}
	return out
}

func mustSchedule(t *testing.T, a scenarios.Arrival, horizon time.Duration, seed uint64) Schedule {
	t.Helper()
	s, err := NewSchedule(a, horizon, seed)
	if err != nil {
		t.Fatalf("NewSchedule(%+v): %v", a, err)
	}
	return s
}

func TestConstantExactWithoutDrift(t *testing.T) {
	const n = 1_000_000
	s := mustSchedule(t, scenarios.Arrival{Model: scenarios.ArrivalConstant, Rate: 1000}, n*time.Millisecond, 1)
	for i := range n {
		at, ok := s.Next()
		if !ok {
			t.Fatalf("schedule ended after %d arrivals, want %d", i, n)
		}
		if want := time.Duration(i) * time.Millisecond; at != want {
			t.Fatalf("arrival %d at %v, want exactly %v", i, at, want)
		}
	}
	for range 3 {
		if at, ok := s.Next(); ok {
			t.Fatalf("arrival at %v past the horizon", at)
		}
	}
}

// TestConstantNonIntegralPeriod checks rates whose period is not a whole number of
// nanoseconds against exact rational arithmetic: every offset is i/rate rounded to the
// nanosecond, so the error stays under 1 ns over a million arrivals.
func TestConstantNonIntegralPeriod(t *testing.T) {
	for _, rate := range []float64{3, 7.5, 1234.5678, 99999.7} {
		const n = 1_000_000
		s := mustSchedule(t, scenarios.Arrival{Model: scenarios.ArrivalConstant, Rate: rate}, 0, 1)
		r := new(big.Rat).SetFloat64(rate)
		for i := range n {
			at, ok := s.Next()
			if !ok {
				t.Fatalf("rate %v: unbounded schedule ended at %d", rate, i)
			}
			if i%9973 != 0 && i != n-1 {
				continue
			}
			want := new(big.Rat).Quo(new(big.Rat).SetInt64(int64(i)*1e9), r)
			diff, _ := new(big.Rat).Sub(new(big.Rat).SetInt64(int64(at)), want).Float64()
			if math.Abs(diff) > 0.5+1e-6 {
				t.Fatalf("rate %v: arrival %d at %dns, exact %s: off by %vns", rate, i, at, want.FloatString(3), diff)
			}
		}
	}
}

func TestConstantFarIndexExact(t *testing.T) {
	c := newConstant(7, math.MaxInt64)
	const i = 30_000_000_001 // i·1e9 overflows 64 bits, i·1e9/7 does not
	at, ok := c.offset(i)
	want := new(big.Int).Mul(big.NewInt(i), big.NewInt(1e9))
	want.Add(want, big.NewInt(3)).Quo(want, big.NewInt(7)) // round(i·1e9/7)
	if !ok || int64(at) != want.Int64() {
		t.Fatalf("offset(%d) = %d, %v; want %s", i, at, ok, want)
	}
}

func TestConstantCountMatchesExpected(t *testing.T) {
	for _, tc := range []struct {
		rate    float64
		horizon time.Duration
	}{{1000, time.Second}, {3, 10 * time.Second}, {7.5, 2 * time.Second}, {0.5, 9 * time.Second}} {
		a := scenarios.Arrival{Model: scenarios.ArrivalConstant, Rate: tc.rate}
		got := len(drain(t, mustSchedule(t, a, tc.horizon, 1), 1e7))
		if want := int(math.Ceil(Expected(a, tc.horizon))); got != want {
			t.Errorf("rate %v over %v: %d arrivals, want %d", tc.rate, tc.horizon, got, want)
		}
	}
}

func TestPoisson(t *testing.T) {
	const (
		rate = 1000.0
		n    = 100_000
	)
	for _, seed := range []uint64{1, 2, 3} {
		s := mustSchedule(t, scenarios.Arrival{Model: scenarios.ArrivalPoisson, Rate: rate}, 0, seed)
		at := drain(t, s, n+1)
		var sum, sum2 float64
		prev := time.Duration(0)
		for _, x := range at[1:] {
			g := (x - prev).Seconds()
			prev = x
			sum += g
			sum2 += g * g
		}
		mean := sum / n
		sd := math.Sqrt(sum2/n - mean*mean)
		// The sampling error of the mean gap is 1/√n = 0.3%; of the CV about √(2/n) = 0.45%.
		if math.Abs(mean*rate-1) > 0.02 {
			t.Errorf("seed %d: mean gap %v, want 1/rate = %v within 2%%", seed, mean, 1/rate)
		}
		if cv := sd / mean; math.Abs(cv-1) > 0.03 {
			t.Errorf("seed %d: coefficient of variation %.4f, want 1 within 0.03", seed, cv)
		}
		// Counts per second of a Poisson process are Poisson: the dispersion statistic
		// Σ(c-c̄)²/c̄ is χ² with k-1 degrees of freedom. Reject beyond 4.5 standard deviations,
		// which also rejects the too-regular (a constant schedule gives about 0).
		secs := int(at[len(at)-1] / time.Second)
		counts := make([]float64, secs)
		for _, x := range at {
			if i := int(x / time.Second); i < secs {
				counts[i]++
			}
		}
		var c float64
		for _, x := range counts {
			c += x
		}
		c /= float64(secs)
		var d float64
		for _, x := range counts {
			d += (x - c) * (x - c) / c
		}
		df := float64(secs - 1)
		if lim := 4.5 * math.Sqrt(2*df); math.Abs(d-df) > lim {
			t.Errorf("seed %d: dispersion of counts per second %.1f, want %v ± %.1f (χ², %v degrees of freedom)", seed, d, df, lim, df)
		}
	}
}

// checkWindows counts the offsets in each window of width w and compares with the exact
// integral of rate over it: an inverted-cumulative schedule is within 1 of it everywhere.
func checkWindows(t *testing.T, at []time.Duration, horizon, w time.Duration, integral func(a, b float64) float64) {
	t.Helper()
	for lo := time.Duration(0); lo < horizon; lo += w {
		hi := min(lo+w, horizon)
		got := 0
		for _, x := range at {
			if x >= lo && x < hi {
				got++
			}
		}
		want := integral(lo.Seconds(), hi.Seconds())
		if math.Abs(float64(got)-want) > 1 {
			t.Errorf("[%v, %v): %d arrivals, want ∫rate = %.2f ± 1", lo, hi, got, want)
		}
	}
}

func TestRamp(t *testing.T) {
	for _, tc := range []struct {
		from, to float64
		horizon  time.Duration
	}{
		{100, 1100, 10 * time.Second},
		{1000, 0, 5 * time.Second},
		{0, 1000, 5 * time.Second},
		{500, 500, 2 * time.Second},
		{2000, 10, 3 * time.Second},
	} {
		a := scenarios.Arrival{Model: scenarios.ArrivalRamp, From: tc.from, To: tc.to}
		at := drain(t, mustSchedule(t, a, tc.horizon, 1), 1e7)
		h := tc.horizon.Seconds()
		cum := func(x float64) float64 { return tc.from*x + (tc.to-tc.from)*x*x/(2*h) }
		checkWindows(t, at, tc.horizon, 250*time.Millisecond, func(a, b float64) float64 { return cum(b) - cum(a) })
		if want := Expected(a, tc.horizon); math.Abs(float64(len(at))-want) > 1 {
			t.Errorf("ramp %v→%v: %d arrivals, Expected %v", tc.from, tc.to, len(at), want)
		}
	}
}

func TestSteps(t *testing.T) {
	steps := []scenarios.Step{
		{Rate: 100, For: 2 * time.Second},
		{Rate: 0, For: time.Second}, // a pause
		{Rate: 500, For: time.Second},
		{Rate: 50, For: 500 * time.Millisecond}, // held after its end
	}
	rate := func(x float64) float64 {
		switch {
		case x < 2:
			return 100
		case x < 3:
			return 0
		case x < 4:
			return 500
		}
		return 50
	}
	const horizon = 7 * time.Second
	a := scenarios.Arrival{Model: scenarios.ArrivalSteps, Steps: steps}
	at := drain(t, mustSchedule(t, a, horizon, 1), 1e6)
	integral := func(lo, hi float64) float64 { // rate is constant within each window below
		return rate(lo) * (hi - lo)
	}
	checkWindows(t, at, horizon, 500*time.Millisecond, integral)
	for _, x := range at {
		if x >= 2*time.Second && x < 3*time.Second {
			t.Errorf("arrival at %v during the pause [2s, 3s)", x)
		}
	}
	if want := Expected(a, horizon); want != 850 || math.Abs(float64(len(at))-want) > 1 {
		t.Errorf("%d arrivals; Expected %v, want 850", len(at), want)
	}

	// A last step of rate 0 ends the schedule.
	a = scenarios.Arrival{Model: scenarios.ArrivalSteps, Steps: []scenarios.Step{{Rate: 10, For: time.Second}, {Rate: 0}}}
	if n := len(drain(t, mustSchedule(t, a, 0, 1), 1e6)); n != 10 {
		t.Errorf("steps ending in rate 0: %d arrivals, want 10", n)
	}
}

func TestScheduleErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		a       scenarios.Arrival
		horizon time.Duration
		want    []string
	}{
		{"constant rate 0", scenarios.Arrival{Model: "constant"}, time.Second, []string{"arrival.rate", "> 0"}},
		{"default model rate -1", scenarios.Arrival{Rate: -1}, time.Second, []string{"arrival.rate"}},
		{"poisson rate NaN", scenarios.Arrival{Model: "poisson", Rate: math.NaN()}, time.Second, []string{"arrival.rate"}},
		{"ramp negative", scenarios.Arrival{Model: "ramp", From: -1, To: 10}, time.Second, []string{"arrival.from"}},
		{"ramp zero", scenarios.Arrival{Model: "ramp"}, time.Second, []string{"arrival.from and arrival.to"}},
		{"ramp no horizon", scenarios.Arrival{Model: "ramp", From: 1, To: 2}, 0, []string{"duration"}},
		{"steps empty", scenarios.Arrival{Model: "steps"}, time.Second, []string{"arrival.steps is empty"}},
		{"steps bad", scenarios.Arrival{Model: "steps", Steps: []scenarios.Step{{Rate: 1, For: time.Second}, {Rate: -1}, {Rate: 2}}},
			time.Second, []string{"arrival.steps[1].for", "arrival.steps[1].rate"}},
		{"steps all zero", scenarios.Arrival{Model: "steps", Steps: []scenarios.Step{{Rate: 0, For: time.Second}}}, time.Second, []string{"every rate is 0"}},
		{"unknown", scenarios.Arrival{Model: "bursty", Rate: 1}, time.Second, []string{`arrival.model "bursty"`, "constant, poisson"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSchedule(tc.a, tc.horizon, 1)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if Expected(tc.a, tc.horizon) != 0 {
				t.Errorf("Expected of an invalid arrival is %v, want 0", Expected(tc.a, tc.horizon))
			}
		})
	}
}

func TestClosed(t *testing.T) {
	a := scenarios.Arrival{Model: scenarios.ArrivalClosed, Concurrency: 10}
	if !Closed(a) || Closed(scenarios.Arrival{Model: "constant"}) {
		t.Fatal("Closed is wrong")
	}
	if _, err := NewSchedule(a, time.Second, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewSchedule(closed) = %v, want ErrClosed", err)
	}
	if e := Expected(a, time.Second); e != 0 {
		t.Errorf("Expected(closed) = %v, want 0", e)
	}
}

func TestExpected(t *testing.T) {
	for _, tc := range []struct {
		a       scenarios.Arrival
		horizon time.Duration
		want    float64
	}{
		{scenarios.Arrival{Rate: 200}, 3 * time.Second, 600},
		{scenarios.Arrival{Model: "poisson", Rate: 50}, 2 * time.Second, 100},
		{scenarios.Arrival{Model: "ramp", From: 0, To: 100}, 10 * time.Second, 500},
		{scenarios.Arrival{Model: "steps", Steps: []scenarios.Step{{Rate: 10, For: 5 * time.Second}, {Rate: 20, For: time.Second}}}, 3 * time.Second, 30},
		{scenarios.Arrival{Model: "steps", Steps: []scenarios.Step{{Rate: 10, For: time.Second}, {Rate: 20, For: time.Second}}}, 4 * time.Second, 70},
		{scenarios.Arrival{Model: "poisson", Rate: 50}, 0, math.Inf(1)},
	} {
		if got := Expected(tc.a, tc.horizon); math.Abs(got-tc.want) > 1e-9 && got != tc.want {
			t.Errorf("Expected(%+v, %v) = %v, want %v", tc.a, tc.horizon, got, tc.want)
		}
	}
}
