package bench

import (
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/cachebench/cachebench/cachecore"
)

// Histogram ranges. Latencies are recorded in microseconds from 1 µs to 10 minutes with 3
// significant digits (0.1% resolution); staleness in milliseconds up to 30 days.
const (
	histMinUS    = 1
	histMaxUS    = int64(10 * time.Minute / time.Microsecond)
	histDigits   = 3
	staleMaxMS   = int64(30 * 24 * time.Hour / time.Millisecond)
	maxErrorKind = 20
)

func newLatencyHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMinUS, histMaxUS, histDigits)
}

func newStaleHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, staleMaxMS, 2) }

// counts are the per-request counters a recorder keeps; they add up across recorders.
// Every one counts what a request did, from its cachecore.Trace (see the package doc).
type counts struct {
	gets, updates, errors, notFound int64
	checked                         int64
	stale                           int64
	// bytes sums the sizes of the values read.
	bytes int64
	// lookups and hits count, per tier [l1, l2, l3], the reads that reached the tier and
	// those it answered; joined the lookups a read took from another's (coalescing).
	lookups, hits, joined [3]int64
	// failed counts, per tier, the lookups a read made itself that got no answer from the
	// tier (an error, a time-out, an open breaker): they are among the misses.
	failed [3]int64
	// rereads counts the lookups that read L2 a second time (cachecore.Trace.L2Reread).
	rereads int64
	// incomplete counts reads that never completed a lookup (they failed first).
	incomplete int64
	// The origin, by read: fetches made, fetches taken from another read, and the
	// fetches' HTTP requests, retries, 429s and failures.
	fetched, shared, calls, retries, rateLimited, originErrors int64
	// The Lambda fleet's, by request: invocations, cold starts, throttles, billed and
	// INIT milliseconds, the part in provisioned environments, CPU-bound nanoseconds.
	invocations, coldStarts, throttled int64
	billedMS, initMS, provMS, cpuNS    int64
	// youngReads counts the reads served by an environment in its first minute
	// (youngAge), and youngL1Hits those of them L1 answered.
	youngReads, youngL1Hits int64
}

// youngAge is how long an environment counts as new: the reads in its first minute show
// what a cold start, and warming, do.
const youngAge = time.Minute

func (c *counts) add(o *counts) {
	c.gets += o.gets
	c.updates += o.updates
	c.errors += o.errors
	c.notFound += o.notFound
	c.checked += o.checked
	c.stale += o.stale
	c.bytes += o.bytes
	for i := range c.lookups {
		c.lookups[i] += o.lookups[i]
		c.hits[i] += o.hits[i]
		c.joined[i] += o.joined[i]
		c.failed[i] += o.failed[i]
	}
	c.rereads += o.rereads
	c.incomplete += o.incomplete
	c.youngReads += o.youngReads
	c.youngL1Hits += o.youngL1Hits
	c.fetched += o.fetched
	c.shared += o.shared
	c.calls += o.calls
	c.retries += o.retries
	c.rateLimited += o.rateLimited
	c.originErrors += o.originErrors
	c.invocations += o.invocations
	c.coldStarts += o.coldStarts
	c.throttled += o.throttled
	c.billedMS += o.billedMS
	c.initMS += o.initMS
	c.provMS += o.provMS
	c.cpuNS += o.cpuNS
}

