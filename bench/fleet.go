package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
	"golang.org/x/sync/errgroup"

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
	// provisioned environments are started before the run and never recycled.
	provisioned bool
}

// provisionParallel bounds the provisioned environments started at once.
const provisionParallel = 16

// fleet is a virtual Lambda fleet: a request goes to an idle provisioned environment,
// else an idle warm on-demand one, else a new one is started with a cold start, up to
// MaxConcurrency environments in all (provisioned ones count); beyond it, requests are
// throttled. Idle on-demand environments are recycled after an idle time drawn around
// IdleTimeout, and after defaultMaxLifetime; provisioned ones live for the whole run.
// Each invocation is the cache read, then the handler's own work: HandlerTime of waiting
// and HandlerCPU of CPU-bound work stretched by pricing.ScaleCPU.
type fleet struct {
	r           *runner
	memoryMB    int
	arch        string
	max         int
	provisioned int
	handlerTime time.Duration
	handlerCPU  time.Duration

	mu          sync.Mutex
	rng         *rand.Rand
	idle        []*environment // on demand, most recently used last
	idleProv    []*environment // provisioned, most recently used last
	live        int
	peak        int
	invocations int64
	coldStarts  int64
	throttled   int64
	recycled    int64
	billedMS    int64
	initMS      int64
	provMS      int64 // the part of billedMS in provisioned environments
	cpuNS       int64 // CPU-bound time of the invocations, scaled to the memory
	nextID      int
	all         map[*environment]struct{}
	// busy counts the environments initialising or running an invocation; busyNS is its
	// integral over time (environment-nanoseconds) up to busyAt.
	busy     int
	peakBusy int
	busyNS   float64
	busyAt   time.Time
	markedAt time.Time
	baseBusy float64
	// retired sums the counters of environments already closed.
	retired counters
	// base is the fleet's figures at the start of the measured part.
	base reports.Lambda
	// warming sums cache.l1.warm at cold starts since the start, and warmingNanos their
	// time; warmingBase and warmingBaseNanos are both at the mark. warming.MSMax is the
	// longest since the mark, which resets it.
	warming, warmingBase reports.Warming
	warmingNanos         int64
	warmingBaseNanos     int64

	stop chan struct{}
	done chan struct{}
}

func newFleet(ctx context.Context, r *runner) (*fleet, error) {
	l := r.s.Lambda
	f := &fleet{
		r: r, memoryMB: l.MemoryMB, arch: l.Arch, max: r.opt.Shard.share(l.MaxConcurrency), provisioned: r.opt.Shard.share(l.ProvisionedConcurrency),
		handlerTime: l.HandlerTime, handlerCPU: l.HandlerCPU,
		rng:  rand.New(rand.NewPCG(uint64(r.s.Seed), 0x1a3b)),
		all:  map[*environment]struct{}{},
		stop: make(chan struct{}), done: make(chan struct{}),
		busyAt: time.Now(),
	}
	if f.provisioned > 0 {
		if err := f.provision(ctx); err != nil {
			_ = f.closeAll()
			return nil, err
		}
	} else {
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
	}
	go f.janitor()
	return f, nil
}

// provision starts the provisioned environments before the run: their initialisation is
// neither a cold start nor billed as on-demand INIT.
func (f *fleet) provision(ctx context.Context) error {
	envs := make([]*environment, f.provisioned)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(provisionParallel)
	for i := range envs {
		g.Go(func() error {
			env, err := f.start(gctx)
			if err != nil {
				return fmt.Errorf("lambda: provisioned environment: %w", err)
			}
			env.provisioned = true
			envs[i] = env
			return nil
		})
	}
	err := g.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, env := range envs {
		if env != nil {
			f.idleProv = append(f.idleProv, env)
			f.live++
		}
	}
	f.peak = f.live
	return err
}

// start creates an environment with its own cache instance.
func (f *fleet) start(ctx context.Context) (*environment, error) {
	f.mu.Lock()
	f.nextID++
	id := fmt.Sprintf("env-%d", f.nextID)
	f.mu.Unlock()
	inst, err := newInstance(ctx, f.r.s, f.r.world, f.r.ns, id, f.r.opt.MeterProvider)
	if err != nil {
		return nil, err
	}
	// An environment not running an invocation is frozen (see instance.freeze).
	inst.freeze()
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
	return idleLimit(mean, u)
}

// idleLimit is an environment's idle limit for a uniform draw u in [0, 1): within ±50%
// of mean.
func idleLimit(mean time.Duration, u float64) time.Duration {
	return time.Duration(float64(mean) * (0.5 + u))
}

