package cachecore

import "context"

// TierSet is a set of tiers (L1, L2, L3), one bit each.
type TierSet uint8

// Has reports whether t is in s.
func (s TierSet) Has(t TierID) bool { return t >= TierL1 && t <= TierL3 && s&(1<<(t-TierL1)) != 0 }

// With returns s with t added.
func (s TierSet) With(t TierID) TierSet {
	if t < TierL1 || t > TierL3 {
		return s
	}
	return s | 1<<(t-TierL1)
}

// OriginUse says how a read used the origin.
type OriginUse uint8

// How a read used the origin.
const (
	// OriginUnused: a tier answered the read (or it never got that far).
	OriginUnused OriginUse = iota
	// OriginFetched: the read's lookup fetched from the origin, and the fetch counts for
	// this read (of the readers sharing one lookup, exactly one gets OriginFetched).
	OriginFetched
	// OriginShared: the read needed the origin but took what a fetch made for another
	// read brought: a reader sharing another's lookup (request coalescing), or one that
	// waited on another instance's fill lease and found its value in L2.
	OriginShared
)

// Trace is what one read did on its way to an answer, so that a caller can count every
// tier lookup and origin call by the read that caused it, rather than by when a shared
// counter moved (Stats). Background work (stale-while-revalidate and XFetch refreshes)
// belongs to no read; Stats counts it apart.
//
// A read walks the tiers in order: it is a miss at each tier in Missed, then an answer
// from Result.Tier, or from the origin when every tier it looked up is in Missed. Over
// any set of reads whose traces are complete (Complete), the misses at one tier equal
// the lookups at the next one, and the misses at the last tier equal the reads with
// Origin OriginFetched or OriginShared.
type Trace struct {
	// Missed are the tiers the read looked up and found nothing usable in (absent,
	// expired, a tombstone, older than a tombstone, or the tier failed). For a read that
	// shared another's lookup (Joined), the tiers below L1 are that lookup's.
	Missed TierSet
	// Failed are the tiers in Missed whose lookup got no answer from the tier (an error,
	// a time-out, or skipped by an open circuit breaker) and so counted as a miss.
	Failed TierSet
	// Origin is how the read used the origin.
	Origin OriginUse
	// Joined: the read shared a lookup another read made (request coalescing): its
	// outcomes below L1 were looked up once for all the readers sharing it, and this
	// read made no call of its own there but one L2 read: each read looks in L2 itself
	// before it coalesces (an L2 hit is served without coalescing), and a joined read's
	// L2 miss is the shared lookup's.
	Joined bool
	// L2Reread: the read's lookup below L1, which other reads may have shared, read L2 a
	// second time, because a write through this cache finished after the read's own L2
	// read began (another lookup may have filled the key in between); the L2 outcome in
	// Missed is the second read's. Redis saw two reads for this one lookup. Never set on
	// a Joined read: the second read was the lookup's, counted once, by the read that
	// made it.
	L2Reread bool
	// Calls, Retries and RateLimited are the origin fetch's HTTP requests (retries
	// included), the retries among them, and the answers 429 Too Many Requests; set only
	// with Origin OriginFetched, as reported by a ReportingOrigin (an Origin that is not
	// one counts one call a fetch).
	Calls, Retries, RateLimited uint16
	// OriginFailed: the fetch this read counts failed (not counting not-found).
	OriginFailed bool
}

// Complete reports whether the read finished its lookup: it was answered by a tier or
// reached the origin. A read that gave up while waiting (its context ended) or never
// reached the cache has an incomplete trace.
func (t Trace) Complete(served TierID) bool {
	return served != TierNone || t.Origin != OriginUnused
}

// joined is t as seen by a reader that shared the lookup t describes but is not the one
// it counts for.
func (t Trace) joined() Trace {
	t.Joined = true
	t.L2Reread = false
	if t.Origin == OriginFetched {
		t.Origin = OriginShared
	}
	t.Calls, t.Retries, t.RateLimited, t.OriginFailed = 0, 0, 0, false
	return t
}

// FetchInfo is what one origin fetch took.
type FetchInfo struct {
	// Calls are the HTTP requests made, Retries the part that repeated a failed one,
	// RateLimited the requests answered 429.
	Calls, Retries, RateLimited uint16
}

// ReportingOrigin is an Origin that also reports what each fetch took (StripeOrigin is
// one), for Trace. The cache calls FetchReport rather than Fetch when its origin is one.
type ReportingOrigin interface {
	Origin
	// FetchReport is Fetch, with what the fetch took, errors included.
	FetchReport(ctx context.Context, ref Ref) (value []byte, version int64, ok bool, info FetchInfo, err error)
}

// sat16 converts n to uint16, saturating.
func sat16(n uint64) uint16 {
	if n > 0xffff {
		return 0xffff
	}
	return uint16(n)
}
