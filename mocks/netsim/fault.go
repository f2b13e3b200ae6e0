package netsim

import "time"

// Fault kinds. The network kinds apply to any service through its proxy; the HTTP kinds
// apply to the Stripe API only and are served by the Stripe overlay.
const (
	KindDown      = "down"       // refuse new connections and cut open ones
	KindPause     = "pause"      // accept connections but pass no bytes until the fault ends
	KindLatency   = "latency"    // add Latency (± Jitter) to every round trip
	KindReset     = "reset"      // reset connections (TCP RST) as data arrives
	KindBandwidth = "bandwidth"  // limit throughput to Bandwidth bytes per second each way
	KindRateLimit = "rate_limit" // HTTP: answer every request 429 like Stripe's rate limiter
	KindErrors    = "errors"     // HTTP: answer Rate of the requests with a 500
	// KindFailover kills a Redis primary so that a replica is promoted; the injector of
	// a replicated or cluster Redis the environment started serves it, not a proxy.
	KindFailover = "failover"
)

// Fault is one fault to inject, without its timing.
type Fault struct {
	Kind string
	// Latency and Jitter (standard deviation) of a latency fault.
	Latency, Jitter time.Duration
	// Bandwidth of a bandwidth fault, in bytes per second.
	Bandwidth int64
	// Rate is the share of requests an errors fault fails, in (0, 1].
	Rate float64
}

// Injector is something a fault can be injected into: a Proxy for network kinds, the
// Stripe overlay for the HTTP kinds. Inject starts the fault at once and returns the
// function that ends it.
type Injector interface {
	Inject(f Fault) (clear func() error, err error)
}
