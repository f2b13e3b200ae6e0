package bench

import (
	"container/heap"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/reports/pricing"
	"github.com/cachebench/cachebench/scenarios"
)

// venv is one Lambda execution environment on the virtual clock: its own cache instance
// (its own L1), busy until busyUntil.
type venv struct {
	id        int
	inst      *instance
	created   time.Time
	lastUsed  time.Time
	busyUntil time.Time
	idleLimit time.Duration
}

// busyHeap orders busy environments by the end of their invocation.
type busyHeap []*venv

func (h busyHeap) Len() int           { return len(h) }
func (h busyHeap) Less(i, j int) bool { return h[i].busyUntil.Before(h[j].busyUntil) }
func (h busyHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *busyHeap) Push(x any)        { *h = append(*h, x.(*venv)) }
func (h *busyHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	*h = old[:n-1]
	return e
}

// vfleet is the Lambda fleet on the virtual clock, with the real-clock fleet's rules (see
// fleet): a request goes to the most recently used idle environment, else a new one is
// started with a cold start (init time drawn as the real fleet draws it), up to
// max_concurrency environments; beyond it the request is throttled. An environment is
// busy from its request's arrival for the modelled time of its invocation (init, the
// cache read, handler_time and handler_cpu scaled to the memory), and so requests
// overlap in simulated time as they would in real time, which sets how many
// environments the fleet needs. Idle environments are recycled past their idle limit
// (drawn around idle_timeout) and all environments at defaultMaxLifetime, when their
// next request would find them. The cache reads themselves run one after another at
// their arrival instant (see the package documentation).
type vfleet struct {
	s     *scenarios.Scenario
	world *mocks.World
	ns    namespace
	rng   *rand.Rand

	idle []*venv // most recently used last
	busy busyHeap
	all  map[*venv]struct{}
	max  int

	live, peak                        int
	invocations, coldStarts, throttle int64
	recycled                          int64
	billedMS, initMS                  int64
	cpuNS                             int64
	nextID                            int
	// busyNS sums the invocations' times (environment-nanoseconds busy) from markedAt on,
	// and peakBusy is the most environments busy at one arrival since then.
	busyNS   int64
	peakBusy int
	markedAt time.Time

	// retired sums the counters of environments already closed.
	retired counters

	// warmCost draws the modelled time of one cache.l1.warm (nil: warming is off);
	// warming sums it at cold starts since the start, warmingBase at the mark, and
	// nextFlush is when the environments next add their hot-key tallies to Redis.
	warmCost             func() time.Duration
	warming, warmingBase reports.Warming
	warmingNS, baseNS    int64
	nextFlush            time.Time
}

func newVFleet(s *scenarios.Scenario, w *mocks.World, ns namespace) *vfleet {
	return &vfleet{
		s: s, world: w, ns: ns, max: s.Lambda.MaxConcurrency,
		rng: rand.New(rand.NewPCG(uint64(s.Seed), 0x1a3b)),
		all: map[*venv]struct{}{},
	}
}

// vinvocation is what the fleet did for one request.
type vinvocation struct {
	env       *venv
	cold      bool
	init      time.Duration
	throttled bool
}

