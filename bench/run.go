package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/redis/go-redis/v9"
	"github.com/stripe/stripe-go/v76/webhook"
	"go.opentelemetry.io/otel/metric"

	"github.com/cachebench/cachebench/bench/workload"
	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/netsim"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/reports/pricing"
	"github.com/cachebench/cachebench/scenarios"
)

// Options are the settings of a run that are not part of the scenario.
type Options struct {
	// Progress receives a live progress line once a second ("\r"-rewritten); nil means
	// none. Give it a terminal only.
	Progress io.Writer
	// Log receives notes as they happen (nil discards them).
	Log io.Writer
	// MaxInFlight bounds the requests in flight at once in an open-loop run; beyond it the
	// dispatcher waits, and the wait counts in every latency (it is measured from the
	// intended start). 0 means 10000.
	MaxInFlight int
	// DrainTimeout bounds the wait for requests still in flight when the schedule ends or
	// the run is interrupted; 0 means 30s.
	DrainTimeout time.Duration
	// Pricing is the price table for cost_usd; nil means pricing.Default() (AWS us-east-1).
	Pricing *pricing.Table
	// Hooks are for tests of the harness itself.
	Hooks Hooks
	// MaxConns bounds the connections toward each HTTP service (Stripe, DynamoDB), shared
	// by every cache instance; 0 sizes it from the open-file limit (see maxConnsFor).
	MaxConns int
	// ServerLog receives the error lines of the HTTP servers the run starts (the Stripe
	// overlay); nil leaves them to the log package's standard logger (stderr).
	ServerLog io.Writer
	// MeterProvider, when set, receives every cache instance's OpenTelemetry metrics
	// (cachecore.Config.MeterProvider), as a function in production would export them.
	MeterProvider metric.MeterProvider
	// Calibrate is the environment a clock: virtual run measures each tier's service
	// time against before it starts (through the scenario's network profiles); nil means
	// the run's own environment, whose embedded stand-ins then set the service times.
	Calibrate *mocks.Env
	// Shard, when Count > 0, makes the run shard Index of Count of one sharded run (see
	// the package documentation, Sharded runs); the zero value runs the whole scenario.
	Shard Shard
	// StartAt, when set, is the instant the first request (warm-up included) is due: the
	// run waits for it after its setup, so the shards of a sharded run start together. It
	// must be after the setup ends; a StartAt already past fails the run.
	StartAt time.Time
	// RunID names the data the run keeps on the shared services (Redis keys, the DynamoDB
	// table). The shards of one run must share it, and a sharded run leaves its data in
	// place (another shard may still be reading it); empty means a random name of the
	// run's own, dropped at its end.
	RunID string
}

// StartAtTolerance is how late a run may be ready for its Options.StartAt and still
// start (at once, and noted in the result); later than that, Run fails.
const StartAtTolerance = 5 * time.Second

// Shard is one shard's place in a sharded run: Index from 0 to Count-1.
type Shard struct {
	Index, Count int
}

// sharded reports whether the run is one of several shards.
func (sh Shard) sharded() bool { return sh.Count > 1 }

// share returns this shard's part of a whole-run quantity n (the Lambda fleet's
// max_concurrency, its provisioned concurrency): n/Count, with the remainder going one
// each to the lowest indices, so the shards' parts sum to n.
func (sh Shard) share(n int) int {
	if sh.Count <= 1 {
		return n
	}
	q, rem := n/sh.Count, n%sh.Count
	if sh.Index < rem {
		q++
	}
	return q
}

