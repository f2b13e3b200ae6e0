package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/reports/pricing"
)

// Cold-start defaults for a Go function on the provided.al2023 runtime. The init phase of
// a small Go binary (runtime start, package init, reading configuration) is measured in
// tens of milliseconds: the daily lambda-perf benchmark (github.com/maxday/lambda-perf)
// has reported Go on provided.al2023 with an average Init Duration of roughly 40–60 ms.
// cachebench draws the init time from a log-normal distribution with this median and
// spread, then adds the real time the new environment takes to open its connections
// (Redis PING, DynamoDB DescribeTable, the pub/sub subscription).
const (
	defaultInitMedian = 50 * time.Millisecond
	defaultInitSigma  = 0.35
	// defaultMaxLifetime is when an environment is recycled however busy it is. AWS does
	// not publish it; environments are observed to live a few hours at most.
	defaultMaxLifetime = 2 * time.Hour
)

// environment is one Lambda execution environment: one cache instance, one request at a
// time.
type environment struct {
	inst      *instance
	created   time.Time
	lastUsed  time.Time
	idleLimit time.Duration
}

// fleet is a virtual Lambda fleet: a request goes to an idle warm environment, else a new
// one is started with a cold start, up to MaxConcurrency; beyond it, requests are
// throttled. Idle environments are recycled after an idle time drawn around
// IdleTimeout, and every environment after defaultMaxLifetime.
type fleet struct {
	r        *runner
	memoryMB int
	arch     string
	max      int

	mu          sync.Mutex
	rng         *rand.Rand
	idle        []*environment // most recently used last
	live        int
	peak        int
	invocations int64
	coldStarts  int64
	throttled   int64
	recycled    int64
	billedMS    int64
	initMS      int64
	nextID      int
	all         map[*environment]struct{}
	// retired sums the counters of environments already closed.
	retiredOrigin cachecore.OriginStats
	retiredCache  cachecore.Stats
	retiredL2     cachecore.TierStats
	retiredL3     cachecore.TierStats
	// base is the fleet's figures at the start of the measured part.
	base reports.Lambda

	stop chan struct{}
	done chan struct{}
}

func newFleet(ctx context.Context, r *runner) (*fleet, error) {
	l := r.s.Lambda
	f := &fleet{
		r: r, memoryMB: l.MemoryMB, arch: l.Arch, max: l.MaxConcurrency,
		rng:  rand.New(rand.NewPCG(uint64(r.s.Seed), 0x1a3b)),
		all:  map[*environment]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	// One environment is started before the run, so setup errors (a service that does
	// not answer) fail the run at once rather than as thousands of request errors.
	env, err := f.start(ctx)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.live++
	f.peak = 1
	f.idle = append(f.idle, env)
	f.mu.Unlock()
	go f.janitor()
	return f, nil
}

// start creates an environment with its own cache instance.
func (f *fleet) start(ctx context.Context) (*environment, error) {
	f.mu.Lock()
	f.nextID++
	id := fmt.Sprintf("env-%d", f.nextID)
	f.mu.Unlock()
	inst, err := newInstance(ctx, f.r.s, f.r.world, f.r.ns, id)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	env := &environment{inst: inst, created: now, lastUsed: now, idleLimit: f.drawIdle()}
	f.mu.Lock()
	f.all[env] = struct{}{}
	f.mu.Unlock()
	return env, nil
}

// drawIdle draws an environment's idle limit: uniform within ±50% of IdleTimeout.
func (f *fleet) drawIdle() time.Duration {
	mean := f.r.s.Lambda.IdleTimeout
	f.mu.Lock()
	u := f.rng.Float64()
	f.mu.Unlock()
	return time.Duration(float64(mean) * (0.5 + u))
}

// drawInit draws an init time from the log-normal cold-start distribution.
func (f *fleet) drawInit() time.Duration {
	f.mu.Lock()
	z := f.rng.NormFloat64()
	f.mu.Unlock()
	return time.Duration(float64(defaultInitMedian) * math.Exp(defaultInitSigma*z))
}

// invoke runs fn in a warm environment, or a new one after a cold start.
func (f *fleet) invoke(ctx context.Context, fn func(*instance) (time.Duration, error)) error {
	env, cold := f.acquire()
	if env == nil && !cold {
		return errThrottled
	}
	if cold {
		began := time.Now()
		init := f.drawInit()
		time.Sleep(init)
		var err error
		env, err = f.start(ctx)
		if err != nil {
			f.mu.Lock()
			f.live--
			f.mu.Unlock()
			return fmt.Errorf("lambda: cold start: %w", err)
		}
		initMS := billedMS(time.Since(began))
		f.mu.Lock()
		f.coldStarts++
		f.initMS += initMS
		f.mu.Unlock()
	}
	began := time.Now()
	cpu, err := fn(env.inst)
	if extra := pricing.ScaleCPU(cpu, f.memoryMB) - cpu; extra > 0 {
		// The environment has less than one vCPU: its CPU-bound work takes longer, and
		// the environment stays busy (and billed) for it.
		time.Sleep(extra)
	}
	d := time.Since(began)
	f.mu.Lock()
	f.invocations++
	f.billedMS += billedMS(d)
	env.lastUsed = time.Now()
	f.idle = append(f.idle, env)
	f.mu.Unlock()
	return err
}

// acquire takes the most recently used idle environment, or reserves a slot for a new
// one (cold = true), or reports a throttle (nil, false).
func (f *fleet) acquire() (*environment, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := len(f.idle); n > 0 {
		env := f.idle[n-1]
		f.idle = f.idle[:n-1]
		return env, false
	}
	if f.live >= f.max {
		f.throttled++
		return nil, false
	}
	f.live++
	if f.live > f.peak {
		f.peak = f.live
	}
	return nil, true
}

// janitor recycles environments idle past their limit or older than the maximum
// lifetime, once a second.
func (f *fleet) janitor() {
	defer close(f.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case now := <-t.C:
			var gone []*environment
			f.mu.Lock()
			kept := f.idle[:0]
			for _, env := range f.idle {
				if now.Sub(env.lastUsed) > env.idleLimit || now.Sub(env.created) > defaultMaxLifetime {
					gone = append(gone, env)
					continue
				}
				kept = append(kept, env)
			}
			f.idle = kept
			f.live -= len(gone)
			f.recycled += int64(len(gone))
			f.mu.Unlock()
			for _, env := range gone {
				f.retire(env)
			}
		}
	}
}

