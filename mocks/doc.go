// Package mocks owns the world around the cache: the services cachebench runs against.
//
// Start returns an Env — the endpoints of Redis, DynamoDB and a Stripe API, a description
// of what backs each (for reports), and ready clients (go-redis UniversalClient,
// aws-sdk-go-v2 DynamoDB, stripe-go v76) — from one of five providers:
//
//   - docker: testcontainers-go runs Redis, DynamoDB Local and stripe-mock, published on
//     127.0.0.1 only; image names come from DockerConfig or CACHEBENCH_*_IMAGE.
//   - local: the same three programs as child processes on free loopback ports.
//   - external: services the user names (ElastiCache incl. TLS and cluster mode, a
//     Sentinel-backed set, DynamoDB or DynamoDB Local, a Stripe API with a test-mode key).
//   - embedded: everything in this process (miniredis, stripe-mock's server package, and
//     memdynamo, an in-memory L3 stand-in that is labelled as not DynamoDB).
//   - auto: docker, else local, else embedded, saying which it chose and why.
//
// docker and local also start the Redis of Config.Redis (RedisTopology): a cluster, or a
// replicated set of a primary, replicas and three Sentinels, with TLS and AUTH; Env.Failover
// kills its primary so a replica is promoted (the failover fault).
//
// Every provider proves each service answers (Redis PING, DynamoDB ListTables, a Stripe
// GET) before Start returns, and Env.Close stops everything it started.
//
//	env, err := mocks.Start(ctx, mocks.Config{Provider: "auto", Log: os.Stderr})
//	if err != nil {
//		return err
//	}
//	defer env.Close(context.Background())
//	c, err := env.StripeClient.Customers.Get("cus_123", nil)
package mocks
