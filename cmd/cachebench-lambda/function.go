package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/redis/go-redis/v9"
	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/cachecore/emf"
)

// Metrics names the metrics written to the logs: each is a CloudWatch custom metric,
// billed by the metric, so only these.
var metrics = []string{
	"cachecore.hits", "cachecore.misses", "cachecore.stale_hits", "cachecore.tier.errors",
	"cachecore.origin.fetches", "cachecore.origin.calls", "cachecore.origin.rate_limited",
	"cachecore.get.duration",
}

// metricsNamespace is the CloudWatch namespace of the function's metrics.
const metricsNamespace = "cachebench"

// function is one execution environment's cache and what it holds open; Handle serves
// the invocations.
type function struct {
	cache  *cachecore.Cache
	meters *sdkmetric.MeterProvider
	redis  redis.UniversalClient
	// errLog receives a line for each request that failed for want of Stripe.
	errLog io.Writer
}

// newFunction builds the cache of s: the Stripe key (from Secrets Manager when
// s.SecretARN is set), the Redis client, the DynamoDB table (which must exist), and the
// meter provider whose EMF documents go to metricsOut.
func newFunction(ctx context.Context, s settings, awsCfg aws.Config, metricsOut, errLog io.Writer) (_ *function, err error) {
	f := &function{errLog: errLog}
	defer func() {
		if err != nil {
			_ = f.Close(context.Background())
		}
	}()
	key := s.StripeKey
	if s.SecretARN != "" {
		if key, err = stripeKeyFromSecret(ctx, secretsmanager.NewFromConfig(awsCfg), s.SecretARN); err != nil {
			return nil, err
		}
	}
	if f.redis, err = newRedisClient(s.RedisURL, s.RedisCluster); err != nil {
		return nil, err
	}
	origin, err := cachecore.NewStripeOrigin(cachecore.StripeOriginConfig{
		Client:    newStripeClient(key, s.StripeURL),
		RateLimit: rateLimit(key),
		// Stripe's limit is the account's: one limiter in Redis for every environment of
		// the function, each limiting itself alone only while Redis does not answer.
		Fleet: f.redis,
	})
	if err != nil {
		return nil, fmt.Errorf("stripe origin: %w", err)
	}
	l2, err := cachecore.NewRedisTier(cachecore.RedisConfig{Client: f.redis})
	if err != nil {
		return nil, fmt.Errorf("l2: %w", err)
	}
	l3, err := cachecore.NewDynamoTier(ctx, cachecore.DynamoConfig{Client: dynamodb.NewFromConfig(awsCfg), Table: s.Table})
	if err != nil {
		return nil, fmt.Errorf("l3: %w (%s names the table; deploy/lambda/template.yaml makes it as cachecore needs it)", err, envTable)
	}
	l1, err := cachecore.NewL1(cachecore.L1Config{Policy: "tinylfu", MaxEntries: 10000, MaxBytes: 32 << 20, TTL: 30 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("l1: %w", err)
	}

	// Flushed at every invocation, most deltas are 0: those are left out of the logs.
	exporter := &emf.Exporter{W: metricsOut, Namespace: metricsNamespace, Only: metrics, SkipZero: true}
	// Handle flushes at the end of each invocation; the period only matters to an
	// environment that lives a day without one.
	f.meters = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exporter, sdkmetric.WithInterval(24*time.Hour))))

	f.cache, err = cachecore.New(cachecore.Config{L1: l1, L2: l2, L3: l3, Origin: origin, MeterProvider: f.meters})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	return f, nil
}

// stripeKeyFromSecret reads the Stripe key from the secret arn: its secret string, the
// key alone.
func stripeKeyFromSecret(ctx context.Context, sm *secretsmanager.Client, arn string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("stripe key: read secret %s: %w", arn, err)
	}
	key := strings.TrimSpace(aws.ToString(out.SecretString))
	if err := checkStripeKey(key); err != nil {
		return "", fmt.Errorf("stripe key: secret %s: %w; put the key alone in its secret string", arn, err)
	}
	return key, nil
}

