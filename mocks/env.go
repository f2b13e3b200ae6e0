package mocks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/redis/go-redis/v9"
	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"
)

// Provider names accepted by Start.
const (
	ProviderAuto     = "auto"
	ProviderDocker   = "docker"
	ProviderLocal    = "local"
	ProviderExternal = "external"
	ProviderEmbedded = "embedded"
)

// Providers lists the provider names in the order auto tries them, then external.
var Providers = []string{ProviderDocker, ProviderLocal, ProviderEmbedded, ProviderExternal}

// DefaultStripeKey is the API key used against stripe-mock, which accepts any key that
// looks like a test key.
const DefaultStripeKey = "sk_test_cachebench"

// RedisEndpoint says where the L2 Redis is and what it is.
type RedisEndpoint struct {
	// Addrs are host:port pairs: one for a standalone server, the seed nodes for a
	// cluster, the Sentinels for a replicated set (MasterName set).
	Addrs []string
	// MasterName is the name the Sentinels know the primary of a replicated set by; ""
	// for the other topologies.
	MasterName string
	// URL is a redis:// or rediss:// URL for the first address (credentials redacted).
	URL string
	// TLS reports whether connections use TLS.
	TLS bool
	// Cluster reports whether the endpoint is a Redis Cluster.
	Cluster bool
	// CAFile is the PEM file of the CA that signed the servers' certificates, when the
	// provider made them (TLS); external leaves it empty.
	CAFile string
	// Topology is standalone, replicated or cluster; Shards the primaries (1 standalone
	// and replicated, 0 when an external cluster did not say); Replicas the replicas of
	// each primary that the provider started (0 for external); Auth is none, password or
	// acl (a user name).
	Topology string
	Shards   int
	Replicas int
	Auth     string
	// Backend describes what answers, for reports ("redis 7.0.15 (docker redis:7)").
	Backend string
}

// DynamoDBEndpoint says where the L3 DynamoDB is and what it is.
type DynamoDBEndpoint struct {
	// Endpoint is the base URL; empty means AWS itself in Region.
	Endpoint string
	// Region is the AWS region the client signs for.
	Region string
	// Emulated reports whether the endpoint is DynamoDB Local or the in-memory stand-in
	// rather than the real service.
	Emulated bool
	// Backend describes what answers, for reports.
	Backend string
}

// StripeEndpoint says where the Stripe API is and what it is.
type StripeEndpoint struct {
	// URL is the API base, e.g. http://127.0.0.1:12111 or https://api.stripe.com.
	URL string
	// Key is the secret API key sent with every request.
	Key string
	// Backend describes what answers, for reports.
	Backend string
}

// Env is a started set of services, with clients ready to use. Close stops whatever the
// provider started; it is safe to call more than once.
type Env struct {
	// Provider is the provider that started the services.
	Provider string
	Redis    RedisEndpoint
	DynamoDB DynamoDBEndpoint
	Stripe   StripeEndpoint

	// RedisClient talks to Redis: a *redis.Client, or a *redis.ClusterClient in cluster mode.
	RedisClient redis.UniversalClient
	// DynamoDBClient talks to DynamoDB (or its stand-in) with the right options for it.
	DynamoDBClient *dynamodb.Client
	// StripeClient talks to the Stripe API base with the endpoint's key.
	StripeClient *stripeclient.API
	// StripeMock is the embedded stripe-mock's account of its own load; nil for the
	// other providers, whose Stripe is not in this process.
	StripeMock *StandIn

	// redisOptions and httpClient are kept so callers can make further clients alike.
	redisOptions *redis.UniversalOptions
	// adminRedisOptions, when set, are the default user's (the ACL user's are
	// redisOptions): for what the cache may not do (CONFIG, SCRIPT FLUSH, failovers).
	adminRedisOptions *redis.UniversalOptions
	httpClient        *http.Client
	// redisNodes are the Redis servers the provider started for a topology other than one
	// plain server (data nodes, then any Sentinels), with what it started them with: a
	// failover kills and restarts them.
	redisNodes    []*redisNode
	redisTopology RedisTopology
	redisSecrets  *redisSecrets
	// stripeHandler is the embedded stripe-mock's handler, which the overlay calls in
	// process; nil for the other providers.
	stripeHandler http.Handler
	// virtual is the embedded services' simulated clock; nil on the wall clock.
	virtual *virtualClock

	closeOnce sync.Once
	closeErr  error
	closersMu sync.Mutex
	closers   []func(context.Context) error // run in reverse order
}