// checkShard says what keeps s from running as shard sh against env, or nil.
func checkShard(s *scenarios.Scenario, env *mocks.Env, sh Shard) error {
	if sh.Count == 0 {
		return nil
	}
	if sh.Count < 0 || sh.Index < 0 || sh.Index >= sh.Count {
		return fmt.Errorf("shard %d/%d: the index must be from 0 to count-1", sh.Index, sh.Count)
	}
	if !sh.sharded() {
		return nil
	}
	var errs []error
	if env.Provider != mocks.ProviderExternal {
		errs = append(errs, fmt.Errorf("shard %d/%d: the shards of a run share their services, and --env %s starts its own: start them once with 'cachebench env up' and run every shard with --env external and the endpoints it prints", sh.Index, sh.Count, env.Provider))
	}
	if workload.Closed(s.Arrival) {
		errs = append(errs, workload.ErrShardClosed)
	}
	if s.Lambda.Enabled && s.Lambda.MaxConcurrency > 0 && s.Lambda.MaxConcurrency < sh.Count {
		errs = append(errs, fmt.Errorf("lambda.max_concurrency %d is less than the %d shards: each shard needs one environment at least; raise it or run fewer shards", s.Lambda.MaxConcurrency, sh.Count))
	}
	return errors.Join(errs...)
}

// Hooks let tests of the harness inject behaviour into the request path.
type Hooks struct {
	// BeforeRead, when set, runs in the worker before each measured read, after the
	// service-time clock has started; at is the read's intended offset from the start of
	// the run and intended its intended start time.
	BeforeRead func(at time.Duration, intended time.Time)
	// Dispatched, when set, sees every request in the order the generator produced it
	// (warm-up included), from the dispatching goroutine.
	Dispatched func(workload.Request)
	// OpenFiles, when set, replaces the count of the process's open file descriptors
	// that the run samples once a second; OpenFilesLimit replaces the soft limit.
	OpenFiles      func() int64
	OpenFilesLimit func() int64
	// CPUPercent, when set, replaces the CPU use measured over the measured window: the
	// process's and the whole machine's, in percent of all cores.
	CPUPercent func() (process, machine float64)
	// Assembled, when set, runs once the result is assembled, before the caches close:
	// what the caches export (Options.MeterProvider) can be read then.
	Assembled func()
}

// lateThreshold is how late a dispatch may be before it counts as late.
const lateThreshold = time.Millisecond

