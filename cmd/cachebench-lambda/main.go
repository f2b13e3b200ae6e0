// Command cachebench-lambda is an AWS Lambda function that serves Stripe customers through
// cachecore: an in-process L1, ElastiCache (Redis or Valkey) as L2, a DynamoDB table as
// L3, and the Stripe API behind them. It is the example of cachecore in a real function;
// deploy/lambda/template.yaml deploys it, scripts/build-lambda.sh builds it for the
// provided.al2023 runtime on arm64.
//
// # Requests
//
// The event is an HTTP request as a Lambda function URL or an API Gateway HTTP API (payload
// 2.0) delivers it (events.APIGatewayV2HTTPRequest):
//
//   - GET /v1/customers/{id} answers 200 with the customer's JSON as Stripe returns it, and
//     the header X-Cache-Tier naming the tier that served it (l1, l2, l3 or origin).
//   - An unknown customer answers 404, a path that is not /v1/customers/ followed by an ID
//     of 1 to 255 letters, digits and underscores 400, any method but GET (or HEAD) 405,
//     each with a Stripe-style {"error":{"type":…,"message":…}} body.
//   - When neither the cache nor Stripe can answer (Stripe down, rate limited past the
//     retries), 502.
//
// # Configuration
//
// The cache is built once, at INIT, from these environment variables, and serves every
// invocation of the execution environment:
//
//   - REDIS_URL (required): the L2, redis:// or rediss:// (TLS, which ElastiCache
//     Serverless always uses), with user and password if any.
//   - REDIS_CLUSTER: "true" for a Redis Cluster client, which ElastiCache Serverless needs
//     (it runs in cluster mode only); "false" or unset for a standalone server.
//   - CACHE_TABLE (required): the DynamoDB table of the L3. It must exist with the key
//     schema and TTL cachecore uses (hash key pk, TTL on expires_at); the function only
//     describes it at INIT, it never creates it.
//   - STRIPE_SECRET_ARN: the Secrets Manager secret holding the Stripe API key (the key
//     alone as the secret string), read once at INIT; or, for a local run, STRIPE_KEY: the
//     key itself. Exactly one of the two.
//   - STRIPE_URL: the Stripe API base, to run against stripe-mock; unset means Stripe.
//
// The AWS SDK reads its own (AWS_REGION and the credentials, which Lambda sets;
// AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local).
//
// # Metrics
//
// The cache's OpenTelemetry metrics (cachecore.Config.MeterProvider) are written to
// stdout in CloudWatch's Embedded Metric Format (package cachecore/emf) at the end of
// each invocation, before Lambda may freeze the environment: the hits, misses and
// failures of each tier, origin fetches, requests and 429s, and the mean read time by
// serving tier, in the namespace cachebench, which CloudWatch Logs turns into metrics.
// Values of 0 are left out (emf.Exporter.SkipZero): an L1 hit writes a line or two.
//
// The L1 keeps an object 30 seconds: the function serves reads only, and with no webhook
// events reaching it that bounds how stale an L1 hit can be. Stripe's rate limit is kept
// for the whole fleet of environments in Redis (cachecore's fleet limiter).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	fn, err := initFunction(ctx, os.Getenv, os.Stdout, os.Stderr)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cachebench-lambda: init:", err)
		os.Exit(1)
	}
	// SIGTERM comes before Lambda shuts an environment down (when an extension is
	// registered): the last metrics are flushed then.
	lambda.StartWithOptions(fn.Handle, lambda.WithEnableSIGTERM(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		_ = fn.Close(ctx)
	}))
}

// initFunction is the function's INIT: its settings from getenv, the AWS SDK's
// configuration from the process's environment (with awsOpts), and the cache, whose
// metrics go to stdout and failures to stderr.
func initFunction(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer, awsOpts ...func(*awsconfig.LoadOptions) error) (*function, error) {
	s, err := readSettings(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsOpts...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return newFunction(ctx, s, awsCfg, stdout, stderr)
}
