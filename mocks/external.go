package mocks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ExternalConfig names services the user runs: ElastiCache or any Redis, DynamoDB (AWS or
// an endpoint) and a Stripe API. FromEnvironment fills it from CACHEBENCH_* variables.
type ExternalConfig struct {
	// RedisURL is redis://[user:password@]host:port[/db] or rediss://... for TLS. A URL with
	// ?addr=host:port parameters names cluster seed nodes (CACHEBENCH_REDIS_URL).
	RedisURL string
	// RedisCluster forces cluster mode, as ElastiCache's configuration endpoint needs
	// (CACHEBENCH_REDIS_CLUSTER=true).
	RedisCluster bool
	// RedisSentinelMaster makes RedisURL name Sentinels (its host, more with ?addr=)
	// that know the primary by this name (CACHEBENCH_REDIS_SENTINEL_MASTER). The URL's
	// credentials are then the Sentinels'; RedisUsername and RedisPassword the data
	// nodes' (and the Sentinels' too when the URL has none).
	RedisSentinelMaster string
	// RedisCAFile is a PEM file of the CA that signed the server's certificate
	// (CACHEBENCH_REDIS_CA_FILE); empty means the system's roots.
	RedisCAFile string
	// RedisUsername and RedisPassword authenticate to Redis (CACHEBENCH_REDIS_USERNAME,
	// CACHEBENCH_REDIS_PASSWORD), over any given in the URL; they are never printed nor
	// written to a result. A password alone is requirepass or an ElastiCache AUTH token.
	RedisUsername, RedisPassword string
	// RedisInsecure skips TLS certificate verification (CACHEBENCH_REDIS_INSECURE=true).
	RedisInsecure bool
	// DynamoDBEndpoint is a base URL such as http://127.0.0.1:8000; empty means AWS itself,
	// reached with the usual AWS credential chain (CACHEBENCH_DYNAMODB_ENDPOINT).
	DynamoDBEndpoint string
	// DynamoDBRegion is the AWS region (CACHEBENCH_DYNAMODB_REGION, else AWS_REGION).
	DynamoDBRegion string
	// StripeURL is the Stripe API base (CACHEBENCH_STRIPE_URL), e.g. a stripe-mock.
	StripeURL string
	// StripeKey is the secret key (CACHEBENCH_STRIPE_KEY). Live-mode keys are refused.
	StripeKey string
}

// FromEnvironment returns c with every empty field taken from its CACHEBENCH_* variable.
func (c ExternalConfig) FromEnvironment() ExternalConfig {
	str := func(v *string, name string) {
		if *v == "" {
			*v = os.Getenv(name)
		}
	}
	boolean := func(v *bool, name string) {
		if !*v {
			*v = strings.EqualFold(os.Getenv(name), "true") || os.Getenv(name) == "1"
		}
	}
	str(&c.RedisURL, "CACHEBENCH_REDIS_URL")
	boolean(&c.RedisCluster, "CACHEBENCH_REDIS_CLUSTER")
	str(&c.RedisSentinelMaster, "CACHEBENCH_REDIS_SENTINEL_MASTER")
	str(&c.RedisCAFile, "CACHEBENCH_REDIS_CA_FILE")
	boolean(&c.RedisInsecure, "CACHEBENCH_REDIS_INSECURE")
	str(&c.RedisUsername, "CACHEBENCH_REDIS_USERNAME")
	str(&c.RedisPassword, "CACHEBENCH_REDIS_PASSWORD")
	str(&c.DynamoDBEndpoint, "CACHEBENCH_DYNAMODB_ENDPOINT")
	str(&c.DynamoDBRegion, "CACHEBENCH_DYNAMODB_REGION")
	str(&c.DynamoDBRegion, "AWS_REGION")
	str(&c.StripeURL, "CACHEBENCH_STRIPE_URL")
	str(&c.StripeKey, "CACHEBENCH_STRIPE_KEY")
	return c
}

// Validate returns every problem with c at once, each naming the variable to set.
func (c ExternalConfig) Validate() error {
	var errs []error
	if c.RedisURL == "" {
		errs = append(errs, errors.New("external: no Redis: set CACHEBENCH_REDIS_URL (or --redis-url) to redis://host:port or rediss://host:port"))
	}
	if c.DynamoDBEndpoint == "" && c.DynamoDBRegion == "" {
		errs = append(errs, errors.New("external: no DynamoDB: set CACHEBENCH_DYNAMODB_ENDPOINT or --dynamodb-endpoint (DynamoDB Local), or CACHEBENCH_DYNAMODB_REGION or --dynamodb-region (AWS, with the usual AWS credentials)"))
	}
	if c.DynamoDBEndpoint != "" {
		if u, err := url.Parse(c.DynamoDBEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("external: DynamoDB endpoint %q is not an http(s) URL: set CACHEBENCH_DYNAMODB_ENDPOINT (or --dynamodb-endpoint) like http://127.0.0.1:8000", c.DynamoDBEndpoint))
		}
	}
	if c.StripeURL == "" {
		errs = append(errs, errors.New("external: no Stripe API: set CACHEBENCH_STRIPE_URL or --stripe-url (a stripe-mock, or https://api.stripe.com), and CACHEBENCH_STRIPE_KEY or --stripe-key"))
	} else if u, err := url.Parse(c.StripeURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("external: Stripe URL %q is not an http(s) URL: set CACHEBENCH_STRIPE_URL (or --stripe-url) like http://127.0.0.1:12111", c.StripeURL))
	}
	if c.StripeKey == "" {
		errs = append(errs, errors.New("external: no Stripe key: set CACHEBENCH_STRIPE_KEY (or --stripe-key) to a test-mode key (sk_test_...)"))
	} else if strings.HasPrefix(c.StripeKey, "sk_live_") || strings.HasPrefix(c.StripeKey, "rk_live_") {
		errs = append(errs, errors.New("external: CACHEBENCH_STRIPE_KEY is a live-mode key: a benchmark must not load live Stripe; use a test-mode key (sk_test_...)"))
	}
	return errors.Join(errs...)
}

