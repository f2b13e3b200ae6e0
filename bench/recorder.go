package bench

import (
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
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
type counts struct {
	gets, updates, errors, notFound int64
	// served counts reads by the tier that answered: [l1, l2, l3, origin].
	served  [4]int64
	checked int64
	stale   int64
	// bytes sums the sizes of the values read.
	bytes int64
}

func (c *counts) add(o *counts) {
	c.gets += o.gets
	c.updates += o.updates
	c.errors += o.errors
	c.notFound += o.notFound
	for i := range c.served {
		c.served[i] += o.served[i]
	}
	c.checked += o.checked
	c.stale += o.stale
	c.bytes += o.bytes
}

// interval is what one recorder gathered since the collector last took it.
type interval struct {
	lat, svc, upd *hdrhistogram.Histogram
	stale         *hdrhistogram.Histogram
	c             counts
	errKinds      map[string]int64
}

func newInterval() *interval {
	return &interval{
		lat: newLatencyHist(), svc: newLatencyHist(), upd: newLatencyHist(),
		stale: newStaleHist(), errKinds: map[string]int64{},
	}
}

func (iv *interval) reset() {
	iv.lat.Reset()
	iv.svc.Reset()
	iv.upd.Reset()
	iv.stale.Reset()
	iv.c = counts{}
	clear(iv.errKinds)
}

// merge adds o into iv.
func (iv *interval) merge(o *interval) {
	iv.lat.Merge(o.lat)
	iv.svc.Merge(o.svc)
	iv.upd.Merge(o.upd)
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

// tierIndex maps a served-from tier to its slot in counts.served.
const (
	servedL1 = iota
	servedL2
	servedL3
	servedOrigin
)

// Read records one read: latency from its intended start, service time from when work on
// it began, the tier that served it (servedL1..servedOrigin, or -1 for none), and the
// staleness verdict (checked, and if stale by how much), and the value's size.
func (r *Recorder) Read(latency, service time.Duration, served int, notFound, checked, stale bool, staleBy time.Duration, size int) {
	r.mu.Lock()
	iv := r.cur
	iv.c.bytes += int64(size)
	recordUS(iv.lat, latency)
	recordUS(iv.svc, service)
	iv.c.gets++
	if served >= 0 {
		iv.c.served[served]++
	}
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

// Error records a failed request of either kind.
func (r *Recorder) Error(latency time.Duration, isRead bool, err error) {
	kind := errorKind(err)
	r.mu.Lock()
	iv := r.cur
	if isRead {
		iv.c.gets++
		recordUS(iv.lat, latency)
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
