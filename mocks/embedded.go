package mocks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stripe/stripe-mock/embedded"
	"github.com/stripe/stripe-mock/server"

	"github.com/cachebench/cachebench/mocks/memdynamo"
)

// EmbeddedDynamoDBBackend labels the embedded provider's L3 in every report: it speaks
// DynamoDB's protocol but has none of its latency, capacity or throttling.
const EmbeddedDynamoDBBackend = "in-memory L3 stand-in (embedded; NOT DynamoDB)"

// startEmbedded runs everything inside this process: miniredis, stripe-mock's own server
// package, and memdynamo. It needs nothing installed, and its figures say nothing about
// real Redis or DynamoDB latency; reports say so through the Backend fields.
func startEmbedded(ctx context.Context, cfg Config) (*Env, error) {
	env := &Env{Provider: ProviderEmbedded}

	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("embedded: start miniredis: %w", err)
	}
	env.onClose(func(context.Context) error { mr.Close(); return nil })
	// Without ClockTTL, miniredis's TTLs only ever shrink through FastForward: no key would
	// expire during a run, and L2 would hold every key ever written. With it they follow
	// the wall clock, as Redis's do, or a virtual clock set by SetClock.
	mr.ClockTTL(true)

	ddb := memdynamo.New()
	if cfg.Embedded.VirtualClock {
		env.virtual = &virtualClock{mr: mr}
		mr.SetTime(time.Unix(0, 0).UTC())
		ddb.SetClock(env.virtual.now)
	}
	ddbURL, err := ddb.Start()
	if err != nil {
		env.closeQuietly()
		return nil, fmt.Errorf("embedded: start in-memory L3: %w", err)
	}
	env.onClose(func(context.Context) error { return ddb.Close() })

	stripeURL, standIn, handler, stopStripe, err := startEmbeddedStripeMock(cfg)
	if err != nil {
		env.closeQuietly()
		return nil, err
	}
	env.onClose(stopStripe)
	env.StripeMock = standIn
	env.stripeHandler = handler

	ropts, rep, err := redisOptionsFrom(redisConfig{URL: "redis://" + mr.Addr()})
	if err != nil {
		env.closeQuietly()
		return nil, err
	}
	env.Redis = rep
	env.Redis.Backend = "miniredis (embedded, in-process; NOT Redis)"
	env.DynamoDB = DynamoDBEndpoint{Endpoint: ddbURL, Region: "us-east-1", Emulated: true, Backend: EmbeddedDynamoDBBackend}
	env.Stripe = StripeEndpoint{URL: stripeURL, Key: DefaultStripeKey, Backend: standIn.Backend}
	if err := env.connect(ctx, ropts); err != nil {
		env.closeQuietly()
		return nil, fmt.Errorf("embedded: %w", err)
	}
	return env, nil
}

// startEmbeddedStripeMock serves stripe-mock's stub server, with its bundled OpenAPI spec
// and fixtures, on a loopback port of this process, behind a bounded set of workers
// whose load the returned StandIn measures. The handler is returned too, for the
// overlay's in-process calls (handlerTransport).
func startEmbeddedStripeMock(cfg Config) (string, *StandIn, http.Handler, func(context.Context) error, error) {
	spec, err := server.LoadSpec(embedded.OpenAPISpec, "")
	if err != nil {
		return "", nil, nil, nil, fmt.Errorf("embedded: stripe-mock spec: %w", err)
	}
	fixtures, err := server.LoadFixtures(embedded.OpenAPIFixtures, "")
	if err != nil {
		return "", nil, nil, nil, fmt.Errorf("embedded: stripe-mock fixtures: %w", err)
	}
	stub, err := server.NewStubServer(fixtures, spec, false, false)
	if err != nil {
		return "", nil, nil, nil, fmt.Errorf("embedded: stripe-mock router: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", stub.HandleRequest)
	backend := "stripe-mock (embedded, in-process)"
	if !cfg.Embedded.NoMemo {
		backend = "stripe-mock (embedded, in-process; single-object GETs memoised per route)"
	}
	h := newStubHandler(&server.DoubleSlashFixHandler{Mux: mux}, cfg.Embedded, backend)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, nil, fmt.Errorf("embedded: stripe-mock listener: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: serverLog(cfg.ServerLog, "embedded stripe-mock: ")}
	go func() { _ = srv.Serve(l) }()
	stop := func(ctx context.Context) error {
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("embedded: stop stripe-mock: %w", err)
		}
		return nil
	}
	return "http://" + l.Addr().String(), h.stats, h, stop, nil
}

// serverLog is an http.Server's ErrorLog writing to w, or nil (the log package's
// standard logger, on stderr) when w is nil.
func serverLog(w io.Writer, prefix string) *log.Logger {
	if w == nil {
		return nil
	}
	return log.New(w, prefix, log.LstdFlags)
}

// virtualClock is the embedded services' simulated clock (EmbeddedConfig.VirtualClock).
type virtualClock struct {
	nanos atomic.Int64 // Unix nanoseconds
	mr    *miniredis.Miniredis
}

// now returns the simulated time.
func (v *virtualClock) now() time.Time { return time.Unix(0, v.nanos.Load()).UTC() }

// SetClock moves the simulated clock of an embedded environment started with
// EmbeddedConfig.VirtualClock to t: Redis keys and L3 items whose TTL has passed at t
// expire (lazily, at their next access, as in the real services). It returns an error
// for any other environment, whose services follow the wall clock.
func (e *Env) SetClock(t time.Time) error {
	if e.virtual == nil {
		return fmt.Errorf("mocks: SetClock needs the embedded environment with EmbeddedConfig.VirtualClock; %s services follow the wall clock", e.Provider)
	}
	e.virtual.nanos.Store(t.UnixNano())
	e.virtual.mr.SetTime(t)
	return nil
}
