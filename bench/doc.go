// Package bench runs a scenario against a mocks environment and measures it: Run takes one
// sweep point (scenarios.Expand first) and returns its reports.Result.
//
// An open-loop run schedules every request at its intended time from a dispatcher locked
// to its own OS thread, which sleeps with nanosleep (Go's timers wake about a millisecond
// late) and hands each request to an idle worker, starting one only when none is idle. A
// closed-loop run keeps a fixed number of workers, each sending, waiting and thinking.
// Latency counts from the intended start, so a stall or a late generator shows in it as a
// production caller would see it; service time, from when a worker began, is recorded
// beside it. Workers record into a few Recorder shards (HdrHistograms, microseconds, 3
// significant digits) that a collector takes once a second for the timeline and the
// totals; the warm-up is excluded from every figure.
//
// With the Lambda fleet on, each execution environment has its own cachecore instance
// (own L1, connections and Stripe rate limiter) and takes one request at a time: a request
// goes to an idle warm environment, else a new one pays a cold start, up to
// lambda.max_concurrency, beyond which it is throttled. Idle environments are recycled;
// provisioned ones are started before the run and never are. Billed time, INIT and the
// CPU-bound part of each invocation (scaled to the memory size) feed the cost model in
// reports/pricing. Without the fleet, one instance serves every request, as one process
// would.
//
// # Counters
//
// Every counter of a result belongs to the measured part the same way: by the request
// that caused it, whatever the warm-up. A read is measured when its intended start is at
// or after the end of the warm-up, and everything it did counts with it, whenever it
// happened: its tier lookups and the origin fetch it made (from its cachecore.Trace),
// the fetch's HTTP requests, retries, 429s and failure, its staleness verdict, and what
// the Lambda fleet did for it (invocation, cold start, throttle, billed time). A fetch
// shared by several reads (request coalescing) counts for one of them; the others took
// its answer.
//
// Work that belongs to no request is counted apart, by time, from the start of the
// measured part to its end: background refreshes (stale-while-revalidate and XFetch,
// origin.refreshes, by reason), webhook events (webhooks), the fleet's peaks and mean
// concurrency, the L2 and L3 tiers' own counters behind the cost model, and the
// services' own counters (servers), which are read from the services before and after
// the measured part and so also hold what warm-up requests still in flight did then.
//
// The counters satisfy these identities, which the package's tests check on every run
// they make:
//
//   - l1.hits + l1.misses is the measured reads that completed a lookup: requests.gets,
//     less reads that failed before (a throttle, a failed cold start, a caller that gave
//     up waiting). The same for the first enabled tier when L1 is off.
//   - The misses at one enabled tier are the lookups (hits + misses) at the next enabled
//     tier. A read that shared another's lookup counts at each tier that lookup reached;
//     tiers.*.coalesced counts those lookups, so a tier itself saw hits + misses -
//     coalesced of them; except L2, where each read makes a GET of its own before it
//     coalesces (an L2 hit is never coalesced; with a tracking L1 or coalescing off, the
//     rule above holds), and a shared lookup reads L2 again when a write finished in
//     between: Redis saw hits + misses + tiers.l2.rereads GETs.
//   - The misses at the last enabled tier are origin.fetches + origin.coalesced: reads
//     that fetched from Stripe, and reads that took the answer of another read's fetch
//     (coalescing, or another instance's fill lease, whose reads miss every tier and
//     are then answered from L2).
//   - origin.calls_saved = the tiers' hits + origin.coalesced = answered reads -
//     origin.fetches: every read either fetched, or was spared the call.
//   - origin.calls is origin.fetches + origin.retries, less fetches that failed before
//     their first request (at most origin.errors); rate_limited <= calls.
//   - Background refreshes are in origin.refreshes, never in the counters above; with
//     stale_while_revalidate and xfetch_beta off there are none. Webhook events store
//     the event's object and make no origin call.
//   - lambda.invocations + lambda.throttled is the measured reads, less those whose cold
//     start failed; cold_starts <= invocations.
//   - The timeline's seconds add up to the totals: requests, errors, stale reads, cold
//     starts, and origin calls and 429s (the reads' and the refreshes').
//
// # Virtual time (clock: virtual)
//
// A scenario with clock: virtual runs on a simulated clock so hours and days (DynamoDB's
// 24 h TTL, a daily traffic curve) run in minutes. The same cachecore code serves every
// request: its Config.Now, its L1's otter clock and its Redis and DynamoDB tiers'
// retention checks (RedisConfig.Now, DynamoConfig.Now) read the simulated clock, and the
// embedded environment (mocks.EmbeddedConfig.VirtualClock) moves the in-memory L3's TTL
// check with it through Env.SetClock. miniredis keeps the TTL a key was written with (its
// own clock-driven expiry walks the whole keyspace at every command): a key dead on the
// cache's clock is read as a miss, as an expired key would be, and at the end of every
// timeline bucket Env.SweepRedis deletes dead keys, as Redis's active expiry does, so
// what Redis holds is what a Redis would. The caches reach the services in process (a
// pipe to miniredis, the Stripe overlay's handler, and memdynamo.Client, which hands
// GetItem and PutItem to the in-memory L3's own operations without the AWS SDK's stack):
// on simulated time the network is a model, and sockets would only spend the harness's
// time. miniredis runs cachecore's write script in Go rather than in a Lua interpreter
// it builds per call (mocks.SetIfNewerScript), and a hook on the go-redis clients answers
// GET and that script from miniredis's store in the caller's goroutine, sparing the
// pipe's hand-offs; the L2 therefore runs with pipeline: never (one command is in flight
// at a time, so batching would save nothing). These stand-ins are held to the slower
// paths' answers by differential tests. Other environments are refused: real Redis and
// DynamoDB expire on the wall clock.
//
// The caches draw their TTL jitter (and the hot-key sample) from a source seeded by the
// scenario (cachecore.Config.Rand), so without the Lambda fleet a run's counts are the
// same every time from one seed. With the fleet they are not quite: which environment
// serves a read follows the modelled latencies, drawn from each run's own calibration.
//
// The schedule is a discrete-event one, driven by one goroutine: the arrival schedule
// (or a trace's recorded times, to its end when there is no duration) gives each request
// its simulated instant; the clock jumps there, and the request's
// cache read runs to completion before the next one starts. The Lambda fleet (vfleet)
// follows the real fleet's rules on simulated time: an environment is busy from its
// request's arrival for the modelled time of its invocation (a cold start's init drawn
// as the real fleet draws it, the read's modelled latency, handler_time and handler_cpu
// scaled to the memory), so requests overlap in simulated time as they would in real
// time, and that overlap sets how many environments run, each with its own L1; idle ones
// are recycled past their idle limit and all at the maximum lifetime. What does not
// overlap is the cache reads themselves: a miss completes at its arrival instant, so
// concurrent misses of one key are not coalesced (each later one finds the backfilled
// entry; origin calls are exact, the modelled latency of those callers is not). A
// testing/synctest bubble was not chosen: its time advances only when every goroutine
// in it is durably blocked, which I/O to the services, even over a pipe, is not.
//
// Latency is modelled, never taken from the wall clock: a read costs one round trip
// (mean plus Gaussian jitter) of the network profile of each tier it reached, plus the
// invocation's init and handler time, and the result says latency_model: modelled. Not
// modelled yet, and refused with the fix: failover faults, provisioned concurrency,
// the closed model, stale-while-revalidate, XFetch and leases (they refresh or
// wait on the wall clock). Cache warming (cache.l1.warm) runs at each cold start, from
// the hot list the environments flush to Redis once a simulated second
// (cachecore.Cache.FlushHotKeys, with the background flush off); its time is modelled
// as two calibrated L2 round trips (the list, one pipelined read), part of INIT. The client-side Stripe rate limiter (a
// wall-clock pacer) is off; origin calls are counted, not paced. Redis maxmemory is not
// enforced (miniredis has none). The caches' circuit breakers are off: gobreaker keeps
// wall-clock time, so on simulated time an open breaker would stay open for thousands
// of simulated seconds.
//
// Updates and webhooks are events of the same schedule. An update goes to the Stripe
// overlay at its instant, as in real time (a change made elsewhere, reaching the cache
// only as a webhook); the overlay's versions and the staleness oracle run on the
// simulated clock (stripeoverlay.Config.Now), and its deliveries are due there too
// (WebhookConfig.Manual): the overlay draws each delay, duplicate and reordering as in
// real time, and before each request the runner moves the clock to every delivery due
// by then, in order, and delivers it. The event takes the real path: signature check,
// cachecore's Apply in one environment, and Redis pub/sub to the other environments'
// L1s, whose arrival the runner waits for (in process, microseconds of wall time), so
// the next read finds it applied, not racing it. A read is stale when the version it
// returns is older than the overlay's current one at its instant, as in real time. The
// overlay was given a manual mode rather than a timer interface because a discrete-event
// loop must deliver in its own goroutine, between two reads, at the due instant; timers
// firing elsewhere would race the reads the way they do on the wall clock.
//
// The fault timeline (faults:) switches at its simulated instants, and acts where the
// caches meet the services (vfaults), because on the virtual clock there is no socket
// for the netsim proxies to break: Stripe's rate_limit and errors are the overlay's own
// injection; down and reset fail the calls of a cache's L2 or L3 tier (cachecore.Tier)
// or Stripe client at once; pause returns a time-out at once and charges the time left
// to the call's deadline (the cache's time-out for that tier) to the read's modelled
// latency; latency and bandwidth charge their added time (a call that reaches its
// deadline times out instead). So cachecore's own time-outs, fall-through and counters,
// and the origin's retries (whose waits, StripeOriginConfig.Sleep, are charged too), run
// as in real time; what the network would have done is modelled. Lookups are charged,
// writes are not (the latency model has no write round trips), and Redis pub/sub is not
// faulted.
//
// Cost on the virtual clock is priced bucket by bucket (timeline[].cost_usd) and for the
// whole run (cost_usd, with per_day and per_month at the run's rate, and usage, the
// quantities priced): Lambda from the fleet's invocations and billed time, ElastiCache
// node-hours (or serverless ECPUs and the bytes Redis held), DynamoDB's request units
// and the bytes its table held, sampled at every bucket's end.
//
// # Sharded runs
//
// Options.Shard makes a run shard I of N of one run spread over N processes (machines),
// against shared services (the external environment), whose results reports.Merge
// combines. A shard's generator draws the whole run's request stream from the seed —
// arrival times, object types, keys and operations, each from its own stream as in a
// whole run — and keeps request j when j mod N = I (workload.Generator.Shard), so the
// shards are disjoint and together exactly the whole run's stream, for every open
// arrival model and a trace replay; a request count is counted over the whole stream
// (workload.Generator.Limit). This is the cheapest exact design: the random streams are
// sequential, so a shard cannot jump to its own requests, but drawing one costs about
// 100 ns, so a shard's generator still yields about 10M/N requests a second
// (BenchmarkShardNext), far more than a shard sends at a few dozen shards. The closed model is refused: its requests
// follow their completions. The Lambda fleet is divided (Shard.share): max_concurrency
// and provisioned_concurrency over N, the remainder one each to the lowest indices, so
// the shards' sums are the scenario's; so are Stripe's account rate limits in each
// shard's overlay, unless the shards share one (below). Options.StartAt lines the shards' timelines up, and Options.RunID
// names their shared data on the services, which no shard drops.
//
// Updates and webhooks in a sharded run are made by shard 0 alone (the generator gives
// it every update), and the other shards learn versions from one Stripe overlay that
// every shard shares: the Stripe overlay service that 'cachebench env up' serves in
// front of the Stripe API and prints as CACHEBENCH_STRIPE_URL
// (stripeoverlay.Service; in Kubernetes a Deployment and Service, its address given
// with --stripe-overlay-listen and the Secret's CACHEBENCH_STRIPE_URL). A shard of a
// run with updates (ops.update > 0, or a trace) joins its run's overlay in the service,
// named by Options.RunID and made with the scenario's stripe keys and the account's
// whole rate limits (stripeoverlay.Dial), and then:
//
//   - its caches' stripe-go clients read through that overlay, so every shard sees
//     one set of versions, stamped in what it reads, and one rate limiter, as at
//     Stripe, whose limits are per account (a read-only sharded run instead gives each
//     shard's own overlay 1/N of them);
//   - shard 0 makes the updates through the service's API, so each is one version of
//     the run's history, with its webhook event;
//   - events are POSTed, signed, to a webhook endpoint the shard serves and registers
//     (CACHEBENCH_WEBHOOK_LISTEN, default 127.0.0.1:0, and CACHEBENCH_WEBHOOK_URL, the
//     URL the service reaches it at, e.g. the pod's IP). When the caches have an L2, only
//     shard 0 registers: applying an event refreshes L2 and L3 and publishes the
//     invalidation on the run's Redis channel, which every L1 of every shard
//     subscribes to, so one delivery reaches them all, as one Stripe endpoint in front
//     of a fleet would. Without an L2, every shard registers and applies each event to
//     its own L1s;
//   - its measured reads are judged at the end of the run against the run's whole
//     history, fetched from the service (stripeoverlay.HistorySet), and added to the
//     totals and to the timeline's second each read ended in. Every shard judges
//     against the same history, so each shard's stale-read count is exact and the
//     merged count is their sum. Judging at the end rather than per read costs a few
//     tens of bytes per read held until then, and never races the update it is judged
//     against (a read on shard 3 may end before shard 0's update reaches the service's
//     answer to a per-read check). The service's clock stamps the changes and each
//     shard's clock its reads: on several machines their skew (NTP: milliseconds) is
//     an error of that size on each staleness.
//
// A sharded run with updates whose CACHEBENCH_STRIPE_URL is not the service is refused
// with the fix named, as are what the service's overlays do not take yet: injected
// Stripe HTTP faults (rate_limit, errors) and a trace's value sizes. In such a run a
// shard's result has no overlay counters (rate-limited answers at the overlay, webhook
// events emitted and delivered): they are the service's, and a note says so.
//
// # The benchmarks
//
// The benchmarks in this package (BenchmarkCachePath, BenchmarkOpenLoopL1,
// BenchmarkRecorderRead) report their figures with b.ReportMetric for benchstat.
package bench
