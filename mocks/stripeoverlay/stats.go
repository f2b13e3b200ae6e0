package stripeoverlay

// Stats are an Overlay's counters since New. Event delivery counters count per
// subscriber: one event to two subscribers is two deliveries.
type Stats struct {
	// Requests are HTTP requests served, Reads + Writes.
	Requests uint64
	// Reads are GET and HEAD requests; Writes are the others (POST, DELETE).
	Reads, Writes uint64
	// RateLimited are requests answered 429, by the rate limiter or a rate_limit fault.
	RateLimited uint64
	// InjectedRateLimited are the part of RateLimited a rate_limit fault answered.
	InjectedRateLimited uint64
	// InjectedErrors are requests an errors fault answered 500.
	InjectedErrors uint64
	// UpstreamErrors are requests stripe-mock did not answer (the overlay answered 502).
	UpstreamErrors uint64
	// Updates are new versions made by updates (HTTP or Update); Deletes those made by
	// deletions and subscription cancellations (HTTP or Delete).
	Updates, Deletes uint64
	// EventsEmitted are events created, one per change.
	EventsEmitted uint64
	// EventsDelivered are deliveries a subscriber accepted, duplicates included.
	EventsDelivered uint64
	// EventsDuplicated are second copies scheduled.
	EventsDuplicated uint64
	// EventsReordered are events delivered after the next event.
	EventsReordered uint64
	// EventsFailed are deliveries a subscriber refused (an error, a non-2xx answer, or a
	// delivery cut short by Close). They are not retried.
	EventsFailed uint64
	// EventsDropped are deliveries never made: over WebhookConfig.MaxPending, emitted
	// after Close, or still waiting at Close.
	EventsDropped uint64
	// Padded are answers padded to the size SetSizes gave; OverSize those whose object
	// was already larger than that size, served as they were.
	Padded, OverSize uint64
}

// Stats returns a snapshot of the overlay's counters.
func (o *Overlay) Stats() Stats {
	c := &o.stats
	return Stats{
		Requests:            c.requests.Load(),
		Reads:               c.reads.Load(),
		Writes:              c.writes.Load(),
		RateLimited:         c.rateLimited.Load(),
		InjectedRateLimited: c.injectedRateLimited.Load(),
		InjectedErrors:      c.injectedErrs.Load(),
		UpstreamErrors:      c.upstreamErrors.Load(),
		Updates:             c.updates.Load(),
		Deletes:             c.deletes.Load(),
		EventsEmitted:       c.emitted.Load(),
		EventsDelivered:     c.delivered.Load(),
		EventsDuplicated:    c.duplicated.Load(),
		EventsReordered:     c.reordered.Load(),
		EventsFailed:        c.failed.Load(),
		EventsDropped:       c.dropped.Load(),
		Padded:              c.padded.Load(),
		OverSize:            c.overSize.Load(),
	}
}
