package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/cachebench/cachebench/bench/workload"
	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/reports/pricing"
	"github.com/cachebench/cachebench/scenarios"
)

// virtualEpoch is where a virtual run's clock starts: a midnight, so a diurnal curve's
// peak_at is a time of day.
var virtualEpoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// virtualRefusals says which parts of s the virtual clock does not model yet, each with
// its fix, or nil. Running them anyway would report figures that mean nothing.
func virtualRefusals(s *scenarios.Scenario) error {
	var errs []error
	errs = append(errs, virtualFaultRefusals(s)...)
	if s.Lambda.Enabled && s.Lambda.ProvisionedConcurrency > 0 {
		errs = append(errs, errors.New("lambda.provisioned_concurrency: clock: virtual simulates on-demand environments only; set it to 0 or clock: real"))
	}
	if s.Arrival.Model == scenarios.ArrivalClosed {
		errs = append(errs, errors.New("arrival.model closed: a closed loop's pace is the system's speed, which virtual time does not have; use an open model (constant, poisson, diurnal, ...)"))
	}
	if s.Cache.SWR > 0 || s.Cache.XFetchBeta > 0 || s.Cache.Lease > 0 {
		errs = append(errs, errors.New("cache.stale_while_revalidate, cache.xfetch_beta and cache.lease refresh or wait in the background on the wall clock; clock: virtual needs them at 0"))
	}
	switch {
	case s.Requests > 0:
		errs = append(errs, errors.New("requests: clock: virtual needs duration (the simulated horizon), not a request count"))
	case s.Duration <= 0 && s.Keys.Distribution != scenarios.DistTrace:
		errs = append(errs, errors.New("clock: virtual needs duration (the simulated horizon); only a trace replays to its own end without one"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	return nil
}

// latencyModel gives each read a modelled latency: one service time of each tier it
// reached, drawn from that tier's calibration (see calibrate). It is a model, labelled
// so in the result; nothing of the simulation's own wall clock enters it.
type latencyModel struct {
	cal    *calibration
	l2, l3 bool
	rng    *rand.Rand
}

// sample returns the modelled latency in microseconds of a read served by tier.
func (m *latencyModel) sample(tier cachecore.TierID) int64 {
	us := 1.0 // an L1 read: in process
	if tier >= cachecore.TierL2 && m.l2 {
		us += m.cal.sample("redis", m.rng)
	}
	if tier >= cachecore.TierL3 && m.l3 {
		us += m.cal.sample("dynamodb", m.rng)
	}
	if tier >= cachecore.TierOrigin {
		us += m.cal.sample("stripe", m.rng)
	}
	return int64(us)
}

// vbucket counts one timeline bucket of a virtual run. requests counts reads and
// updates; updates, the updates among them.
type vbucket struct {
	requests, updates, errors, l1, l2, l3, origin, rateLimited, coldStarts, stale int64
}

// vserver is what serves a virtual run's requests: the Lambda fleet, or one long-lived
// instance (lambda.enabled: false).
type vserver struct {
	fleet *vfleet
	inst  *instance
}

// stats sums the caches' counters.
func (v vserver) stats() (cachecore.Stats, cachecore.TierStats, cachecore.TierStats) {
	if v.fleet != nil {
		return v.fleet.stats()
	}
	l2, l3 := v.inst.tierStats()
	return v.inst.cache.Stats(), l2, l3
}

// apply applies a webhook event as the real runner's executor does: one instance
// applies it to the shared tiers, and the others' L1s learn of it through Redis pub/sub.
func (v vserver) apply(ctx context.Context, ev *stripe.Event) error {
	if v.fleet != nil {
		return v.fleet.apply(ctx, ev)
	}
	return v.inst.cache.Apply(ctx, ev)
}

// any is an instance to reach the shared tiers through, or nil.
func (v vserver) any() *instance {
	if v.fleet != nil {
		return v.fleet.anyInstance()
	}
	return v.inst
}

// usageMark is the cumulative usage the cost model bills, at one instant.
type usageMark struct {
	at                    time.Duration
	requests, invocations int64
	billedMS, initMS      int64
	l2, l3                cachecore.TierStats
}

// runVirtual runs s on a simulated clock (clock: virtual). See the package
// documentation for how simulated time passes and what it does not model.
func runVirtual(ctx context.Context, s *scenarios.Scenario, env *mocks.Env, opt Options) (*reports.Result, error) {
	if err := virtualRefusals(s); err != nil {
		return nil, err
	}
	if opt.Shard.sharded() || !opt.StartAt.IsZero() {
		return nil, fmt.Errorf("scenario %s: clock: virtual runs in one process (its services follow its own simulated clock); drop --shard and --start-at, or set clock: real", s.Name)
	}
	thresholds, err := reports.ParseThresholds(s.Thresholds)
	if err != nil {
		return nil, err
	}
	table := opt.Pricing
	if table == nil {
		table = pricing.Default()
	}
	if err := env.SetClock(virtualEpoch); err != nil {
		return nil, fmt.Errorf("bench: clock: virtual needs --env embedded (its Redis and L3 follow the simulated clock): %w", err)
	}
	// A simulated day allocates its garbage in minutes: a sparser collector trades memory
	// (bounded by the keyspace, not the request count) for about a fifth of the run.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	var nanos atomic.Int64
	nanos.Store(virtualEpoch.UnixNano())
	now := func() time.Time { return time.Unix(0, nanos.Load()).UTC() }

	// The services answer at once; the network profiles enter the modelled latency,
	// through the calibration, instead of delaying real round trips. The client-side
	// Stripe limiter paces on the wall clock, so it is off: origin calls are counted, not
	// paced.
	ws := *s
	ws.Network = scenarios.NetworkFor(scenarios.ProfileNone)
	ws.Stripe.Mode = scenarios.StripeModeNone
	// Faults act at the caches' tiers and Stripe client on the simulated clock (vfaults),
	// not through wall-clock proxies.
	ws.Faults = nil
	setupCtx, cancelSetup := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancelSetup()
	calEnv := opt.Calibrate
	if calEnv == nil {
		calEnv = env
	}
	cal, err := calibrate(setupCtx, s, calEnv, opt)
	if err != nil {
		return nil, err
	}
	model := &latencyModel{cal: cal, l2: s.Cache.L2.Enabled, l3: s.Cache.L3.Enabled, rng: rand.New(rand.NewPCG(uint64(s.Seed), 0x9e3779b97f4a7c15))}
	wcfg, err := worldConfig(&ws)
	if err != nil {
		return nil, err
	}
	wcfg.ServerLog = opt.ServerLog
	// The overlay's versions (the staleness oracle's history) and webhook delays run on
	// the simulated clock; the loop below delivers each event at its instant.
	wcfg.Overlay.Now = now
	wcfg.Overlay.Webhook.Manual = true
	world, closeWorld, err := openWorld(setupCtx, env, wcfg)
	if err != nil {
		return nil, err
	}
	defer closeWorld()
	ns := newNamespace("")
	ns.now = now
	ns.rand = lockedFloat64(rand.New(rand.NewPCG(uint64(s.Seed), 0x7a11)))
	faults := newVFaults(s, world.Overlay)
	ns.faults = faults
	var srv vserver
	if s.Lambda.Enabled {
		srv.fleet = newVFleet(&ws, world, ns)
		if s.Cache.L1.Warm.Keys > 0 && s.Cache.L1.Enabled && s.Cache.L2.Enabled {
			// Two L2 round trips: the hot list, then one pipelined read.
			srv.fleet.warmCost = func() time.Duration {
				return time.Duration(model.cal.sample("redis", model.rng)+model.cal.sample("redis", model.rng)) * time.Microsecond
			}
		}
		defer srv.fleet.close()
	} else {
		if srv.inst, err = newInstance(setupCtx, &ws, world, ns, "process", nil); err != nil {
			return nil, err
		}
		defer srv.inst.close()
	}

	var applied, rejected int64
	if s.Cache.Invalidation == "webhook" {
		// As the real runner subscribes, but called from this goroutine by Deliver.
		secret := world.WebhookSecret()
		world.Overlay.Subscribe(func(ctx context.Context, payload []byte, sig string) error {
			ev, err := webhook.ConstructEvent(payload, sig, secret)
			if err == nil {
				err = srv.apply(ctx, &ev)
			}
			if err != nil {
				rejected++
				return err
			}
			applied++
			return nil
		})
	}
	// setClock moves every clock of the run to at: the caches', the overlay's and the
	// embedded services'.
	setClock := func(at time.Time) error {
		nanos.Store(at.UnixNano())
		return env.SetClock(at)
	}
	// deliver applies the webhook deliveries due by until, each at its own instant (never
	// before the clock's), in the order the overlay has them due.
	deliver := func(until time.Time) error {
		for {
			due, ok := world.Overlay.NextDelivery()
			if !ok || due.After(until) {
				return nil
			}
			due = maxTime(due, now())
			if err := setClock(due); err != nil {
				return err
			}
			faults.advance(due.Sub(virtualEpoch))
			if _, err := world.Overlay.Deliver(ctx, due); err != nil {
				return err
			}
		}
	}

	// length is the measured part's simulated length: duration, or for a trace without
	// one, the rest of the trace after the warm-up.
	length := s.Duration
	horizon := s.Warmup + length
	if s.Duration == 0 {
		horizon = 0 // the generator's own end: the trace's
	}
	gen, err := workload.NewGenerator(s, horizon)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	if tr := gen.Trace(); tr != nil && s.Duration == 0 {
		length = max(tr.Span()-s.Warmup, 0)
		horizon = s.Warmup + length
	}
	keys := keyTables(s, gen, world.Overlay)

	bucket := time.Minute
	if length > 2*time.Hour {
		bucket = time.Hour
	}
	hist := hdrhistogram.New(1, 3_600_000_000, 3)
	bhist := hdrhistogram.New(1, 3_600_000_000, 3)
	var (
		timeline    []reports.Second
		cur, total  vbucket
		notFound    int64
		throttled   int64
		base        cachecore.Stats
		baseMark    usageMark
		lastMark    usageMark
		updateSeq   int64
		checked     int64
		staleHist   = newStaleHist()
		overlayBase stripeoverlay.Stats
		webhookBase [2]int64 // applied, rejected at the mark
		measuring   = s.Warmup == 0
		bucketEnd   = s.Warmup + bucket
		interrupted bool
		wallStart   = time.Now()
		// byteHours integrate what L2 and L3 hold over the measured part, bucket by
		// bucket, for the storage the cost model bills.
		redisByteS, dynamoByteS float64
		lastRedis, lastDynamo   int64
	)
	mark := func(at time.Duration) usageMark {
		_, l2, l3 := srv.stats()
		m := usageMark{at: at, requests: total.requests, l2: l2, l3: l3}
		if f := srv.fleet; f != nil {
			m.invocations, m.billedMS, m.initMS = f.invocations, f.billedMS, f.initMS
		}
		return m
	}
	if measuring {
		baseMark, lastMark = mark(s.Warmup), mark(s.Warmup)
		if srv.fleet != nil {
			srv.fleet.mark(virtualEpoch)
		}
	}
	closeBucket := func(end time.Duration) error {
		if cur.requests > 0 || end <= horizon {
			row := virtualSecond(cur, end-bucket-s.Warmup, bucket)
			if end > horizon {
				// The horizon (a trace's end) falls inside the bucket.
				row.Partial, row.LengthS = true, (horizon - (end - bucket)).Seconds()
			}
			row.P50US = float64(bhist.ValueAtQuantile(50))
			row.P99US = float64(bhist.ValueAtQuantile(99))
			if srv.fleet != nil {
				row.Envs = int64(srv.fleet.live)
			}
			if in := srv.any(); in != nil {
				if lastRedis, lastDynamo, err = heldBytes(ctx, env, in, virtualEpoch.Add(end)); err != nil {
					return err
				}
			}
			row.RedisBytes, row.DynamoDBBytes = lastRedis, lastDynamo
			redisByteS += float64(lastRedis) * bucket.Seconds()
			dynamoByteS += float64(lastDynamo) * bucket.Seconds()
			m := mark(end)
			b, err := pricing.RunCost(table, virtualUsage(s, lastMark, m, float64(lastRedis), float64(lastDynamo)))
			if err != nil {
				return fmt.Errorf("cost: %w", err)
			}
			row.CostUSD = b.TotalUSD
			lastMark = m
			timeline = append(timeline, row)
		}
		cur = vbucket{}
		bhist.Reset()
		return nil
	}
	// A read runs to completion before the next one starts (an interrupt is seen between
	// them), so its context need not be cancellable: the cache's coalescing then runs the
	// lookup in this goroutine rather than in one of its own per L1 miss.
	rctx := context.WithoutCancel(ctx)
	var req workload.Request
	for gen.Next(&req) {
		if ctx.Err() != nil {
			interrupted = true
			break
		}
		if !measuring && req.At >= s.Warmup {
			measuring = true
			base, _, _ = srv.stats()
			baseMark, lastMark = mark(s.Warmup), mark(s.Warmup)
			if srv.fleet != nil {
				srv.fleet.mark(virtualEpoch.Add(s.Warmup))
			}
			overlayBase, webhookBase = world.Overlay.Stats(), [2]int64{applied, rejected}
		}
		for measuring && req.At >= bucketEnd {
			if err := deliver(virtualEpoch.Add(bucketEnd)); err != nil {
				return nil, err
			}
			if err := closeBucket(bucketEnd); err != nil {
				return nil, err
			}
			bucketEnd += bucket
		}
		at := virtualEpoch.Add(req.At)
		if err := deliver(at); err != nil {
			return nil, err
		}
		if err := setClock(at); err != nil {
			return nil, err
		}
		faults.advance(req.At)
		if req.Op == workload.OpUpdate {
			// A change made elsewhere, as in real time: straight to the overlay, reaching
			// the cache only as a webhook.
			updateSeq++
			_, err := world.Overlay.Update(ctx, req.Object, req.ID, map[string]string{"cachebench_update": strconv.FormatInt(updateSeq, 10)})
			if measuring {
				cur.requests++
				cur.updates++
				total.requests++
				total.updates++
				if err != nil {
					cur.errors++
					total.errors++
				}
			}
			continue
		}
		in, inv := srv.inst, vinvocation{}
		if srv.fleet != nil {
			if inv, err = srv.fleet.acquire(ctx, at); err != nil {
				return nil, err
			}
			if inv.throttled {
				if measuring {
					cur.requests++
					cur.errors++
					total.requests++
					total.errors++
					throttled++
				}
				continue
			}
			in = inv.env.inst
		}
		faults.begin()
		res, err := in.cache.GetKey(rctx, keys[req.Object][req.Index])
		us := model.sample(res.Tier) + faults.charged().Microseconds()
		if srv.fleet != nil {
			us = srv.fleet.release(inv, at, time.Duration(us)*time.Microsecond).Microseconds()
		}
		if !measuring {
			continue
		}
		cur.requests++
		if inv.cold {
			cur.coldStarts++
			total.coldStarts++
		}
		switch {
		case errors.Is(err, cachecore.ErrNotFound):
			notFound++
		case err != nil:
			cur.errors++
		case res.Version > 0:
			// The staleness oracle, as in real time, at the read's (simulated) instant.
			if v := world.Overlay.Check(req.Object, req.ID, res.Version, at); v.Known {
				checked++
				if !v.Current {
					cur.stale++
					total.stale++
					_ = staleHist.RecordValue(min(max(v.StaleBy.Milliseconds(), 1), staleMaxMS))
				}
			}
		}
		switch res.Tier {
		case cachecore.TierL1:
			cur.l1++
		case cachecore.TierL2:
			cur.l2++
		case cachecore.TierL3:
			cur.l3++
		}
		if res.Trace.Origin == cachecore.OriginFetched {
			// The fetch's HTTP requests, retries and 429s included, as in real time.
			cur.origin += int64(res.Trace.Calls)
			cur.rateLimited += int64(res.Trace.RateLimited)
		}
		_ = hist.RecordValue(max(us, 1))
		_ = bhist.RecordValue(max(us, 1))
		total.requests++
		total.errors += boolInt(err != nil && !errors.Is(err, cachecore.ErrNotFound))
	}
	if err := gen.Err(); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	if measuring {
		if err := deliver(virtualEpoch.Add(min(bucketEnd, horizon))); err != nil {
			return nil, err
		}
		if err := closeBucket(bucketEnd); err != nil {
			return nil, err
		}
	}
	wall := time.Since(wallStart)
	st, _, _ := srv.stats()
	endMark := mark(horizon)
	measured := (endMark.at - baseMark.at).Seconds()
	if measured <= 0 {
		measured = length.Seconds()
	}

	cfg, _ := json.Marshal(s)
	res := &reports.Result{
		Schema:       reports.Schema,
		Scenario:     reports.ScenarioRef{Name: s.Name, File: s.File, Seed: s.Seed, Point: s.Point, Config: cfg},
		Environment:  describe(world),
		StartedAt:    virtualEpoch.Add(s.Warmup).Format(time.RFC3339Nano),
		DurationS:    length.Seconds(),
		WarmupS:      s.Warmup.Seconds(),
		Interrupted:  interrupted,
		Clock:        scenarios.ClockVirtual,
		LatencyModel: "modelled",
		Requests: reports.Requests{
			Total: total.requests, OK: total.requests - total.errors, Errors: total.errors,
			Gets: total.requests - total.updates, Updates: total.updates, NotFound: notFound, RatePerS: float64(total.requests) / max(length.Seconds(), 1e-9),
		},
		Consistency: reports.Consistency{ReadsChecked: checked, StaleReads: total.stale},
		LatencyUS:   summary(hist),
		ServiceUS:   summary(hist),
		Tiers: reports.Tiers{
			L1: tierDelta(s.Cache.L1.Enabled, st.L1, base.L1),
			L2: tierDelta(s.Cache.L2.Enabled, st.L2, base.L2),
			L3: tierDelta(s.Cache.L3.Enabled, st.L3, base.L3),
		},
		Origin: reports.Origin{
			Calls:       int64(st.OriginCalls - base.OriginCalls),
			Fetches:     int64(st.OriginFetches - base.OriginFetches),
			Retries:     int64(st.OriginRetries - base.OriginRetries),
			RateLimited: int64(st.OriginRateLimited - base.OriginRateLimited),
			Errors:      int64(st.OriginErrors - base.OriginErrors),
		},
		Timeline: timeline,
		Notes: []string{
			fmt.Sprintf("clock: virtual: %v of scenario time simulated in %v of wall time (%.0f simulated requests per second of wall time)",
				horizon, wall.Round(time.Millisecond), float64(total.requests)/max(wall.Seconds(), 1e-9)),
			"latency is MODELLED, not measured: each read costs one service time of every tier it reached, drawn from HdrHistograms measured for about a second a tier at the start (latency_calibration) against " +
				cal.against + " through the network profiles (" + profileNames(s) + "), plus a cold start's init and the handler's time",
			"clock: virtual serves each request's cache read at its arrival instant, one after another: the Lambda fleet's environments overlap in simulated time, but concurrent misses of one key are not coalesced (origin calls are an upper bound where a hot key's misses would overlap)",
			"Stripe's client-side rate limiter is off on the virtual clock (it paces on the wall clock); origin calls are counted, not paced",
		},
	}
	res.Scenario.Trace = traceInfo(s, gen.Trace(), world.Overlay.Stats())
	if checked > 0 {
		res.Consistency.StaleRatio = float64(total.stale) / float64(checked)
	}
	if total.stale > 0 {
		res.Consistency.MaxStalenessMS = float64(staleHist.Max())
		res.Consistency.P99StalenessMS = float64(staleHist.ValueAtQuantile(99))
	}
	if s.Ops.Update > 0 || s.Cache.Invalidation == "webhook" {
		// Events are counted by time, over the measured part, as in real time.
		ov := world.Overlay.Stats()
		res.Webhooks = &reports.Webhooks{
			Emitted: int64(ov.EventsEmitted - overlayBase.EventsEmitted), Delivered: int64(ov.EventsDelivered - overlayBase.EventsDelivered),
			Duplicated: int64(ov.EventsDuplicated - overlayBase.EventsDuplicated), Reordered: int64(ov.EventsReordered - overlayBase.EventsReordered),
			Applied: applied - webhookBase[0], Rejected: rejected - webhookBase[1],
		}
	}
	if len(s.Faults) > 0 {
		faults.advance(horizon)
		res.Faults = faults.report(s.Warmup, horizon)
		res.Notes = append(res.Notes, "faults on the virtual clock start and end at their simulated instants; rate_limit and errors are the Stripe overlay's own; the network kinds are MODELLED where the cache meets each service (its L2 and L3 tiers, its Stripe client): down and reset fail the call at once, pause times it out and charges the cache's time-out, latency and bandwidth add their time to the read's modelled latency (a call past its time-out times out); lookups are charged, writes are not; Redis pub/sub, the webhooks' path to other L1s, is not faulted")
	}
	res.Notes = append(res.Notes, "the caches' circuit breakers are off on the virtual clock (they keep wall-clock time): every read tries each tier and pays its failure or time-out")
	if total.updates > 0 {
		res.Notes = append(res.Notes, "updates are instant on the virtual clock (a change at its simulated instant, its webhooks at that instant plus their drawn delays); update_latency_us is not modelled")
	}
	if f := srv.fleet; f != nil {
		res.Lambda = &reports.Lambda{
			Invocations: f.invocations - baseMark.invocations, ColdStarts: total.coldStarts,
			PeakEnvironments: int64(f.peak), Throttled: throttled,
			BilledMS:     f.billedMS + f.initMS - baseMark.billedMS - baseMark.initMS,
			InitBilledMS: f.initMS - baseMark.initMS,
			MemoryMB:     s.Lambda.MemoryMB, Arch: s.Lambda.Arch, Recycled: f.recycled,
			CPUMS:           float64(f.cpuNS) / 1e6,
			MeanConcurrency: f.meanConcurrency(virtualEpoch.Add(horizon)),
			PeakConcurrency: int64(f.peakBusy),
		}
		res.Lambda.GBSeconds = pricing.GBSeconds(s.Lambda.MemoryMB, res.Lambda.BilledMS)
		res.Lambda.Warming = f.warmed()
	}
	meanRedis, meanDynamo := redisByteS/measured, dynamoByteS/measured
	u := virtualUsage(s, baseMark, endMark, meanRedis, meanDynamo)
	if u.Requests > 0 {
		b, err := pricing.RunCost(table, u)
		if err != nil {
			return nil, fmt.Errorf("cost: %w", err)
		}
		perDay := 86400 / measured
		res.CostUSD = &reports.Cost{
			LambdaCompute: b.LambdaComputeUSD, LambdaRequests: b.LambdaRequestsUSD,
			ElastiCache: b.ElastiCacheUSD, DynamoDB: b.DynamoDBUSD,
			Total: b.TotalUSD, PerMillionRequests: b.PerMillionUSD,
			Pricing: table.Name + " (" + table.Region + ", checked " + table.Checked + ")",
			PerDay:  b.TotalUSD * perDay, PerMonth: b.TotalUSD * perDay * pricing.HoursPerMonth / 24,
			Usage: costUsage(u, meanRedis, meanDynamo),
		}
	}
	res.Environment.Network = map[string]string{
		"redis": s.Network.Redis.Profile + " (modelled)", "dynamodb": s.Network.DynamoDB.Profile + " (modelled)", "stripe": s.Network.Stripe.Profile + " (modelled)",
	}
	res.LatencyCalibration = cal.summary()
	res.Origin.CallsSaved = max(res.Requests.Gets-res.Origin.Fetches, 0)
	res.Thresholds = reports.Evaluate(res, thresholds)
	return res, nil
}

// virtualUsage is what the cost model bills between two marks: Lambda invocations and
// billed time (INIT included), ElastiCache for the time (nodes) or the bytes held and
// the operations (serverless), DynamoDB's request units and the bytes it holds. The
// bytes held are redisBytes and dynamoBytes over the whole span.
func virtualUsage(s *scenarios.Scenario, from, to usageMark, redisBytes, dynamoBytes float64) pricing.RunUsage {
	u := pricing.RunUsage{DurationS: (to.at - from.at).Seconds(), Requests: to.requests - from.requests}
	if s.Lambda.Enabled {
		u.Lambda = &pricing.LambdaUsage{
			Arch: pricing.Arch(s.Lambda.Arch), MemoryMB: s.Lambda.MemoryMB,
			Invocations: to.invocations - from.invocations,
			BilledMS:    to.billedMS - from.billedMS + to.initMS - from.initMS,
		}
	}
	if s.Cache.L2.Enabled {
		e := s.Cost.ElastiCache
		cu := &pricing.CacheUsage{Engine: pricing.Engine(e.Engine), NodeType: e.NodeType, Nodes: e.Nodes, Serverless: e.Serverless}
		if e.Serverless {
			ops := int64(to.l2.Gets + to.l2.Sets + to.l2.Deletes - from.l2.Gets - from.l2.Sets - from.l2.Deletes)
			avg := 0.0
			if sets := to.l2.Sets - from.l2.Sets; sets > 0 {
				avg = float64(to.l2.SetBytes-from.l2.SetBytes) / float64(sets)
			}
			cu.ECPUs = pricing.ECPUs(ops, avg)
			cu.DataGB = redisBytes / 1e9
		}
		u.ElastiCache = cu
	}
	if s.Cache.L3.Enabled {
		u.DynamoDB = &pricing.DynamoUsage{
			ReadUnits: to.l3.ReadUnits - from.l3.ReadUnits, WriteUnits: to.l3.WriteUnits - from.l3.WriteUnits,
			StorageGB: dynamoBytes / 1e9,
		}
	}
	return u
}

// costUsage is the inputs of a virtual run's cost, for result.json.
func costUsage(u pricing.RunUsage, redisBytes, dynamoBytes float64) *reports.CostUsage {
	c := &reports.CostUsage{Hours: u.DurationS / 3600, Requests: u.Requests}
	if l := u.Lambda; l != nil {
		c.LambdaInvocations, c.LambdaBilledMS = l.Invocations, l.BilledMS
	}
	if e := u.ElastiCache; e != nil {
		if e.Serverless {
			c.ElastiCacheECPUs = e.ECPUs
		} else {
			c.ElastiCacheNodeHours = float64(max(e.Nodes, 1)) * u.DurationS / 3600
		}
		c.RedisBytesMean = redisBytes
	}
	if d := u.DynamoDB; d != nil {
		c.DynamoDBReadUnits, c.DynamoDBWriteUnits = d.ReadUnits, d.WriteUnits
		c.DynamoDBBytesMean = dynamoBytes
	}
	return c
}

// profileNames lists the scenario's network profiles for the note.
func profileNames(s *scenarios.Scenario) string {
	return fmt.Sprintf("redis %s, dynamodb %s, stripe %s", s.Network.Redis.Profile, s.Network.DynamoDB.Profile, s.Network.Stripe.Profile)
}

// tierDelta is a tier's counters over the measured part.
func tierDelta(enabled bool, now, base cachecore.TierCounts) reports.TierStats {
	t := reports.TierStats{Enabled: enabled, Hits: int64(now.Hits + now.StaleHits - base.Hits - base.StaleHits), Misses: int64(now.Misses - base.Misses)}
	if n := t.Hits + t.Misses; n > 0 {
		t.HitRatio = float64(t.Hits) / float64(n)
	}
	return t
}

// virtualSecond turns a bucket's counts into a timeline row starting at offset from the
// measured part's start. Hit ratios are of the reads that reached each tier.
func virtualSecond(b vbucket, offset, length time.Duration) reports.Second {
	reads := b.requests - b.updates
	ratio := func(hits, reached int64) float64 {
		if reached <= 0 {
			return 0
		}
		return float64(hits) / float64(reached)
	}
	return reports.Second{
		TS:          int(offset / time.Second),
		BucketS:     int(length / time.Second),
		Requests:    b.requests,
		Errors:      b.errors,
		L1HitRatio:  ratio(b.l1, reads),
		L2HitRatio:  ratio(b.l2, reads-b.l1),
		L3HitRatio:  ratio(b.l3, reads-b.l1-b.l2),
		OriginCalls: b.origin,
		RateLimited: b.rateLimited,
		ColdStarts:  b.coldStarts,
		StaleReads:  b.stale,
	}
}

// maxTime is the later of a and b.
func maxTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// boolInt is 1 for true.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// heldBytes returns what L2 and L3 hold at the simulated instant at: the embedded Redis
// is swept of entries dead on the cache's clock first (Redis's active expiry), and the
// L3 table's size is DynamoDB's own account (DescribeTable's TableSizeBytes, which counts
// items past their TTL until they are swept, as DynamoDB's does).
func heldBytes(ctx context.Context, env *mocks.Env, inst *instance, at time.Time) (redisBytes, dynamoBytes int64, err error) {
	if inst.l2 != nil {
		_, redisBytes, err = env.SweepRedis(func(_, v string) bool {
			e, err := cachecore.DecodeEntry([]byte(v))
			if err != nil {
				return false // not an entry: the caches' own bookkeeping
			}
			return e.Dead(at)
		})
		if err != nil {
			return 0, 0, err
		}
	}
	if inst.l3 != nil {
		out, err := env.DynamoDBClient.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(inst.l3.Table())})
		if err != nil {
			return 0, 0, fmt.Errorf("l3: DescribeTable %s: %w", inst.l3.Table(), err)
		}
		dynamoBytes = aws.ToInt64(out.Table.TableSizeBytes)
	}
	return redisBytes, dynamoBytes, nil
}

// openWorld builds a World on env and returns it with the function that closes it.
func openWorld(ctx context.Context, env *mocks.Env, cfg mocks.WorldConfig) (*mocks.World, func(), error) {
	w, err := mocks.NewWorld(ctx, env, cfg)
	if err != nil {
		return nil, nil, err
	}
	return w, func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = w.Close(cctx)
	}, nil
}

// lockedFloat64 is r's Float64, safe for concurrent use (cachecore.Config.Rand).
func lockedFloat64(r *rand.Rand) func() float64 {
	var mu sync.Mutex
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Float64()
	}
}
