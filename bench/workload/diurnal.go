package workload

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

// day is the diurnal model's period.
const day = 24 * time.Hour

// defaultPeakRatio is the diurnal model's peak over trough rate when arrival.peak_ratio is 0.
const defaultPeakRatio = 4

// diurnalAmplitude returns A of rate(t) = mean·(1 + A·cos(2π(t−peak)/24h)) for a
// peak-over-trough ratio r: (1+A)/(1−A) = r.
func diurnalAmplitude(r float64) float64 {
	if r == 0 {
		r = defaultPeakRatio
	}
	return (r - 1) / (r + 1)
}

// checkDiurnal says what is wrong with a diurnal arrival, or nil.
func checkDiurnal(a scenarios.Arrival) error {
	var errs []error
	if !(a.Rate > 0) || math.IsInf(a.Rate, 1) {
		errs = append(errs, fmt.Errorf("arrival.rate must be > 0 requests per second (the day's mean) for the diurnal model, got %v", a.Rate))
	}
	if a.PeakRatio != 0 && !(a.PeakRatio >= 1 && a.PeakRatio <= 1000) {
		errs = append(errs, fmt.Errorf("arrival.peak_ratio must be between 1 (flat) and 1000, got %v", a.PeakRatio))
	}
	if a.PeakAt < 0 || a.PeakAt >= day {
		errs = append(errs, fmt.Errorf("arrival.peak_at must be a time of day in [0, 24h), got %v", a.PeakAt))
	}
	return errors.Join(errs...)
}

// DiurnalRate returns the diurnal model's rate (requests per second) at offset t from the
// run's start (midnight).
func DiurnalRate(a scenarios.Arrival, t time.Duration) float64 {
	amp := diurnalAmplitude(a.PeakRatio)
	return a.Rate * (1 + amp*math.Cos(2*math.Pi*float64(t-a.PeakAt)/float64(day)))
}

// diurnalExpected is the integral of DiurnalRate over [0, h).
func diurnalExpected(a scenarios.Arrival, h time.Duration) float64 {
	amp := diurnalAmplitude(a.PeakRatio)
	w := 2 * math.Pi / day.Seconds()
	p := a.PeakAt.Seconds()
	return a.Rate * (h.Seconds() + amp/w*(math.Sin(w*(h.Seconds()-p))-math.Sin(-w*p)))
}

// diurnal is a non-homogeneous Poisson process with DiurnalRate, drawn by thinning
// (Lewis and Shedler): candidates arrive as a Poisson process at the peak rate, and one at
// t is kept with probability rate(t)/peak. Its arrivals are random, as a day's users are,
// and its expected count over any interval is the rate's integral.
type diurnal struct {
	a       scenarios.Arrival
	peak    float64 // requests per second
	gapNS   float64 // mean candidate gap, ns
	t       float64 // ns
	rng     *rand.Rand
	horizon time.Duration
	done    bool
}

// newDiurnal returns the diurnal schedule of a (checked) over [0, horizon).
func newDiurnal(a scenarios.Arrival, horizon time.Duration, seed uint64) *diurnal {
	peak := a.Rate * (1 + diurnalAmplitude(a.PeakRatio))
	return &diurnal{a: a, peak: peak, gapNS: 1e9 / peak, rng: newRand(seed), horizon: horizon}
}

// Next implements Schedule.
func (d *diurnal) Next() (time.Duration, bool) {
	for !d.done {
		d.t += d.rng.ExpFloat64() * d.gapNS
		if d.t >= float64(d.horizon) {
			d.done = true
			break
		}
		t := time.Duration(d.t)
		if d.rng.Float64()*d.peak < DiurnalRate(d.a, t) {
			return t, true
		}
	}
	return 0, false
}
