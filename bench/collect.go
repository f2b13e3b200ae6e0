package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
	"github.com/cachebench/cachebench/reports"
)

// collector takes every recorder's interval once a second, merges them into the run's
// totals and the timeline, and draws the progress line.
type collector struct {
	r        *runner
	total    *interval
	timeline []reports.Second
	// cacheAt and cacheNow are the caches' counters at the start of the measured part and
	// at the last tick: background refreshes belong to no request and are counted by time.
	cacheAt, cacheNow cachecore.Stats
	overlay0          uint64              // the overlay's 429 count at the start of the measured part
	overlayAt         stripeoverlay.Stats // the overlay's counters at the start of the measured part
	appliedAt         int64               // webhook events applied and rejected before it
	rejectedAt        int64
	l2At, l3At        cachecore.TierStats   // the L2 and L3 counters at the start of the measured part
	originAt          cachecore.OriginStats // the origins' counters at the start of it
	servers0          serverCounters        // the services' own counters at the start of it
	lastCold          int64
	based             bool
	scratch           *interval
}

func newCollector(r *runner) *collector {
	return &collector{r: r, total: newInterval(), scratch: newInterval()}
}

// loop ticks at each whole second of the measured part until stop is closed, then takes
// the last partial second.
func (c *collector) loop(stop <-chan struct{}) {
	// Warm-up: wait for the measured part, then take the baselines.
	select {
	case <-time.After(time.Until(c.r.measured)):
	case <-stop:
	}
	c.baseline()
	for sec := 1; ; sec++ {
		next := c.r.measured.Add(time.Duration(sec) * time.Second)
		select {
		case <-time.After(time.Until(next)):
			c.tick(sec-1, false)
		case <-stop:
			c.tick(sec-1, true)
			return
		}
	}
}

func (c *collector) baseline() {
	c.servers0 = c.r.readServers()
	c.cacheAt = c.r.exec.cacheStats()
	c.cacheNow = c.cacheAt
	c.overlayAt = c.r.world.Overlay.Stats()
	c.overlay0 = c.overlayAt.RateLimited
	c.appliedAt, c.rejectedAt = c.r.applied.Load(), c.r.rejected.Load()
	c.r.exec.mark()
	c.l2At, c.l3At = c.r.exec.tierStats()
	c.originAt = c.r.exec.originStats()
	_, c.lastCold = c.r.exec.sample()
	c.based = true
	c.r.probe.baseline()
}

// tick merges what the recorders gathered into second sec of the timeline.
func (c *collector) tick(sec int, last bool) {
	iv := c.scratch
	iv.reset()
	for _, rec := range c.r.recorders {
		got := rec.take()
		iv.merge(got)
		rec.give(got)
	}
	c.total.merge(iv)
	c.r.probe.sample()
	cs := c.r.exec.cacheStats()
	refresh := subRefresh(cs.Refresh, c.cacheNow.Refresh)
	envs, cold := c.r.exec.sample()
	p := c.r.s.Cache
	hits := tierRatios(&iv.c, p.L1.Enabled, p.L2.Enabled, p.L3.Enabled)
	second := reports.Second{
		TS:          sec,
		Requests:    iv.c.gets + iv.c.updates,
		P50US:       float64(iv.lat.ValueAtQuantile(50)),
		P99US:       float64(iv.lat.ValueAtQuantile(99)),
		L1HitRatio:  hits[0].HitRatio,
		L2HitRatio:  hits[1].HitRatio,
		L3HitRatio:  hits[2].HitRatio,
		Errors:      iv.c.errors,
		OriginCalls: iv.c.calls + int64(refresh.Calls),
		RateLimited: iv.c.rateLimited + int64(refresh.RateLimited),
		StaleReads:  iv.c.stale,
		ColdStarts:  iv.c.coldStarts,
		Envs:        envs,
	}
	if last {
		// The run ended inside this second: say how much of it there was.
		if got := time.Since(c.r.measured.Add(time.Duration(sec) * time.Second)).Seconds(); got < 1 {
			second.Partial, second.LengthS = true, max(got, 1e-3)
		}
	}
	c.cacheNow = cs
	c.lastCold = cold
	if !last || second.Requests > 0 {
		c.timeline = append(c.timeline, second)
	}
	if w := c.r.opt.Progress; w != nil {
		if last {
			fmt.Fprint(w, "\r\033[K")
		} else {
			fmt.Fprint(w, "\r\033[K"+c.progressLine(sec+1, second))
		}
	}
}

// progressLine is the live line: time, rate, p99, hit ratios, errors, time left.
func (c *collector) progressLine(elapsed int, s reports.Second) string {
	var b strings.Builder
	d := c.r.length
	if c.r.s.Requests > 0 {
		fmt.Fprintf(&b, "%4ds  %6d/%d req", elapsed, c.total.c.gets+c.total.c.updates, c.r.s.Requests)
	} else {
		fmt.Fprintf(&b, "%4ds/%s", elapsed, d)
	}
	fmt.Fprintf(&b, "  %6d req/s  p99 %s", s.Requests, reports.FormatUS(s.P99US))
	if c.r.s.Cache.L1.Enabled {
		fmt.Fprintf(&b, "  L1 %5.1f%%", 100*s.L1HitRatio)
	}
	if c.r.s.Cache.L2.Enabled {
		fmt.Fprintf(&b, "  L2 %5.1f%%", 100*s.L2HitRatio)
	}
	fmt.Fprintf(&b, "  origin %d/s", s.OriginCalls)
	fmt.Fprintf(&b, "  err %d", c.total.c.errors)
	if s.RateLimited > 0 {
		fmt.Fprintf(&b, "  429 %d", s.RateLimited)
	}
	if s.Envs > 0 {
		fmt.Fprintf(&b, "  envs %d", s.Envs)
	}
	if c.r.s.Requests == 0 {
		left := d - time.Duration(elapsed)*time.Second
		if left < 0 {
			left = 0
		}
		fmt.Fprintf(&b, "  left %s", left.Round(time.Second))
	}
	return b.String()
}

// tierRatios turns the reads' lookups into per-tier hits and misses. Each read counts at
// every tier it looked up (cachecore.Trace): a read reaches L2 when L1 missed, and so on,
// so the ratio of each tier is over the reads that reached it.
func tierRatios(c *counts, l1, l2, l3 bool) [3]reports.TierStats {
	var out [3]reports.TierStats
	enabled := [3]bool{l1, l2, l3}
	for i := 0; i < 3; i++ {
		out[i].Enabled = enabled[i]
		if !enabled[i] {
			continue
		}
		out[i].Hits = c.hits[i]
		out[i].Misses = c.lookups[i] - c.hits[i]
		out[i].Coalesced = c.joined[i]
		if i == 1 {
			out[i].Rereads = c.rereads
		}
		out[i].Failed = c.failed[i]
		if c.lookups[i] > 0 {
			out[i].HitRatio = float64(c.hits[i]) / float64(c.lookups[i])
		}
	}
	return out
}

// subRefresh returns the refresh counters of a that came after b.
func subRefresh(a, b cachecore.RefreshCounts) cachecore.RefreshCounts {
	return cachecore.RefreshCounts{
		Done: a.Done - b.Done, Fetches: a.Fetches - b.Fetches,
		Calls: a.Calls - b.Calls, Retries: a.Retries - b.Retries, RateLimited: a.RateLimited - b.RateLimited,
	}
}