// acquire finds the environment that serves a request arriving at now.
func (f *vfleet) acquire(ctx context.Context, now time.Time) (vinvocation, error) {
	for len(f.busy) > 0 && !f.busy[0].busyUntil.After(now) {
		f.idle = append(f.idle, heap.Pop(&f.busy).(*venv))
	}
	// Recycle what the real fleet's janitor would have by now: idle past the limit, or
	// past the lifetime. The idle list is ordered by when each became idle.
	kept := f.idle[:0]
	for _, e := range f.idle {
		if now.Sub(e.lastUsed) > e.idleLimit || now.Sub(e.created) > defaultMaxLifetime {
			f.retire(e)
			f.recycled++
			continue
		}
		kept = append(kept, e)
	}
	clear(f.idle[len(kept):])
	f.idle = kept
	if n := len(f.idle); n > 0 {
		e := f.idle[n-1]
		f.idle = f.idle[:n-1]
		return vinvocation{env: e}, nil
	}
	if f.live >= f.max {
		f.throttle++
		return vinvocation{throttled: true}, nil
	}
	f.flushHotKeys(ctx, now)
	f.nextID++
	// A new environment's connections get a bound of their own, whatever the run's age.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	inst, err := newInstance(sctx, f.s, f.world, f.ns, fmt.Sprintf("env-%d", f.nextID), nil)
	if err != nil {
		return vinvocation{}, fmt.Errorf("lambda: cold start: %w", err)
	}
	e := &venv{id: f.nextID, inst: inst, created: now, lastUsed: now, idleLimit: idleLimit(f.s.Lambda.IdleTimeout, f.rng.Float64())}
	f.all[e] = struct{}{}
	f.live++
	f.peak = max(f.peak, f.live)
	init := initTime(f.rng.NormFloat64())
	// Warming is the last part of INIT, before the first request, as in the real fleet.
	init += f.warm(ctx, inst)
	f.coldStarts++
	f.initMS += billedMS(init)
	return vinvocation{env: e, cold: true, init: init}, nil
}

// release ends inv's invocation, begun at now, whose cache read took service (modelled):
// the environment is busy, and billed, for the read and the handler's own work, after
// the init of a cold start. It returns the invocation's whole time.
func (f *vfleet) release(inv vinvocation, now time.Time, service time.Duration) time.Duration {
	l := f.s.Lambda
	cpu := pricing.ScaleCPU(l.HandlerCPU, l.MemoryMB)
	run := service + l.HandlerTime + cpu
	f.invocations++
	f.billedMS += billedMS(run)
	f.cpuNS += int64(cpu)
	e := inv.env
	e.busyUntil = now.Add(inv.init + run)
	e.lastUsed = e.busyUntil
	heap.Push(&f.busy, e)
	f.busyNS += int64(inv.init + run)
	f.peakBusy = max(f.peakBusy, len(f.busy))
	return inv.init + run
}

// warm runs cache.l1.warm in a new environment's cache and returns its modelled time
// (0 when warming is off). The read itself runs at the cold start's instant; its time is
// a draw of the calibrated L2 round trip for the hot list and one for the pipelined
// read, capped at the budget (counted over budget then, though what it read stays).
func (f *vfleet) warm(ctx context.Context, inst *instance) time.Duration {
	w := f.s.Cache.L1.Warm
	if f.warmCost == nil || w.Keys <= 0 || !f.s.Cache.L1.Enabled {
		return 0
	}
	// The budget applies to the modelled time below; the wall clock only bounds the read.
	rep, err := inst.cache.Warm(ctx, cachecore.WarmOptions{Keys: w.Keys, Budget: 30 * time.Second})
	took := f.warmCost()
	budget := w.Budget
	if budget <= 0 {
		budget = 200 * time.Millisecond // cachecore.WarmOptions' default
	}
	if took > budget {
		took = budget
		f.warming.OverBudget++
	}
	f.warming.ColdStarts++
	f.warming.KeysListed += int64(rep.Listed)
	f.warming.KeysLoaded += int64(rep.Loaded)
	f.warmingNS += int64(took)
	f.warming.MSMax = max(f.warming.MSMax, float64(took)/1e6)
	if err != nil {
		f.warming.Errors++
	}
	return took
}

// flushHotKeys adds every environment's hot-key tally to Redis once a simulated second
// (cachecore's HotKeysEvery default), at the first cold start after it, since only a
// cold start reads the hot list.
func (f *vfleet) flushHotKeys(ctx context.Context, now time.Time) {
	if f.warmCost == nil || now.Before(f.nextFlush) {
		return
	}
	for e := range f.all {
		e.inst.cache.FlushHotKeys(ctx)
	}
	f.nextFlush = now.Truncate(time.Second).Add(time.Second)
}

// warmed is cache.l1.warm's figures over the measured part, or nil when it is off.
func (f *vfleet) warmed() *reports.Warming {
	if f.warmCost == nil || f.s.Cache.L1.Warm.Keys <= 0 || !f.s.Cache.L1.Enabled {
		return nil
	}
	return warmingSince(f.warming, f.warmingBase, f.warmingNS-f.baseNS)
}

