package cachecore

import "sync/atomic"

// tierCounters count one tier's outcomes as seen by the cache.
type tierCounters struct {
	hits, staleHits, misses, backfills       atomic.Uint64
	sets, setsRefused                        atomic.Uint64
	errors, timeouts, bypassed, breakerOpens atomic.Uint64
}

func (t *tierCounters) snapshot() TierCounts {
	c := TierCounts{
		Hits: t.hits.Load(), StaleHits: t.staleHits.Load(), Misses: t.misses.Load(), Backfills: t.backfills.Load(),
		Sets: t.sets.Load(), SetsRefused: t.setsRefused.Load(),
		Errors: t.errors.Load(), Timeouts: t.timeouts.Load(), Bypassed: t.bypassed.Load(), BreakerOpens: t.breakerOpens.Load(),
	}
	if n := c.Hits + c.Misses; n > 0 {
		c.HitRatio = float64(c.Hits) / float64(n)
	}
	return c
}

// counters are a Cache's own counters; every field is atomic, none is shared between caches.
type counters struct {
	l1, l2, l3 tierCounters

	originFetches, originNotFound, originErrors atomic.Uint64
	originCalls, originRetries                  atomic.Uint64
	originRateLimited                           atomic.Uint64
	flightCalls, flightLoads                    atomic.Uint64 // coalesced = calls - loads
	earlyRefreshes, backgroundRefreshes         atomic.Uint64
	backgroundErrors                            atomic.Uint64
	refreshesDone, refreshFetches               atomic.Uint64
	refreshCalls, refreshRetries                atomic.Uint64
	refreshRateLimited                          atomic.Uint64
	leasesAcquired, leaseWaits, leaseTimeouts   atomic.Uint64
	leaseErrors                                 atomic.Uint64
	eventsApplied, eventsIgnored, eventsStale   atomic.Uint64
	invalidationsSent, invalidationsReceived    atomic.Uint64
	warmed                                      atomic.Uint64
}

// TierCounts are one tier's outcomes as the cache saw them. Hits include stale hits; a
// read that found nothing usable is a miss. Errors, Timeouts and Bypassed (breaker open)
// are reads or writes that degraded to a miss or a skipped write.
type TierCounts struct {
	Hits, StaleHits, Misses, Backfills uint64
	HitRatio                           float64
	Sets, SetsRefused                  uint64
	Errors, Timeouts, Bypassed         uint64
	BreakerOpens                       uint64
	// Breaker is the circuit breaker's state now: closed, half-open or open ("" for L1).
	Breaker string
}

// Stats is a snapshot of a Cache's counters.
type Stats struct {
	L1, L2, L3 TierCounts
	// L1Size is the L1's own account (entries, bytes, evictions), when there is an L1.
	L1Size L1Stats
	// OriginFetches are origin calls the cache made (each may be several HTTP requests;
	// the origin's own Stats count those); OriginNotFound and OriginErrors are their
	// outcomes.
	OriginFetches, OriginNotFound, OriginErrors uint64
	// OriginCalls, OriginRetries and OriginRateLimited are the HTTP requests of every
	// origin fetch, reads' and background refreshes' alike (Trace counts a read's, Refresh
	// the refreshes'): requests, the retries among them, and the answers 429.
	OriginCalls, OriginRetries, OriginRateLimited uint64
	// Coalesced counts reads that shared another read's lookup instead of making one.
	Coalesced uint64
	// EarlyRefreshes counts XFetch refreshes started; BackgroundRefreshes all background
	// refreshes started (XFetch and stale-while-revalidate), BackgroundErrors those that
	// failed.
	EarlyRefreshes, BackgroundRefreshes, BackgroundErrors uint64
	// Refresh is the origin work of the background refreshes that have finished: they
	// belong to no read, so no Result.Trace carries it.
	Refresh RefreshCounts
	// Lease counts: leases taken, waits on another instance's lease, waits that ran out,
	// and lease attempts Redis failed.
	LeasesAcquired, LeaseWaits, LeaseTimeouts, LeaseErrors uint64
	// EventsApplied counts webhook events applied; EventsIgnored those of object types the
	// cache does not hold; EventsStale those older than what the cache had.
	EventsApplied, EventsIgnored, EventsStale uint64
	// InvalidationsSent and InvalidationsReceived count pub/sub messages.
	InvalidationsSent, InvalidationsReceived uint64
	// Warmed counts entries Warm stored in L1; HotKeyFlushes the flushes of the hot-key
	// tally to Redis, HotKeyErrors those that failed.
	Warmed, HotKeyFlushes, HotKeyErrors uint64
}

