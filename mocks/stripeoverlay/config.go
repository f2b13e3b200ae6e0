package stripeoverlay

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// Rate-limit modes, after Stripe's basic rate limiter (https://docs.stripe.com/rate-limits):
// live mode allows 100 read and 100 write operations per second, test mode (sandboxes) 25
// and 25; the Search API allows 20 reads per second in both, counted in addition to the
// basic limits.
const (
	ModeTest = "test" // 25 reads/s and 25 writes/s, search 20/s (the default)
	ModeLive = "live" // 100 reads/s and 100 writes/s, search 20/s
	ModeNone = "none" // no rate limiter
)

// SearchPattern is the PerPath pattern of Stripe's search endpoints
// (/v1/customers/search, /v1/subscriptions/search, ...).
const SearchPattern = "/v1/*/search"

// Defaults of Config and WebhookConfig.
const (
	DefaultSecret     = "whsec_cachebench"
	DefaultAPIKey     = "sk_test_cachebench"
	DefaultMaxHold    = time.Second
	DefaultTimeout    = 10 * time.Second
	DefaultMaxPending = 100000
)

// Config configures an Overlay. Zero values mean the documented defaults.
type Config struct {
	// Upstream is stripe-mock's base URL, e.g. http://127.0.0.1:12111. Required.
	Upstream string
	// Mode picks the rate-limit preset: "test" (default), "live" or "none". See ModeTest.
	Mode string
	// Limits overrides the preset's limits; nil means the preset's. It cannot be set with
	// Mode "none".
	Limits *Limits
	// Webhook configures event delivery.
	Webhook WebhookConfig
	// Seed seeds every random choice the overlay makes (injected errors, webhook
	// duplicates, reordering and jitter, event and request IDs). Equal seeds give equal
	// sequences of choices; which request or event meets which choice still depends on
	// the order they arrive in.
	Seed int64
	// Now is the clock of versions, event creation times and the rate limiter; nil means
	// time.Now. Webhook delays run on the real clock too, unless Webhook.Manual puts them
	// on this one; signature timestamps always use the real clock (a signature must
	// verify against the receiver's clock).
	Now func() time.Time
	// APIKey is the key the overlay's own upstream calls send (Update and Delete); HTTP
	// requests are forwarded with the caller's Authorization. Empty means DefaultAPIKey.
	APIKey string
	// RateLimitShouldRetry is the Stripe-Should-Retry header of a 429: "" (default) sends
	// none, as Stripe's rate limiter does (Stripe's libraries do not retry a rate-limit
	// 429 on their own; clients back off by status), "true" or "false" send that value.
	RateLimitShouldRetry string
	// HTTPClient makes upstream calls and webhook deliveries to URLs; nil means a client
	// of the overlay's own with a 30 s time-out.
	HTTPClient *http.Client
	// ServerLog receives the error lines of the overlay's HTTP server (accept errors,
	// bad requests) once started; nil leaves them to the log package's standard logger.
	ServerLog io.Writer
}

// Limits are the rate limiter's settings. The limits are global to the overlay, as
// Stripe's are to an account.
type Limits struct {
	// Read is the read (GET, HEAD) operations per second; 0 means the mode's.
	Read float64
	// Write is the write (POST, DELETE, ...) operations per second; 0 means the mode's.
	Write float64
	// Burst is the size of the Read and Write token buckets; 0 means one second of each
	// rate, rounded up.
	Burst int
	// PerPath maps a path pattern (path.Match syntax, e.g. SearchPattern) to requests per
	// second for the paths it matches, counted in addition to Read and Write, with a
	// bucket of one second of its rate. nil means the mode's ({SearchPattern: 20}); an
	// empty map means none.
	PerPath map[string]float64
}

