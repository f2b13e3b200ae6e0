package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/netsim"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// vfaults is the fault timeline on the virtual clock. Each window [at, at+for) of the
// measured part starts and ends at its simulated instants, in order with the requests.
// Stripe's HTTP kinds (rate_limit, errors) are the overlay's own injection, turned on
// and off at those instants. The network kinds act where a cache meets a service: its
// L2 and L3 tiers (cachecore.Tier) and its Stripe client's transport, so the cache's
// own time-outs, fall-through, counters and the origin's retries run as in real time:
//
//   - down and reset fail the call at once with a refused or reset connection;
//   - pause holds it until its context's deadline (the cache's time-out for that tier,
//     the origin's for Stripe): the call returns a time-out at once and that time is
//     charged to the read's modelled latency;
//   - latency adds latency ± jitter (a normal draw, clamped at 0) and bandwidth adds
//     the answer's bytes over the limit to the read's modelled latency; a call whose
//     added time reaches its deadline times out instead.
//
// Only lookups are charged, as the latency model charges one round trip per tier a read
// reached; writes fail as they would, and are free. Time is charged per read (begin): a
// deadline is measured on the wall clock from when its context was made, less what the
// read was charged since, so one tier's time-out does not eat the next one's. The origin
// waits between its attempts on this clock too (sleep).
type vfaults struct {
	mu      sync.Mutex
	windows []*vwindow
	overlay *stripeoverlay.Overlay
	rng     *rand.Rand
	active  map[string][]netsim.Fault // by target, now
	// spent is the modelled time the current read spent in faults and waits; seen maps
	// each context deadline met during it to spent at that moment.
	spent time.Duration
	seen  map[time.Time]time.Duration
}

// vwindow is one fault of the timeline.
type vwindow struct {
	f          scenarios.Fault
	start, end time.Duration // from the start of the run (warm-up included)
	on, done   bool
	clear      func() error
	err        error
}

// newVFaults builds the timeline of s's faults, whose at counts from the end of the
// warm-up, as in real time.
func newVFaults(s *scenarios.Scenario, overlay *stripeoverlay.Overlay) *vfaults {
	v := &vfaults{overlay: overlay, rng: rand.New(rand.NewPCG(uint64(s.Seed), 0xfa17)), active: map[string][]netsim.Fault{}, seen: map[time.Time]time.Duration{}}
	for _, f := range s.Faults {
		v.windows = append(v.windows, &vwindow{f: f, start: s.Warmup + f.At, end: s.Warmup + f.At + f.For})
	}
	return v
}

// virtualFaultRefusals says which faults the virtual clock cannot replay.
func virtualFaultRefusals(s *scenarios.Scenario) []error {
	var errs []error
	for _, f := range s.Faults {
		switch f.Kind {
		case netsim.KindDown, netsim.KindReset, netsim.KindPause, netsim.KindLatency, netsim.KindBandwidth, netsim.KindRateLimit, netsim.KindErrors:
		default:
			errs = append(errs, fmt.Errorf("faults: kind %s on %s: clock: virtual replays down, reset, pause, latency, bandwidth, rate_limit and errors; use clock: real", f.Kind, f.Target))
		}
		if f.Target == mocks.ServiceRedis && s.Cache.L1.Enabled && s.Cache.L1.Policy == scenarios.PolicyTracking {
			errs = append(errs, errors.New("faults on redis with cache.l1.policy tracking: clock: virtual injects Redis faults at the cache's L2 tier, which a tracking L1 must reach directly; use another policy or clock: real"))
		}
	}
	return errs
}

