package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/scenarios"
)

// instance is one cache as one process holds it: its own L1, its own connections to
// Redis, DynamoDB and Stripe, and its own client-side rate limiter. A run without the
// Lambda fleet has one; with it, each execution environment has one.
type instance struct {
	cache  *cachecore.Cache
	l1     *cachecore.L1
	origin *cachecore.StripeOrigin
	redis  redis.UniversalClient
	l2     *cachecore.RedisTier
	l3     *cachecore.DynamoTier
	http   *http.Client
}

// namespace is what keeps one run's data apart from another's on shared services.
type namespace struct {
	redisPrefix string
	table       string
	channel     string
	// now is the run's clock for cachecore and its L1 (nil = the wall clock): the
	// simulated clock of a clock: virtual run.
	now func() time.Time
	// faults is a clock: virtual run's fault timeline, which its caches' tiers, Stripe
	// client and origin retries run under (nil on the real clock).
	faults *vfaults
	// rand is the caches' source of random draws (cachecore.Config.Rand; nil = the
	// global one): a clock: virtual run's, seeded from the scenario, so that its reads,
	// made one at a time in a fixed order, draw the same TTL jitter on every run.
	rand func() float64
}

// newInstance builds a cache for scenario s on world w. The DynamoDB table must exist
// (setupTable) before the first instance is built.
func newInstance(ctx context.Context, s *scenarios.Scenario, w *mocks.World, ns namespace, id string, mp metric.MeterProvider) (*instance, error) {
	inst := &instance{http: w.HTTPClient()}
	ok := false
	defer func() {
		if !ok {
			inst.close()
		}
	}()
	fleetLimit := s.Stripe.Limiter == scenarios.LimiterFleet
	if s.Cache.L2.Enabled || s.Cache.Lease > 0 || fleetLimit {
		if s.Cache.L1.Enabled && s.Cache.L1.Policy == scenarios.PolicyTracking {
			// The tracking L1 is the L2 client's own cache: that client serves L2, the
			// lease, pub/sub and the fleet limiter alike.
			l1, rc, err := cachecore.NewTrackingL1(l1Config(s, ns.now), w.RedisOptions())
			if err != nil {
				return nil, fmt.Errorf("l1: %w", err)
			}
			inst.l1, inst.redis = l1, rc
		} else {
			inst.redis = w.RedisClient()
		}
		if err := inst.redis.Ping(ctx).Err(); err != nil {
			return nil, fmt.Errorf("redis: connect: %w", err)
		}
	}
	ocfg := cachecore.StripeOriginConfig{Client: w.StripeClient(ns.faults.httpClient(mocks.ServiceStripe, inst.http)), RateLimit: s.Stripe.Mode}
	if ns.faults != nil {
		ocfg.Sleep = ns.faults.sleep
	}
	if s.Stripe.Limiter == scenarios.LimiterNone {
		ocfg.RateLimit = cachecore.RateLimitNone
	}
	if fleetLimit {
		// One limit for the whole fleet, kept in Redis; each environment's share of it
		// (the fleet's size at most) when Redis fails.
		ocfg.Fleet, ocfg.FleetKey = inst.redis, ns.redisPrefix+"stripe-limit"
		ocfg.FleetShare = 1
		if s.Lambda.Enabled {
			ocfg.FleetShare = max(s.Lambda.MaxConcurrency, 1)
		}
	}
	origin, err := cachecore.NewStripeOrigin(ocfg)
	if err != nil {
		return nil, fmt.Errorf("stripe origin: %w", err)
	}
	inst.origin = origin
	cfg := cachecore.Config{
		Origin:               origin,
		L2TTL:                s.Cache.L2.TTL,
		L3TTL:                s.Cache.L3.TTL,
		TTLJitter:            s.Cache.L2.TTLJitter,
		NegativeTTL:          negativeTTL(s.Cache.NegativeTTL),
		StaleWhileRevalidate: s.Cache.SWR,
		XFetchBeta:           s.Cache.XFetchBeta,
		NoCoalesce:           !s.Cache.Coalesce,
		EventMode:            s.Cache.EventMode,
		InvalidationChannel:  ns.channel,
		InstanceID:           id,
		MeterProvider:        mp,
		Now:                  ns.now,
		Rand:                 ns.rand,
	}
	if ns.now != nil {
		// The circuit breakers (gobreaker) keep the wall clock: on simulated time an open
		// breaker would stay open for thousands of simulated seconds. Off, every read
		// tries each tier and pays its failure or time-out.
		cfg.BreakerFailures = math.MaxUint32
	}
	if s.Cache.Shape == scenarios.ShapeFields {
		cfg.Fields = s.Cache.Fields
	}
	if s.Cache.L1.Enabled {
		if inst.l1 == nil {
			l1, err := cachecore.NewL1(l1Config(s, ns.now))
			if err != nil {
				return nil, fmt.Errorf("l1: %w", err)
			}
			inst.l1 = l1
		}
		cfg.L1 = inst.l1
	}
	if s.Cache.L2.Enabled || s.Cache.Lease > 0 {
		cfg.Redis = inst.redis
		cfg.LeaseTTL = s.Cache.Lease
	}
	if w := s.Cache.L1.Warm; w.Keys > 0 && s.Cache.L1.Enabled && s.Cache.L2.Enabled {
		// Every environment feeds the hot list its successors warm from.
		cfg.HotKeys, cfg.HotKeysKey = w.Keys, ns.redisPrefix+"hot"
		if ns.now != nil {
			cfg.HotKeysEvery = -1 // the virtual fleet flushes on the simulated clock
		}
	}
	if s.Cache.L2.Enabled {
		l2, err := cachecore.NewRedisTier(cachecore.RedisConfig{
			Client: inst.redis, Prefix: ns.redisPrefix, Pipeline: l2Pipeline(s.Cache, ns.now != nil), Now: ns.now,
		})
		if err != nil {
			return nil, fmt.Errorf("l2: %w", err)
		}
		inst.l2 = l2
		cfg.L2 = ns.faults.tier(mocks.ServiceRedis, l2)
	}
	if s.Cache.L3.Enabled {
		ddb, err := w.DynamoDBClient(ctx, inst.http)
		if err != nil {
			return nil, fmt.Errorf("dynamodb: %w", err)
		}
		l3, err := cachecore.NewDynamoTier(ctx, cachecore.DynamoConfig{Client: ddb, Table: ns.table, Now: ns.now})
		if err != nil {
			return nil, fmt.Errorf("l3: %w", err)
		}
		inst.l3 = l3
		cfg.L3 = ns.faults.tier(mocks.ServiceDynamoDB, l3)
	}
	c, err := cachecore.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	inst.cache = c
	ok = true
	return inst, nil
}

