package mocks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/redis/go-redis/v9"
	stripeclient "github.com/stripe/stripe-go/v76/client"

	"github.com/cachebench/cachebench/mocks/memdynamo"
	"github.com/cachebench/cachebench/mocks/netsim"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
)

// Service names, as fault targets and network keys use them.
const (
	ServiceRedis    = "redis"
	ServiceDynamoDB = "dynamodb"
	ServiceStripe   = "stripe"
)

// WorldConfig says what to put between the cache and the services of an Env.
type WorldConfig struct {
	// Redis, DynamoDB and Stripe are the network profiles in front of each service.
	Redis, DynamoDB, Stripe netsim.Profile
	// FaultTargets lists the services that faults will be injected into: each gets a
	// proxy even when its profile adds nothing.
	FaultTargets []string
	// RedisFailover says a failover fault will target Redis (which needs no proxy, but
	// a replicated or cluster Redis the environment started: see Env.CanFailover).
	RedisFailover bool
	// RedisReadFrom is where the caches' Redis clients send reads: primary ("" is the
	// same) or replica (a replica of the key's primary; go-redis's ReadOnly on a cluster
	// or a Sentinel-backed client, which still sends writes to the primary).
	RedisReadFrom string
	// Overlay configures the Stripe overlay; its Upstream is set to the Env's Stripe.
	Overlay stripeoverlay.Config
	// SharedStripe, when set, is the Stripe API base URL of a run's overlay in a shared
	// stripeoverlay.Service (Remote.StripeURL): the caches talk to it, and the World's
	// own Overlay is made but not served, so nothing reaches it (its Stats stay zero and
	// faults injected into it do nothing).
	SharedStripe string
	// MaxConns bounds the connections toward each HTTP service (the Stripe overlay and
	// DynamoDB from the caches; stripe-mock from the overlay). Every cache instance of
	// the World shares one pool per service, whose idle connections are all kept for
	// reuse. A request that finds every connection busy waits for one, and PoolWaits
	// counts it. 0 means DefaultMaxConns.
	MaxConns int
	// ServerLog receives the error lines of the overlay's HTTP server (nil leaves them to
	// the log package's standard logger) and the network proxies' warnings (nil discards
	// them).
	ServerLog io.Writer
}

// redisPoolSize bounds each Redis client's pool (WorldConfig.MaxConns bounds it too).
const redisPoolSize = 256

// DefaultMaxConns is WorldConfig.MaxConns's default.
const DefaultMaxConns = 1024

// World is an Env seen through the network: a Toxiproxy proxy in front of each service
// whose profile adds latency or which faults will target, and the Stripe overlay in
// front of the Stripe API. The cache talks to the proxies; the chain for Stripe is
// client → proxy (network profile) → overlay (versions, 429s, webhooks) → Stripe API.
type World struct {
	Env *Env
	// Overlay is the Stripe overlay: versions, updates, webhooks, 429s, staleness oracle.
	Overlay *stripeoverlay.Overlay

	cfg     WorldConfig
	net     *netsim.Network
	proxies map[string]*netsim.Proxy
	notes   []string

	redisAddrs []string
	ddbURL     string
	stripeURL  string

	// http is the caches' shared client toward Stripe and DynamoDB; pool counts its
	// use. upstream is the overlay's client toward stripe-mock.
	http     *http.Client
	pool     *pooledTransport
	upstream *http.Client
}