// NewRedisClient returns another client for the same Redis, for a caller that wants its
// own connection pool (one per simulated Lambda environment, say). The caller closes it.
func (e *Env) NewRedisClient() redis.UniversalClient {
	opts := *e.redisOptions
	return e.newRedisClient(&opts)
}

// newRedisClient builds a client with opts. On the virtual clock, a client that reaches
// the embedded Redis over its in-process pipe (opts.Dialer), in database 0 without AUTH,
// answers GET and cachecore's write script in process (directRedis).
func (e *Env) newRedisClient(opts *redis.UniversalOptions) redis.UniversalClient {
	c := redis.NewUniversalClient(opts)
	if e.virtual != nil && opts.Dialer != nil && opts.DB == 0 && opts.Username == "" && opts.Password == "" {
		c.AddHook(e.virtual.direct)
	}
	return c
}

// NewAdminRedisClient returns a client for the same Redis as the default user, which
// may run admin commands the ACL user of auth: acl may not; elsewhere it is
// NewRedisClient. The caller closes it.
func (e *Env) NewAdminRedisClient() redis.UniversalClient {
	if e.adminRedisOptions == nil {
		return e.NewRedisClient()
	}
	opts := *e.adminRedisOptions
	return e.newRedisClient(&opts)
}

// RedisOptions returns the options of a standalone client for the same Redis, for a
// caller that builds its own *redis.Client (a tracking L1 does), or nil when the Redis is
// a cluster. The caller may change the copy.
func (e *Env) RedisOptions() *redis.Options {
	if e.Redis.Cluster || e.Redis.MasterName != "" || len(e.redisOptions.Addrs) != 1 {
		return nil
	}
	return e.redisOptions.Simple()
}

// Describe returns one line per service naming its endpoint and backend.
func (e *Env) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "provider: %s\n", e.Provider)
	sentinel := ""
	if e.Redis.MasterName != "" {
		sentinel = " (Sentinels of master " + e.Redis.MasterName + ")"
	}
	fmt.Fprintf(&b, "redis:    %s%s  [%s]\n", e.Redis.URL, sentinel, e.Redis.Backend)
	ddb := e.DynamoDB.Endpoint
	if ddb == "" {
		ddb = "AWS DynamoDB"
	}
	fmt.Fprintf(&b, "dynamodb: %s (region %s)  [%s]\n", ddb, e.DynamoDB.Region, e.DynamoDB.Backend)
	fmt.Fprintf(&b, "stripe:   %s  [%s]\n", e.Stripe.URL, e.Stripe.Backend)
	return b.String()
}