// RefreshCounts are the origin work of finished background refreshes.
type RefreshCounts struct {
	// Done counts refreshes finished; Fetches those that fetched from the origin
	// themselves (the rest found another instance's fill under the lease).
	Done, Fetches uint64
	// Calls, Retries and RateLimited are their HTTP requests to the origin, as in Trace.
	Calls, Retries, RateLimited uint64
}

// tierCounts is s's counts for tier id (L1, L2 or L3).
func (s *Stats) tierCounts(id TierID) TierCounts {
	switch id {
	case TierL1:
		return s.L1
	case TierL2:
		return s.L2
	}
	return s.L3
}

// Stats returns a snapshot of the cache's counters.
func (c *Cache) Stats() Stats {
	s := Stats{
		L1: c.stats.l1.snapshot(), L2: c.stats.l2.snapshot(), L3: c.stats.l3.snapshot(),
		OriginFetches: c.stats.originFetches.Load(), OriginNotFound: c.stats.originNotFound.Load(), OriginErrors: c.stats.originErrors.Load(),
		OriginCalls: c.stats.originCalls.Load(), OriginRetries: c.stats.originRetries.Load(), OriginRateLimited: c.stats.originRateLimited.Load(),
		EarlyRefreshes: c.stats.earlyRefreshes.Load(), BackgroundRefreshes: c.stats.backgroundRefreshes.Load(), BackgroundErrors: c.stats.backgroundErrors.Load(),
		LeasesAcquired: c.stats.leasesAcquired.Load(), LeaseWaits: c.stats.leaseWaits.Load(), LeaseTimeouts: c.stats.leaseTimeouts.Load(), LeaseErrors: c.stats.leaseErrors.Load(),
		EventsApplied: c.stats.eventsApplied.Load(), EventsIgnored: c.stats.eventsIgnored.Load(), EventsStale: c.stats.eventsStale.Load(),
		InvalidationsSent: c.stats.invalidationsSent.Load(), InvalidationsReceived: c.stats.invalidationsReceived.Load(),
	}
	// Loads first: a caller counts its call before its load, so calls read later are
	// never fewer (read the other way round, a load in between made this wrap around).
	loads := c.stats.flightLoads.Load()
	s.Coalesced = c.stats.flightCalls.Load() - loads
	// Done first: a refresh counts its calls before it counts itself done.
	s.Refresh.Done = c.stats.refreshesDone.Load()
	s.Refresh.Fetches = c.stats.refreshFetches.Load()
	s.Refresh.Calls = c.stats.refreshCalls.Load()
	s.Refresh.Retries = c.stats.refreshRetries.Load()
	s.Refresh.RateLimited = c.stats.refreshRateLimited.Load()
	s.Warmed = c.stats.warmed.Load()
	if c.hot != nil {
		s.HotKeyFlushes, s.HotKeyErrors = c.hot.flushes.Load(), c.hot.flushErrors.Load()
	}
	if c.l1 != nil {
		s.L1Size = c.l1.Stats()
	}
	if c.l2 != nil {
		s.L2.Breaker = c.l2.state()
	}
	if c.l3 != nil {
		s.L3.Breaker = c.l3.state()
	}
	return s
}
