package workload

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

// Schedule hands out the intended start times of an open-loop load: offsets from the
// start of the run at which requests are due, whatever the system under test does. Like
// vegeta's pacer, it knows nothing of how late the requests actually run; latency is
// measured from these times. A Schedule is not safe for concurrent use.
type Schedule interface {
	// Next returns the next intended offset; offsets never decrease. It reports false once
	// the next offset would reach the horizon, and on every call after that.
	Next() (at time.Duration, ok bool)
}

// ErrClosed is returned by NewSchedule for the closed model: its workers pace themselves
// (one request, then think, then the next), so it has no schedule of start times. Use
// Generator.NextKey for its requests.
var ErrClosed = errors.New("closed arrival model has no schedule: its workers send the next request when the last one ends")

// Closed reports whether a is the closed model, which has no schedule (see ErrClosed).
func Closed(a scenarios.Arrival) bool { return a.Model == scenarios.ArrivalClosed }

// model returns a.Model with the default (constant) for the zero value.
func model(a scenarios.Arrival) string {
	if a.Model == "" {
		return scenarios.ArrivalConstant
	}
	return a.Model
}

// validRate reports whether r is a finite rate >= 0.
func validRate(r float64) bool { return r >= 0 && !math.IsInf(r, 1) }

// CheckArrival says everything that is wrong with a for a run of length horizon (<= 0:
// unbounded), naming each field, or nil.
func CheckArrival(a scenarios.Arrival, horizon time.Duration) error {
	var errs []error
	switch model(a) {
	case scenarios.ArrivalConstant, scenarios.ArrivalPoisson:
		if !(a.Rate > 0) || math.IsInf(a.Rate, 1) {
			errs = append(errs, fmt.Errorf("arrival.rate must be > 0 requests per second for the %s model, got %v", model(a), a.Rate))
		}
	case scenarios.ArrivalRamp:
		if !validRate(a.From) {
			errs = append(errs, fmt.Errorf("arrival.from must be >= 0 requests per second, got %v", a.From))
		}
		if !validRate(a.To) {
			errs = append(errs, fmt.Errorf("arrival.to must be >= 0 requests per second, got %v", a.To))
		}
		if a.From == 0 && a.To == 0 {
			errs = append(errs, errors.New("arrival.from and arrival.to are both 0: a ramp needs a rate > 0 at one end at least"))
		}
		if horizon <= 0 {
			errs = append(errs, errors.New("arrival: a ramp needs a duration to ramp over: set duration, not only requests"))
		}
	case scenarios.ArrivalSteps:
		if len(a.Steps) == 0 {
			errs = append(errs, errors.New("arrival.steps is empty: give at least one {rate, for}"))
		}
		positive := false
		for i, s := range a.Steps {
			if !validRate(s.Rate) {
				errs = append(errs, fmt.Errorf("arrival.steps[%d].rate must be >= 0 requests per second (0 is a pause), got %v", i, s.Rate))
			}
			positive = positive || s.Rate > 0
			if s.For < 0 || s.For == 0 && i < len(a.Steps)-1 {
				errs = append(errs, fmt.Errorf("arrival.steps[%d].for must be > 0 (only the last step, which holds, may omit it), got %v", i, s.For))
			}
		}
		if len(a.Steps) > 0 && !positive {
			errs = append(errs, errors.New("arrival.steps: every rate is 0, so no request would be sent"))
		}
	case scenarios.ArrivalDiurnal:
		if err := checkDiurnal(a); err != nil {
			errs = append(errs, err)
		}
	case scenarios.ArrivalClosed:
		if a.Concurrency < 0 {
			errs = append(errs, fmt.Errorf("arrival.concurrency must be > 0, got %d", a.Concurrency))
		}
		if a.Think < 0 {
			errs = append(errs, fmt.Errorf("arrival.think must be >= 0, got %v", a.Think))
		}
	default:
		errs = append(errs, fmt.Errorf("arrival.model %q is unknown: use constant, poisson, ramp, steps, closed or diurnal", a.Model))
	}
	return errors.Join(errs...)
}

