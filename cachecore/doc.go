// Package cachecore is a read-through cache of Stripe objects for code that runs in AWS
// Lambda (or anywhere): an in-process L1 (LRU or TinyLFU, bounded by entries and bytes), a
// Redis L2 (go-redis UniversalClient: standalone, Sentinel or cluster), a DynamoDB L3, and
// the Stripe API as the origin (stripe-go v76, behind a client-side rate limiter sized to
// Stripe's limits, with retries that honour 429 and Stripe-Should-Retry).
//
// Reads go L1 → L2 → L3 → origin and fill the tiers above the one that answered, never
// beyond the remaining life of what was found. Concurrent misses on one key make one lookup
// of L3 and the origin (request coalescing; each reader reads L2 itself first, so an L2 hit
// costs no more than its GET), and with Config.LeaseTTL a whole fleet makes one origin
// call. The L2 sends a lone command straight to its connection and concurrent ones
// through go-redis's autopipeliner (RedisConfig.Pipeline auto, the default), whichever is
// faster where it is used.
// Stale-while-revalidate, probabilistic early refresh (XFetch), negative caching and TTL
// jitter are options. Webhook events (Apply) refresh or invalidate every tier, guarded by
// version so an old or duplicate event never brings back older data, and reach other
// instances' L1s through Redis pub/sub. Each lower tier has a time-out and a circuit
// breaker: a dead Redis or a throttled DynamoDB makes reads slower, never failed.
//
// The package holds no global state and knows nothing of the benchmark harness; Stats
// reports its counters, and each read's Result.Trace says what that read did (the tiers
// it missed, whether it fetched from the origin or took another read's fetch, and the
// fetch's requests, retries and 429s), so a caller can count work by the read that
// caused it.
//
// With Config.MeterProvider set, the cache also reports OpenTelemetry metrics for
// production monitoring: per-tier hits, misses, stale hits, backfills and failures
// (cachecore.hits{tier=l1|l2|l3} …), origin fetches, requests, retries and 429s, and read
// and origin latency in seconds (cachecore.get.duration by the tier that served the read,
// one L1 hit in 64 timed). The counts are observed from the same counters as Stats, when
// the provider collects, so measuring costs the read path nothing; the package imports only
// the OpenTelemetry API, and the caller chooses the SDK and exporter (the example of
// Config.MeterProvider prints CloudWatch Embedded Metric Format on stdout, as a Lambda
// function would). Without a MeterProvider there are no metrics and no cost.
//
//	l1, _ := cachecore.NewL1(cachecore.L1Config{Policy: "tinylfu", MaxEntries: 10000, TTL: 30 * time.Second})
//	l2, _ := cachecore.NewRedisTier(cachecore.RedisConfig{Client: redisClient})
//	origin, _ := cachecore.NewStripeOrigin(cachecore.StripeOriginConfig{Client: stripeClient, RateLimit: "live"})
//	cache, _ := cachecore.New(cachecore.Config{L1: l1, L2: l2, Origin: origin, Redis: redisClient})
//	defer cache.Close()
//	cus, res, err := cache.GetCustomer(ctx, "cus_123")
package cachecore
