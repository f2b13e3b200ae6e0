package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cachebench/cachebench/bench/workload"
	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/netsim"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// virtualEpoch is where a virtual run's clock starts: a midnight, so a diurnal curve's
// peak_at is a time of day.
var virtualEpoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// virtualRefusals says which parts of s the virtual clock does not model yet, each with
// its fix, or nil. Running them anyway would report figures that mean nothing.
func virtualRefusals(s *scenarios.Scenario) error {
	var errs []error
	if s.Ops.Update > 0 {
		errs = append(errs, fmt.Errorf("ops.update is %v: clock: virtual does not model updates and their webhooks yet; set ops: {get: 1} or clock: real", s.Ops.Update))
	}
	if len(s.Faults) > 0 {
		errs = append(errs, errors.New("faults: clock: virtual does not replay the fault timeline yet; remove faults or set clock: real"))
	}
	if s.Lambda.Enabled {
		errs = append(errs, errors.New("lambda.enabled: clock: virtual does not simulate the Lambda fleet yet (one long-lived process serves every request); set lambda: {enabled: false} or clock: real"))
	}
	if s.Arrival.Model == scenarios.ArrivalClosed {
		errs = append(errs, errors.New("arrival.model closed: a closed loop's pace is the system's speed, which virtual time does not have; use an open model (constant, poisson, diurnal, ...)"))
	}
	if s.Keys.Distribution == scenarios.DistTrace {
		errs = append(errs, errors.New("keys.distribution trace: clock: virtual does not replay traces yet; use clock: real"))
	}
	if s.Cache.SWR > 0 || s.Cache.XFetchBeta > 0 || s.Cache.Lease > 0 {
		errs = append(errs, errors.New("cache.stale_while_revalidate, cache.xfetch_beta and cache.lease refresh or wait in the background on the wall clock; clock: virtual needs them at 0"))
	}
	if s.Duration <= 0 {
		errs = append(errs, errors.New("clock: virtual needs duration (the simulated horizon), not requests"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	return nil
}

// latencyModel gives each read a modelled latency from the network profiles of the tiers
// it reached: one round trip (mean plus Gaussian jitter) per tier looked up. It is a
// model, labelled so in the result; nothing of the wall clock enters it.
type latencyModel struct {
	redis, dynamo, stripe netsim.Profile
	l2, l3                bool
	rng                   *rand.Rand
}

// rtt draws one round trip of p, in microseconds, at least 0.
func (m *latencyModel) rtt(p netsim.Profile) float64 {
	d := float64(p.Latency.Microseconds()) + m.rng.NormFloat64()*float64(p.Jitter.Microseconds())
	return max(d, 0)
}

// sample returns the modelled latency in microseconds of a read served by tier.
func (m *latencyModel) sample(tier cachecore.TierID) int64 {
	us := 1.0 // an L1 read: in process
	if tier >= cachecore.TierL2 && m.l2 {
		us += m.rtt(m.redis)
	}
	if tier >= cachecore.TierL3 && m.l3 {
		us += m.rtt(m.dynamo)
	}
	if tier >= cachecore.TierOrigin {
		us += m.rtt(m.stripe)
	}
	return int64(us)
}

// vbucket counts one timeline bucket of a virtual run.
type vbucket struct {
	requests, errors, l1, l2, l3, origin int64
}

// runVirtual runs s on a simulated clock (clock: virtual). See the package
// documentation for how simulated time passes and what it does not model.
func runVirtual(ctx context.Context, s *scenarios.Scenario, env *mocks.Env, opt Options) (*reports.Result, error) {
	if err := virtualRefusals(s); err != nil {
		return nil, err
	}
	thresholds, err := reports.ParseThresholds(s.Thresholds)
	if err != nil {
		return nil, err
	}
	if err := env.SetClock(virtualEpoch); err != nil {
		return nil, fmt.Errorf("bench: clock: virtual needs --env embedded (its Redis and L3 follow the simulated clock): %w", err)
	}
	var nanos atomic.Int64
	nanos.Store(virtualEpoch.UnixNano())
	now := func() time.Time { return time.Unix(0, nanos.Load()).UTC() }

	// The services answer at once; the network profiles enter the modelled latency
	// instead of delaying real round trips. The client-side Stripe limiter paces on the
	// wall clock, so it is off: origin calls are counted, not paced.
	ws := *s
	ws.Network = scenarios.NetworkFor(scenarios.ProfileNone)
	ws.Stripe.Mode = scenarios.StripeModeNone
	model := &latencyModel{l2: s.Cache.L2.Enabled, l3: s.Cache.L3.Enabled, rng: rand.New(rand.NewPCG(uint64(s.Seed), 0x9e3779b97f4a7c15))}
	for _, p := range []struct {
		dst  *netsim.Profile
		link scenarios.NetLink
		name string
	}{{&model.redis, s.Network.Redis, "redis"}, {&model.dynamo, s.Network.DynamoDB, "dynamodb"}, {&model.stripe, s.Network.Stripe, "stripe"}} {
		if *p.dst, err = profile(p.link); err != nil {
			return nil, fmt.Errorf("network.%s: %w", p.name, err)
		}
	}

	setupCtx, cancelSetup := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancelSetup()
	wcfg, err := worldConfig(&ws)
	if err != nil {
		return nil, err
	}
	wcfg.ServerLog = opt.ServerLog
	world, err := mocks.NewWorld(setupCtx, env, wcfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = world.Close(cctx)
	}()
	ns := newNamespace()
	ns.now = now
	inst, err := newInstance(setupCtx, &ws, world, ns, "process", nil)
	if err != nil {
		return nil, err
	}
	defer inst.close()

	horizon := s.Warmup + s.Duration
	gen, err := workload.NewGenerator(s, horizon)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	keys := map[string][]string{}
	for _, obj := range objectTypes(s) {
		ids := workload.IDs(obj, s.Keys.Count)
		ks := make([]string, len(ids))
		for i, id := range ids {
			ks[i] = cachecore.Ref{Object: obj, ID: id, Expand: s.Keys.Expand}.Key()
		}
		keys[obj] = ks
	}

	bucket := time.Minute
	if s.Duration > 2*time.Hour {
		bucket = time.Hour
	}
	hist := hdrhistogram.New(1, 60_000_000, 3)
	var (
		timeline    []reports.Second
		cur         vbucket
		total       vbucket
		notFound    int64
		base        cachecore.Stats
		measuring   = s.Warmup == 0
		bucketEnd   = s.Warmup + bucket
		interrupted bool
		wallStart   = time.Now()
	)
	closeBucket := func(end time.Duration) {
		if cur.requests > 0 || end <= horizon {
			timeline = append(timeline, virtualSecond(cur, end-bucket-s.Warmup, bucket))
		}
		cur = vbucket{}
	}
	var req workload.Request
	for gen.Next(&req) {
		if ctx.Err() != nil {
			interrupted = true
			break
		}
		if !measuring && req.At >= s.Warmup {
			measuring = true
			base = inst.cache.Stats()
		}
		for measuring && req.At >= bucketEnd {
			closeBucket(bucketEnd)
			bucketEnd += bucket
		}
		at := virtualEpoch.Add(req.At)
		nanos.Store(at.UnixNano())
		if err := env.SetClock(at); err != nil {
			return nil, err
		}
		res, err := inst.cache.GetKey(ctx, keys[req.Object][req.Index])
		if !measuring {
			continue
		}
		cur.requests++
		switch {
		case errors.Is(err, cachecore.ErrNotFound):
			notFound++
		case err != nil:
			cur.errors++
		}
		switch res.Tier {
		case cachecore.TierL1:
			cur.l1++
		case cachecore.TierL2:
			cur.l2++
		case cachecore.TierL3:
			cur.l3++
		case cachecore.TierOrigin:
			cur.origin++
		}
		_ = hist.RecordValue(model.sample(res.Tier))
		total.requests++
		total.errors += boolInt(err != nil && !errors.Is(err, cachecore.ErrNotFound))
	}
	if err := gen.Err(); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	if measuring {
		closeBucket(bucketEnd)
	}
	wall := time.Since(wallStart)
	st := inst.cache.Stats()

	cfg, _ := json.Marshal(s)
	res := &reports.Result{
		Schema:       reports.Schema,
		Scenario:     reports.ScenarioRef{Name: s.Name, File: s.File, Seed: s.Seed, Point: s.Point, Config: cfg},
		Environment:  describe(world),
		StartedAt:    virtualEpoch.Add(s.Warmup).Format(time.RFC3339Nano),
		DurationS:    s.Duration.Seconds(),
		WarmupS:      s.Warmup.Seconds(),
		Interrupted:  interrupted,
		Clock:        scenarios.ClockVirtual,
		LatencyModel: "modelled",
		Requests: reports.Requests{
			Total: total.requests, OK: total.requests - total.errors, Errors: total.errors,
			Gets: total.requests, NotFound: notFound, RatePerS: float64(total.requests) / s.Duration.Seconds(),
		},
		LatencyUS: summary(hist),
		ServiceUS: summary(hist),
		Tiers: reports.Tiers{
			L1: tierDelta(s.Cache.L1.Enabled, st.L1, base.L1),
			L2: tierDelta(s.Cache.L2.Enabled, st.L2, base.L2),
			L3: tierDelta(s.Cache.L3.Enabled, st.L3, base.L3),
		},
		Origin: reports.Origin{
			Calls:  int64(st.OriginFetches - base.OriginFetches),
			Errors: int64(st.OriginErrors - base.OriginErrors),
		},
		Timeline: timeline,
		Notes: []string{
			fmt.Sprintf("clock: virtual: %v of scenario time simulated in %v of wall time (%.0f simulated requests per second of wall time)",
				horizon, wall.Round(time.Millisecond), float64(total.requests)/max(wall.Seconds(), 1e-9)),
			"latency is MODELLED, not measured: one round trip of each reached tier's network profile (" +
				profileNames(model) + ") per read; no calibration against the services was made",
			"clock: virtual serves each request at its arrival instant, one after another: requests do not overlap in simulated time, so coalescing of concurrent misses is not exercised (origin calls are an upper bound where a hot key's misses would overlap)",
			"Stripe's client-side rate limiter is off on the virtual clock (it paces on the wall clock); origin calls are counted, not paced",
		},
	}
	res.Environment.Network = map[string]string{
		"redis": model.redis.Name + " (modelled)", "dynamodb": model.dynamo.Name + " (modelled)", "stripe": model.stripe.Name + " (modelled)",
	}
	res.Origin.CallsSaved = max(res.Requests.Gets-res.Origin.Calls, 0)
	res.Thresholds = reports.Evaluate(res, thresholds)
	return res, nil
}

// profileNames lists the model's profiles for the note.
func profileNames(m *latencyModel) string {
	var parts []string
	for _, p := range []struct {
		name string
		p    netsim.Profile
	}{{"redis", m.redis}, {"dynamodb", m.dynamo}, {"stripe", m.stripe}} {
		parts = append(parts, fmt.Sprintf("%s %s %v±%v", p.name, p.p.Name, p.p.Latency, p.p.Jitter))
	}
	return strings.Join(parts, ", ")
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
		L1HitRatio:  ratio(b.l1, b.requests),
		L2HitRatio:  ratio(b.l2, b.requests-b.l1),
		L3HitRatio:  ratio(b.l3, b.requests-b.l1-b.l2),
		OriginCalls: b.origin,
	}
}

// boolInt is 1 for true.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
