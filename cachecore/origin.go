package cachecore

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"golang.org/x/time/rate"
)

// VersionMetadataKey is the metadata key the mocks' Stripe overlay stamps with the
// object's version (a decimal integer, as Stripe metadata values are strings).
const VersionMetadataKey = "cachebench_version"

// Rate-limit presets, sized to Stripe's documented API rate limits
// (https://docs.stripe.com/rate-limits, "Rate limiter"): live mode allows 100 read and
// 100 write operations per second, test mode (sandboxes) 25 and 25; the Search API
// allows 20 reads per second in live mode. The origin only reads (GET by ID), so the
// presets are the read limits. The same page lists a default of 25 requests per second
// for each individual endpoint unless noted otherwise, and all of an account's clients
// share the limits: a fleet of instances should divide Rate between them.
const (
	RateLimitTest = "test" // 25 requests per second, burst 25 (the default)
	RateLimitLive = "live" // 100 requests per second, burst 100
	RateLimitNone = "none" // no client-side limiter
)

// ratePreset returns a preset's requests per second. A preset's burst is one second
// of its rate.
func ratePreset(name string) (float64, bool) {
	switch name {
	case RateLimitTest:
		return 25, true
	case RateLimitLive:
		return 100, true
	case RateLimitNone:
		return 0, true
	}
	return 0, false
}