// NewSchedule returns the schedule of a over [0, horizon); horizon <= 0 means no end
// (allowed for every model but ramp, whose rate is defined over the horizon). The random
// models draw from a generator seeded with seed alone, so the same seed gives the same
// offsets. The models:
//
//   - constant: request i at exactly i/rate, computed from i (no accumulated drift).
//   - poisson: exponential gaps with mean 1/rate (a Poisson process).
//   - ramp: the rate rises (or falls) linearly from arrival.from to arrival.to over the
//     horizon; request i is at the time t where the cumulative count ∫₀ᵗ rate reaches i.
//   - steps: piecewise-constant rates, each for its `for`, the last held to the horizon; a
//     zero rate is a pause. Requests are again where the cumulative count reaches i.
//   - diurnal: a daily curve around arrival.rate (see DiurnalRate), Poisson arrivals
//     drawn by thinning.
//
// It returns ErrClosed for the closed model and an error naming the field for bad input.
func NewSchedule(a scenarios.Arrival, horizon time.Duration, seed uint64) (Schedule, error) {
	if Closed(a) {
		return nil, ErrClosed
	}
	if err := CheckArrival(a, horizon); err != nil {
		return nil, err
	}
	if horizon <= 0 {
		horizon = math.MaxInt64
	}
	switch model(a) {
	case scenarios.ArrivalConstant:
		return newConstant(a.Rate, horizon), nil
	case scenarios.ArrivalPoisson:
		return &poisson{gapNS: 1e9 / a.Rate, rng: newRand(seed), horizon: horizon}, nil
	case scenarios.ArrivalDiurnal:
		return newDiurnal(a, horizon, seed), nil
	case scenarios.ArrivalRamp:
		h := horizon.Seconds()
		return &ramp{a: (a.To - a.From) / (2 * h), b: a.From, horizon: horizon}, nil
	default: // steps
		return newSteps(a.Steps, horizon), nil
	}
}

// Expected returns the expected number of requests a offers over [0, horizon): the
// integral of its rate. It is +Inf when horizon <= 0 (no end; ramp excepted), and 0 for
// the closed model (whose count depends on the system's speed) and for an invalid a.
func Expected(a scenarios.Arrival, horizon time.Duration) float64 {
	if Closed(a) || CheckArrival(a, horizon) != nil {
		return 0
	}
	if horizon <= 0 {
		return math.Inf(1)
	}
	h := horizon.Seconds()
	switch model(a) {
	case scenarios.ArrivalConstant, scenarios.ArrivalPoisson:
		return a.Rate * h
	case scenarios.ArrivalRamp:
		return (a.From + a.To) / 2 * h
	case scenarios.ArrivalDiurnal:
		return diurnalExpected(a, horizon)
	case scenarios.ArrivalSteps:
		n, start := 0.0, 0.0
		for i, s := range a.Steps {
			d := s.For.Seconds()
			if i == len(a.Steps)-1 || start+d >= h {
				d = h - start
			}
			n += s.Rate * d
			start += d
			if start >= h {
				break
			}
		}
		return n
	}
	return 0
}

// seconds converts seconds to a Duration, rounding to the nanosecond.
func seconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// constant is one request every 1/rate. The offset of request i is computed from i alone:
// exactly (128-bit integer arithmetic) when the rate is a whole number, else in one float
// division, so there is no drift over any number of requests.
type constant struct {
	rate    float64
	whole   uint64 // the rate when it is a whole number, else 0
	i       uint64
	horizon time.Duration
	done    bool
}

func newConstant(rate float64, horizon time.Duration) *constant {
	c := &constant{rate: rate, horizon: horizon}
	if rate == math.Trunc(rate) && rate < 1<<53 {
		c.whole = uint64(rate)
	}
	return c
}