// Run runs scenario s (one sweep point: call scenarios.Expand first) against env and
// returns its result. A cancelled ctx (Ctrl-C) ends the run early: the requests in
// flight finish, and the result is marked interrupted. Errors are returned only when no
// result could be produced (a service that does not answer, a bad configuration).
func Run(ctx context.Context, s *scenarios.Scenario, env *mocks.Env, opt Options) (*reports.Result, error) {
	if len(s.Sweep) > 0 {
		return nil, errors.New("bench: scenario has a sweep: expand it with scenarios.Expand and run each point")
	}
	if s.Clock == scenarios.ClockVirtual {
		return runVirtual(ctx, s, env, opt)
	}
	if opt.MaxInFlight <= 0 {
		opt.MaxInFlight = 10000
	}
	if opt.DrainTimeout <= 0 {
		opt.DrainTimeout = 30 * time.Second
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	thresholds, err := reports.ParseThresholds(s.Thresholds)
	if err != nil {
		return nil, err
	}
	if err := trackingSupported(s, env); err != nil {
		return nil, err
	}
	if err := checkShard(s, env, opt.Shard); err != nil {
		return nil, err
	}

	setupCtx, cancelSetup := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancelSetup()
	wcfg, err := worldConfig(s)
	if err != nil {
		return nil, err
	}
	// A sharded run with updates shares one overlay, in the service 'cachebench env up'
	// serves, with the account's whole limits; otherwise each shard has its own overlay
	// and its share of them.
	shared, err := openSharedStripe(setupCtx, s, env, opt.Shard, opt.RunID, wcfg.Overlay)
	if err != nil {
		return nil, err
	}
	if shared != nil {
		wcfg.SharedStripe = shared.remote.StripeURL()
		defer shared.close()
	} else {
		shareLimits(&wcfg, s, opt.Shard)
	}
	nofile, _ := RaiseOpenFileLimit()
	wcfg.MaxConns = opt.MaxConns
	if wcfg.MaxConns <= 0 {
		wcfg.MaxConns = maxConnsFor(nofile, opt.MaxInFlight)
	}
	wcfg.ServerLog = opt.ServerLog
	world, closeWorld, err := openWorld(setupCtx, env, wcfg)
	if err != nil {
		return nil, err
	}
	defer closeWorld()

	r := &runner{s: s, opt: opt, world: world, thresholds: thresholds, shared: shared}
	if shared != nil {
		r.notes = append(r.notes, fmt.Sprintf("the shards share the Stripe overlay service at %s (run %s): versions, rate limits, webhooks and the staleness oracle are the whole run's; its rate-limit and webhook counters are not in a shard's result", shared.url, opt.RunID))
	}
	r.probe = newHarnessProbe(r)
	r.ns = newNamespace(opt.RunID)
	r.failover = newFailoverWatch(s, env, r.ns.redisPrefix)
	if n := r.redisServerNote(); n != "" {
		r.notes = append(r.notes, n)
	}
	notes, restore := applyRedisMemory(setupCtx, env, s)
	r.notes = append(r.notes, world.Notes()...)
	if n := insecureRedisNote(env); n != "" && s.Cache.L2.Enabled {
		r.notes = append(r.notes, n)
	}
	r.notes = append(r.notes, notes...)
	defer restore()
	if opt.RunID == "" {
		defer r.dropNamespace(env)
	}

	if err := r.setup(setupCtx); err != nil {
		return nil, err
	}
	defer r.exec.close()
	return r.run(ctx)
}

// runner holds one run's state.
type runner struct {
	s          *scenarios.Scenario
	opt        Options
	world      *mocks.World
	ns         namespace
	exec       executor
	gen        *workload.Generator
	keys       map[string][]string // object type -> cache key per index
	thresholds []reports.ParsedThreshold
	notes      []string

	start, measured time.Time
	warmup          time.Duration
	// length is the measured part's planned length: duration, or for a trace without
	// one, the rest of the trace after the warm-up (0 with requests).
	length time.Duration

	// recorders are the shards workers record into: a fixed few, however many workers a
	// run starts (see newRecorders).
	recorders []*Recorder
	workers   atomic.Int64

	// shared, in a sharded run with updates, is the run's overlay in the Stripe overlay
	// service, which reads, updates, webhooks and the staleness oracle go through.
	shared *sharedStripe

	// webhook counters
	applied, rejected atomic.Int64
	updateSeq         atomic.Int64

	inFlight, peakInFlight atomic.Int64
	// probe watches the harness's own limits (open files, CPU, stand-ins, pools).
	probe *harnessProbe
	// valueBytes sums the sizes of the values the measured reads returned.
	valueBytes int64
	// failover measures the failover fault; nil without one.
	failover *failoverWatch
}

// newNamespace returns the names of run runID's data, or of a random run when runID is
// empty.
func newNamespace(runID string) namespace {
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if runID != "" {
		id = runID
	}
	return namespace{
		redisPrefix: "cb:" + id + ":",
		table:       "cachebench-" + id,
		channel:     "cachebench:" + id + ":invalidate",
	}
}

// setup builds the executor and the request generator, and subscribes to webhooks.
func (r *runner) setup(ctx context.Context) error {
	s := r.s
	r.warmup = s.Warmup
	horizon := s.Warmup + s.Duration
	if s.Requests > 0 || s.Duration == 0 {
		horizon = 0 // the generator's own end (count, or the trace's end)
	}
	gen, err := workload.NewGenerator(s, horizon)
	if err != nil {
		return fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	if sh := r.opt.Shard; sh.Count > 0 {
		if err := gen.Shard(sh.Index, sh.Count); err != nil {
			return err
		}
		if tr := gen.Trace(); tr != nil && sh.sharded() && tr.Updates() > 0 && r.shared == nil {
			return fmt.Errorf("keys.trace %s has %d updates: the shards of a run with updates must share the Stripe overlay service, which this run cannot (its CACHEBENCH_STRIPE_URL %s is not the service, or keys.trace_sizes is set, which the service does not take yet): start the services with 'cachebench env up', give every shard the CACHEBENCH_STRIPE_URL it prints and set keys.trace_sizes=false, or replay the trace in one process", s.Keys.Trace, tr.Updates(), r.world.Env.Stripe.URL)
		}
		// The request count is the whole run's: the generator counts it before it splits
		// the stream.
		gen.Limit(s.Warmup, s.Requests)
	}
	r.gen = gen
	r.length = s.Duration
	if tr := gen.Trace(); tr != nil && s.Duration == 0 && s.Requests == 0 {
		r.length = max(tr.Span()-s.Warmup, 0) // the whole trace
	}
	r.newRecorders()
	r.keys = keyTables(s, gen, r.world.Overlay)
	if s.Lambda.Enabled {
		f, err := newFleet(ctx, r)
		if err != nil {
			return err
		}
		r.exec = f
	} else {
		inst, err := newInstance(ctx, s, r.world, r.ns, "process", r.opt.MeterProvider)
		if err != nil {
			return err
		}
		r.exec = &single{inst: inst}
	}
	if s.Cache.Invalidation == "webhook" {
		secret := r.world.WebhookSecret()
		if r.shared != nil {
			secret = r.shared.remote.WebhookSecret()
		}
		deliver := func(ctx context.Context, payload []byte, sig string) error {
			ev, err := webhook.ConstructEvent(payload, sig, secret)
			if err != nil {
				r.rejected.Add(1)
				return err
			}
			if err := r.exec.apply(ctx, &ev); err != nil {
				r.rejected.Add(1)
				return err
			}
			r.applied.Add(1)
			return nil
		}
		switch {
		case r.shared == nil:
			r.world.Overlay.Subscribe(deliver)
		case r.opt.Shard.Index == 0 || !s.Cache.L2.Enabled:
			// One shard applying an event is enough when the L1s share a Redis: the cache
			// refreshes L2 and L3 and publishes the invalidation every shard's L1s
			// subscribe to. Without an L2 each shard's L1s hear of it only from their own
			// delivery.
			if err := r.shared.receive(ctx, deliver); err != nil {
				return err
			}
		}
	}
	return nil
}

// keyTables returns the cache key of every key index gen gives, by object type. A
// trace's keyspace is its own: one table of every distinct key, whatever keys.count
// says, and with keys.trace_sizes its value sizes become ov's object sizes, so memory and
// bytes per entry follow the trace. Otherwise each object type has keys.count IDs.
func keyTables(s *scenarios.Scenario, gen *workload.Generator, ov *stripeoverlay.Overlay) map[string][]string {
	out := map[string][]string{}
	if tr := gen.Trace(); tr != nil {
		if tr.Sized() && s.Keys.TraceSizes {
			ov.SetSizes(tr.SizeOf)
		}
		keys := make([]string, tr.Count())
		for i := range keys {
			obj, id := tr.Key(i)
			keys[i] = cachecore.Ref{Object: obj, ID: id, Expand: s.Keys.Expand}.Key()
		}
		for _, obj := range gen.Objects() {
			out[obj] = keys
		}
	}
	for _, obj := range objectTypes(s) {
		if out[obj] != nil {
			continue
		}
		ids := workload.IDs(obj, s.Keys.Count)
		keys := make([]string, len(ids))
		for i, id := range ids {
			keys[i] = cachecore.Ref{Object: obj, ID: id, Expand: s.Keys.Expand}.Key()
		}
		out[obj] = keys
	}
	return out
}

// objectTypes lists the object types a scenario reads.
func objectTypes(s *scenarios.Scenario) []string {
	if len(s.Keys.Mix) == 0 {
		return []string{s.Keys.Object}
	}
	out := make([]string, 0, len(s.Keys.Mix))
	for _, obj := range cachecore.ObjectTypes {
		if s.Keys.Mix[obj] > 0 {
			out = append(out, obj)
		}
	}
	return out
}

// newRecorders makes the run's recorder shards: four per processor. A Recorder's lock is
// held for about 20 ns per request, so a few workers sharing one barely contend, while
// one Recorder per worker would cost a run with thousands of requests in flight
// thousands of histogram sets (about 600 kB each) to allocate, merge every second and
// collect.
func (r *runner) newRecorders() {
	n := 4 * runtime.GOMAXPROCS(0)
	r.recorders = make([]*Recorder, n)
	for i := range r.recorders {
		r.recorders[i] = NewRecorder()
	}
}

// newRecorder returns the shard the next worker records into.
func (r *runner) newRecorder() *Recorder {
	i := r.workers.Add(1) - 1
	return r.recorders[i%int64(len(r.recorders))]
}

// run offers the load, collects the figures and assembles the result.
func (r *runner) run(ctx context.Context) (*reports.Result, error) {
	// Begin a moment ahead so the first requests are not late by the setup's tail.
	r.start = time.Now().Add(20 * time.Millisecond)
	if !r.opt.StartAt.IsZero() {
		at := r.opt.StartAt.Format(time.RFC3339Nano)
		switch late := time.Since(r.opt.StartAt); {
		case late > StartAtTolerance:
			return nil, fmt.Errorf("start-at %s passed %s before the run was ready: give a later --start-at (the setup took longer than the lead)", at, late.Round(time.Millisecond))
		case late > -20*time.Millisecond:
			r.notes = append(r.notes, fmt.Sprintf("the run was ready %s after its start-at %s and started then, so its timeline is that much behind the other shards'", late.Round(time.Millisecond), at))
		default:
			r.start = r.opt.StartAt
			t := time.NewTimer(time.Until(r.start.Add(-20 * time.Millisecond)))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("interrupted while waiting for start-at %s", at)
			}
		}
	}
	r.measured = r.start.Add(r.warmup)

	col := newCollector(r)
	colDone := make(chan struct{})
	stopCol := make(chan struct{})
	go func() { defer close(colDone); col.loop(stopCol) }()

	var tl *netsim.Timeline
	if len(r.s.Faults) > 0 {
		var err error
		injectors := r.world.Injectors()
		if r.failover != nil {
			r.failover.wrap(injectors)
		}
		tl, err = netsim.RunTimeline(ctx, r.measured, toScheduled(r.s.Faults), injectors)
		if err != nil {
			close(stopCol)
			<-colDone
			return nil, fmt.Errorf("faults: %w", err)
		}
		if r.failover != nil {
			r.failover.startMarkers()
		}
	}

	var gl generatorLag
	interrupted := false
	if workload.Closed(r.s.Arrival) {
		interrupted = r.runClosed(ctx)
	} else {
		gl, interrupted = r.runOpen(ctx)
	}
	end := time.Now()
	if err := r.gen.Err(); err != nil {
		r.notes = append(r.notes, "the trace's replay ended early: "+err.Error())
	}
	var windows []netsim.Window
	if tl != nil {
		tl.Stop()
		windows = tl.Wait()
	}
	close(stopCol)
	<-colDone
	if r.shared != nil {
		jctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		if err := r.shared.judge(jctx, col); err != nil {
			r.notes = append(r.notes, "the stale reads were not judged: "+err.Error())
		}
		cancel()
		r.shared.close() // no events after the load: the caches close next
	}
	var failover *reports.Failover
	if r.failover != nil && tl != nil {
		var notes []string
		failover, notes = r.failover.finish()
		r.notes = append(r.notes, notes...)
	}
	res := r.assemble(col, gl, windows, end, interrupted)
	res.Failover = failover
	if r.opt.Hooks.Assembled != nil {
		r.opt.Hooks.Assembled()
	}
	return res, nil
}

// generatorLag is the dispatcher's account of its own punctuality.
type generatorLag struct {
	scheduled, late int64
	lag             *hdrhistogram.Histogram
	saturated       int64 // dispatches that waited for a free slot (MaxInFlight)
}

// runOpen dispatches requests at their intended times whatever the system does, and
// waits for those in flight. It reports whether ctx ended the run early.
func (r *runner) runOpen(ctx context.Context) (generatorLag, bool) {
	gl := generatorLag{lag: newLatencyHist()}
	work := make(chan workload.Request)
	var wg sync.WaitGroup
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	slots := make(chan struct{}, r.opt.MaxInFlight)
	var idle atomic.Int64
	measuredLeft := r.s.Requests
	interrupted := false
	// The dispatcher keeps its OS thread so that preciseSleep blocks only this thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	preciseThread()
	var req workload.Request
loop:
	for r.gen.Next(&req) {
		if r.s.Requests > 0 && req.At >= r.warmup {
			if measuredLeft == 0 {
				break
			}
			measuredLeft--
		}
		if r.opt.Hooks.Dispatched != nil {
			r.opt.Hooks.Dispatched(req)
		}
		target := r.start.Add(req.At)
		if !waitUntil(ctx, target) {
			interrupted = true
			break
		}
		select {
		case slots <- struct{}{}:
		default:
			gl.saturated++
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				interrupted = true
				break loop
			}
		}
		if req.At >= r.warmup {
			lag := time.Since(target)
			gl.scheduled++
			if lag > lateThreshold {
				gl.late++
			}
			recordUS(gl.lag, lag)
		}
		if idle.Load() > 0 {
			// A worker is waiting (or about to): hand the request over.
			work <- req
			continue
		}
		// No idle worker: start one. Workers stay for the rest of the run, and each
		// records into its own Recorder, so they are started only when all are busy.
		wg.Add(1)
		w := r.newWorker(reqCtx)
		first := req
		go func() {
			defer wg.Done()
			r.serve(w, first)
			<-slots
			for {
				idle.Add(1)
				q, ok := <-work
				idle.Add(-1)
				if !ok {
					return
				}
				r.serve(w, q)
				<-slots
			}
		}()
	}
	close(work)
	if !r.drain(&wg, cancelReqs) {
		r.notes = append(r.notes, fmt.Sprintf("requests still in flight %s after the end were cancelled", r.opt.DrainTimeout))
	}
	return gl, interrupted
}