// startExternal connects to the user's services and checks that each answers.
func startExternal(ctx context.Context, cfg ExternalConfig) (*Env, error) {
	cfg = cfg.FromEnvironment()
	if err := cfg.Validate(); err != nil {
		return nil, configError{err}
	}
	ropts, rep, err := redisOptionsFrom(redisConfig{URL: cfg.RedisURL, Cluster: cfg.RedisCluster, CAFile: cfg.RedisCAFile, Insecure: cfg.RedisInsecure,
		Username: cfg.RedisUsername, Password: cfg.RedisPassword, SentinelMaster: cfg.RedisSentinelMaster})
	if err != nil {
		return nil, configError{fmt.Errorf("external: %w (fix CACHEBENCH_REDIS_URL or --redis-url)", err)}
	}
	env := &Env{Provider: ProviderExternal, Redis: rep}
	region := cfg.DynamoDBRegion
	if region == "" {
		region = "us-east-1"
	}
	env.DynamoDB = DynamoDBEndpoint{Endpoint: cfg.DynamoDBEndpoint, Region: region, Emulated: isLoopbackURL(cfg.DynamoDBEndpoint)}
	switch {
	case cfg.DynamoDBEndpoint == "":
		env.DynamoDB.Backend = "AWS DynamoDB (external, " + region + ")"
	case env.DynamoDB.Emulated:
		env.DynamoDB.Backend = "DynamoDB Local (external, " + cfg.DynamoDBEndpoint + ")"
	default:
		env.DynamoDB.Backend = "DynamoDB (external, " + cfg.DynamoDBEndpoint + ")"
	}
	env.Stripe = StripeEndpoint{URL: strings.TrimRight(cfg.StripeURL, "/"), Key: cfg.StripeKey, Backend: "Stripe API (external, " + cfg.StripeURL + ")"}
	if err := env.connect(ctx, ropts); err != nil {
		env.closeQuietly()
		return nil, fmt.Errorf("external: %w (check the endpoint and that the service runs; see CACHEBENCH_REDIS_URL, CACHEBENCH_DYNAMODB_ENDPOINT, CACHEBENCH_STRIPE_URL)", err)
	}
	mode := "standalone"
	env.Redis.Topology, env.Redis.Shards = TopologyStandalone, 1
	if rep.Cluster {
		mode = "cluster"
		env.Redis.Topology, env.Redis.Shards = TopologyCluster, clusterShards(ctx, env.RedisClient)
	}
	if rep.MasterName != "" {
		mode = "replicated, Sentinel master " + rep.MasterName
		env.Redis.Topology = TopologyReplicated
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if reps, err := env.RedisReplicas(rctx); err == nil {
			env.Redis.Replicas = len(reps)
		}
		cancel()
	}
	env.Redis.Auth = AuthNone
	if ropts.Username != "" {
		env.Redis.Auth = AuthACL
	} else if ropts.Password != "" {
		env.Redis.Auth = AuthPassword
	}
	if rep.TLS {
		mode += ", TLS"
	}
	env.Redis.Backend = redisVersion(ctx, env.RedisClient) + " (external, " + mode + ")"
	return env, nil
}

// isLoopbackURL reports whether u points at this machine: such a DynamoDB endpoint is
// DynamoDB Local (or the stand-in), whose responses need the SDK's checksum check off.
func isLoopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return false
	}
	host := p.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ErrConfig is matched (errors.Is) by the errors of Start that come from the
// configuration the user gave (a missing or malformed endpoint), not from a service: the
// command line exits 2 for them.
var ErrConfig = errors.New("bad configuration")

// configError marks err as ErrConfig, keeping its message.
type configError struct{ err error }

func (e configError) Error() string        { return e.err.Error() }
func (e configError) Unwrap() error        { return e.err }
func (e configError) Is(target error) bool { return target == ErrConfig }

// clusterShards counts the primaries of a cluster client, or 0 when it cannot tell.
func clusterShards(ctx context.Context, c redis.UniversalClient) int {
	cc, ok := c.(*redis.ClusterClient)
	if !ok {
		return 0
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var mu sync.Mutex
	n := 0
	if err := cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error {
		mu.Lock()
		n++
		mu.Unlock()
		return nil
	}); err != nil {
		return 0
	}
	return n
}
