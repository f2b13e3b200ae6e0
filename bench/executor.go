package bench

import (
	"context"
	"errors"
	"iter"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/reports"
)

// errThrottled is a request refused because the fleet is at its concurrency limit, as
// Lambda answers 429 TooManyRequestsException.
var errThrottled = errors.New("lambda: throttled at the concurrency limit (TooManyRequestsException)")

// executor runs requests in cache instances: one long-lived process (single) or a
// virtual Lambda fleet.
type executor interface {
	// invoke runs fn in an instance. It returns errThrottled when no instance may take
	// the request, and fn's error otherwise, with what the fleet did for the request
	// (zero for a single process).
	// fn returns the CPU-bound part of its work, which a Lambda environment smaller than
	// one vCPU stretches (pricing.ScaleCPU).
	invoke(ctx context.Context, fn func(*instance) (time.Duration, error)) (Invocation, error)
	// apply hands a webhook event to the fleet: one instance applies it to the shared
	// tiers, and the others' L1s learn of it through Redis pub/sub.
	apply(ctx context.Context, ev *stripe.Event) error
	// originStats sums the origin counters of every instance, past and present.
	originStats() cachecore.OriginStats
	// tierStats sums the L2 and L3 tiers' own counters of every instance, past and
	// present (zero for a tier that is off).
	tierStats() (l2, l3 cachecore.TierStats)
	// cacheStats sums the cache counters of every instance, past and present.
	cacheStats() cachecore.Stats
	// l1Held sums what the L1s of the instances alive now hold, and counts them.
	l1Held() (cachecore.L1Stats, int)
	// lambda returns the fleet's figures, nil for a single process.
	lambda() *reports.Lambda
	// mark takes the baseline at the start of the measured part, so the fleet's figures
	// leave the warm-up out.
	mark()
	// sample returns the environments alive now and cold starts so far (0, 0 for single).
	sample() (envs, coldStarts int64)
	close() error
}

// single is one process with one cache, taking any number of requests at once: a
// container service rather than Lambda.
type single struct {
	inst *instance
	once sync.Once
	err  error
}

func (s *single) invoke(_ context.Context, fn func(*instance) (time.Duration, error)) (Invocation, error) {
	_, err := fn(s.inst)
	return Invocation{}, err
}

func (s *single) tierStats() (l2, l3 cachecore.TierStats) { return s.inst.tierStats() }

func (s *single) apply(ctx context.Context, ev *stripe.Event) error {
	return s.inst.cache.Apply(ctx, ev)
}

func (s *single) originStats() cachecore.OriginStats { return s.inst.origin.Stats() }

func (s *single) cacheStats() cachecore.Stats { return s.inst.cache.Stats() }

func (s *single) lambda() *reports.Lambda { return nil }

func (s *single) l1Held() (cachecore.L1Stats, int) { return s.inst.cache.Stats().L1Size, 1 }

func (s *single) sample() (int64, int64) { return 0, 0 }

func (s *single) mark() {}

func (s *single) close() error {
	s.once.Do(func() { s.err = s.inst.close() })
	return s.err
}

// counters is what a fleet sums over its environments: the origin's, the cache's and
// the L2 and L3 tiers' own counters. A fleet keeps those of its closed environments in
// one, so its totals outlive them, and sums the live ones onto it.
type counters struct {
	origin cachecore.OriginStats
	cache  cachecore.Stats
	l2, l3 cachecore.TierStats
}

// countersOf reads in's counters.
func countersOf(in *instance) counters {
	l2, l3 := in.tierStats()
	return counters{origin: in.origin.Stats(), cache: in.cache.Stats(), l2: l2, l3: l3}
}

// add adds b's counters to c.
func (c *counters) add(b counters) {
	addOrigin(&c.origin, b.origin)
	addStats(&c.cache, b.cache)
	addTierStats(&c.l2, b.l2)
	addTierStats(&c.l3, b.l3)
}

// sum returns c plus the counters of the instances live yields.
func (c counters) sum(live iter.Seq[*instance]) counters {
	for in := range live {
		c.add(countersOf(in))
	}
	return c
}

// addOrigin adds b's counters to a.
func addOrigin(a *cachecore.OriginStats, b cachecore.OriginStats) {
	a.Calls += b.Calls
	a.Fetches += b.Fetches
	a.RateLimited += b.RateLimited
	a.Retries += b.Retries
	a.Errors += b.Errors
	a.NotFound += b.NotFound
	a.LimiterWait += b.LimiterWait
	a.LimiterFallbacks += b.LimiterFallbacks
}

// addTierStats adds b's counters to a.
func addTierStats(a *cachecore.TierStats, b cachecore.TierStats) {
	a.Gets += b.Gets
	a.Hits += b.Hits
	a.Misses += b.Misses
	a.Sets += b.Sets
	a.SetsRejected += b.SetsRejected
	a.Deletes += b.Deletes
	a.Corrupt += b.Corrupt
	a.Errors += b.Errors
	a.ReadUnits += b.ReadUnits
	a.WriteUnits += b.WriteUnits
	a.ReportedReadUnits += b.ReportedReadUnits
	a.ReportedWriteUnits += b.ReportedWriteUnits
	a.CapacityReports += b.CapacityReports
	a.Oversize += b.Oversize
	a.SetBytes += b.SetBytes
}

// addTier adds b's counters to a.
func addTier(a *cachecore.TierCounts, b cachecore.TierCounts) {
	a.Hits += b.Hits
	a.StaleHits += b.StaleHits
	a.Misses += b.Misses
	a.Backfills += b.Backfills
	a.Sets += b.Sets
	a.SetsRefused += b.SetsRefused
	a.Errors += b.Errors
	a.Timeouts += b.Timeouts
	a.Bypassed += b.Bypassed
	a.BreakerOpens += b.BreakerOpens
}

// addStats adds b's counters to a.
func addStats(a *cachecore.Stats, b cachecore.Stats) {
	addTier(&a.L1, b.L1)
	addTier(&a.L2, b.L2)
	addTier(&a.L3, b.L3)
	a.OriginFetches += b.OriginFetches
	a.OriginNotFound += b.OriginNotFound
	a.OriginErrors += b.OriginErrors
	a.OriginCalls += b.OriginCalls
	a.OriginRetries += b.OriginRetries
	a.OriginRateLimited += b.OriginRateLimited
	a.Coalesced += b.Coalesced
	a.EarlyRefreshes += b.EarlyRefreshes
	a.BackgroundRefreshes += b.BackgroundRefreshes
	a.BackgroundErrors += b.BackgroundErrors
	a.EventsApplied += b.EventsApplied
	a.EventsIgnored += b.EventsIgnored
	a.EventsStale += b.EventsStale
	a.InvalidationsSent += b.InvalidationsSent
	a.InvalidationsReceived += b.InvalidationsReceived
	a.L1Size.Invalidations += b.L1Size.Invalidations
	a.L1Size.InvalidationsHeld += b.L1Size.InvalidationsHeld
	a.L1Size.HeldTotal += b.L1Size.HeldTotal
	a.L1Size.HeldMax = max(a.L1Size.HeldMax, b.L1Size.HeldMax)
}