// initTime is a cold start's init time for a standard normal draw z: log-normal around
// defaultInitMedian.
func initTime(z float64) time.Duration {
	return time.Duration(float64(defaultInitMedian) * math.Exp(defaultInitSigma*z))
}

// drawInit draws an init time from the log-normal cold-start distribution.
func (f *fleet) drawInit() time.Duration {
	f.mu.Lock()
	z := f.rng.NormFloat64()
	f.mu.Unlock()
	return initTime(z)
}

// invoke runs fn in a warm environment, or a new one after a cold start, then the
// handler's own work.
func (f *fleet) invoke(ctx context.Context, fn func(*instance) (time.Duration, error)) (Invocation, error) {
	var inv Invocation
	env, cold := f.acquire()
	if env == nil && !cold {
		inv.Throttled = true
		return inv, errThrottled
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
			f.setBusy(-1)
			f.mu.Unlock()
			return inv, fmt.Errorf("lambda: cold start: %w", err)
		}
		// Warming is the last part of INIT, before the first request.
		f.warm(ctx, env)
		env.created = began
		initMS := billedMS(time.Since(began))
		f.mu.Lock()
		f.coldStarts++
		f.initMS += initMS
		f.mu.Unlock()
		inv.Cold, inv.InitBilledMS = true, initMS
	}
	began := time.Now()
	inv.Age = began.Sub(env.created)
	env.inst.thaw()
	cpu, err := fn(env.inst)
	// Below one vCPU the CPU-bound work (the decoding fn measured, and HandlerCPU) takes
	// longer; the environment stays busy, and billed, for it and for HandlerTime.
	scaled := pricing.ScaleCPU(cpu+f.handlerCPU, f.memoryMB)
	if wait := f.handlerTime + scaled - cpu; wait > 0 {
		time.Sleep(wait)
	}
	env.inst.freeze()
	ms := billedMS(time.Since(began))
	f.mu.Lock()
	f.invocations++
	f.billedMS += ms
	f.cpuNS += int64(scaled)
	env.lastUsed = time.Now()
	if env.provisioned {
		f.provMS += ms
		f.idleProv = append(f.idleProv, env)
	} else {
		f.idle = append(f.idle, env)
	}
	f.setBusy(-1)
	f.mu.Unlock()
	inv.Invoked, inv.Provisioned = true, env.provisioned
	inv.BilledMS = ms + inv.InitBilledMS
	inv.CPU = scaled
	return inv, err
}

// acquire takes the most recently used idle provisioned environment, else the most
// recently used idle on-demand one, or reserves a slot for a new one (cold = true), or
// reports a throttle (nil, false).
func (f *fleet) acquire() (*environment, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, idle := range []*[]*environment{&f.idleProv, &f.idle} {
		if n := len(*idle); n > 0 {
			env := (*idle)[n-1]
			*idle = (*idle)[:n-1]
			f.setBusy(+1)
			return env, false
		}
	}
	if f.live >= f.max {
		f.throttled++
		return nil, false
	}
	f.live++
	if f.live > f.peak {
		f.peak = f.live
	}
	f.setBusy(+1)
	return nil, true
}

// setBusy adds d to the busy environments, after adding the time since the last change
// to their integral; the caller holds f.mu.
func (f *fleet) setBusy(d int) {
	f.advanceBusy(time.Now())
	f.busy += d
	if f.busy > f.peakBusy {
		f.peakBusy = f.busy
	}
}

// advanceBusy brings the integral of busy environments up to now; the caller holds f.mu.
func (f *fleet) advanceBusy(now time.Time) {
	if dt := now.Sub(f.busyAt); dt > 0 {
		f.busyNS += float64(f.busy) * float64(dt)
		f.busyAt = now
	}
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
	c := countersOf(env.inst)
	_ = env.inst.close()
	f.mu.Lock()
	delete(f.all, env)
	f.retired.add(c)
	f.mu.Unlock()
}

// counters sums the counters of every environment, closed ones included; the caller
// holds f.mu.
func (f *fleet) counters() counters {
	return f.retired.sum(func(yield func(*instance) bool) {
		for env := range f.all {
			if !yield(env.inst) {
				return
			}
		}
	})
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
	return f.counters().origin
}

func (f *fleet) tierStats() (l2, l3 cachecore.TierStats) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.counters()
	return c.l2, c.l3
}

func (f *fleet) cacheStats() cachecore.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counters().cache
}

func (f *fleet) l1Held() (cachecore.L1Stats, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var s cachecore.L1Stats
	for env := range f.all {
		l := env.inst.cache.Stats().L1Size
		s.Entries += l.Entries
		s.Bytes += l.Bytes
		s.Evictions += l.Evictions
		s.Expirations += l.Expirations
	}
	return s, len(f.all)
}