// offset returns round(i * 1e9 / rate) nanoseconds.
func (c *constant) offset(i uint64) (time.Duration, bool) {
	if c.whole == 0 {
		ns := math.Round(float64(i) * 1e9 / c.rate)
		if ns >= math.MaxInt64 {
			return 0, false
		}
		return time.Duration(ns), true
	}
	hi, lo := bits.Mul64(i, 1e9)
	if hi >= c.whole {
		return 0, false // past 2^64 ns
	}
	q, r := bits.Div64(hi, lo, c.whole)
	if r >= c.whole-r { // round half up
		q++
	}
	if q > math.MaxInt64 {
		return 0, false
	}
	return time.Duration(q), true
}

// Next implements Schedule.
func (c *constant) Next() (time.Duration, bool) {
	if c.done {
		return 0, false
	}
	at, ok := c.offset(c.i)
	if !ok || at >= c.horizon {
		c.done = true
		return 0, false
	}
	c.i++
	return at, true
}

// poisson is a Poisson process: independent exponential gaps with mean gapNS.
type poisson struct {
	gapNS   float64
	t       float64 // nanoseconds, accumulated in float64 (exact to well under 1 ns for days)
	rng     *rand.Rand
	horizon time.Duration
	done    bool
}

// Next implements Schedule.
func (p *poisson) Next() (time.Duration, bool) {
	if p.done {
		return 0, false
	}
	p.t += p.rng.ExpFloat64() * p.gapNS
	if p.t >= float64(p.horizon) {
		p.done = true
		return 0, false
	}
	return time.Duration(p.t), true
}

// ramp has rate(t) = b + 2a·t (requests per second, t in seconds), so the cumulative count
// is N(t) = b·t + a·t²; request i is at the root of N(t) = i, in the form
// t = 2i / (b + √(b² + 4ai)), which stays accurate when a is tiny or negative.
type ramp struct {
	a, b    float64
	i       uint64
	horizon time.Duration
	done    bool
}

// Next implements Schedule.
func (r *ramp) Next() (time.Duration, bool) {
	if r.done {
		return 0, false
	}
	i := float64(r.i)
	t := 0.0
	if r.i > 0 {
		d := r.b*r.b + 4*r.a*i
		if d < 0 { // a falling ramp that reaches rate 0 never gets to i
			r.done = true
			return 0, false
		}
		t = 2 * i / (r.b + math.Sqrt(d))
	}
	at := seconds(t)
	if at >= r.horizon || math.IsInf(t, 0) || math.IsNaN(t) {
		r.done = true
		return 0, false
	}
	r.i++
	return at, true
}

// steps is a piecewise-constant rate. Step k starts at start[k] seconds, when the
// cumulative count is cum[k]; request i falls in the step with cum[k] <= i < cum[k+1], at
// start[k] + (i - cum[k]) / rate[k]. A zero-rate step adds nothing to the count, so no
// request falls in it: a pause.
type steps struct {
	start, rate, cum []float64
	k                int
	i                uint64
	horizon          time.Duration
	done             bool
}

func newSteps(ss []scenarios.Step, horizon time.Duration) *steps {
	s := &steps{horizon: horizon}
	t, n := 0.0, 0.0
	for _, st := range ss {
		s.start = append(s.start, t)
		s.rate = append(s.rate, st.Rate)
		s.cum = append(s.cum, n)
		t += st.For.Seconds()
		n += st.Rate * st.For.Seconds()
	}
	return s
}

// Next implements Schedule.
func (s *steps) Next() (time.Duration, bool) {
	if s.done {
		return 0, false
	}
	i := float64(s.i)
	last := len(s.rate) - 1
	for s.k < last && i >= s.cum[s.k+1] {
		s.k++
	}
	if s.rate[s.k] == 0 { // the last step holds a rate of 0: no more requests
		s.done = true
		return 0, false
	}
	at := seconds(s.start[s.k] + (i-s.cum[s.k])/s.rate[s.k])
	if at >= s.horizon {
		s.done = true
		return 0, false
	}
	s.i++
	return at, true
}