// advance starts and ends the windows whose instants are at or before at (from the
// start of the run).
func (v *vfaults) advance(at time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	changed := false
	for _, w := range v.windows {
		switch {
		case w.done:
		case !w.on && at >= w.end:
			w.done, changed = true, true // between two requests: nothing met it
		case !w.on && at >= w.start:
			w.on, changed = true, true
			if w.f.Kind == netsim.KindRateLimit || w.f.Kind == netsim.KindErrors {
				w.clear, w.err = v.overlay.Inject(netsim.Fault{Kind: w.f.Kind, Rate: w.f.Rate})
			}
		case w.on && at >= w.end:
			w.on, w.done, changed = false, true, true
			if w.clear != nil {
				_ = w.clear()
			}
		}
	}
	if !changed {
		return
	}
	clear(v.active)
	for _, w := range v.windows {
		if w.on && w.err == nil {
			v.active[w.f.Target] = append(v.active[w.f.Target], netsim.Fault{
				Kind: w.f.Kind, Latency: w.f.Latency, Jitter: w.f.Jitter, Bandwidth: int64(w.f.Bandwidth), Rate: w.f.Rate,
			})
		}
	}
}

// report is the result's faults, at and for from the start of the measured part.
func (v *vfaults) report(warmup, horizon time.Duration) []reports.Fault {
	out := make([]reports.Fault, 0, len(v.windows))
	for _, w := range v.windows {
		f := reports.Fault{
			Target: w.f.Target, Kind: w.f.Kind, AtS: w.f.At.Seconds(), ForS: w.f.For.Seconds(),
			StartS: (w.start - warmup).Seconds(), EndS: (min(w.end, horizon) - warmup).Seconds(),
		}
		if w.start >= horizon {
			f.StartS, f.EndS = 0, 0
			f.Err = "after the end of the run"
		}
		if w.err != nil {
			f.Err = w.err.Error()
		}
		out = append(out, f)
	}
	return out
}

// begin starts a read: the time charged so far is the previous read's.
func (v *vfaults) begin() {
	v.mu.Lock()
	v.spent = 0
	clear(v.seen)
	v.mu.Unlock()
}

// charged is the modelled time the current read spent in faults and waits.
func (v *vfaults) charged() time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.spent
}

// remaining is how long ctx has left on the virtual clock; the caller holds v.mu.
func (v *vfaults) remaining(ctx context.Context) time.Duration {
	dl, ok := ctx.Deadline()
	if !ok {
		return time.Hour
	}
	first, ok := v.seen[dl]
	if !ok {
		v.seen[dl], first = v.spent, v.spent
	}
	return time.Until(dl) - (v.spent - first)
}

// errFaultTimeout is a call a fault held until its context's deadline: on the virtual
// clock it returns at once, and its time is charged. It reads as the deadline passing.
type errFaultTimeout struct{ target string }

func (e errFaultTimeout) Error() string {
	return e.target + ": i/o timeout (fault, virtual clock)"
}

// Timeout marks it a time-out, as a net.Error.
func (errFaultTimeout) Timeout() bool { return true }

// Is makes it read as context.DeadlineExceeded, as the cache's own time-out would.
func (errFaultTimeout) Is(target error) bool { return target == context.DeadlineExceeded }

// faultOpError is the network error a down or reset connection gives.
func faultOpError(op string, err error) error { return &net.OpError{Op: op, Net: "tcp", Err: err} }

// call runs do, one call to target, under the faults active on it; charge says whether
// its added time counts for the read (lookups do, writes do not). do returns the bytes
// the answer carried.
func (v *vfaults) call(ctx context.Context, target string, charge bool, do func() (int, error)) error {
	v.mu.Lock()
	fs := v.active[target]
	if len(fs) == 0 {
		v.mu.Unlock()
		_, err := do()
		return err
	}
	rem := v.remaining(ctx)
	var extra time.Duration
	var bandwidth int64
	for _, f := range fs {
		switch f.Kind {
		case netsim.KindDown:
			v.mu.Unlock()
			return faultOpError("dial", syscall.ECONNREFUSED)
		case netsim.KindReset:
			v.mu.Unlock()
			return faultOpError("read", syscall.ECONNRESET)
		case netsim.KindPause:
			if charge {
				v.spent += max(rem, 0)
			}
			v.mu.Unlock()
			return errFaultTimeout{target: target}
		case netsim.KindLatency:
			extra += max(f.Latency+time.Duration(v.rng.NormFloat64()*float64(f.Jitter)), 0)
		case netsim.KindBandwidth:
			if bandwidth == 0 || f.Bandwidth < bandwidth {
				bandwidth = f.Bandwidth
			}
		}
	}
	v.mu.Unlock()
	n, err := do()
	if bandwidth > 0 {
		extra += time.Duration(float64(n) / float64(bandwidth) * float64(time.Second))
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if extra >= rem {
		if charge {
			v.spent += max(rem, 0)
		}
		return errFaultTimeout{target: target}
	}
	if charge {
		v.spent += extra
	}
	return err
}

// sleep is the origin's wait between attempts (cachecore.StripeOriginConfig.Sleep) on
// the virtual clock: charged to the read, or its context's deadline when that comes
// first.
func (v *vfaults) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if rem := v.remaining(ctx); d >= rem {
		v.spent += max(rem, 0)
		return context.DeadlineExceeded
	}
	v.spent += max(d, 0)
	return nil
}