// Close closes the clients and stops every service the provider started, in reverse
// order of start. It returns every error met.
func (e *Env) Close(ctx context.Context) error {
	e.closeOnce.Do(func() {
		var errs []error
		if e.RedisClient != nil {
			if err := e.RedisClient.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
				errs = append(errs, fmt.Errorf("close redis client: %w", err))
			}
		}
		if e.httpClient != nil {
			e.httpClient.CloseIdleConnections()
		}
		e.closersMu.Lock()
		closers := e.closers
		e.closersMu.Unlock()
		for i := len(closers) - 1; i >= 0; i-- {
			if err := closers[i](ctx); err != nil {
				errs = append(errs, err)
			}
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

// onClose registers fn to run at Close. It is safe for concurrent use.
func (e *Env) onClose(fn func(context.Context) error) {
	e.closersMu.Lock()
	defer e.closersMu.Unlock()
	e.closers = append(e.closers, fn)
}

// closeQuietly stops what was started so far; used when a start fails half way.
func (e *Env) closeQuietly() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = e.Close(ctx)
}

// redisConfig describes how to reach Redis, before a client exists.
type redisConfig struct {
	URL      string // redis:// or rediss://, may carry user and password
	Cluster  bool
	CAFile   string // PEM file with the CA that signed the server's certificate (rediss)
	Insecure bool   // skip certificate verification (rediss); for self-signed test servers
	// Username and Password, when set, replace the URL's.
	Username, Password string
	// SentinelMaster, when set, makes the URL's host and ?addr= nodes Sentinels that
	// know the primary by this name; the URL's credentials are the Sentinels' (default:
	// the same as the primary's).
	SentinelMaster string
}

// redisOptionsFrom turns a redisConfig into go-redis options: a standalone client, or a
// cluster client when cfg.Cluster is set or the URL names several nodes (?addr=...).
func redisOptionsFrom(cfg redisConfig) (*redis.UniversalOptions, RedisEndpoint, error) {
	ep := RedisEndpoint{}
	u := cfg.URL
	if !strings.HasPrefix(u, "redis://") && !strings.HasPrefix(u, "rediss://") {
		return nil, ep, fmt.Errorf("redis URL %q must start with redis:// or rediss:// (for example redis://127.0.0.1:6379)", redact(u))
	}
	cluster := cfg.SentinelMaster == "" && (cfg.Cluster || strings.Contains(u, "addr="))
	var opts redis.UniversalOptions
	switch {
	case cfg.SentinelMaster != "" && cfg.Cluster:
		return nil, ep, errors.New("redis: both a Sentinel master and cluster mode were given: a Sentinel-backed set is not a Redis Cluster; unset CACHEBENCH_REDIS_CLUSTER or CACHEBENCH_REDIS_SENTINEL_MASTER")
	case cfg.SentinelMaster != "":
		fo, err := redis.ParseFailoverURL(u)
		if err != nil {
			return nil, ep, fmt.Errorf("redis Sentinel URL %q: %w", redact(u), err)
		}
		opts = redis.UniversalOptions{
			Addrs: fo.SentinelAddrs, MasterName: cfg.SentinelMaster, DB: fo.DB, TLSConfig: fo.TLSConfig,
			SentinelUsername: fo.SentinelUsername, SentinelPassword: fo.SentinelPassword,
			Username: fo.SentinelUsername, Password: fo.SentinelPassword,
		}
	case cluster:
		co, err := redis.ParseClusterURL(u)
		if err != nil {
			return nil, ep, fmt.Errorf("redis cluster URL %q: %w", redact(u), err)
		}
		opts = redis.UniversalOptions{
			Addrs: co.Addrs, Username: co.Username, Password: co.Password, TLSConfig: co.TLSConfig,
			IsClusterMode: true,
		}
	default:
		o, err := redis.ParseURL(u)
		if err != nil {
			return nil, ep, fmt.Errorf("redis URL %q: %w", redact(u), err)
		}
		opts = redis.UniversalOptions{
			Addrs: []string{o.Addr}, Username: o.Username, Password: o.Password, DB: o.DB, TLSConfig: o.TLSConfig,
		}
	}
	if opts.TLSConfig != nil {
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, ep, fmt.Errorf("redis CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, ep, fmt.Errorf("redis CA file %s holds no PEM certificate", cfg.CAFile)
			}
			opts.TLSConfig.RootCAs = pool
		}
		opts.TLSConfig.InsecureSkipVerify = cfg.Insecure //nolint:gosec // opt-in for self-signed test servers
		if opts.TLSConfig.MinVersion == 0 {
			opts.TLSConfig.MinVersion = tls.VersionTLS12
		}
	}
	if cfg.Username != "" {
		opts.Username = cfg.Username
	}
	if cfg.Password != "" {
		opts.Password = cfg.Password
	}
	if opts.MasterName != "" && opts.SentinelPassword == "" {
		// No credentials of their own in the URL: the Sentinels take the primary's
		// password (as requirepass; an ACL user name is the data nodes').
		opts.SentinelPassword = opts.Password
	}
	opts.DialTimeout = 5 * time.Second
	opts.ReadTimeout = 3 * time.Second
	opts.WriteTimeout = 3 * time.Second
	// The cache bounds each L2 call with its own time-out (cachecore Config.L2Timeout) in
	// the call's context; go-redis applies a context's deadline to the socket only when
	// told to, and otherwise waits up to ReadTimeout for a Redis that stopped answering.
	opts.ContextTimeoutEnabled = true
	ep.Addrs = opts.Addrs
	ep.URL = redact(u)
	ep.TLS = opts.TLSConfig != nil
	ep.Cluster = cluster
	ep.MasterName = opts.MasterName
	return &opts, ep, nil
}

// seedsURL is the host:port part of a URL naming several nodes: the first, then the
// others as ?addr= parameters (as go-redis's cluster and failover URLs take them).
func seedsURL(addrs []string) string {
	u := addrs[0]
	for i, a := range addrs[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		u += sep + "addr=" + a
	}
	return u
}

// redact hides the password of a URL.
func redact(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	userinfo := u[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return u[:scheme+3] + userinfo[:i] + ":xxxxx" + u[at:]
	}
	return u
}

// connect builds the three clients for the endpoints in e and checks that each service
// answers: Redis PING, DynamoDB ListTables, and a Stripe GET. Errors name the service, the
// endpoint and what to check.
func (e *Env) connect(ctx context.Context, ropts *redis.UniversalOptions) error {
	e.redisOptions = ropts
	e.RedisClient = e.newRedisClient(ropts)
	e.httpClient = &http.Client{Timeout: 80 * time.Second, Transport: newTransport()}

	ddb, err := newDynamoDBClient(ctx, e.DynamoDB, e.httpClient)
	if err != nil {
		return err
	}
	e.DynamoDBClient = ddb
	e.StripeClient = newStripeClient(e.Stripe, e.httpClient)

	if err := pingRedis(ctx, e.RedisClient); err != nil {
		return fmt.Errorf("redis at %s does not answer PING: %w", e.Redis.URL, explainRedisError(err))
	}
	if err := pingDynamoDB(ctx, e.DynamoDBClient); err != nil {
		where := e.DynamoDB.Endpoint
		if where == "" {
			where = "AWS region " + e.DynamoDB.Region
		}
		return fmt.Errorf("dynamodb at %s does not answer ListTables: %w", where, err)
	}
	if err := pingStripe(ctx, e.httpClient, e.Stripe); err != nil {
		return fmt.Errorf("stripe API at %s does not answer: %w", e.Stripe.URL, err)
	}
	return nil
}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 1024
	return t
}