// freeze and thaw mark the time a Lambda environment spends between invocations, when
// its process is not scheduled. Of the cache only a tracking L1 sees it: the invalidations
// Redis sends meanwhile wait for the thaw (cachecore.L1.Freeze). The rest of the
// environment is not suspended: its connections and timers run on, which a frozen process
// would not; only the tracking L1 depends on it for what it serves.
func (in *instance) freeze() {
	if in.l1 != nil {
		in.l1.Freeze()
	}
}

func (in *instance) thaw() {
	if in.l1 != nil {
		in.l1.Thaw()
	}
}

// l2Pipeline is cache.l2.pipeline, with autopipeline: true read as always; a tracking
// L1's client serves its commands itself (its cache sees only those), so it gets no
// autopipeliner to leave unused. On the virtual clock (virtual) commands run one at a
// time and their latency is modelled, so batching has nothing to save: they take the
// client's plain path, whose hooks answer the hot ones in process (the embedded
// environment's directRedis; go-redis's copy of a client, which a lone caller's kept
// connection comes from, has none of its hooks).
func l2Pipeline(c scenarios.Cache, virtual bool) string {
	switch {
	case virtual || c.L1.Enabled && c.L1.Policy == scenarios.PolicyTracking:
		return cachecore.PipelineNever
	case c.L2.AutoPipeline:
		return cachecore.PipelineAlways
	}
	return c.L2.Pipeline
}

// l1Config is the scenario's cache.l1 for cachecore.
// l1Config is the L1 configuration of s, on the clock now (nil = the wall clock).
func l1Config(s *scenarios.Scenario, now func() time.Time) cachecore.L1Config {
	return cachecore.L1Config{
		Now:        now,
		Policy:     s.Cache.L1.Policy,
		MaxEntries: s.Cache.L1.MaxEntries,
		MaxBytes:   int64(s.Cache.L1.MaxBytes),
		TTL:        s.Cache.L1.TTL,
	}
}

// close releases the instance's cache and connections.
func (in *instance) close() error {
	var errs []error
	if in.cache != nil {
		errs = append(errs, in.cache.Close())
	}
	if in.redis != nil {
		if err := in.redis.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			errs = append(errs, err)
		}
	}
	// in.http is the World's shared client: the World closes it.
	return errors.Join(errs...)
}

// negativeTTL maps the scenario's negative_ttl, where 0 means off, to cachecore's, where
// a negative value means off.
func negativeTTL(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// tierStats returns the instance's L2 and L3 counters (zero for a tier that is off).
func (in *instance) tierStats() (l2, l3 cachecore.TierStats) {
	if in.l2 != nil {
		l2 = in.l2.Stats()
	}
	if in.l3 != nil {
		l3 = in.l3.Stats()
	}
	return l2, l3
}