// StripeOriginConfig configures a StripeOrigin.
type StripeOriginConfig struct {
	// Client talks to the Stripe API. Required. Build it with MaxNetworkRetries 0 (as
	// mocks.Env does): retries belong to the origin, which counts them and stops them
	// when the context ends; NewStripeOrigin refuses a client whose backend retries.
	Client *client.API

	// RateLimit picks the limiter preset: "test" (default, 25 req/s), "live" (100 req/s)
	// or "none" (no limiter). See RateLimitTest.
	RateLimit string
	// Rate is the limiter's requests per second; when > 0 it overrides the preset's.
	Rate float64
	// Burst is the token bucket's size; 0 means one second of the rate (rounded up, at
	// least 1), which is the preset's for a preset.
	Burst int

	// Fleet, when set, makes the limit one for every origin sharing it: a GCRA limiter
	// kept in this Redis under FleetKey (go-redis/redis_rate), so that a hundred Lambda
	// environments together stay under Stripe's limit, where each limiting only itself
	// would send a hundred times it. When Redis fails to answer, the origin falls back to
	// a local limiter at 1/FleetShare of the rate (its share of the fleet) and counts the
	// fallback (OriginStats.LimiterFallbacks). Needs a limiter (RateLimit not "none").
	Fleet redis.UniversalClient
	// FleetKey names the shared limiter in Redis; "" means "cachebench:stripe-limit".
	FleetKey string
	// FleetShare is how many origins share the limit, for the fallback; 0 means 1.
	FleetShare int

	// MaxRetries is how many times a failed request is retried: 0 means 3, negative
	// means none.
	MaxRetries int
	// BaseBackoff is the first retry's backoff ceiling; it doubles with each retry, up to
	// MaxBackoff, and the wait is a uniformly random fraction of it (full jitter). 0 means
	// 100ms.
	BaseBackoff time.Duration
	// MaxBackoff caps every wait between attempts, Retry-After included. 0 means 2s.
	MaxBackoff time.Duration
	// Rand is the jitter source, returning values in [0, 1); it must be safe for
	// concurrent use. nil means math/rand/v2's Float64.
	Rand func() float64
	// Sleep waits d between attempts, or until ctx ends and then returns its error. nil
	// means a timer on the wall clock; a simulation passes one on its own clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// OriginStats are a StripeOrigin's counters.
type OriginStats struct {
	// Calls are HTTP requests made, retries included.
	Calls uint64
	// Fetches are Fetch calls.
	Fetches uint64
	// RateLimited are 429 answers.
	RateLimited uint64
	// Retries are requests made again after a failure.
	Retries uint64
	// Errors are fetches that failed in the end, not counting not-found.
	Errors uint64
	// NotFound are fetches answered ErrNotFound.
	NotFound uint64
	// LimiterWait is the total time spent waiting for a rate-limiter token.
	LimiterWait time.Duration
	// LimiterFallbacks are waits for a fleet-wide token that Redis failed to answer, served
	// by the local share instead.
	LimiterFallbacks uint64
}

var _ ReportingOrigin = (*StripeOrigin)(nil)

// StripeOrigin is the cache's only way to Stripe: an Origin that fetches objects by ID
// through stripe-go, behind a client-side token-bucket rate limiter, with retries that
// honour 429, Retry-After and Stripe-Should-Retry. It is safe for concurrent use.
type StripeOrigin struct {
	client      *client.API
	limiter     *rate.Limiter // nil: no limiter; the fallback share when fleet is set
	fleet       *redis_rate.Limiter
	fleetKey    string
	fleetLimit  redis_rate.Limit
	maxRetries  int
	baseBackoff time.Duration
	maxBackoff  time.Duration
	rand        func() float64
	// sleep waits d or until ctx ends; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error

	calls, fetches, rateLimited, retries, errs, notFound atomic.Uint64
	limiterWait                                          atomic.Int64 // nanoseconds
	fallbacks                                            atomic.Uint64
}

// NewStripeOrigin returns a StripeOrigin for cfg, or an error naming every problem in it.
func NewStripeOrigin(cfg StripeOriginConfig) (*StripeOrigin, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("cachecore: StripeOriginConfig."+format, args...))
	}

	switch {
	case cfg.Client == nil:
		bad("Client is required (a stripe-go *client.API)")
	case cfg.Client.Customers == nil || cfg.Client.Subscriptions == nil || cfg.Client.Prices == nil ||
		cfg.Client.Invoices == nil || cfg.Client.Products == nil:
		bad("Client is not initialised (build it with client.New)")
	default:
		if b, ok := cfg.Client.Customers.B.(*stripe.BackendImplementation); ok && b.MaxNetworkRetries > 0 {
			bad("Client retries on its own (MaxNetworkRetries %d): build it with stripe.BackendConfig{MaxNetworkRetries: stripe.Int64(0)}", b.MaxNetworkRetries)
		}
	}

	preset := cfg.RateLimit
	if preset == "" {
		preset = RateLimitTest
	}
	presetRate, ok := ratePreset(preset)
	if !ok {
		bad("RateLimit %q is unknown: want %q, %q or %q", cfg.RateLimit, RateLimitTest, RateLimitLive, RateLimitNone)
	}
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		bad("Rate %v is invalid: want requests per second > 0, or 0 for the preset's", cfg.Rate)
	} else if cfg.Rate > 0 && preset == RateLimitNone {
		bad("Rate %v is set but RateLimit is %q (no limiter)", cfg.Rate, RateLimitNone)
	}
	if cfg.Burst < 0 {
		bad("Burst %d is negative: want a bucket size > 0, or 0 for one second of the rate", cfg.Burst)
	} else if cfg.Burst > 0 && preset == RateLimitNone {
		bad("Burst %d is set but RateLimit is %q (no limiter)", cfg.Burst, RateLimitNone)
	}
	if cfg.BaseBackoff < 0 {
		bad("BaseBackoff %v is negative", cfg.BaseBackoff)
	}
	if cfg.MaxBackoff < 0 {
		bad("MaxBackoff %v is negative", cfg.MaxBackoff)
	}
	if cfg.Fleet != nil && preset == RateLimitNone {
		bad("Fleet is set but RateLimit is %q (no limiter to share)", RateLimitNone)
	}
	if cfg.FleetShare < 0 {
		bad("FleetShare %d is negative", cfg.FleetShare)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	o := &StripeOrigin{
		client:      cfg.Client,
		maxRetries:  cfg.MaxRetries,
		baseBackoff: cfg.BaseBackoff,
		maxBackoff:  cfg.MaxBackoff,
		rand:        cfg.Rand,
		sleep:       cfg.Sleep,
	}
	if o.sleep == nil {
		o.sleep = sleepContext
	}
	switch {
	case o.maxRetries == 0:
		o.maxRetries = 3
	case o.maxRetries < 0:
		o.maxRetries = 0
	}
	if o.baseBackoff == 0 {
		o.baseBackoff = 100 * time.Millisecond
	}
	if o.maxBackoff == 0 {
		o.maxBackoff = 2 * time.Second
	}
	if o.baseBackoff > o.maxBackoff {
		o.baseBackoff = o.maxBackoff
	}
	if o.rand == nil {
		o.rand = rand.Float64
	}
	if preset != RateLimitNone {
		r := presetRate
		if cfg.Rate > 0 {
			r = cfg.Rate
		}
		burst := cfg.Burst
		if burst == 0 {
			burst = max(1, int(math.Ceil(r)))
		}
		o.limiter = rate.NewLimiter(rate.Limit(r), burst)
		if cfg.Fleet != nil {
			share := float64(max(cfg.FleetShare, 1))
			o.fleet = redis_rate.NewLimiter(cfg.Fleet)
			o.fleetKey = cmp.Or(cfg.FleetKey, "cachebench:stripe-limit")
			// redis_rate counts whole requests per period: the rate over one second,
			// or over the seconds that make it whole (2.5/s is 5 per 2 s).
			period := time.Second
			for n := 1; n <= 1000 && r*float64(n) != math.Trunc(r*float64(n)); n++ {
				period = time.Duration(n+1) * time.Second
			}
			// Its burst is a fifth of the bucket: tokens handed out evenly reach Stripe
			// with the jitter of a hundred environments' networks, and the headroom left
			// in Stripe's own bucket absorbs it. A full-size burst at the fleet would let
			// that jitter bunch requests past Stripe's bucket (a 429 now and then).
			o.fleetLimit = redis_rate.Limit{Rate: int(math.Round(r * period.Seconds())), Burst: max(1, burst/5), Period: period}
			// The share's burst rounds down, so the fleet's fallbacks together burst no
			// more than the limit allows (when the fleet is no larger than the burst).
			o.limiter = rate.NewLimiter(rate.Limit(r/share), max(1, int(float64(burst)/share)))
		}
	}
	return o, nil
}