// newDynamoDBClient returns a DynamoDB client for ep. Emulated endpoints get static
// credentials and no response-checksum validation: DynamoDB Local's responses fail the
// SDK's CRC32 check, which also spoils connection reuse. Real AWS gets the default
// credential chain and every check.
func newDynamoDBClient(ctx context.Context, ep DynamoDBEndpoint, hc *http.Client) (*dynamodb.Client, error) {
	if ep.Emulated {
		return dynamodb.New(dynamodb.Options{
			BaseEndpoint:                    aws.String(ep.Endpoint),
			Region:                          ep.Region,
			Credentials:                     credentials.NewStaticCredentialsProvider("cachebench", "cachebench", ""),
			HTTPClient:                      hc,
			DisableValidateResponseChecksum: true,
			RetryMaxAttempts:                1,
		}), nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(ep.Region), awsconfig.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("dynamodb: load AWS configuration: %w (set AWS credentials, or CACHEBENCH_DYNAMODB_ENDPOINT for DynamoDB Local)", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep.Endpoint != "" {
			o.BaseEndpoint = aws.String(ep.Endpoint)
		}
	}), nil
}

// newStripeClient returns a stripe-go client whose API backend is ep.URL. It makes no
// retries of its own: retry policy belongs to the cache's origin, which counts them.
func newStripeClient(ep StripeEndpoint, hc *http.Client) *stripeclient.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(ep.URL),
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return stripeclient.New(ep.Key, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
}