// newStripeClient returns a stripe-go client with key, on the API base url ("" means
// Stripe's), that makes no retries of its own: the cache's origin retries, and counts
// them.
func newStripeClient(key, url string) *stripeclient.API {
	cfg := &stripe.BackendConfig{
		HTTPClient:        &http.Client{Timeout: 10 * time.Second},
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if url != "" {
		cfg.URL = stripe.String(url)
	}
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, cfg)
	return stripeclient.New(key, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
}

// newRedisClient returns a client for rawURL, a cluster client when cluster is set.
// ContextTimeoutEnabled makes it honour the deadline the cache gives each call
// (Config.L2Timeout) rather than wait its own read time-out when Redis stops answering.
func newRedisClient(rawURL string, cluster bool) (redis.UniversalClient, error) {
	if cluster {
		opts, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", envRedisURL, err)
		}
		opts.ContextTimeoutEnabled = true
		return redis.NewClusterClient(opts), nil
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envRedisURL, err)
	}
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts), nil
}

// Close flushes the last metrics and releases the cache and its connections.
func (f *function) Close(ctx context.Context) error {
	var errs []error
	if f.cache != nil {
		errs = append(errs, f.cache.Close())
	}
	if f.meters != nil {
		errs = append(errs, f.meters.Shutdown(ctx))
	}
	if f.redis != nil {
		if err := f.redis.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Handle serves one request (see the package doc), then writes the invocation's metrics.
// Every outcome is an HTTP response; the error is always nil, so that Lambda does not
// retry or report the invocation as failed for a client's mistake.
func (f *function) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	resp := f.serve(ctx, req)
	// Lambda may freeze the environment as soon as Handle returns: write now, within a
	// bound of its own so that a request at its deadline still gets its metrics out.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 200*time.Millisecond)
	defer cancel()
	if err := f.meters.ForceFlush(fctx); err != nil {
		fmt.Fprintf(f.errLog, "cachebench-lambda: metrics: %v\n", err)
	}
	return resp, nil
}

func (f *function) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	method := req.RequestContext.HTTP.Method
	path := req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	if method != http.MethodGet && method != http.MethodHead {
		r := errorResponse(http.StatusMethodNotAllowed, "invalid_request_error", fmt.Sprintf("method %s is not allowed: use GET", method))
		r.Headers["Allow"] = "GET, HEAD"
		return r
	}
	id, err := customerID(path)
	if err != nil {
		return errorResponse(http.StatusBadRequest, "invalid_request_error", err.Error())
	}
	res, err := f.cache.Get(ctx, cachecore.Ref{Object: cachecore.ObjectCustomer, ID: id})
	switch {
	case errors.Is(err, cachecore.ErrNotFound):
		return errorResponse(http.StatusNotFound, "invalid_request_error", fmt.Sprintf("No such customer: '%s'", id))
	case err != nil:
		fmt.Fprintf(f.errLog, "cachebench-lambda: get customer %s: %v\n", id, err)
		return errorResponse(http.StatusBadGateway, "api_error", "the customer could not be read from the cache or from Stripe; try again")
	}
	body := string(res.Value)
	if method == http.MethodHead {
		body = ""
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusOK,
		Headers:    map[string]string{"Content-Type": "application/json", "X-Cache-Tier": res.Tier.String()},
		Body:       body,
	}
}

// errorResponse is a response of status with a Stripe-style error body.
func errorResponse(status int, typ, msg string) events.APIGatewayV2HTTPResponse {
	body, _ := json.Marshal(map[string]any{"error": map[string]string{"type": typ, "message": msg}})
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}
}

// customersPath is the prefix of the one path the function serves.
const customersPath = "/v1/customers/"

// customerID returns the ID of path /v1/customers/{id}: 1 to 255 letters, digits and
// underscores, as Stripe's IDs are.
func customerID(path string) (string, error) {
	id, ok := strings.CutPrefix(path, customersPath)
	if !ok {
		return "", fmt.Errorf("path %q is not served: use GET %s{id}", truncate(path, 100), customersPath)
	}
	if id == "" || len(id) > 255 {
		return "", fmt.Errorf("customer ID has %d characters, want 1 to 255: use GET %s{id}", len(id), customersPath)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return "", fmt.Errorf("customer ID %q has a character other than letters, digits and underscores", truncate(id, 100))
		}
	}
	return id, nil
}

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