// retire closes an environment and keeps its counters.
func (f *fleet) retire(env *environment) {
	os, cs := env.inst.origin.Stats(), env.inst.cache.Stats()
	l2, l3 := env.inst.tierStats()
	_ = env.inst.close()
	f.mu.Lock()
	delete(f.all, env)
	addOrigin(&f.retiredOrigin, os)
	addStats(&f.retiredCache, cs)
	addTierStats(&f.retiredL2, l2)
	addTierStats(&f.retiredL3, l3)
	f.mu.Unlock()
}

func (f *fleet) apply(ctx context.Context, ev *stripe.Event) error {
	f.mu.Lock()
	var any *environment
	for env := range f.all {
		any = env
		break
	}
	f.mu.Unlock()
	if any == nil {
		return nil
	}
	return any.inst.cache.Apply(ctx, ev)
}

func (f *fleet) originStats() cachecore.OriginStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.retiredOrigin
	for env := range f.all {
		addOrigin(&s, env.inst.origin.Stats())
	}
	return s
}

func (f *fleet) tierStats() (l2, l3 cachecore.TierStats) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l2, l3 = f.retiredL2, f.retiredL3
	for env := range f.all {
		a, b := env.inst.tierStats()
		addTierStats(&l2, a)
		addTierStats(&l3, b)
	}
	return l2, l3
}

func (f *fleet) cacheStats() cachecore.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.retiredCache
	for env := range f.all {
		addStats(&s, env.inst.cache.Stats())
	}
	return s
}

func (f *fleet) sample() (int64, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(f.live), f.coldStarts
}

// mark takes the baseline of the measured part and restarts the peak from the
// environments alive now.
func (f *fleet) mark() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.base = f.totals()
	f.peak = f.live
}

// totals are the fleet's counters since it started; the caller holds f.mu.
func (f *fleet) totals() reports.Lambda {
	return reports.Lambda{
		Invocations: f.invocations, ColdStarts: f.coldStarts, PeakEnvironments: int64(f.peak),
		Throttled: f.throttled, BilledMS: f.billedMS + f.initMS, InitBilledMS: f.initMS,
		MemoryMB: f.memoryMB, Arch: f.arch, Recycled: f.recycled,
	}
}

// lambda returns the fleet's figures for the measured part.
func (f *fleet) lambda() *reports.Lambda {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, b := f.totals(), f.base
	l := &reports.Lambda{
		Invocations: t.Invocations - b.Invocations, ColdStarts: t.ColdStarts - b.ColdStarts,
		PeakEnvironments: t.PeakEnvironments, Throttled: t.Throttled - b.Throttled,
		BilledMS: t.BilledMS - b.BilledMS, InitBilledMS: t.InitBilledMS - b.InitBilledMS,
		MemoryMB: f.memoryMB, Arch: f.arch, Recycled: t.Recycled - b.Recycled,
	}
	l.GBSeconds = float64(l.BilledMS) / 1000 * float64(f.memoryMB) / 1024
	return l
}

func (f *fleet) close() error {
	select {
	case <-f.stop:
		return nil
	default:
	}
	close(f.stop)
	<-f.done
	f.mu.Lock()
	envs := make([]*environment, 0, len(f.all))
	for env := range f.all {
		envs = append(envs, env)
	}
	f.mu.Unlock()
	for _, env := range envs {
		f.retire(env)
	}
	return nil
}

// billedMS is a duration as Lambda bills it: rounded up to the next whole millisecond.
func billedMS(d time.Duration) int64 { return pricing.BilledMS(int64(d)) }
