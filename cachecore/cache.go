package cachecore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
	"golang.org/x/sync/singleflight"
)

// TierID names where a read was served from.
type TierID uint8

// The tiers, in read order.
const (
	TierNone TierID = iota
	TierL1
	TierL2
	TierL3
	TierOrigin
)

// String returns "l1", "l2", "l3", "origin" or "none".
func (t TierID) String() string {
	switch t {
	case TierL1:
		return "l1"
	case TierL2:
		return "l2"
	case TierL3:
		return "l3"
	case TierOrigin:
		return "origin"
	}
	return "none"
}

// Result describes one read: which tier answered, the object's version, whether the
// value was served stale (past its fresh life, within stale-while-revalidate), and what
// the read did on its way (Trace). A read that failed returns its Trace too.
type Result struct {
	Value     []byte
	Tier      TierID
	Version   int64
	FetchedAt time.Time
	Stale     bool
	// Shared reports that the lookup which produced this result served several callers at
	// once (request coalescing).
	Shared bool
	// Trace is what this read did: the tiers it missed, and how it used the origin.
	Trace Trace
}

// Config configures a Cache. Zero values mean the documented defaults; tiers left nil are
// not used.
type Config struct {
	// L1 is the in-process tier (nil = none). Its own L1Config holds its TTL and bounds.
	L1 *L1
	// L2 and L3 are the shared tiers, normally a RedisTier and a DynamoTier (nil = none).
	L2, L3 Tier
	// Origin is where misses go: a StripeOrigin. Required.
	Origin Origin

	// L2TTL and L3TTL are the fresh lifetimes of entries written to L2 and L3.
	// 0 means 5m and 24h.
	L2TTL, L3TTL time.Duration
	// TTLJitter spreads L2 and L3 expiries by ±this fraction of their TTL so keys filled
	// together do not expire together. 0 means none; at most 0.5.
	TTLJitter float64
	// NegativeTTL is how long "does not exist" is cached. 0 means 30s; negative disables
	// negative caching.
	NegativeTTL time.Duration
	// StaleWhileRevalidate lets an entry be served this long past its fresh life while one
	// background refresh runs. 0 means off.
	StaleWhileRevalidate time.Duration
	// XFetchBeta enables probabilistic early refresh (XFetch, Vattani et al., VLDB 2015):
	// a fresh hit triggers a background refresh with a probability that rises as expiry
	// nears, scaled by the origin's recent fetch time. 1 is the paper's default; 0 is off.
	XFetchBeta float64
	// Fields, when not empty, makes the cache hold a projection of each object: only these
	// top-level fields, plus "id" and "object" (see Projection). It applies to what the
	// origin returns and to the objects of webhook events (Apply) alike, so L1, L2 and L3
	// hold one shape. Empty (the default) keeps whole objects.
	Fields []string
	// NoCoalesce turns request coalescing off: every miss makes its own lookups. For
	// measuring what coalescing saves; leave it false in production.
	NoCoalesce bool

	// Redis enables the cross-instance features: the fill lease and pub/sub invalidation
	// of other instances' L1s. Usually the same client as the L2 tier.
	Redis redis.UniversalClient
	// LeaseTTL, when > 0 and Redis is set, makes a miss take a lease in Redis (SET NX PX)
	// before it calls the origin, so a fleet of instances missing on one key makes one
	// origin call: the others wait up to LeaseTTL for the holder to fill L2.
	LeaseTTL time.Duration
	// InvalidationChannel is the pub/sub channel for invalidations; "" means
	// "cachebench:invalidate". Used when Redis is set.
	InvalidationChannel string
	// EventMode is what Apply does with an *.updated or *.created event: "refresh" (the
	// default) stores the event's object as the new value; "invalidate" drops it.
	EventMode string
	// TombstoneTTL is how long an invalidation is remembered so that a fetch which started
	// before it cannot write older data back. 0 means 1m.
	TombstoneTTL time.Duration

	// L2Timeout, L3Timeout and OriginTimeout bound each call to a tier. 0 means 100ms,
	// 300ms and 30s.
	L2Timeout, L3Timeout, OriginTimeout time.Duration
	// BreakerFailures consecutive failures of a tier open its circuit breaker; 0 means 5.
	BreakerFailures uint32
	// BreakerCooldown is how long an open breaker stays open before one probe is let
	// through (half-open); 0 means 5s.
	BreakerCooldown time.Duration

	// HotKeys, when > 0, makes the cache tally the keys it reads (one read in 16) into a
	// sorted set in Redis (HotKeysKey; "" means "cachebench:hot") every HotKeysEvery (0
	// means 1s), keeping the 4*HotKeys most read: the list Warm loads from. Needs Redis.
	// A negative HotKeysEvery starts no background flush: the caller flushes with
	// FlushHotKeys, on its own clock (a simulation's).
	HotKeys      int
	HotKeysKey   string
	HotKeysEvery time.Duration

	// MeterProvider, when set, receives the cache's OpenTelemetry metrics: per-tier hits,
	// misses and failures, origin fetches, requests and 429s, and read latency (the list is
	// at MeterName, their instrumentation scope). nil means no metrics, at
	// no cost. The cache uses only the OpenTelemetry API: the caller brings the SDK and the
	// exporter. Counts are observed from the counters Stats reads, when the provider
	// collects; only latency is recorded as reads happen, and of L1 hits one in 64.
	MeterProvider metric.MeterProvider

	// InstanceID names this cache in pub/sub messages; "" means a random ID.
	InstanceID string
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
	// Rand returns a uniform number in [0, 1) for the cache's random draws that shape
	// what it serves: TTL jitter, XFetch's early refreshes and the hot-key sample. It must
	// be safe for concurrent use. nil means math/rand/v2's Float64. A seeded source
	// makes a caller that reads one key at a time (a simulation) reproducible.
	Rand func() float64
}

