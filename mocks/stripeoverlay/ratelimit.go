package stripeoverlay

import (
	"math"
	"net/http"
	"path"
	"sort"
	"time"

	"golang.org/x/time/rate"
)

// limiter is the overlay's rate limiter: token buckets for reads and writes, and one
// per PerPath pattern, all global to the overlay.
type limiter struct {
	read, write *rate.Limiter
	paths       []pathLimit // sorted by pattern, for a stable order
}

type pathLimit struct {
	pattern string
	lim     *rate.Limiter
}

func newLimiter(l *Limits) *limiter {
	if l == nil {
		return nil
	}
	bucket := func(r float64) int {
		if l.Burst > 0 {
			return l.Burst
		}
		return max(1, int(math.Ceil(r)))
	}
	lm := &limiter{
		read:  rate.NewLimiter(rate.Limit(l.Read), bucket(l.Read)),
		write: rate.NewLimiter(rate.Limit(l.Write), bucket(l.Write)),
	}
	for p, r := range l.PerPath {
		lm.paths = append(lm.paths, pathLimit{pattern: p, lim: rate.NewLimiter(rate.Limit(r), max(1, int(math.Ceil(r))))})
	}
	sort.Slice(lm.paths, func(i, j int) bool { return lm.paths[i].pattern < lm.paths[j].pattern })
	return lm
}

// allow takes a token from every bucket the request counts against, or from none: a
// request refused by one bucket costs nothing in the others.
func (l *limiter) allow(now time.Time, write bool, urlPath string) bool {
	if l == nil {
		return true
	}
	var taken []*rate.Reservation
	undo := func() {
		for _, r := range taken {
			r.CancelAt(now)
		}
	}
	try := func(lim *rate.Limiter) bool {
		r := lim.ReserveN(now, 1)
		if !r.OK() || r.DelayFrom(now) > 0 {
			r.CancelAt(now)
			return false
		}
		taken = append(taken, r)
		return true
	}
	for _, p := range l.paths {
		if ok, _ := path.Match(p.pattern, urlPath); ok && !try(p.lim) {
			undo()
			return false
		}
	}
	global := l.read
	if write {
		global = l.write
	}
	if !try(global) {
		undo()
		return false
	}
	return true
}

// isWrite reports whether Stripe counts a request of this method as a write operation.
func isWrite(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}