// trace counts what one read did: a lookup and a miss at each tier in tr.Missed, a
// lookup and a hit at the tier that answered (unless it is also in Missed: a read that
// waited on another instance's lease and then found the value in L2), and its use of the
// origin.
func (c *counts) trace(served cachecore.TierID, tr *cachecore.Trace) {
	if !tr.Complete(served) {
		c.incomplete++
		return
	}
	for i := range c.lookups {
		id := cachecore.TierL1 + cachecore.TierID(i)
		missed := tr.Missed.Has(id)
		if !missed && served != id {
			continue
		}
		c.lookups[i]++
		if !missed {
			c.hits[i]++
		}
		if tr.Joined && id != cachecore.TierL1 {
			c.joined[i]++
		} else if tr.Failed.Has(id) {
			c.failed[i]++
		}
	}
	if tr.L2Reread {
		c.rereads++
	}
	switch tr.Origin {
	case cachecore.OriginFetched:
		c.fetched++
	case cachecore.OriginShared:
		c.shared++
	}
	c.calls += int64(tr.Calls)
	c.retries += int64(tr.Retries)
	c.rateLimited += int64(tr.RateLimited)
	if tr.OriginFailed {
		c.originErrors++
	}
}

// Invocation is what the Lambda fleet did for one request.
type Invocation struct {
	// Invoked: the request ran in an environment; Cold: one started for it; Throttled: the
	// fleet refused it; Provisioned: the environment was a provisioned one.
	Invoked, Cold, Throttled, Provisioned bool
	// BilledMS is the invocation's billed duration, INIT included; InitBilledMS the INIT
	// part (cold starts); CPU the CPU-bound part, scaled to the memory size.
	BilledMS, InitBilledMS int64
	CPU                    time.Duration
	// Age is how long the environment had existed when the invocation began, from the
	// start of its cold start.
	Age time.Duration
}

func (c *counts) invocation(inv Invocation) {
	if inv.Invoked {
		c.invocations++
	}
	if inv.Cold {
		c.coldStarts++
	}
	if inv.Throttled {
		c.throttled++
	}
	c.billedMS += inv.BilledMS
	c.initMS += inv.InitBilledMS
	if inv.Provisioned {
		c.provMS += inv.BilledMS
	}
	c.cpuNS += int64(inv.CPU)
}

// interval is what one recorder gathered since the collector last took it.
type interval struct {
	// young is the latency of the reads served by environments in their first minute.
	lat, svc, upd, young *hdrhistogram.Histogram
	stale                *hdrhistogram.Histogram
	c                    counts
	errKinds             map[string]int64
}

func newInterval() *interval {
	return &interval{
		lat: newLatencyHist(), svc: newLatencyHist(), upd: newLatencyHist(), young: newLatencyHist(),
		stale: newStaleHist(), errKinds: map[string]int64{},
	}
}

func (iv *interval) reset() {
	iv.lat.Reset()
	iv.svc.Reset()
	iv.upd.Reset()
	iv.young.Reset()
	iv.stale.Reset()
	iv.c = counts{}
	clear(iv.errKinds)
}

// merge adds o into iv.
func (iv *interval) merge(o *interval) {
	iv.lat.Merge(o.lat)
	iv.svc.Merge(o.svc)
	iv.upd.Merge(o.upd)
	iv.young.Merge(o.young)
	iv.stale.Merge(o.stale)
	iv.c.add(&o.c)
	for k, n := range o.errKinds {
		if _, ok := iv.errKinds[k]; ok || len(iv.errKinds) < maxErrorKind {
			iv.errKinds[k] += n
		} else {
			iv.errKinds["other"] += n
		}
	}
}