// mark starts the measured part at at, as the real fleet's mark does: busy time counts
// from at on (the remainders of invocations in flight included), and the peaks restart
// from the environments alive, and busy, at at.
func (f *vfleet) mark(at time.Time) {
	for len(f.busy) > 0 && !f.busy[0].busyUntil.After(at) {
		f.idle = append(f.idle, heap.Pop(&f.busy).(*venv))
	}
	f.markedAt = at
	f.busyNS = 0
	for _, e := range f.busy {
		f.busyNS += int64(e.busyUntil.Sub(at))
	}
	f.peak, f.peakBusy = f.live, len(f.busy)
	f.warmingBase, f.baseNS = f.warming, f.warmingNS
	f.warming.MSMax = 0
}

// meanConcurrency is the mean number of busy environments from the mark to end: busy
// time within that span over its length, as the real fleet reports it.
func (f *vfleet) meanConcurrency(end time.Time) float64 {
	span := end.Sub(f.markedAt)
	if span <= 0 {
		return 0
	}
	busy := f.busyNS
	for _, e := range f.busy {
		if d := e.busyUntil.Sub(end); d > 0 {
			busy -= int64(d) // past the end of the measured part
		}
	}
	return float64(busy) / float64(span)
}

// retire closes an environment and keeps its counters.
func (f *vfleet) retire(e *venv) {
	if f.warmCost != nil {
		// What a closing cache's background flush would add last.
		e.inst.cache.FlushHotKeys(context.Background())
	}
	f.retired.add(countersOf(e.inst))
	_ = e.inst.close()
	delete(f.all, e)
	f.live--
}

// stats sums the caches' counters over every environment, closed ones included.
func (f *vfleet) stats() (cs cachecore.Stats, l2, l3 cachecore.TierStats) {
	c := f.retired.sum(func(yield func(*instance) bool) {
		for e := range f.all {
			if !yield(e.inst) {
				return
			}
		}
	})
	return c.cache, c.l2, c.l3
}

// apply hands a webhook event to one live environment (the oldest), as the real fleet
// hands it to any, and waits until every other live environment's cache has taken the
// invalidation that Apply published on Redis pub/sub: the same path as in real time,
// but on the virtual clock the next read must find it applied, not race it. With no
// environment alive the event reaches no cache, as in the real fleet.
func (f *vfleet) apply(ctx context.Context, ev *stripe.Event) error {
	var first *venv
	for e := range f.all {
		if first == nil || e.id < first.id {
			first = e
		}
	}
	if first == nil {
		return nil
	}
	received := make(map[*venv]uint64, len(f.all)-1)
	for e := range f.all {
		if e != first {
			received[e] = e.inst.cache.Stats().InvalidationsReceived
		}
	}
	sent := first.inst.cache.Stats().InvalidationsSent
	if err := first.inst.cache.Apply(ctx, ev); err != nil {
		return err
	}
	if first.inst.cache.Stats().InvalidationsSent == sent {
		return nil // not published (no Redis): other L1s keep their entries, as in real time
	}
	deadline := time.Now().Add(pubsubWait)
	for e, before := range received {
		for e.inst.cache.Stats().InvalidationsReceived == before {
			if time.Now().After(deadline) {
				return fmt.Errorf("lambda: environment env-%d did not receive an invalidation over Redis pub/sub within %v", e.id, pubsubWait)
			}
			time.Sleep(20 * time.Microsecond)
		}
	}
	return nil
}

// pubsubWait bounds the wall time the virtual fleet waits for one invalidation to reach
// every environment (in process, it takes microseconds).
const pubsubWait = 5 * time.Second

// anyInstance is one live environment's instance (for sweeping L2 and sizing L3), or nil.
func (f *vfleet) anyInstance() *instance {
	for e := range f.all {
		return e.inst
	}
	return nil
}

// close closes every environment.
func (f *vfleet) close() {
	for e := range f.all {
		_ = e.inst.close()
	}
	clear(f.all)
}