// Stats returns a snapshot of the origin's counters.
func (o *StripeOrigin) Stats() OriginStats {
	return OriginStats{
		Calls:       o.calls.Load(),
		Fetches:     o.fetches.Load(),
		RateLimited: o.rateLimited.Load(),
		Retries:     o.retries.Load(),
		Errors:      o.errs.Load(),
		NotFound:    o.notFound.Load(),
		LimiterWait: time.Duration(o.limiterWait.Load()),

		LimiterFallbacks: o.fallbacks.Load(),
	}
}

// Fetch returns the JSON Stripe sent for the object named by ref (with ref.Expand
// expanded), and the version stamped in its metadata under VersionMetadataKey when there
// is one. A missing object (resource_missing), or a deleted one (Stripe answers a deleted
// customer with "deleted": true), is ErrNotFound.
func (o *StripeOrigin) Fetch(ctx context.Context, ref Ref) ([]byte, int64, bool, error) {
	value, version, ok, _, err := o.FetchReport(ctx, ref)
	return value, version, ok, err
}

// FetchReport is Fetch, with the HTTP requests, retries and 429 answers the fetch took.
func (o *StripeOrigin) FetchReport(ctx context.Context, ref Ref) ([]byte, int64, bool, FetchInfo, error) {
	o.fetches.Add(1)
	var info FetchInfo
	body, err := o.fetch(ctx, ref, &info)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			o.notFound.Add(1)
		} else {
			o.errs.Add(1)
		}
		return nil, 0, false, info, err
	}
	var probe struct {
		Deleted  bool                       `json:"deleted"`
		Metadata map[string]json.RawMessage `json:"metadata"`
	}
	_ = json.Unmarshal(body, &probe) // stripe-go decoded it already; a bad metadata shape just means no version
	if probe.Deleted {
		o.notFound.Add(1)
		return nil, 0, false, info, fmt.Errorf("stripe origin: get %s %q: %w (deleted)", ref.Object, ref.ID, ErrNotFound)
	}
	version, ok := metadataVersion(probe.Metadata[VersionMetadataKey])
	return body, version, ok, info, nil
}