// Recorder records the outcomes of the requests of the few workers that share it (a run
// keeps four per processor), and the collector takes from it once a second: its mutex is
// held for tens of nanoseconds and rarely contended.
type Recorder struct {
	mu    sync.Mutex
	cur   *interval
	spare *interval
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder { return &Recorder{cur: newInterval(), spare: newInterval()} }

// ReadOutcome is what one read did, for Recorder.Read and Recorder.Error.
type ReadOutcome struct {
	// Served is the tier that answered (TierNone when none did) and Trace what the read
	// did on its way: the recorder counts tier lookups and origin calls from them.
	Served cachecore.TierID
	Trace  cachecore.Trace
	// Invocation is what the Lambda fleet did for the read (zero without the fleet).
	Invocation Invocation
	// NotFound: the answer was "does not exist". Checked: the staleness oracle knew the
	// object, and Stale: the read was behind it, by StaleBy.
	NotFound, Checked, Stale bool
	StaleBy                  time.Duration
	// Size is the value's size in bytes.
	Size int
}

// Read records one read: latency from its intended start, service time from when work on
// it began, and what it did (o).
func (r *Recorder) Read(latency, service time.Duration, o *ReadOutcome) {
	r.mu.Lock()
	iv := r.cur
	iv.c.bytes += int64(o.Size)
	recordUS(iv.lat, latency)
	recordUS(iv.svc, service)
	iv.c.gets++
	iv.c.trace(o.Served, &o.Trace)
	iv.c.invocation(o.Invocation)
	if o.Invocation.Invoked && o.Invocation.Age < youngAge {
		iv.c.youngReads++
		if o.Served == cachecore.TierL1 {
			iv.c.youngL1Hits++
		}
		recordUS(iv.young, latency)
	}
	notFound, checked, stale, staleBy := o.NotFound, o.Checked, o.Stale, o.StaleBy
	if notFound {
		iv.c.notFound++
	}
	if checked {
		iv.c.checked++
		if stale {
			iv.c.stale++
			ms := staleBy.Milliseconds()
			if ms < 1 {
				ms = 1
			}
			_ = iv.stale.RecordValue(min(ms, staleMaxMS))
		}
	}
	r.mu.Unlock()
}

// Update records one update made through the Stripe overlay.
func (r *Recorder) Update(latency time.Duration) {
	r.mu.Lock()
	recordUS(r.cur.upd, latency)
	r.cur.c.updates++
	r.mu.Unlock()
}

// Error records a failed request of either kind; o is what a failed read did (nil for
// an update, or a read that never reached the cache).
func (r *Recorder) Error(latency time.Duration, isRead bool, err error, o *ReadOutcome) {
	kind := errorKind(err)
	r.mu.Lock()
	iv := r.cur
	if isRead {
		iv.c.gets++
		recordUS(iv.lat, latency)
		if o != nil {
			iv.c.trace(o.Served, &o.Trace)
			iv.c.invocation(o.Invocation)
		} else {
			iv.c.incomplete++
		}
	} else {
		iv.c.updates++
	}
	iv.c.errors++
	if _, ok := iv.errKinds[kind]; ok || len(iv.errKinds) < maxErrorKind {
		iv.errKinds[kind]++
	} else {
		iv.errKinds["other"]++
	}
	r.mu.Unlock()
}

// take swaps the current interval for the spare one and returns what was recorded; the
// caller merges it and gives it back with give.
func (r *Recorder) take() *interval {
	r.mu.Lock()
	iv := r.cur
	r.cur = r.spare
	r.spare = nil
	r.mu.Unlock()
	return iv
}

// give returns an interval taken with take, emptied, as the next spare.
func (r *Recorder) give(iv *interval) {
	iv.reset()
	r.mu.Lock()
	r.spare = iv
	r.mu.Unlock()
}

// recordUS records d in microseconds, clamped into the histogram's range.
func recordUS(h *hdrhistogram.Histogram, d time.Duration) {
	us := d.Microseconds()
	if us < histMinUS {
		us = histMinUS
	}
	if us > histMaxUS {
		us = histMaxUS
	}
	_ = h.RecordValue(us)
}

// errorKind shortens an error to a kind for counting: its first line, with the digits
// inside quotes (object IDs, cache keys) replaced by '#', so one failure mode is one kind.
func errorKind(err error) string {
	if err == nil {
		return "unknown"
	}
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	var b strings.Builder
	inQuote, inDigits := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote = !inQuote
			inDigits = false
			b.WriteRune(r)
		case inQuote && r >= '0' && r <= '9':
			if !inDigits {
				b.WriteByte('#')
			}
			inDigits = true
		default:
			inDigits = false
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(out) > 300 {
		out = out[:300] + "…"
	}
	return out
}