func (c *Config) applyDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.L2TTL, 5*time.Minute)
	def(&c.L3TTL, 24*time.Hour)
	def(&c.NegativeTTL, 30*time.Second)
	def(&c.HotKeysEvery, time.Second)
	if c.HotKeysKey == "" {
		c.HotKeysKey = DefaultHotKeysKey
	}
	def(&c.TombstoneTTL, time.Minute)
	def(&c.L2Timeout, 100*time.Millisecond)
	def(&c.L3Timeout, 300*time.Millisecond)
	def(&c.OriginTimeout, 30*time.Second)
	def(&c.BreakerCooldown, 5*time.Second)
	if c.BreakerFailures == 0 {
		c.BreakerFailures = 5
	}
	if c.InvalidationChannel == "" {
		c.InvalidationChannel = "cachebench:invalidate"
	}
	if c.EventMode == "" {
		c.EventMode = EventModeRefresh
	}
	if c.InstanceID == "" {
		c.InstanceID = fmt.Sprintf("%016x", rand.Uint64())
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Event modes for Config.EventMode.
const (
	EventModeRefresh    = "refresh"
	EventModeInvalidate = "invalidate"
)

// Validate returns every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Origin == nil {
		errs = append(errs, errors.New("cachecore: Config.Origin is required (a StripeOrigin)"))
	}
	if c.TTLJitter < 0 || c.TTLJitter > 0.5 {
		errs = append(errs, fmt.Errorf("cachecore: TTLJitter %v must be within [0, 0.5]", c.TTLJitter))
	}
	if c.XFetchBeta < 0 {
		errs = append(errs, fmt.Errorf("cachecore: XFetchBeta %v must not be negative", c.XFetchBeta))
	}
	for name, d := range map[string]time.Duration{"L2TTL": c.L2TTL, "L3TTL": c.L3TTL, "StaleWhileRevalidate": c.StaleWhileRevalidate,
		"LeaseTTL": c.LeaseTTL, "TombstoneTTL": c.TombstoneTTL, "L2Timeout": c.L2Timeout, "L3Timeout": c.L3Timeout,
		"OriginTimeout": c.OriginTimeout, "BreakerCooldown": c.BreakerCooldown} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("cachecore: %s %v must not be negative", name, d))
		}
	}
	if c.EventMode != "" && c.EventMode != EventModeRefresh && c.EventMode != EventModeInvalidate {
		errs = append(errs, fmt.Errorf("cachecore: EventMode %q: want %q or %q", c.EventMode, EventModeRefresh, EventModeInvalidate))
	}
	if c.LeaseTTL > 0 && c.Redis == nil {
		errs = append(errs, errors.New("cachecore: LeaseTTL needs Config.Redis"))
	}
	if c.HotKeys < 0 {
		errs = append(errs, fmt.Errorf("cachecore: HotKeys %d must not be negative", c.HotKeys))
	}
	if c.HotKeys > 0 && c.Redis == nil {
		errs = append(errs, errors.New("cachecore: HotKeys needs Config.Redis, where the hot list is kept"))
	}
	if tc := c.L1.trackingClient(); tc != nil {
		if rt, ok := c.L2.(*RedisTier); !ok || rt.base != redis.UniversalClient(tc) {
			errs = append(errs, errors.New("cachecore: a tracking L1 is the L2 client's own cache: make L2 a RedisTier over the client NewTrackingL1 returned"))
		}
	}
	if len(c.Fields) > 0 {
		if _, err := NewProjection(c.Fields); err != nil {
			errs = append(errs, fmt.Errorf("cachecore: Fields: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Cache is a read-through cache of Stripe objects over up to three tiers and an origin.
// It is safe for concurrent use. Close it to stop its background work.
type Cache struct {
	cfg    Config
	l1     *L1
	l2, l3 *guardedTier
	// lower lists the configured tiers below L1 in read order.
	lower  []lowerTier
	origin Origin
	// proj is Config.Fields compiled; nil keeps whole objects.
	proj *Projection

	flight singleflight.Group
	// refreshing holds the keys with a background refresh running, so a key has at most
	// one (stale-while-revalidate and XFetch share it).
	refreshing sync.Map

	// originNanos is an exponentially weighted mean of origin fetch time, XFetch's delta.
	originNanos atomic.Int64

	stats counters
	// met is nil without Config.MeterProvider.
	met *cacheMetrics

	bg       sync.WaitGroup
	stopOnce sync.Once
	stop     context.CancelFunc
	bgCtx    context.Context
	pubsub   *redis.PubSub
	// hot is the tally of sampled reads when HotKeys > 0.
	hot *hotKeys
}

// New returns a Cache for cfg, and starts its pub/sub listener when cfg.Redis is set.
func New(cfg Config) (*Cache, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.applyDefaults()
	c := &Cache{cfg: cfg, l1: cfg.L1, origin: cfg.Origin}
	if len(cfg.Fields) > 0 {
		c.proj, _ = NewProjection(cfg.Fields) // Validate checked it
	}
	c.bgCtx, c.stop = context.WithCancel(context.Background())
	if cfg.L2 != nil {
		c.l2 = newGuardedTier(cfg.L2, cfg.L2Timeout, cfg.BreakerFailures, cfg.BreakerCooldown, &c.stats.l2)
	}
	if cfg.L1.trackingClient() != nil {
		rt := cfg.L2.(*RedisTier)
		rt.direct()
		rt.tracked.Store(true)
	}
	if cfg.L3 != nil {
		c.l3 = newGuardedTier(cfg.L3, cfg.L3Timeout, cfg.BreakerFailures, cfg.BreakerCooldown, &c.stats.l3)
	}
	for _, t := range []lowerTier{{c.l2, TierL2, &c.stats.l2}, {c.l3, TierL3, &c.stats.l3}} {
		if t.g != nil {
			c.lower = append(c.lower, t)
		}
	}
	if cfg.MeterProvider != nil {
		m, err := newCacheMetrics(c, cfg.MeterProvider)
		if err != nil {
			c.stop()
			return nil, err
		}
		c.met = m
	}
	if cfg.Redis != nil {
		if err := c.subscribe(); err != nil {
			c.stop()
			if c.met != nil {
				_ = c.met.close()
			}
			return nil, err
		}
	}
	if cfg.HotKeys > 0 {
		c.startHotKeys()
	}
	return c, nil
}

// Close stops background refreshes and the pub/sub listener, waiting for them to end, and
// unregisters the cache's metrics from the MeterProvider.
func (c *Cache) Close() error {
	var err error
	c.stopOnce.Do(func() {
		c.stop()
		if c.pubsub != nil {
			_ = c.pubsub.Close()
		}
		if c.met != nil {
			if uerr := c.met.close(); uerr != nil {
				err = fmt.Errorf("cachecore: close: unregister metrics: %w", uerr)
			}
		}
	})
	c.bg.Wait()
	return err
}

// Get returns the object named by ref. A missing object is ErrNotFound (with the Result
// saying which tier knew it).
func (c *Cache) Get(ctx context.Context, ref Ref) (Result, error) {
	if err := ref.Validate(); err != nil {
		return Result{}, fmt.Errorf("cachecore: %w", err)
	}
	return c.GetKey(ctx, ref.Key())
}

// GetKey is Get for a key made by Ref.Key, for callers that keep keys rather than Refs.
// An L1 hit makes no allocation, with metrics or without.
func (c *Cache) GetKey(ctx context.Context, key string) (Result, error) {
	now := c.cfg.Now()
	if c.hot != nil {
		c.hot.saw(key, c.cfg.Rand)
	}
	if c.l1 != nil && c.l1.trk == nil {
		if e, ok := c.l1.Get(key, now); ok && !e.Tombstone {
			n, stale := c.servedByL1(key, &e, now)
			if c.met != nil && n%l1HitSampleEvery == 0 {
				c.met.recordGet(ctx, TierL1, c.cfg.Now().Sub(now))
			}
			return resultOf(&e, TierL1, stale)
		}
		c.stats.l1.misses.Add(1)
		res, err := c.lookup(ctx, key, now)
		res.Trace.Missed = res.Trace.Missed.With(TierL1)
		if c.met != nil {
			c.met.recordGet(ctx, res.Tier, c.cfg.Now().Sub(now))
		}
		return res, err
	}
	// No L1, or a tracking L1, whose lookup is the L2 read itself (see NewTrackingL1):
	// load tells them apart.
	res, err := c.lookup(ctx, key, now)
	if c.met != nil {
		c.met.recordGet(ctx, res.Tier, c.cfg.Now().Sub(now))
	}
	return res, err
}

// servedByL1 counts an L1 hit of e (held for key) and starts the refresh it calls for: a
// background one past its fresh life (stale-while-revalidate), an early one by XFetch
// before it. It returns the L1 hits so far and whether e is stale.
func (c *Cache) servedByL1(key string, e *Entry, now time.Time) (hits uint64, stale bool) {
	hits = c.stats.l1.hits.Add(1)
	if !e.Fresh(now) {
		c.stats.l1.staleHits.Add(1)
		c.refreshInBackground(key, e.Version, refreshStale)
		return hits, true
	}
	if c.shouldRefreshEarly(e, now) {
		c.refreshInBackground(key, e.Version, refreshEarly)
	}
	return hits, false
}

// lookup reads key below L1. An L2 hit is served by the caller's own L2 read: coalescing
// is for what a miss costs (L3 and the origin), and entering it would cost an L2 hit more
// than the read itself (a goroutine, a channel and the shared result). What the read
// found otherwise (a miss, a tombstone, a failure) is handed to the coalesced lookup,
// which reads L2 again only if a write through this cache has finished since: one that
// another lookup of the key made between this read and the coalescing, say. With a
// tracking L1, or coalescing off, the whole lookup is load's. now is the read's clock,
// GetKey's: one reading serves both.
func (c *Cache) lookup(ctx context.Context, key string, now time.Time) (Result, error) {
	if c.l2 == nil || c.cfg.NoCoalesce || (c.l1 != nil && c.l1.trk != nil) {
		// The method value c.load allocates its closure: a miss path, or no L2 to hit.
		return c.loadCoalesced(ctx, key, c.load)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("cachecore: get %q: %w", key, err)
	}
	writes := c.l2.writes.Load()
	e, ok, bad := c.l2.probe(ctx, key)
	if ok && !e.Tombstone && e.Servable(now) {
		return c.served(ctx, key, e, now, c.lower[0], 0, 0)
	}
	// A miss: the closure and the probe are the lookup's allocations, not a hit's.
	p := &probed{e: e, ok: ok, bad: bad, writes: writes}
	return c.loadCoalesced(ctx, key, func(ctx context.Context, key string) (Result, error) {
		return c.loadAfter(ctx, key, p)
	})
}

// probed is what lookup's own L2 read found, and the L2 writes finished before it began.
type probed struct {
	e       Entry
	ok, bad bool
	writes  uint64
}

// fetchCoalesced goes straight to the origin for key (the tiers were already asked),
// sharing the call with concurrent readers of the same key.
func (c *Cache) fetchCoalesced(ctx context.Context, key string) (Result, error) {
	return c.loadCoalesced(ctx, key, c.fetch)
}

// loadCoalesced runs load for key once however many callers ask at the same time, unless
// coalescing is off. The lookup's Trace counts for the first caller to take its result;
// the others get it as joined (Trace.Joined, OriginShared for a fetch).
func (c *Cache) loadCoalesced(ctx context.Context, key string, load func(context.Context, string) (Result, error)) (Result, error) {
	if c.cfg.NoCoalesce {
		return load(ctx, key)
	}
	c.stats.flightCalls.Add(1)
	fn := func() (any, error) {
		c.stats.flightLoads.Add(1)
		// The lookup outlives any one caller's cancellation: others may be waiting on it.
		// Each step bounds itself (a tier by its time-out, a fetch by OriginTimeout), so
		// a hit in a lower tier makes no timer of its own here.
		res, err := load(context.WithoutCancel(ctx), key)
		return &loaded{res: res, err: err}, nil
	}
	if ctx.Done() == nil {
		// A caller that can never give up runs the lookup in its own goroutine, or waits
		// for the one in flight: the same sharing, without a goroutine per lookup.
		v, _, shared := c.flight.Do(key, fn)
		return v.(*loaded).take(shared)
	}
	ch := c.flight.DoChan(key, fn)
	select {
	case r := <-ch:
		return r.Val.(*loaded).take(r.Shared)
	case <-ctx.Done():
		return Result{}, fmt.Errorf("cachecore: get %q: %w", key, ctx.Err())
	}
}

// lowerTier is a tier below L1 with its label and the cache's counters for it.
type lowerTier struct {
	g  *guardedTier
	id TierID
	st *tierCounters
}

// loaded is a coalesced lookup's outcome, handed to every caller sharing it; claimed is
// set by the first caller to take it, the one its Trace counts for.
type loaded struct {
	res     Result
	err     error
	claimed atomic.Bool
}

// take is one caller's copy of the outcome: the first caller's counts its Trace, the
// others' are joined.
func (l *loaded) take(shared bool) (Result, error) {
	res := l.res
	res.Shared = shared
	if !l.claimed.CompareAndSwap(false, true) {
		res.Trace = res.Trace.joined()
	}
	return res, l.err
}

func resultOf(e *Entry, tier TierID, stale bool) (Result, error) {
	r := Result{Value: e.Value, Tier: tier, Version: e.Version, FetchedAt: e.FetchedAt, Stale: stale}
	if e.Negative {
		return r, ErrNotFound
	}
	return r, nil
}

// load looks key up below L1 — L2, L3, then the origin — and fills the tiers above the
// one that answered.
func (c *Cache) load(ctx context.Context, key string) (Result, error) {
	return c.loadAfter(ctx, key, nil)
}

// loadAfter is load, taking L2's answer from p (lookup's own read) unless p is nil or
// L2 may have changed since (a write finished after p's read began); a failed read is
// not made again.
func (c *Cache) loadAfter(ctx context.Context, key string, p *probed) (res Result, err error) {
	reread := false
	defer func() { res.Trace.L2Reread = reread }()
	now := c.cfg.Now()
	var floor int64 = math.MinInt64 // highest tombstone version seen: older data must not come back
	var missed, failed TierSet
	for _, t := range c.lower {
		tctx := ctx
		var mark *trackMark
		if t.id == TierL2 && c.l1 != nil && c.l1.trk != nil {
			mark = new(trackMark)
			tctx = withTrackMark(ctx, mark)
		}
		var e Entry
		var ok, bad bool
		if p != nil && t.id == TierL2 && (p.bad || t.g.writes.Load() == p.writes) {
			e, ok, bad = p.e, p.ok, p.bad
		} else {
			reread = p != nil && t.id == TierL2
			e, ok, bad = t.g.get(tctx, key)
		}
		if mark != nil {
			if mark.local.Load() {
				if ok && e.Version >= floor && !e.Tombstone && e.Servable(now) {
					// Answered by the client's own cache: an L1 hit, and no L2 lookup.
					_, stale := c.servedByL1(key, &e, now)
					res, err := resultOf(&e, TierL1, stale)
					res.Trace.Failed = failed
					return res, err
				}
				// A cached value the cache cannot serve: Redis would have answered the
				// same, so it counts as a miss of both.
			}
			c.stats.l1.misses.Add(1)
			missed = missed.With(TierL1)
		}
		if bad {
			failed = failed.With(t.id)
		}
		if ok && e.Version >= floor {
			if e.Tombstone {
				floor = e.Version
			} else if e.Servable(now) {
				return c.served(ctx, key, e, now, t, missed, failed)
			}
		}
		t.st.misses.Add(1)
		missed = missed.With(t.id)
	}
	res, err = c.fetch(ctx, key)
	res.Trace.Missed |= missed
	res.Trace.Failed |= failed
	return res, err
}

// served counts a hit of e in the lower tier t, copies e to the tiers above t, and
// starts a background refresh of a stale e.
func (c *Cache) served(ctx context.Context, key string, e Entry, now time.Time, t lowerTier, missed, failed TierSet) (Result, error) {
	t.st.hits.Add(1)
	c.backfill(ctx, key, e, now, t.id)
	stale := !e.Fresh(now)
	if stale {
		t.st.staleHits.Add(1)
		c.refreshInBackground(key, e.Version, refreshStale)
	}
	res, err := resultOf(&e, t.id, stale)
	res.Trace.Missed, res.Trace.Failed = missed, failed
	return res, err
}

// fetch reads key from the origin, behind the fleet-wide lease when one is configured, and
// writes the answer to every tier.
func (c *Cache) fetch(ctx context.Context, key string) (Result, error) {
	ref, err := ParseKey(key)
	if err != nil {
		return Result{}, fmt.Errorf("cachecore: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.OriginTimeout)
	defer cancel()
	if c.cfg.LeaseTTL > 0 {
		release, res, done, err := c.lease(ctx, key)
		if done {
			return res, err
		}
		defer release()
	}
	start := c.cfg.Now()
	c.stats.originFetches.Add(1)
	value, version, hasVersion, info, err := c.fetchOrigin(ctx, ref)
	if err == nil && c.proj != nil {
		// The version was read from the whole object; the tiers get the projection.
		if value, err = c.proj.Apply(value); err != nil {
			err = fmt.Errorf("origin answer for %s: %w", key, err)
		}
	}
	trace := Trace{Origin: OriginFetched, Calls: info.Calls, Retries: info.Retries, RateLimited: info.RateLimited}
	c.stats.originCalls.Add(uint64(info.Calls))
	c.stats.originRetries.Add(uint64(info.Retries))
	c.stats.originRateLimited.Add(uint64(info.RateLimited))
	took := c.cfg.Now().Sub(start)
	c.observeOrigin(took)
	if c.met != nil {
		c.met.originDuration.Record(ctx, took.Seconds())
	}
	if !hasVersion {
		// The state read is at least as new as the moment the fetch started.
		version = start.UnixNano()
	}
	now := c.cfg.Now()
	var e Entry
	switch {
	case errors.Is(err, ErrNotFound):
		c.stats.originNotFound.Add(1)
		e = Entry{Version: version, FetchedAt: start, Negative: true}
		if c.cfg.NegativeTTL < 0 {
			return Result{Tier: TierOrigin, Version: version, FetchedAt: start, Trace: trace}, ErrNotFound
		}
		e.ExpiresAt = now.Add(c.cfg.NegativeTTL)
	case err != nil:
		c.stats.originErrors.Add(1)
		trace.OriginFailed = true
		return Result{Trace: trace}, fmt.Errorf("cachecore: get %q: %w", key, err)
	default:
		e = Entry{Value: value, Version: version, FetchedAt: start}
	}
	c.fill(ctx, key, e, now)
	res, err := resultOf(&e, TierOrigin, false)
	res.Trace = trace
	return res, err
}

// fetchOrigin calls the origin, with what the fetch took when the origin reports it
// (ReportingOrigin); a plain Origin's fetch counts as one call.
func (c *Cache) fetchOrigin(ctx context.Context, ref Ref) ([]byte, int64, bool, FetchInfo, error) {
	if ro, ok := c.origin.(ReportingOrigin); ok {
		return ro.FetchReport(ctx, ref)
	}
	value, version, hasVersion, err := c.origin.Fetch(ctx, ref)
	return value, version, hasVersion, FetchInfo{Calls: 1}, err
}

// fill writes a freshly fetched entry to every tier, each with its own lifetime.
func (c *Cache) fill(ctx context.Context, key string, e Entry, now time.Time) {
	if c.l3 != nil {
		c.l3.set(ctx, key, c.lifetime(e, now, c.cfg.L3TTL, c.cfg.TTLJitter, Entry{}))
	}
	if c.l2 != nil {
		c.l2.set(ctx, key, c.lifetime(e, now, c.cfg.L2TTL, c.cfg.TTLJitter, Entry{}))
	}
	if c.l1 != nil {
		c.l1.SetIfNewer(key, c.lifetime(e, now, c.l1TTL(), 0, Entry{}), now)
	}
}

// backfill copies an entry found in a lower tier to the tiers above it, never beyond the
// remaining lifetime of what was found.
func (c *Cache) backfill(ctx context.Context, key string, found Entry, now time.Time, from TierID) {
	if from == TierL3 && c.l2 != nil {
		c.stats.l2.backfills.Add(1)
		c.l2.set(ctx, key, c.lifetime(found, now, c.cfg.L2TTL, c.cfg.TTLJitter, found))
	}
	if c.l1 != nil {
		c.stats.l1.backfills.Add(1)
		c.l1.SetIfNewer(key, c.lifetime(found, now, c.l1TTL(), 0, found), now)
	}
}

// lifetime returns e with the fresh and stale lifetimes a tier should store: ttl from now
// (spread by ±jitter of itself; 0 means no expiry of its own), the stale-while-revalidate
// window after it, negative entries living NegativeTTL, and never past bound's ExpiresAt
// and StaleUntil when bound is set.
func (c *Cache) lifetime(e Entry, now time.Time, ttl time.Duration, jitter float64, bound Entry) Entry {
	if e.Negative {
		e.ExpiresAt = now.Add(c.cfg.NegativeTTL)
		e.StaleUntil = time.Time{}
	} else {
		if ttl > 0 {
			if jitter > 0 {
				ttl = time.Duration(float64(ttl) * (1 + jitter*(2*c.cfg.Rand()-1)))
			}
			e.ExpiresAt = now.Add(ttl)
		} else if bound.ExpiresAt.IsZero() {
			e.ExpiresAt = time.Time{}
		}
		if c.cfg.StaleWhileRevalidate > 0 && !e.ExpiresAt.IsZero() {
			e.StaleUntil = e.ExpiresAt.Add(c.cfg.StaleWhileRevalidate)
		}
	}
	if !bound.ExpiresAt.IsZero() && (e.ExpiresAt.IsZero() || bound.ExpiresAt.Before(e.ExpiresAt)) {
		e.ExpiresAt = bound.ExpiresAt
	}
	if !bound.ExpiresAt.IsZero() {
		end := bound.ExpiresAt
		if bound.StaleUntil.After(end) {
			end = bound.StaleUntil
		}
		if e.StaleUntil.After(end) {
			e.StaleUntil = end
		}
	}
	return e
}

// l1TTL is the L1's cap on fresh life, or 0.
func (c *Cache) l1TTL() time.Duration {
	if c.l1 == nil {
		return 0
	}
	return c.l1.TTL()
}

// shouldRefreshEarly is XFetch's test: refresh when now - delta*beta*ln(U) >= expiry, with
// delta the recent origin fetch time and U uniform in (0, 1].
func (c *Cache) shouldRefreshEarly(e *Entry, now time.Time) bool {
	beta := c.cfg.XFetchBeta
	if beta <= 0 || e.ExpiresAt.IsZero() || e.Negative {
		return false
	}
	delta := float64(c.originNanos.Load())
	if delta <= 0 {
		return false
	}
	u := 1 - c.cfg.Rand() // (0, 1]
	gap := -delta * beta * math.Log(u)
	return float64(e.ExpiresAt.Sub(now)) <= gap
}

func (c *Cache) observeOrigin(d time.Duration) {
	for {
		old := c.originNanos.Load()
		next := int64(d)
		if old > 0 {
			next = old + (int64(d)-old)/8
		}
		if c.originNanos.CompareAndSwap(old, next) {
			return
		}
	}
}

// Why a background refresh runs.
const (
	refreshStale = iota // a stale hit, within stale-while-revalidate
	refreshEarly        // XFetch's probabilistic early refresh of a fresh hit
)

// refreshInBackground reloads key from the origin unless a refresh of it already runs,
// or one has finished since the caller read version seen: a reader can be descheduled
// between reading the old entry and asking for its refresh, and L1 then already holds
// the new one. Its origin calls belong to no read: they are counted apart (Stats).
func (c *Cache) refreshInBackground(key string, seen int64, reason int) {
	if _, running := c.refreshing.LoadOrStore(key, struct{}{}); running {
		return
	}
	if c.l1 != nil {
		now := c.cfg.Now()
		if e, ok := c.l1.Get(key, now); ok && !e.Tombstone && e.Version > seen && e.Fresh(now) {
			c.refreshing.Delete(key)
			return
		}
	}
	c.stats.backgroundRefreshes.Add(1)
	if reason == refreshEarly {
		c.stats.earlyRefreshes.Add(1)
	}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		defer c.refreshing.Delete(key)
		ctx, cancel := context.WithTimeout(c.bgCtx, c.cfg.OriginTimeout)
		defer cancel()
		res, err := c.fetch(ctx, key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			c.stats.backgroundErrors.Add(1)
		}
		tr := res.Trace
		if tr.Origin == OriginFetched {
			c.stats.refreshFetches.Add(1)
		}
		c.stats.refreshCalls.Add(uint64(tr.Calls))
		c.stats.refreshRetries.Add(uint64(tr.Retries))
		c.stats.refreshRateLimited.Add(uint64(tr.RateLimited))
		// Counted last, so a reader who sees the refresh finished sees its calls.
		c.stats.refreshesDone.Add(1)
	}()
}

// lease takes the fleet-wide fill lease for key. When another instance holds it, lease
// waits (up to LeaseTTL) for that instance to fill L2 and returns its value with done=true;
// if nothing appears, it goes on to the origin itself. release drops a lease we took.
func (c *Cache) lease(ctx context.Context, key string) (release func(), res Result, done bool, err error) {
	lk := "cachebench:lease:" + key
	token := c.cfg.InstanceID + fmt.Sprintf(":%d", rand.Uint64())
	ok, lerr := c.cfg.Redis.SetNX(ctx, lk, token, c.cfg.LeaseTTL).Result()
	if lerr != nil {
		c.stats.leaseErrors.Add(1)
		return func() {}, Result{}, false, nil // Redis trouble must not block reads
	}
	if ok {
		c.stats.leasesAcquired.Add(1)
		return func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.L2Timeout)
			defer cancel()
			_ = releaseScript.Run(rctx, c.cfg.Redis, []string{lk}, token).Err()
		}, Result{}, false, nil
	}
	c.stats.leaseWaits.Add(1)
	deadline := time.Now().Add(c.cfg.LeaseTTL)
	for wait := 5 * time.Millisecond; time.Now().Before(deadline); wait = min(wait*2, 100*time.Millisecond) {
		select {
		case <-ctx.Done():
			return nil, Result{}, true, fmt.Errorf("cachecore: get %q: %w", key, ctx.Err())
		case <-time.After(wait):
		}
		if c.l2 == nil {
			break
		}
		now := c.cfg.Now()
		if e, found, _ := c.l2.get(ctx, key); found && !e.Tombstone && e.Servable(now) {
			c.stats.l2.hits.Add(1)
			if c.l1 != nil {
				c.l1.SetIfNewer(key, c.lifetime(e, now, c.l1TTL(), 0, e), now)
			}
			r, err := resultOf(&e, TierL2, !e.Fresh(now))
			// The read missed every tier and took another instance's fetch.
			r.Trace.Origin = OriginShared
			return nil, r, true, err
		}
	}
	c.stats.leaseTimeouts.Add(1)
	return func() {}, Result{}, false, nil
}

// releaseScript deletes the lease only if we still hold it.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)