// NewWorld builds the proxies and the overlay in front of env. The caller closes the
// World (env stays open).
func NewWorld(ctx context.Context, env *Env, cfg WorldConfig) (w *World, err error) {
	w = &World{Env: env, cfg: cfg, proxies: map[string]*netsim.Proxy{}}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = w.Close(cctx)
			w = nil
		}
	}()
	faulted := map[string]bool{}
	for _, t := range cfg.FaultTargets {
		switch t {
		case ServiceRedis, ServiceDynamoDB, ServiceStripe:
			faulted[t] = true
		default:
			return nil, fmt.Errorf("fault target %q is unknown: use redis, dynamodb or stripe", t)
		}
	}
	if cfg.ServerLog != nil {
		w.net = netsim.NewNetwork(netsim.WithLog(cfg.ServerLog))
	} else {
		w.net = netsim.NewNetwork()
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
		w.cfg.MaxConns = cfg.MaxConns
	}

	oc := cfg.Overlay
	oc.Upstream = env.Stripe.URL
	switch {
	case oc.HTTPClient != nil:
	case env.stripeHandler != nil:
		oc.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: handlerTransport{env.stripeHandler}}
	default:
		w.upstream = &http.Client{Timeout: 30 * time.Second, Transport: boundedTransport(cfg.MaxConns)}
		oc.HTTPClient = w.upstream
	}
	if oc.ServerLog == nil {
		oc.ServerLog = cfg.ServerLog
	}
	ov, err := stripeoverlay.New(oc)
	if err != nil {
		return nil, fmt.Errorf("stripe overlay: %w", err)
	}
	w.Overlay = ov
	if cfg.SharedStripe != "" {
		w.stripeURL = cfg.SharedStripe
	} else {
		if err := ov.Start(); err != nil {
			return nil, fmt.Errorf("stripe overlay: %w", err)
		}
		w.stripeURL = ov.URL()
	}

	// Redis: one proxy for a standalone server. A cluster's clients follow MOVED
	// redirections to the nodes' own addresses, and a replicated set's go where its
	// Sentinels say, which one proxy cannot stand in for.
	w.redisAddrs = env.Redis.Addrs
	if cfg.RedisFailover {
		if err := env.CanFailover(); err != nil {
			return nil, err
		}
	}
	switch cfg.RedisReadFrom {
	case "", "primary":
	case "replica":
		if !env.Redis.Cluster && env.Redis.MasterName == "" {
			return nil, fmt.Errorf("redis reads from replicas: the %s Redis (%s) has no replicas a client can find: use cache.l2.topology replicated or cluster, or cache.l2.read_from primary", env.Provider, env.Redis.Topology)
		}
	default:
		return nil, fmt.Errorf("redis read_from %q is unknown: use primary or replica", cfg.RedisReadFrom)
	}
	if needsProxy(cfg.Redis, faulted[ServiceRedis]) {
		if env.Redis.Cluster || env.Redis.MasterName != "" || len(env.Redis.Addrs) != 1 {
			kind := "a cluster, and its clients follow redirections to every node"
			if env.Redis.MasterName != "" {
				kind = "a replicated set, and its clients go to the nodes its Sentinels name"
			}
			if faulted[ServiceRedis] {
				return nil, fmt.Errorf("network faults cannot target this Redis: it is %s, which one proxy cannot stand in for; use a standalone Redis for them, or the failover fault", kind)
			}
			w.notes = append(w.notes, fmt.Sprintf("network profile %q was not applied to Redis: it is %s", cfg.Redis.Name, kind))
		} else {
			p, err := w.net.Proxy(ServiceRedis, env.Redis.Addrs[0], cfg.Redis)
			if err != nil {
				return nil, fmt.Errorf("redis proxy: %w", err)
			}
			w.proxies[ServiceRedis] = p
			w.redisAddrs = []string{p.Addr()}
		}
	}

	w.ddbURL = env.DynamoDB.Endpoint
	if needsProxy(cfg.DynamoDB, faulted[ServiceDynamoDB]) {
		if env.DynamoDB.Endpoint == "" {
			if faulted[ServiceDynamoDB] {
				return nil, errors.New("faults cannot target AWS DynamoDB itself; give a DynamoDB Local endpoint (CACHEBENCH_DYNAMODB_ENDPOINT) for fault scenarios")
			}
			w.notes = append(w.notes, fmt.Sprintf("network profile %q was not applied to DynamoDB: it is AWS itself, with its own network", cfg.DynamoDB.Name))
		} else {
			u, err := url.Parse(env.DynamoDB.Endpoint)
			if err != nil {
				return nil, fmt.Errorf("dynamodb endpoint %q: %w", env.DynamoDB.Endpoint, err)
			}
			p, err := w.net.Proxy(ServiceDynamoDB, hostPort(u), cfg.DynamoDB)
			if err != nil {
				return nil, fmt.Errorf("dynamodb proxy: %w", err)
			}
			w.proxies[ServiceDynamoDB] = p
			u.Host = p.Addr()
			w.ddbURL = u.String()
		}
	}

	if needsProxy(cfg.Stripe, faulted[ServiceStripe]) {
		u, err := url.Parse(w.stripeURL)
		if err != nil {
			return nil, fmt.Errorf("stripe overlay URL %q: %w", w.stripeURL, err)
		}
		p, err := w.net.Proxy(ServiceStripe, hostPort(u), cfg.Stripe)
		if err != nil {
			return nil, fmt.Errorf("stripe proxy: %w", err)
		}
		w.proxies[ServiceStripe] = p
		u.Host = p.Addr()
		w.stripeURL = u.String()
	}
	w.pool = newPooledTransport(boundedTransport(cfg.MaxConns), cfg.MaxConns, map[string]string{
		urlHost(w.stripeURL): ServiceStripe,
		urlHost(w.ddbURL):    ServiceDynamoDB,
	})
	w.http = &http.Client{Timeout: 80 * time.Second, Transport: w.pool}
	if hs := env.VirtualHandlers(); hs != nil && len(w.proxies) == 0 {
		// On the virtual clock the caches reach the in-process services with no socket:
		// simulated time makes the network's cost a model, so the wall clock it would
		// take is only the harness's. Anything else still goes through the pool.
		w.http = &http.Client{Timeout: 80 * time.Second, Transport: hostRouter{
			routes: map[string]http.RoundTripper{
				urlHost(w.stripeURL): handlerTransport{ov},
				urlHost(w.ddbURL):    handlerTransport{hs[ServiceDynamoDB]},
			},
			fallback: w.pool,
		}}
	}
	return w, nil
}

