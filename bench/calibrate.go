package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cachebench/cachebench/bench/workload"
	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// Calibration bounds: each enabled tier is measured for at most calibrateFor of wall
// time or calibrateSamples lookups, by calibrateWorkers callers at once, each of which
// first makes one lookup it does not record (it opens the connection, which a network
// profile charges more than one round trip, and which a run's warm clients have open).
const (
	calibrateFor     = 1500 * time.Millisecond
	calibrateSamples = 2000
	calibrateWorkers = 8
)

// calibration is each tier's service time measured against real services before a
// virtual run: one lookup of the tier as cachecore makes it (an L2 GET, an L3 GetItem,
// a Stripe GET), through the scenario's network profiles, in microseconds.
type calibration struct {
	against string // what answered, for the note
	tiers   map[string]*hdrhistogram.Histogram
	// inverse is each tier's histogram as sample reads it (see inverseCDF).
	inverse map[string]*inverseCDF
}

// inverseCDF is a histogram's non-empty buckets as cumulative counts and each one's
// highest equivalent value, so that at gives the histogram's ValueAtQuantile by a binary
// search rather than the histogram's walk over all its buckets: sample is called once a
// simulated read, millions of times a run.
type inverseCDF struct {
	h          *hdrhistogram.Histogram
	cum, value []int64
}

func newInverseCDF(h *hdrhistogram.Histogram) *inverseCDF {
	f := &inverseCDF{h: h}
	var total int64
	for _, b := range h.Distribution() {
		if b.Count > 0 {
			total += b.Count
			f.cum = append(f.cum, total)
			f.value = append(f.value, b.To)
		}
	}
	return f
}

// at is h.ValueAtQuantile(q) for q in [0, 100].
func (f *inverseCDF) at(q float64) int64 {
	if len(f.cum) == 0 || q <= 0 || q > 100 {
		return f.h.ValueAtQuantile(q) // the histogram's own edge cases
	}
	total := f.cum[len(f.cum)-1]
	// The rank hdrhistogram-go takes for q (percentileRank).
	rank := int64(1)
	switch r := q/100*float64(total) + 0.5; {
	case r >= float64(total):
		rank = total
	case r >= 1:
		rank = int64(r)
	}
	i, _ := slices.BinarySearch(f.cum, rank)
	return f.value[i]
}

// calibrate measures the service time of each tier s enables (and Stripe's) against
// env's services through the scenario's network profiles, with a cache instance built as
// the run builds them. Lookups are of keys no run writes, so the services' state is
// untouched.
func calibrate(ctx context.Context, s *scenarios.Scenario, env *mocks.Env, opt Options) (*calibration, error) {
	cs := *s
	cs.Clock = scenarios.ClockReal
	cs.Lambda.Enabled = false
	// Service time only: neither Stripe's rate limiter nor the client's pacing waits.
	cs.Stripe.Mode = scenarios.StripeModeNone
	cs.Stripe.Limiter = scenarios.LimiterNone
	wcfg, err := worldConfig(&cs)
	if err != nil {
		return nil, err
	}
	wcfg.ServerLog = opt.ServerLog
	world, closeWorld, err := openWorld(ctx, env, wcfg)
	if err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	defer closeWorld()
	ns := newNamespace("")
	if cs.Cache.L3.Enabled {
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = mocks.DropTable(cctx, env, ns.table)
		}()
	}
	inst, err := newInstance(ctx, &cs, world, ns, "calibration", nil)
	if err != nil {
		return nil, fmt.Errorf("calibration: %w", err)
	}
	defer inst.close()

	c := &calibration{against: describeBackends(world), tiers: map[string]*hdrhistogram.Histogram{}, inverse: map[string]*inverseCDF{}}
	obj := objectTypes(s)[0]
	ids := workload.IDs(obj, 1000)
	probes := []struct {
		name string
		on   bool
		do   func(ctx context.Context, i int) error
	}{
		{"redis", inst.l2 != nil, func(ctx context.Context, i int) error {
			_, _, err := inst.l2.Get(ctx, fmt.Sprintf("calibration:%d", i+1))
			return err
		}},
		{"dynamodb", inst.l3 != nil, func(ctx context.Context, i int) error {
			_, _, err := inst.l3.Get(ctx, fmt.Sprintf("calibration:%d", i+1))
			return err
		}},
		{"stripe", true, func(ctx context.Context, i int) error {
			_, _, _, err := inst.origin.Fetch(ctx, cachecore.Ref{Object: obj, ID: ids[(i+len(ids))%len(ids)]})
			if errors.Is(err, cachecore.ErrNotFound) {
				return nil
			}
			return err
		}},
	}
	for _, p := range probes {
		if !p.on {
			continue
		}
		h, err := measureTier(ctx, p.do)
		if err != nil {
			return nil, fmt.Errorf("calibration of %s against %s: %w", p.name, c.against, err)
		}
		c.tiers[p.name] = h
		c.inverse[p.name] = newInverseCDF(h)
	}
	return c, nil
}

// measureTier runs do from calibrateWorkers callers until calibrateSamples lookups or
// calibrateFor have passed, and returns their times in microseconds. Errors fail it.
func measureTier(ctx context.Context, do func(context.Context, int) error) (*hdrhistogram.Histogram, error) {
	h := hdrhistogram.New(1, 60_000_000, 3)
	var (
		mu    sync.Mutex
		n     int
		first error
		wg    sync.WaitGroup
	)
	deadline := time.Now().Add(calibrateFor)
	for range calibrateWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := do(ctx, -1); err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
				return
			}
			for {
				mu.Lock()
				if n >= calibrateSamples || first != nil || time.Now().After(deadline) || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				i := n
				n++
				mu.Unlock()
				began := time.Now()
				err := do(ctx, i)
				us := time.Since(began).Microseconds()
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				_ = h.RecordValue(max(us, 1))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return h, nil
}

// sample draws one service time of tier, in microseconds, from its calibration.
func (c *calibration) sample(tier string, rng *rand.Rand) float64 {
	f := c.inverse[tier]
	if f == nil {
		return 0
	}
	return float64(f.at(rng.Float64() * 100))
}

// summary is the calibration as result.json keeps it: each tier's latency summary.
func (c *calibration) summary() map[string]reports.Latency {
	out := map[string]reports.Latency{}
	for name, h := range c.tiers {
		out[name] = summary(h)
	}
	return out
}

// describeBackends names what answered for each service of w.
func describeBackends(w *mocks.World) string {
	e := describe(w)
	return fmt.Sprintf("Redis %s, DynamoDB %s, Stripe %s", e.Redis, e.DynamoDB, e.Stripe)
}
