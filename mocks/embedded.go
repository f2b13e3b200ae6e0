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
	ddb := memdynamo.New()
	if cfg.Embedded.VirtualClock {
		// On the virtual clock miniredis keeps every key's TTL as written: its ClockTTL
		// would walk and sort the whole keyspace at every command whose clock moved,
		// which at millions of simulated requests is the whole run's time. Keys are
		// judged dead by the cache on its own clock (an expired Redis key and a dead
		// entry read are both a miss), and SweepRedis removes dead keys, as Redis's
		// active expiry does.
		env.virtual = &virtualClock{mr: mr, ddb: ddb}
		// cachecore's L2 writes run in Go rather than in a Lua interpreter built per call.
		env.virtual.scripts = installNativeScripts(mr)
		// Its clients answer GET and the write script in process (directRedis).
		env.virtual.direct = &directRedis{mr: mr, ns: env.virtual.scripts}
		mr.SetTime(time.Unix(0, 0).UTC())
		ddb.SetClock(env.virtual.now)
	} else {
		// Without ClockTTL, miniredis's TTLs only ever shrink through FastForward: no key
		// would expire during a run, and L2 would hold every key ever written. With it
		// they follow the wall clock, as Redis's do.
		mr.ClockTTL(true)
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
	if env.virtual != nil {
		// In process, over a pipe: a simulated request's Redis commands then cost no
		// socket, no poller wake-up and no kernel time.
		ropts.Dialer = func(context.Context, string, string) (net.Conn, error) { return mr.Dial() }
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
	ddb   *memdynamo.Server
	// scripts answers cachecore's write script in Go.
	scripts *nativeScripts
	// direct is the hook of the clients that reach mr over the pipe (Env.newRedisClient).
	direct *directRedis
}

// now returns the simulated time.
func (v *virtualClock) now() time.Time { return time.Unix(0, v.nanos.Load()).UTC() }

// SetClock moves the simulated clock of an embedded environment started with
// EmbeddedConfig.VirtualClock to t: L3 items whose TTL attribute has passed at t are
// hidden from reads and swept at writes, as DynamoDB does, and Redis's TIME reads t.
// Redis keys keep the TTL they were written with (see SweepRedis). It returns an error
// for any other environment, whose services follow the wall clock.
func (e *Env) SetClock(t time.Time) error {
	if e.virtual == nil {
		return fmt.Errorf("mocks: SetClock needs the embedded environment with EmbeddedConfig.VirtualClock; %s services follow the wall clock", e.Provider)
	}
	e.virtual.nanos.Store(t.UnixNano())
	e.virtual.mr.SetTime(t)
	return nil
}

// SweepRedis is the virtual clock's stand-in for Redis's active expiry: it deletes every
// string key of the embedded Redis whose value dead reports dead (the cache knows its
// entries' expiry on its own clock; miniredis does not move TTLs on a simulated clock),
// and returns the keys left and their bytes (key and value lengths, as a lower bound of
// what a Redis would hold). Keys of other types are kept and counted by their names.
// Only an environment with EmbeddedConfig.VirtualClock has one.
func (e *Env) SweepRedis(dead func(key, value string) bool) (keys, bytes int64, err error) {
	if e.virtual == nil {
		return 0, 0, fmt.Errorf("mocks: SweepRedis needs the embedded environment with EmbeddedConfig.VirtualClock; %s Redis expires keys itself", e.Provider)
	}
	mr := e.virtual.mr
	for _, k := range mr.Keys() {
		if mr.Type(k) != "string" {
			keys++
			bytes += int64(len(k))
			continue
		}
		v, err := mr.Get(k)
		if err != nil {
			continue // gone since Keys
		}
		if dead(k, v) {
			mr.Del(k)
			continue
		}
		keys++
		bytes += int64(len(k) + len(v))
	}
	return keys, bytes, nil
}

// VirtualHandlers returns the in-process handlers of an environment on the virtual clock,
// by service (ServiceDynamoDB; the Stripe overlay is the World's), so that the caches'
// HTTP clients can reach them with no socket; nil on the wall clock.
func (e *Env) VirtualHandlers() map[string]http.Handler {
	if e.virtual == nil {
		return nil
	}
	return map[string]http.Handler{ServiceDynamoDB: e.virtual.ddb}
}