// waitUntil sleeps until t in slices of at most 5 ms, so a cancelled ctx ends the wait
// promptly. It reports false when ctx ended.
func waitUntil(ctx context.Context, t time.Time) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		d := time.Until(t)
		if d <= 0 {
			return true
		}
		preciseSleep(min(d, 5*time.Millisecond))
	}
}

// runClosed runs Concurrency workers that each send a request, wait for the answer,
// think, and send the next, until the duration or request count is reached.
func (r *runner) runClosed(ctx context.Context) bool {
	a := r.s.Arrival
	var genMu sync.Mutex
	var wg sync.WaitGroup
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	end := r.measured.Add(r.length)
	var measuredLeft atomic.Int64
	measuredLeft.Store(r.s.Requests)
	time.Sleep(time.Until(r.start))
	for i := 0; i < a.Concurrency; i++ {
		wg.Add(1)
		w := r.newWorker(reqCtx)
		go func() {
			defer wg.Done()
			var req workload.Request
			for ctx.Err() == nil {
				now := time.Now()
				if r.s.Requests == 0 && r.s.Duration > 0 && !now.Before(end) {
					return
				}
				genMu.Lock()
				ok := r.gen.NextKey(&req)
				genMu.Unlock()
				if !ok {
					return
				}
				req.At = now.Sub(r.start)
				if r.opt.Hooks.Dispatched != nil {
					genMu.Lock()
					r.opt.Hooks.Dispatched(req)
					genMu.Unlock()
				}
				if r.s.Requests > 0 && req.At >= r.warmup && measuredLeft.Add(-1) < 0 {
					return
				}
				r.serve(w, req)
				if a.Think > 0 {
					select {
					case <-time.After(a.Think):
					case <-ctx.Done():
					}
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return false
	case <-ctx.Done():
	}
	if !r.drain(&wg, cancelReqs) {
		r.notes = append(r.notes, fmt.Sprintf("requests still in flight %s after the end were cancelled", r.opt.DrainTimeout))
	}
	return true
}

// drain waits for the workers, cancelling their requests after DrainTimeout. It reports
// whether they finished on their own.
func (r *runner) drain(wg *sync.WaitGroup, cancel context.CancelFunc) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(r.opt.DrainTimeout):
		cancel()
		<-done
		return false
	}
}

// worker is what one worker goroutine keeps across its requests: the recorder shard it
// records into and the read it hands to the executor, built once so that serving a
// request allocates nothing of its own.
type worker struct {
	r   *runner
	ctx context.Context
	rec *Recorder
	// The read in progress: read reads key and decodes it as object into res.
	key, object string
	res         cachecore.Result
	read        func(*instance) (time.Duration, error)
}

func (r *runner) newWorker(ctx context.Context) *worker {
	w := &worker{r: r, ctx: ctx, rec: r.newRecorder()}
	w.read = w.readKey
	return w
}

// readKey is the handler's work in an instance: the cache read, then, in a Lambda
// handler, decoding what it read (the CPU-bound part of its work), whose time it returns.
func (w *worker) readKey(in *instance) (time.Duration, error) {
	var err error
	w.res, err = in.cache.GetKey(w.ctx, w.key)
	if err != nil || !w.r.s.Lambda.Enabled {
		return 0, err
	}
	t0 := time.Now()
	if err := decodeObject(w.object, w.res.Value); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// serve runs one request and records it, unless it belongs to the warm-up.
func (r *runner) serve(w *worker, req workload.Request) {
	ctx, rec := w.ctx, w.rec
	n := r.inFlight.Add(1)
	for {
		p := r.peakInFlight.Load()
		if n <= p || r.peakInFlight.CompareAndSwap(p, n) {
			break
		}
	}
	defer r.inFlight.Add(-1)
	intended := r.start.Add(req.At)
	measured := req.At >= r.warmup
	began := time.Now()
	if req.Op == workload.OpUpdate {
		err := r.update(ctx, &req)
		if !measured {
			return
		}
		lat := time.Since(intended)
		if err != nil {
			r.probe.requestFailed(err)
			rec.Error(lat, false, err, nil)
			return
		}
		rec.Update(lat)
		return
	}
	if measured && r.opt.Hooks.BeforeRead != nil {
		r.opt.Hooks.BeforeRead(req.At, intended)
	}
	w.key, w.object, w.res = r.keys[req.Object][req.Index], req.Object, cachecore.Result{}
	inv, err := r.exec.invoke(ctx, w.read)
	res := w.res
	w.res = cachecore.Result{}
	end := time.Now()
	if !measured {
		return
	}
	// Everything this read caused is counted with it (see the package doc).
	o := ReadOutcome{Served: res.Tier, Trace: res.Trace, Invocation: inv, Size: len(res.Value)}
	o.NotFound = errors.Is(err, cachecore.ErrNotFound)
	if r.failover != nil {
		r.failover.read(began, end, err, &res)
	}
	if err != nil && !o.NotFound {
		o.Size = 0
		r.probe.requestFailed(err)
		rec.Error(end.Sub(intended), true, err, &o)
		return
	}
	if !o.NotFound && res.Version > 0 && r.shared != nil {
		// Judged at the end of the run, against the whole run's history.
		r.shared.later(req.Object, req.ID, res.Version, end)
	} else if !o.NotFound && res.Version > 0 {
		v := r.world.Overlay.Check(req.Object, req.ID, res.Version, end)
		if v.Known {
			o.Checked = true
			o.Stale = !v.Current
			o.StaleBy = v.StaleBy
		}
	}
	rec.Read(end.Sub(intended), end.Sub(began), &o)
}

// update changes the object's metadata through the Stripe overlay. It models a change
// made elsewhere (the dashboard, another service): it goes to the overlay directly, not
// through the cache's rate-limited client, and reaches the cache only as a webhook.
func (r *runner) update(ctx context.Context, req *workload.Request) error {
	seq := r.updateSeq.Add(1)
	md := map[string]string{"cachebench_update": strconv.FormatInt(seq, 10)}
	if r.shared != nil {
		_, err := r.shared.remote.Update(ctx, req.Object, req.ID, md)
		return err
	}
	_, err := r.world.Overlay.Update(ctx, req.Object, req.ID, md)
	return err
}

// toScheduled converts the scenario's faults to the timeline's.
func toScheduled(fs []scenarios.Fault) []netsim.Scheduled {
	out := make([]netsim.Scheduled, len(fs))
	for i, f := range fs {
		out[i] = netsim.Scheduled{
			At: f.At, For: f.For, Target: f.Target,
			Fault: netsim.Fault{Kind: f.Kind, Latency: f.Latency, Jitter: f.Jitter, Bandwidth: int64(f.Bandwidth), Rate: f.Rate},
		}
	}
	return out
}

// applyRedisMemory sets Redis's maxmemory and eviction policy for the run and returns a
// function that restores the old values. A Redis that refuses CONFIG (a managed service,
// the embedded stand-in) gets a note instead.
func applyRedisMemory(ctx context.Context, env *mocks.Env, s *scenarios.Scenario) ([]string, func()) {
	if !s.Cache.L2.Enabled || s.Cache.L2.Maxmemory <= 0 {
		return nil, func() {}
	}
	c := env.RedisClient
	old, err := c.ConfigGet(ctx, "maxmemory*").Result()
	if err != nil {
		return []string{fmt.Sprintf("cache.l2.maxmemory was not applied: this Redis refuses CONFIG GET (%v); the server's own limit holds", err)}, func() {}
	}
	policy := s.Cache.L2.Eviction
	if err := c.ConfigSet(ctx, "maxmemory", strconv.FormatInt(int64(s.Cache.L2.Maxmemory), 10)).Err(); err != nil {
		return []string{fmt.Sprintf("cache.l2.maxmemory was not applied: %v", err)}, func() {}
	}
	var notes []string
	if err := c.ConfigSet(ctx, "maxmemory-policy", policy).Err(); err != nil {
		notes = append(notes, fmt.Sprintf("cache.l2.eviction %q was not applied: %v", policy, err))
	}
	return notes, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if v, ok := old["maxmemory"]; ok {
			_ = c.ConfigSet(ctx, "maxmemory", v).Err()
		}
		if v, ok := old["maxmemory-policy"]; ok {
			_ = c.ConfigSet(ctx, "maxmemory-policy", v).Err()
		}
	}
}

// dropNamespace deletes the run's Redis keys and DynamoDB table, so runs do not share
// data and a long session does not fill the services.
func (r *runner) dropNamespace(env *mocks.Env) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r.s.Cache.L2.Enabled {
		// On a cluster each primary is scanned for its own keys, and the keys are deleted
		// one per command (a DEL of keys in different slots fails with CROSSSLOT) in a
		// pipeline the cluster client splits by node.
		drop := func(ctx context.Context, scan redis.Cmdable) error {
			iter := scan.Scan(ctx, 0, r.ns.redisPrefix+"*", 1000).Iterator()
			var batch []string
			flush := func() {
				if _, ok := env.RedisClient.(*redis.ClusterClient); ok {
					pipe := env.RedisClient.Pipeline()
					for _, k := range batch {
						pipe.Del(ctx, k)
					}
					_, _ = pipe.Exec(ctx)
				} else {
					_ = env.RedisClient.Del(ctx, batch...).Err()
				}
				batch = batch[:0]
			}
			for iter.Next(ctx) {
				batch = append(batch, iter.Val())
				if len(batch) == 1000 {
					flush()
				}
			}
			if len(batch) > 0 {
				flush()
			}
			return nil
		}
		if cc, ok := env.RedisClient.(*redis.ClusterClient); ok {
			_ = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return drop(ctx, n) })
		} else {
			_ = drop(ctx, env.RedisClient)
		}
	}
	if r.s.Cache.L3.Enabled {
		_ = mocks.DropTable(ctx, env, r.ns.table)
	}
}

// trackingSupported refuses the tracking L1 where it cannot run: the embedded Redis
// (miniredis) has no CLIENT TRACKING, and go-redis's client-side caching is for a
// standalone client here, not a cluster.
func trackingSupported(s *scenarios.Scenario, env *mocks.Env) error {
	if !s.Cache.L1.Enabled || s.Cache.L1.Policy != scenarios.PolicyTracking {
		return nil
	}
	if env.Provider == mocks.ProviderEmbedded {
		return errors.New("cache.l1.policy tracking needs Redis's CLIENT TRACKING, which the embedded Redis lacks: run with --env docker or --env local")
	}
	if env.RedisOptions() == nil {
		return errors.New("cache.l1.policy tracking runs on a standalone Redis, and this one is a cluster: point CACHEBENCH_REDIS_URL at a standalone server, or choose lru, tinylfu or map")
	}
	return nil
}
