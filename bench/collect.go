package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/reports"
)

// collector takes every recorder's interval once a second, merges them into the run's
// totals and the timeline, and draws the progress line.
type collector struct {
	r          *runner
	total      *interval
	timeline   []reports.Second
	originAt   cachecore.OriginStats // origin counters at the start of the measured part
	originNow  cachecore.OriginStats
	overlay0   uint64
	l2At, l3At cachecore.TierStats // the L2 and L3 counters at the start of the measured part // the overlay's 429 count at the start of the measured part
	lastCold   int64
	based      bool
	scratch    *interval
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
	c.originAt = c.r.exec.originStats()
	c.originNow = c.originAt
	c.overlay0 = c.r.world.Overlay.Stats().RateLimited
	c.r.exec.mark()
	c.l2At, c.l3At = c.r.exec.tierStats()
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
	origin := c.r.exec.originStats()
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
		OriginCalls: int64(origin.Calls - c.originNow.Calls),
		RateLimited: int64(origin.RateLimited - c.originNow.RateLimited),
		StaleReads:  iv.c.stale,
		ColdStarts:  cold - c.lastCold,
		Envs:        envs,
	}
	if last {
		// The run ended inside this second: say how much of it there was.
		if got := time.Since(c.r.measured.Add(time.Duration(sec) * time.Second)).Seconds(); got < 1 {
			second.Partial, second.LengthS = true, max(got, 1e-3)
		}
	}
	c.originNow = origin
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

// tierRatios turns served-by counts into per-tier hits and misses. A read reaches L1 if
// there is one; it reaches L2 when no tier above answered, and so on: the ratio of each
// tier is over the reads that reached it.
func tierRatios(c *counts, l1, l2, l3 bool) [3]reports.TierStats {
	reached := c.served[servedL1] + c.served[servedL2] + c.served[servedL3] + c.served[servedOrigin]
	var out [3]reports.TierStats
	enabled := [3]bool{l1, l2, l3}
	for i := 0; i < 3; i++ {
		out[i].Enabled = enabled[i]
		if !enabled[i] {
			continue
		}
		hits := c.served[i]
		out[i].Hits = hits
		out[i].Misses = reached - hits
		if reached > 0 {
			out[i].HitRatio = float64(hits) / float64(reached)
		}
		reached -= hits
	}
	return out
}