// hostRouter sends each request to the round tripper of its URL's host:port, or to
// fallback.
type hostRouter struct {
	routes   map[string]http.RoundTripper
	fallback http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (h hostRouter) RoundTrip(r *http.Request) (*http.Response, error) {
	if rt, ok := h.routes[r.URL.Host]; ok {
		return rt.RoundTrip(r)
	}
	return h.fallback.RoundTrip(r)
}

// urlHost is the host:port of a URL, or "" when it has none.
func urlHost(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Host
}

// needsProxy reports whether a service needs a proxy: its profile adds something, or
// faults will target it.
func needsProxy(p netsim.Profile, faulted bool) bool {
	return faulted || p.Latency > 0 || p.Jitter > 0 || p.Bandwidth > 0
}

// hostPort returns u's host:port, with the scheme's default port when it has none.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// Notes are what the World could not do as asked (a profile not applied, and why).
func (w *World) Notes() []string { return append([]string(nil), w.notes...) }

// Profiles names the network profile in front of each service ("none" where no proxy
// stands).
func (w *World) Profiles() map[string]string {
	out := map[string]string{}
	for svc, p := range map[string]netsim.Profile{ServiceRedis: w.cfg.Redis, ServiceDynamoDB: w.cfg.DynamoDB, ServiceStripe: w.cfg.Stripe} {
		if w.proxies[svc] == nil || p.Name == "" {
			out[svc] = "none"
			continue
		}
		out[svc] = p.Name
	}
	return out
}

// WebhookSecret is the secret the overlay signs webhooks with.
func (w *World) WebhookSecret() string { return w.Overlay.WebhookSecret() }

// RedisClient returns a new Redis client (its own connection pool) that reaches Redis
// through the network. The caller closes it.
func (w *World) RedisClient() redis.UniversalClient {
	opts := *w.Env.redisOptions
	opts.Addrs = append([]string(nil), w.redisAddrs...)
	if w.proxies[ServiceRedis] != nil {
		opts.Dialer = nil // through the proxy, not the environment's in-process pipe
	}
	if w.cfg.RedisReadFrom == "replica" {
		// ReadOnly on a Sentinel-backed client with IsClusterMode makes go-redis's
		// failover cluster client: reads to a replica, the rest to the primary.
		opts.ReadOnly = true
		opts.IsClusterMode = opts.IsClusterMode || opts.MasterName != ""
	}
	if opts.PoolSize == 0 {
		// go-redis's default, 10 per processor, starves a single process serving
		// thousands of reads in flight: they queue for a connection past the cache's L2
		// time-out. The pool opens connections only as it needs them, so a simulated
		// Lambda environment, one request at a time, still holds one or two.
		opts.PoolSize = min(w.cfg.MaxConns, redisPoolSize)
	}
	return w.Env.newRedisClient(&opts)
}

// RedisOptions is RedisClient's options for a standalone *redis.Client, or nil when the
// Redis is a cluster (see Env.RedisOptions).
func (w *World) RedisOptions() *redis.Options {
	if w.Env.Redis.Cluster || w.Env.Redis.MasterName != "" || len(w.redisAddrs) != 1 {
		return nil
	}
	u := *w.Env.redisOptions
	u.Addrs = append([]string(nil), w.redisAddrs...)
	if w.proxies[ServiceRedis] != nil {
		u.Dialer = nil
	}
	o := u.Simple()
	if o.PoolSize == 0 {
		o.PoolSize = min(w.cfg.MaxConns, redisPoolSize)
	}
	return o
}

// HTTPClient returns the World's HTTP client for the caches' DynamoDB and Stripe
// clients. Every cache instance shares it: one pool per service of at most MaxConns
// connections, all kept alive for reuse, so a fleet of thousands of simulated Lambda
// environments holds no more sockets than requests in flight. The World closes it.
func (w *World) HTTPClient() *http.Client { return w.http }

// MaxConns is the bound on the connections toward each HTTP service.
func (w *World) MaxConns() int { return w.cfg.MaxConns }

// PoolWaits counts, by service ("stripe", "dynamodb"), the requests that found every
// connection of their pool busy and waited for one, since the World was built.
func (w *World) PoolWaits() map[string]int64 {
	if w.pool == nil {
		return nil
	}
	return w.pool.waits()
}

// DynamoDBAPI is the DynamoDB client World.DynamoDBClient returns: the method set of
// cachecore.DynamoAPI (mocks does not import cachecore, whose tests import mocks).
type DynamoDBAPI interface {
	GetItem(ctx context.Context, params *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, params *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(ctx context.Context, params *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	BatchGetItem(ctx context.Context, params *dynamodb.BatchGetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(ctx context.Context, params *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	CreateTable(ctx context.Context, params *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, params *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, params *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	DescribeTimeToLive(ctx context.Context, params *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
}

var (
	_ DynamoDBAPI = (*dynamodb.Client)(nil)
	_ DynamoDBAPI = (*memdynamo.Client)(nil)
)

// DynamoDBClient returns a DynamoDB client that reaches DynamoDB through the network,
// using hc for its connections. On the virtual clock, with no proxy in front of the
// in-memory L3, it is memdynamo's in-process client, whose reads and writes skip the
// SDK's stack (memdynamo.Client): simulated time models the network, and the stack
// would only spend the harness's wall time.
func (w *World) DynamoDBClient(ctx context.Context, hc *http.Client) (DynamoDBAPI, error) {
	ep := w.Env.DynamoDB
	ep.Endpoint = w.ddbURL
	sdk, err := newDynamoDBClient(ctx, ep, hc)
	if err != nil {
		return nil, err
	}
	if w.Env.virtual != nil && w.proxies[ServiceDynamoDB] == nil {
		return memdynamo.NewClient(w.Env.virtual.ddb, sdk), nil
	}
	return sdk, nil
}

// StripeClient returns a stripe-go client (no retries of its own) that reaches the
// Stripe overlay through the network, using hc for its connections.
func (w *World) StripeClient(hc *http.Client) *stripeclient.API {
	return newStripeClient(StripeEndpoint{URL: w.stripeURL, Key: w.Env.Stripe.Key}, hc)
}

// Injectors returns the fault injectors by target: each service's proxy, and for Stripe
// the overlay for the HTTP kinds (rate_limit, errors) and the proxy for the rest.
func (w *World) Injectors() map[string]netsim.Injector {
	out := map[string]netsim.Injector{}
	if p := w.proxies[ServiceDynamoDB]; p != nil {
		out[ServiceDynamoDB] = p
	}
	if p := w.proxies[ServiceRedis]; p != nil || w.Env.CanFailover() == nil {
		out[ServiceRedis] = redisInjector{proxy: p, env: w.Env}
	}
	out[ServiceStripe] = stripeInjector{overlay: w.Overlay, proxy: w.proxies[ServiceStripe]}
	return out
}

// redisInjector sends the failover kind to the environment (which kills the primary)
// and the network kinds to the proxy in front of Redis, if one stands there.
type redisInjector struct {
	proxy *netsim.Proxy
	env   *Env
}

// SupportsKind implements netsim.KindSupporter.
func (r redisInjector) SupportsKind(kind string) bool {
	if kind == netsim.KindFailover {
		return r.env.CanFailover() == nil
	}
	return r.proxy != nil && r.proxy.SupportsKind(kind)
}

// failoverTimeout bounds the kill of a primary, and its restart, in a failover fault.
const failoverTimeout = time.Minute

func (r redisInjector) Inject(f netsim.Fault) (func() error, error) {
	if f.Kind != netsim.KindFailover {
		if r.proxy == nil {
			return nil, fmt.Errorf("redis: no proxy stands in front of Redis for a %s fault", f.Kind)
		}
		return r.proxy.Inject(f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), failoverTimeout)
	defer cancel()
	_, restart, err := r.env.Failover(ctx)
	if err != nil {
		return nil, err
	}
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), failoverTimeout)
		defer cancel()
		return restart(ctx)
	}, nil
}

// stripeInjector sends the HTTP fault kinds to the overlay and the network kinds to the
// proxy in front of it.
type stripeInjector struct {
	overlay *stripeoverlay.Overlay
	proxy   *netsim.Proxy
}

func (s stripeInjector) Inject(f netsim.Fault) (func() error, error) {
	switch f.Kind {
	case netsim.KindRateLimit, netsim.KindErrors:
		return s.overlay.Inject(f)
	}
	if s.proxy == nil {
		return nil, fmt.Errorf("stripe: no proxy stands in front of the Stripe API for a %s fault", f.Kind)
	}
	return s.proxy.Inject(f)
}

// Close stops the proxies and the overlay.
func (w *World) Close(ctx context.Context) error {
	var errs []error
	if w.Overlay != nil {
		errs = append(errs, w.Overlay.Close(ctx))
	}
	if w.net != nil {
		errs = append(errs, w.net.Close())
	}
	if w.http != nil {
		w.http.CloseIdleConnections()
	}
	if w.upstream != nil {
		w.upstream.CloseIdleConnections()
	}
	return errors.Join(errs...)
}

// DropTable deletes a DynamoDB table of env if it exists.
func DropTable(ctx context.Context, env *Env, table string) error {
	_, err := env.DynamoDBClient.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	var nf *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) && !strings.Contains(err.Error(), "ResourceNotFound") {
		return fmt.Errorf("drop table %s: %w", table, err)
	}
	return nil
}