// metadataVersion reads a version from a metadata value: a string holding a decimal
// integer (what Stripe stores), or a bare JSON integer.
func metadataVersion(raw json.RawMessage) (int64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		s = string(raw)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// fetch runs the attempts of one Fetch and returns the response body; info counts them.
func (o *StripeOrigin) fetch(ctx context.Context, ref Ref, info *FetchInfo) ([]byte, error) {
	if err := ref.Validate(); err != nil {
		return nil, fmt.Errorf("stripe origin: get %s %q: %w", ref.Object, ref.ID, err)
	}
	wrap := func(attempts int, err error) error {
		if attempts > 1 {
			return fmt.Errorf("stripe origin: get %s %q (%d attempts): %w", ref.Object, ref.ID, attempts, err)
		}
		return fmt.Errorf("stripe origin: get %s %q: %w", ref.Object, ref.ID, err)
	}
	// ctxErr is the error for a context that ended, with the last failure for context.
	ctxErr := func(attempts int, cause, last error) error {
		if last != nil && !errors.Is(last, cause) {
			return wrap(attempts, fmt.Errorf("%w (last error: %v)", cause, last))
		}
		return wrap(attempts, cause)
	}

	var last error
	for attempt := 0; ; attempt++ {
		if err := o.wait(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, ctxErr(attempt, ctx.Err(), last)
			}
			// The limiter knows the token comes after the context's deadline.
			return nil, ctxErr(attempt, fmt.Errorf("%w: %v", context.DeadlineExceeded, err), last)
		}
		if attempt > 0 {
			o.retries.Add(1)
			info.Retries = sat16(uint64(info.Retries) + 1)
		}
		o.calls.Add(1)
		info.Calls = sat16(uint64(info.Calls) + 1)
		body, err := o.get(ctx, ref)
		if err == nil {
			return body, nil
		}
		last = err
		if ctx.Err() != nil {
			return nil, ctxErr(attempt+1, ctx.Err(), err)
		}

		v := classify(err)
		if v.status == http.StatusTooManyRequests {
			o.rateLimited.Add(1)
			info.RateLimited = sat16(uint64(info.RateLimited) + 1)
		}
		if v.notFound {
			return nil, fmt.Errorf("stripe origin: get %s %q: %w: %w", ref.Object, ref.ID, ErrNotFound, err)
		}
		if !v.retry || attempt >= o.maxRetries {
			return nil, wrap(attempt+1, err)
		}
		if err := o.sleep(ctx, o.backoff(attempt, v.retryAfter)); err != nil {
			return nil, ctxErr(attempt+1, err, last)
		}
	}
}

// wait takes a limiter token, counting the time it took.
func (o *StripeOrigin) wait(ctx context.Context) error {
	if o.limiter == nil {
		return nil
	}
	start := time.Now()
	defer func() { o.limiterWait.Add(int64(time.Since(start))) }()
	for o.fleet != nil {
		res, err := o.fleet.Allow(ctx, o.fleetKey, o.fleetLimit)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			o.fallbacks.Add(1)
			break // Redis did not answer: this origin's share, locally
		}
		if res.Allowed > 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < res.RetryAfter {
			return fmt.Errorf("the fleet's next Stripe token is %v away, after the deadline", res.RetryAfter)
		}
		if err := o.sleep(ctx, res.RetryAfter); err != nil {
			return err
		}
	}
	return o.limiter.Wait(ctx)
}

// get makes one request for ref and returns the body Stripe sent.
func (o *StripeOrigin) get(ctx context.Context, ref Ref) ([]byte, error) {
	var (
		res *stripe.APIResource
		err error
	)
	c := o.client
	switch ref.Object {
	case ObjectCustomer:
		p := &stripe.CustomerParams{}
		setParams(ctx, p, ref.Expand)
		var v *stripe.Customer
		if v, err = c.Customers.Get(ref.ID, p); v != nil {
			res = &v.APIResource
		}
	case ObjectSubscription:
		p := &stripe.SubscriptionParams{}
		setParams(ctx, p, ref.Expand)
		var v *stripe.Subscription
		if v, err = c.Subscriptions.Get(ref.ID, p); v != nil {
			res = &v.APIResource
		}
	case ObjectPrice:
		p := &stripe.PriceParams{}
		setParams(ctx, p, ref.Expand)
		var v *stripe.Price
		if v, err = c.Prices.Get(ref.ID, p); v != nil {
			res = &v.APIResource
		}
	case ObjectInvoice:
		p := &stripe.InvoiceParams{}
		setParams(ctx, p, ref.Expand)
		var v *stripe.Invoice
		if v, err = c.Invoices.Get(ref.ID, p); v != nil {
			res = &v.APIResource
		}
	case ObjectProduct:
		p := &stripe.ProductParams{}
		setParams(ctx, p, ref.Expand)
		var v *stripe.Product
		if v, err = c.Products.Get(ref.ID, p); v != nil {
			res = &v.APIResource
		}
	default: // Validate rules this out
		return nil, fmt.Errorf("unknown object type %q", ref.Object)
	}
	if err != nil {
		return nil, err
	}
	if res == nil || res.LastResponse == nil {
		return nil, errors.New("stripe-go returned no response")
	}
	return res.LastResponse.RawJSON, nil
}

