package workload

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

// TestDiurnalFollowsTheCurve: over a day, the diurnal schedule's per-hour counts follow
// the rate's integral (within a few Poisson standard deviations), the day's total is the
// mean rate times a day, the busiest hour is the one around peak_at, and the same seed
// gives the same offsets.
func TestDiurnalFollowsTheCurve(t *testing.T) {
	a := scenarios.Arrival{Model: scenarios.ArrivalDiurnal, Rate: 5, PeakRatio: 4, PeakAt: 14 * time.Hour}
	s, err := NewSchedule(a, day, 7)
	if err != nil {
		t.Fatal(err)
	}
	var perHour [24]float64
	var offsets []time.Duration
	last := time.Duration(-1)
	for {
		off, ok := s.Next()
		if !ok {
			break
		}
		if off <= last || off >= day {
			t.Fatalf("offset %v after %v, or beyond the day", off, last)
		}
		last = off
		perHour[off/time.Hour]++
		if len(offsets) < 100 {
			offsets = append(offsets, off)
		}
	}
	total := 0.0
	busiest := 0
	for h, n := range perHour {
		total += n
		want := diurnalExpected(a, time.Duration(h+1)*time.Hour) - diurnalExpected(a, time.Duration(h)*time.Hour)
		if math.Abs(n-want) > 5*math.Sqrt(want) {
			t.Errorf("hour %d: %v requests, want %.0f ± %.0f", h, n, want, 5*math.Sqrt(want))
		}
		if n > perHour[busiest] {
			busiest = h
		}
	}
	if want := a.Rate * day.Seconds(); math.Abs(total-want) > 5*math.Sqrt(want) {
		t.Errorf("day total %v, want %v", total, want)
	}
	if got := Expected(a, day); math.Abs(got-a.Rate*day.Seconds()) > 1e-6*got {
		t.Errorf("Expected over a day = %v, want %v", got, a.Rate*day.Seconds())
	}
	if busiest < 12 || busiest > 15 {
		t.Errorf("busiest hour %d, want one near 14h", busiest)
	}
	if lo, hi := DiurnalRate(a, 2*time.Hour), DiurnalRate(a, 14*time.Hour); math.Abs(hi/lo-4) > 1e-9 {
		t.Errorf("peak/trough = %v, want 4", hi/lo)
	}
	again, _ := NewSchedule(a, day, 7)
	for i, want := range offsets {
		if got, _ := again.Next(); got != want {
			t.Fatalf("same seed, offset %d: %v then %v", i, want, got)
		}
	}
}

// TestDiurnalErrors: bad diurnal parameters are refused, naming the field.
func TestDiurnalErrors(t *testing.T) {
	for _, tc := range []struct {
		a    scenarios.Arrival
		want string
	}{
		{scenarios.Arrival{Model: scenarios.ArrivalDiurnal}, "arrival.rate"},
		{scenarios.Arrival{Model: scenarios.ArrivalDiurnal, Rate: 1, PeakRatio: 0.5}, "arrival.peak_ratio"},
		{scenarios.Arrival{Model: scenarios.ArrivalDiurnal, Rate: 1, PeakAt: 25 * time.Hour}, "arrival.peak_at"},
		{scenarios.Arrival{Model: scenarios.ArrivalDiurnal, Rate: math.Inf(1)}, "arrival.rate"},
	} {
		_, err := NewSchedule(tc.a, day, 1)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewSchedule(%+v) = %v, want an error naming %s", tc.a, err, tc.want)
		}
	}
}
