package stripeoverlay

import (
	"fmt"
	"sync"

	"github.com/cachebench/cachebench/mocks/netsim"
)

var _ netsim.Injector = (*Overlay)(nil)

// Inject starts an HTTP fault at once and returns the function that ends it; ending it
// twice is harmless. netsim.KindRateLimit answers every request 429 (Stripe's rate-limit
// error, counted in RateLimited and InjectedRateLimited) until cleared, a "429 storm";
// netsim.KindErrors answers f.Rate of the requests (drawn from the seeded source) with a
// Stripe-shaped 500 api_error. Faults stack: several errors faults fail a request when
// any of them picks it. The network kinds (down, pause, latency, reset, bandwidth) are
// served by the netsim proxy in front of the overlay, not here.
func (o *Overlay) Inject(f netsim.Fault) (clear func() error, err error) {
	switch f.Kind {
	case netsim.KindRateLimit:
	case netsim.KindErrors:
		if !(f.Rate > 0 && f.Rate <= 1) {
			return nil, fmt.Errorf("stripeoverlay: inject %s: Rate %v is not a share in (0, 1]", f.Kind, f.Rate)
		}
	case netsim.KindDown, netsim.KindPause, netsim.KindLatency, netsim.KindReset, netsim.KindBandwidth:
		return nil, fmt.Errorf("stripeoverlay: inject %s: a network fault, served by the netsim proxy in front of the Stripe overlay, not by the overlay (it serves %s and %s)",
			f.Kind, netsim.KindRateLimit, netsim.KindErrors)
	default:
		return nil, fmt.Errorf("stripeoverlay: inject: unknown fault kind %q (the overlay serves %s and %s)", f.Kind, netsim.KindRateLimit, netsim.KindErrors)
	}
	o.faultMu.Lock()
	o.faultSeq++
	id := o.faultSeq
	o.faults[id] = f
	o.faultMu.Unlock()
	var once sync.Once
	return func() error {
		once.Do(func() {
			o.faultMu.Lock()
			delete(o.faults, id)
			o.faultMu.Unlock()
		})
		return nil
	}, nil
}

// activeFaults reports whether a rate_limit fault is on, and the share of requests the
// errors faults fail together.
func (o *Overlay) activeFaults() (storm bool, errRate float64) {
	o.faultMu.RLock()
	defer o.faultMu.RUnlock()
	if len(o.faults) == 0 {
		return false, 0
	}
	pass := 1.0
	for _, f := range o.faults {
		switch f.Kind {
		case netsim.KindRateLimit:
			storm = true
		case netsim.KindErrors:
			pass *= 1 - f.Rate
		}
	}
	return storm, 1 - pass
}