// expandParams is what the Params of every fetched type has: stripe.Params embedded (for
// Context) and an AddExpand of its own.
type expandParams interface {
	stripe.ParamsContainer
	AddExpand(string)
}

func setParams(ctx context.Context, p expandParams, expand []string) {
	p.GetParams().Context = ctx
	for _, e := range expand {
		p.AddExpand(e)
	}
}

// verdict is what a failed request calls for.
type verdict struct {
	status     int           // HTTP status, when known
	notFound   bool          // resource_missing: the answer, not a failure
	retry      bool          // worth another attempt
	retryAfter time.Duration // the server's Retry-After, when given
}

// classify decides what a failed request calls for:
//   - resource_missing is not-found, never retried;
//   - a Stripe-Should-Retry header decides when present ("false": no, "true": yes);
//   - otherwise 429, 409 and 5xx are retried, and other statuses are not;
//   - errors without an HTTP answer (connection refused or reset, time-outs, a body cut
//     short, an error body that is not Stripe's JSON) are retried, except the ones that
//     cannot heal: bad scheme, too many redirects, an untrusted certificate.
func classify(err error) verdict {
	var se *stripe.Error
	if errors.As(err, &se) {
		v := verdict{status: se.HTTPStatusCode}
		var h http.Header
		if se.LastResponse != nil {
			h = se.LastResponse.Header
			if v.status == 0 {
				v.status = se.LastResponse.StatusCode
			}
		}
		if se.Code == stripe.ErrorCodeResourceMissing {
			v.notFound = true
			return v
		}
		v.retryAfter = parseRetryAfter(h.Get("Retry-After"), time.Now())
		switch strings.ToLower(strings.TrimSpace(h.Get("Stripe-Should-Retry"))) {
		case "false":
			return v
		case "true":
			v.retry = true
			return v
		}
		v.retry = retryableStatus(v.status)
		return v
	}
	// stripe-go turns an error answer it cannot decode into a plain error whose message
	// carries the status; a 2xx body it cannot decode will not decode next time either.
	if status, ok := statusOfDecodeError(err); ok {
		return verdict{status: status, retry: retryableStatus(status)}
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &invalidCert) {
		return verdict{}
	}
	msg := err.Error()
	if strings.Contains(msg, "unsupported protocol scheme") || strings.Contains(msg, "stopped after") && strings.HasSuffix(msg, "redirects") {
		return verdict{}
	}
	return verdict{retry: true}
}

func retryableStatus(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusConflict || status >= 500
}

// statusOfDecodeError finds the status in stripe-go's "Couldn't deserialize JSON
// (response status: 502, body sample: ...)" error.
func statusOfDecodeError(err error) (int, bool) {
	const marker = "(response status: "
	msg := err.Error()
	i := strings.Index(msg, marker)
	if i < 0 {
		return 0, false
	}
	rest := msg[i+len(marker):]
	j := strings.IndexByte(rest, ',')
	if j < 0 {
		return 0, false
	}
	status, err := strconv.Atoi(rest[:j])
	if err != nil || status < 100 || status > 599 {
		return 0, false
	}
	return status, true
}

// parseRetryAfter reads a Retry-After header: delay-seconds (fractions accepted) or an
// HTTP date. It returns 0 when there is none or it cannot be read.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(h, 64); err == nil {
		if secs <= 0 || math.IsNaN(secs) || secs > math.MaxInt64/float64(time.Second) {
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// backoff is the wait before retry number attempt+1: a uniformly random fraction of
// min(MaxBackoff, BaseBackoff·2^attempt) (full jitter), raised to the server's
// Retry-After when that is longer, and never more than MaxBackoff.
func (o *StripeOrigin) backoff(attempt int, retryAfter time.Duration) time.Duration {
	ceiling := o.baseBackoff
	for i := 0; i < attempt && ceiling < o.maxBackoff; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, o.maxBackoff)
	f := o.rand()
	if f < 0 || f >= 1 || math.IsNaN(f) {
		f = 0.5
	}
	d := time.Duration(f * float64(ceiling))
	if retryAfter > d {
		d = retryAfter
	}
	return min(d, o.maxBackoff)
}

// sleepContext waits d, or until ctx ends and then returns ctx.Err().
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