func (f *fleet) sample() (int64, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(f.live), f.coldStarts
}

// warm runs cache.l1.warm in a new environment, within its budget, and counts it.
func (f *fleet) warm(ctx context.Context, env *environment) {
	w := f.r.s.Cache.L1.Warm
	if w.Keys <= 0 || !f.r.s.Cache.L1.Enabled {
		return
	}
	rep, err := env.inst.cache.Warm(ctx, cachecore.WarmOptions{Keys: w.Keys, Budget: w.Budget})
	f.mu.Lock()
	defer f.mu.Unlock()
	f.warming.ColdStarts++
	f.warming.KeysListed += int64(rep.Listed)
	f.warming.KeysLoaded += int64(rep.Loaded)
	f.warmingNanos += int64(rep.Took)
	f.warming.MSMax = max(f.warming.MSMax, float64(rep.Took)/1e6)
	if rep.OverBudget {
		f.warming.OverBudget++
	}
	if err != nil {
		f.warming.Errors++
	}
}

// warmed is cache.l1.warm's figures over the measured part, or nil when it is off.
func (f *fleet) warmed() *reports.Warming {
	if f.r.s.Cache.L1.Warm.Keys <= 0 || !f.r.s.Cache.L1.Enabled {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return warmingSince(f.warming, f.warmingBase, f.warmingNanos-f.warmingBaseNanos)
}

// warmingSince is the warming of cold starts since the mark: w (totals since the start)
// less b (totals at the mark), whose warmings took ns nanoseconds in all. MSMax is w's,
// already restarted at the mark.
func warmingSince(w, b reports.Warming, ns int64) *reports.Warming {
	out := &reports.Warming{
		ColdStarts: w.ColdStarts - b.ColdStarts, KeysListed: w.KeysListed - b.KeysListed,
		KeysLoaded: w.KeysLoaded - b.KeysLoaded, MSMax: w.MSMax,
		OverBudget: w.OverBudget - b.OverBudget, Errors: w.Errors - b.Errors,
	}
	if out.ColdStarts > 0 {
		out.MSMean = float64(ns) / 1e6 / float64(out.ColdStarts)
	}
	return out
}

// mark takes the baseline of the measured part and restarts the peaks from the
// environments alive, and busy, now.
func (f *fleet) mark() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.warmingBase, f.warmingBaseNanos = f.warming, f.warmingNanos
	f.warming.MSMax = 0
	now := time.Now()
	f.advanceBusy(now)
	f.base = f.totals()
	f.baseBusy = f.busyNS
	f.markedAt = now
	f.peak = f.live
	f.peakBusy = f.busy
}

// totals are the fleet's counters since it started; the caller holds f.mu.
func (f *fleet) totals() reports.Lambda {
	return reports.Lambda{
		Invocations: f.invocations, ColdStarts: f.coldStarts, PeakEnvironments: int64(f.peak),
		Throttled: f.throttled, BilledMS: f.billedMS + f.initMS, InitBilledMS: f.initMS,
		MemoryMB: f.memoryMB, Arch: f.arch, Recycled: f.recycled,
		PeakConcurrency: int64(f.peakBusy), ProvisionedConcurrency: f.provisioned, ProvisionedBilledMS: f.provMS,
		CPUMS: float64(f.cpuNS) / 1e6,
	}
}

// lambda returns the fleet's figures for the measured part: from mark to now.
func (f *fleet) lambda() *reports.Lambda {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	f.advanceBusy(now)
	t, b := f.totals(), f.base
	l := &reports.Lambda{
		Invocations: t.Invocations - b.Invocations, ColdStarts: t.ColdStarts - b.ColdStarts,
		PeakEnvironments: t.PeakEnvironments, Throttled: t.Throttled - b.Throttled,
		BilledMS: t.BilledMS - b.BilledMS, InitBilledMS: t.InitBilledMS - b.InitBilledMS,
		MemoryMB: f.memoryMB, Arch: f.arch, Recycled: t.Recycled - b.Recycled,
		PeakConcurrency:        t.PeakConcurrency,
		ProvisionedConcurrency: f.provisioned,
		ProvisionedBilledMS:    t.ProvisionedBilledMS - b.ProvisionedBilledMS,
		CPUMS:                  t.CPUMS - b.CPUMS,
	}
	l.GBSeconds = pricing.GBSeconds(f.memoryMB, l.BilledMS)
	if !f.markedAt.IsZero() {
		if span := now.Sub(f.markedAt); span > 0 {
			l.MeanConcurrency = (f.busyNS - f.baseBusy) / float64(span)
		}
	}
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
	return f.closeAll()
}

// closeAll retires every environment.
func (f *fleet) closeAll() error {
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