func pingRedis(ctx context.Context, c redis.UniversalClient) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error { return n.Ping(ctx).Err() })
	}
	return c.Ping(ctx).Err()
}

func pingDynamoDB(ctx context.Context, c *dynamodb.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err := c.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
	return err
}

// pingStripe makes one authenticated GET that every Stripe API answers: the account's
// balance. Any HTTP answer but 401 proves the server and the key.
func pingStripe(ctx context.Context, hc *http.Client, ep StripeEndpoint) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(ep.URL, "/")+"/v1/balance", nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(ep.Key, "")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("the API key was refused (HTTP 401): check CACHEBENCH_STRIPE_KEY")
	}
	if resp.StatusCode >= 500 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ExternalVariables returns the CACHEBENCH_* settings (NAME=value) that point the external
// provider at this environment's services, so another process can share them.
func (e *Env) ExternalVariables() []string {
	vars := []string{}
	if len(e.Redis.Addrs) > 0 {
		scheme := "redis://"
		if e.Redis.TLS {
			scheme = "rediss://"
		}
		u := scheme + e.Redis.Addrs[0]
		if e.Redis.MasterName != "" {
			u = scheme + seedsURL(e.Redis.Addrs)
		}
		vars = append(vars, "CACHEBENCH_REDIS_URL="+u)
		if e.Redis.Cluster {
			vars = append(vars, "CACHEBENCH_REDIS_CLUSTER=true")
		}
		if e.Redis.MasterName != "" {
			vars = append(vars, "CACHEBENCH_REDIS_SENTINEL_MASTER="+e.Redis.MasterName)
		}
	}
	if e.DynamoDB.Endpoint != "" {
		vars = append(vars, "CACHEBENCH_DYNAMODB_ENDPOINT="+e.DynamoDB.Endpoint)
	}
	vars = append(vars, "CACHEBENCH_DYNAMODB_REGION="+e.DynamoDB.Region,
		"CACHEBENCH_STRIPE_URL="+e.Stripe.URL, "CACHEBENCH_STRIPE_KEY="+e.Stripe.Key)
	return vars
}

// explainRedisError adds to a failed first contact with Redis what to fix, for the
// failures a user's settings cause: refused credentials, a certificate not signed by a
// trusted CA, and a cluster client pointed at a server that is not in cluster mode.
func explainRedisError(err error) error {
	msg := err.Error()
	var unknownCA x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	switch {
	case strings.Contains(msg, "WRONGPASS") || strings.Contains(msg, "NOAUTH") || strings.Contains(msg, "invalid password"):
		return fmt.Errorf("%w: Redis refused the credentials: set CACHEBENCH_REDIS_PASSWORD (and CACHEBENCH_REDIS_USERNAME for an ACL user) to what the server expects (ElastiCache: the AUTH token or the RBAC user)", err)
	case errors.As(err, &unknownCA) || errors.As(err, &verify):
		return fmt.Errorf("%w: the server's TLS certificate is not signed by a CA this machine trusts: set CACHEBENCH_REDIS_CA_FILE (or --redis-ca-file) to the PEM file of the CA that signed it", err)
	case strings.Contains(msg, "sentinel") || strings.Contains(msg, "No such master"):
		return fmt.Errorf("%w: the Sentinels did not name a primary: check that CACHEBENCH_REDIS_URL names the Sentinels (host:port, more with ?addr=) and CACHEBENCH_REDIS_SENTINEL_MASTER the master name they monitor", err)
	case strings.Contains(msg, "cluster support disabled"):
		return fmt.Errorf("%w: the server is a standalone Redis, not a Redis Cluster: unset CACHEBENCH_REDIS_CLUSTER and drop the ?addr= seeds from CACHEBENCH_REDIS_URL (ElastiCache: use the primary endpoint of a cluster-mode-disabled group)", err)
	}
	return err
}