// targets reports whether some fault of the timeline is on target.
func (v *vfaults) targets(target string) bool {
	for _, w := range v.windows {
		if w.f.Target == target {
			return true
		}
	}
	return false
}

// tier returns t under the faults on target, or t itself when none is.
func (v *vfaults) tier(target string, t cachecore.Tier) cachecore.Tier {
	if v == nil || !v.targets(target) {
		return t
	}
	return faultTier{Tier: t, target: target, f: v}
}

// httpClient returns hc under the faults on target, or hc itself when none is.
func (v *vfaults) httpClient(target string, hc *http.Client) *http.Client {
	if v == nil || !v.targets(target) {
		return hc
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	return &http.Client{Timeout: hc.Timeout, Transport: faultTransport{next: next, target: target, f: v}}
}

// faultTier is a cache tier under the virtual clock's faults.
type faultTier struct {
	cachecore.Tier
	target string
	f      *vfaults
}

func (t faultTier) Get(ctx context.Context, key string) (cachecore.Entry, bool, error) {
	var e cachecore.Entry
	var found bool
	if err := t.f.call(ctx, t.target, true, func() (int, error) {
		var err error
		e, found, err = t.Tier.Get(ctx, key)
		return len(key) + len(e.Value), err
	}); err != nil {
		return cachecore.Entry{}, false, err
	}
	return e, found, nil
}

func (t faultTier) GetMulti(ctx context.Context, keys []string) ([]cachecore.Entry, []bool, error) {
	var es []cachecore.Entry
	var found []bool
	if err := t.f.call(ctx, t.target, true, func() (int, error) {
		var err error
		es, found, err = t.Tier.GetMulti(ctx, keys)
		n := 0
		for i := range es {
			n += len(es[i].Value)
		}
		return n, err
	}); err != nil {
		return nil, nil, err
	}
	return es, found, nil
}

func (t faultTier) SetIfNewer(ctx context.Context, key string, e cachecore.Entry) (bool, error) {
	var stored bool
	err := t.f.call(ctx, t.target, false, func() (int, error) {
		var err error
		stored, err = t.Tier.SetIfNewer(ctx, key, e)
		return len(key) + len(e.Value), err
	})
	return stored && err == nil, err
}

func (t faultTier) SetMulti(ctx context.Context, keys []string, es []cachecore.Entry) error {
	return t.f.call(ctx, t.target, false, func() (int, error) { return 0, t.Tier.SetMulti(ctx, keys, es) })
}

func (t faultTier) Delete(ctx context.Context, key string) error {
	return t.f.call(ctx, t.target, false, func() (int, error) { return 0, t.Tier.Delete(ctx, key) })
}

// faultTransport is an HTTP client's transport under the virtual clock's faults.
type faultTransport struct {
	next   http.RoundTripper
	target string
	f      *vfaults
}

func (t faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var resp *http.Response
	err := t.f.call(r.Context(), t.target, true, func() (int, error) {
		var err error
		if resp, err = t.next.RoundTrip(r); err != nil {
			return 0, err
		}
		return int(max(resp.ContentLength, 0)), nil
	})
	if err != nil {
		if resp != nil {
			_ = resp.Body.Close()
		}
		return nil, err
	}
	return resp, nil
}