// WebhookConfig configures how events reach subscribers. Every subscriber gets every
// event emitted after it subscribed.
type WebhookConfig struct {
	// Secret signs the Stripe-Signature header; empty means DefaultSecret.
	Secret string
	// Delay is the mean time from a change to its event's delivery; 0 delivers at once.
	Delay time.Duration
	// Jitter spreads each delay uniformly over [Delay-Jitter, Delay+Jitter], clamped at
	// zero (so with Jitter > Delay the mean is a little above Delay).
	Jitter time.Duration
	// Duplicates is the share of events delivered twice, in [0, 1]; the second copy
	// follows the first after another delay.
	Duplicates float64
	// Reorder is the share of events delivered after the next event, in [0, 0.5]: such
	// an event is held until the next one is scheduled and then goes right after it. At
	// most every other event can come after its successor, hence the bound.
	Reorder float64
	// MaxHold is how long a held event waits for a next one before it is delivered in
	// order (and not counted as reordered); 0 means DefaultMaxHold.
	MaxHold time.Duration
	// Timeout bounds one delivery (a subscriber's call or HTTP POST); 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxPending bounds the deliveries waiting per subscriber; an event beyond it is
	// dropped and counted. 0 means DefaultMaxPending.
	MaxPending int
	// Manual leaves the sending to the caller, for a discrete-event simulation: no
	// goroutine delivers events; Deliver sends those due by an instant of the Config.Now
	// clock, on which Delay, Jitter and MaxHold then run, and NextDelivery says when the
	// next one is due. Duplicates and reordering are drawn as without it.
	Manual bool
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("stripeoverlay: Config."+format, args...))
	}
	if c.Upstream == "" {
		bad("Upstream is required: stripe-mock's base URL, e.g. http://127.0.0.1:12111")
	} else if u, err := url.Parse(c.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("Upstream %q is not an http(s) base URL", c.Upstream)
	}
	switch c.Mode {
	case "", ModeTest, ModeLive:
	case ModeNone:
		if c.Limits != nil {
			bad("Limits is set but Mode is %q (no rate limiter)", ModeNone)
		}
	default:
		bad("Mode %q is unknown: want %q, %q or %q", c.Mode, ModeTest, ModeLive, ModeNone)
	}
	if l := c.Limits; l != nil {
		if !validRate(l.Read) {
			bad("Limits.Read %v is invalid: want operations per second > 0, or 0 for the mode's", l.Read)
		}
		if !validRate(l.Write) {
			bad("Limits.Write %v is invalid: want operations per second > 0, or 0 for the mode's", l.Write)
		}
		if l.Burst < 0 {
			bad("Limits.Burst %d is negative: want a bucket size > 0, or 0 for one second of each rate", l.Burst)
		}
		for p, r := range l.PerPath {
			if _, err := path.Match(p, "/v1/x"); err != nil || !strings.HasPrefix(p, "/") {
				bad("Limits.PerPath pattern %q is not a path.Match pattern starting with /", p)
			}
			if !validRate(r) || r == 0 {
				bad("Limits.PerPath[%q] %v is invalid: want requests per second > 0", p, r)
			}
		}
	}
	switch c.RateLimitShouldRetry {
	case "", "true", "false":
	default:
		bad("RateLimitShouldRetry %q is invalid: want \"\", \"true\" or \"false\"", c.RateLimitShouldRetry)
	}
	w := c.Webhook
	if w.Delay < 0 {
		bad("Webhook.Delay %v is negative", w.Delay)
	}
	if w.Jitter < 0 {
		bad("Webhook.Jitter %v is negative", w.Jitter)
	}
	if !(w.Duplicates >= 0 && w.Duplicates <= 1) {
		bad("Webhook.Duplicates %v is not a share in [0, 1]", w.Duplicates)
	}
	if !(w.Reorder >= 0 && w.Reorder <= 0.5) {
		bad("Webhook.Reorder %v is not a share in [0, 0.5] (at most every other event can come after its successor)", w.Reorder)
	}
	if w.MaxHold < 0 {
		bad("Webhook.MaxHold %v is negative", w.MaxHold)
	}
	if w.Timeout < 0 {
		bad("Webhook.Timeout %v is negative", w.Timeout)
	}
	if w.MaxPending < 0 {
		bad("Webhook.MaxPending %d is negative", w.MaxPending)
	}
	return errors.Join(errs...)
}

func validRate(r float64) bool { return r >= 0 && !math.IsNaN(r) && !math.IsInf(r, 0) }

// limitsFor returns the limits of a mode with overrides applied; nil for ModeNone.
func limitsFor(mode string, over *Limits) *Limits {
	var l Limits
	switch mode {
	case ModeNone:
		return nil
	case ModeLive:
		l = Limits{Read: 100, Write: 100}
	default:
		l = Limits{Read: 25, Write: 25}
	}
	l.PerPath = map[string]float64{SearchPattern: 20}
	if over != nil {
		if over.Read > 0 {
			l.Read = over.Read
		}
		if over.Write > 0 {
			l.Write = over.Write
		}
		l.Burst = over.Burst
		if over.PerPath != nil {
			l.PerPath = make(map[string]float64, len(over.PerPath))
			for p, r := range over.PerPath {
				l.PerPath[p] = r
			}
		}
	}
	return &l
}
