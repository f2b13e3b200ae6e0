package scenarios

import "time"

// Scenario is one parsed, defaulted and validated scenario file: what load to offer, to
// which cache configuration, in which environment, and what counts as a pass. Its YAML
// keys are the contract of DESIGN.md ("The scenario file"); every field below lists its key
// and its default.
type Scenario struct {
	// Name (name) identifies the scenario in reports; default: the file name without .yaml.
	Name string `yaml:"name" json:"name"`
	// Description (description) is one line for `cachebench list`.
	Description string `yaml:"description" json:"description,omitempty"`
	// Seed (seed) makes the run reproducible: the same seed gives the same sequence of keys,
	// operations and inter-arrival gaps. Default 1.
	Seed int64 `yaml:"seed" json:"seed"`
	// Duration (duration) is how long load is offered after warm-up. Default 30s when
	// Requests is 0. At most one of Duration and Requests may be set; a file that sets
	// requests runs no default duration.
	Duration time.Duration `yaml:"duration" json:"duration_ns"`
	// Requests (requests) ends the measured part after this many requests instead.
	Requests int64 `yaml:"requests" json:"requests,omitempty"`
	// Warmup (warmup) is offered before the measured part and excluded from every figure.
	// Default 0.
	Warmup time.Duration `yaml:"warmup" json:"warmup_ns"`
	// Clock (clock) is "real" ("" too: the wall clock, latency measured) or "virtual"
	// (simulated time: long horizons run in minutes, latency is modelled and labelled so).
	Clock string `yaml:"clock" json:"clock,omitempty"`

	Arrival Arrival `yaml:"arrival" json:"arrival"`
	Keys    Keys    `yaml:"keys" json:"keys"`
	Ops     Ops     `yaml:"ops" json:"ops"`
	Cache   Cache   `yaml:"cache" json:"cache"`
	Lambda  Lambda  `yaml:"lambda" json:"lambda"`
	// Network (network) names the network profile for every service ("none",
	// "aws-same-az", "aws-cross-az", ...), or sets one per service. Default "none". See
	// NetworkFor for how a single name spreads over the services.
	Network Network `yaml:"network" json:"network"`
	Stripe  Stripe  `yaml:"stripe" json:"stripe"`
	Cost    Cost    `yaml:"cost" json:"cost"`
	// Faults (faults) are scheduled against the services during the measured part; their
	// times count from its start (after warm-up).
	Faults []Fault `yaml:"faults" json:"faults,omitempty"`
	// Thresholds (thresholds) are pass/fail expressions over the result, such as
	// "p99 < 50ms" or "l1.hit_ratio > 0.8".
	Thresholds []string `yaml:"thresholds" json:"thresholds,omitempty"`
	// Sweep (sweep) maps dotted keys (cache.l1.ttl) to lists of values; Expand turns a
	// scenario with a sweep into one scenario per combination.
	Sweep []SweepAxis `yaml:"-" json:"sweep,omitempty"`

	// File is the path the scenario was read from; for a built-in one it is
	// "scenarios/NAME.yaml".
	File string `yaml:"-" json:"file,omitempty"`
	// Point names this scenario's sweep point ("cache.l1.ttl=10s,lambda.memory_mb=512"),
	// empty when it is not part of a sweep.
	Point string `yaml:"-" json:"point,omitempty"`

	// src remembers where each key was written (file line or --set override), so that
	// Validate can point at it. nil for a Scenario built in Go.
	src *source
}

// Arrival models (arrival.model).
const (
	ArrivalConstant = "constant" // one request every 1/rate, open loop
	ArrivalPoisson  = "poisson"  // exponential gaps with mean 1/rate, open loop
	ArrivalRamp     = "ramp"     // rate rises linearly from `from` to `to` over the duration
	ArrivalSteps    = "steps"    // piecewise-constant rates, each for its `for`
	ArrivalClosed   = "closed"   // fixed concurrency, each worker waits `think` between requests
	ArrivalDiurnal  = "diurnal"  // a daily curve around `rate`, `peak_ratio` peak/trough, peaking at `peak_at`
)

// Clocks (clock): how the run's scenario time passes.
const (
	ClockReal    = "real"    // the wall clock: latency is measured
	ClockVirtual = "virtual" // simulated time: latency is modelled, and a day runs in minutes
)

// Arrival (arrival) is how requests are offered.
type Arrival struct {
	// Model is constant (default), poisson, ramp, steps, closed or diurnal.
	Model string `yaml:"model" json:"model"`
	// Rate is requests per second for constant and poisson. Default 100.
	// A ramp needs Duration (it rises over it), not Requests.
	Rate float64 `yaml:"rate" json:"rate,omitempty"`
	// From and To are the start and end rates of a ramp (requests per second).
	From float64 `yaml:"from" json:"from,omitempty"`
	To   float64 `yaml:"to" json:"to,omitempty"`
	// Steps are the rates of a steps model, in order; after the last, it holds.
	Steps []Step `yaml:"steps" json:"steps,omitempty"`
	// Concurrency is the number of workers of the closed model. Default 10.
	Concurrency int `yaml:"concurrency" json:"concurrency,omitempty"`
	// Think is the pause of a closed-model worker between its requests. Default 0.
	Think time.Duration `yaml:"think" json:"think_ns,omitempty"`
	// PeakRatio is the diurnal model's peak rate over its trough rate (>= 1). Default 4.
	// The curve is rate·(1 + A·cos(2π(t−peak_at)/24h)) with A = (peak_ratio−1)/(peak_ratio+1),
	// so its mean over a day is rate.
	PeakRatio float64 `yaml:"peak_ratio" json:"peak_ratio,omitempty"`
	// PeakAt is the time of day (offset from the run's start, which is midnight) at which
	// the diurnal rate peaks, in [0, 24h); 0 is midnight.
	PeakAt time.Duration `yaml:"peak_at" json:"peak_at_ns,omitempty"`
}

// Step is one rate of a steps arrival model.
type Step struct {
	Rate float64       `yaml:"rate" json:"rate"`
	For  time.Duration `yaml:"for" json:"for_ns"`
}

// Key distributions (keys.distribution).
// uniform: every key equally likely; zipf: rank r has weight 1/r^zipf_s; hotspot: hot_share
// of the traffic to hot_keys of the keys; trace: replay keys.trace.
const (
	DistUniform = "uniform"
	DistZipf    = "zipf"
	DistHotspot = "hotspot"
	DistTrace   = "trace"
)

// Keys (keys) is which objects are asked for, and how often each.
type Keys struct {
	// Object is the Stripe object type read: customer (default), subscription, price,
	// invoice or product. Mix, when set, replaces it.
	Object string `yaml:"object" json:"object,omitempty"`
	// Mix gives several object types with their shares of requests, e.g.
	// {customer: 0.7, subscription: 0.3}; shares must sum to 1.
	Mix map[string]float64 `yaml:"mix" json:"mix,omitempty"`
	// Count is the number of distinct objects (per type). Default 10000.
	Count int `yaml:"count" json:"count"`
	// Distribution is uniform (default), zipf, hotspot or trace.
	Distribution string `yaml:"distribution" json:"distribution"`
	// ZipfS is the Zipf exponent s (> 0; 1.0 default). Ranks are shuffled onto keys with
	// the seed, so the most popular key is not always key 0.
	ZipfS float64 `yaml:"zipf_s" json:"zipf_s,omitempty"`
	// HotShare of the traffic goes to HotKeys (a fraction of Count) for hotspot; defaults
	// 0.8 and 0.2. HotMove, when > 0, moves the hot set to other keys at that interval.
	HotShare float64       `yaml:"hot_share" json:"hot_share,omitempty"`
	HotKeys  float64       `yaml:"hot_keys" json:"hot_keys,omitempty"`
	HotMove  time.Duration `yaml:"hot_move" json:"hot_move_ns,omitempty"`
	// Trace is a CSV file of time,key,operation rows (time in seconds from the start, key an
	// object ID, operation get or update) replayed by the trace distribution; a relative
	// path is relative to the scenario file.
	Trace string `yaml:"trace" json:"trace,omitempty"`
	// TraceFormat is the trace file's format: cachebench (time,key,operation CSV),
	// oracle-general (libCacheSim's 24-byte binary records), twitter (Twitter's cache-trace
	// CSV) or csv (any CSV, mapped by TraceColumns). Empty: told by the file's name.
	// Files may be gzip- or zstd-compressed whatever the format.
	TraceFormat string `yaml:"trace_format" json:"trace_format,omitempty"`
	// TraceColumns maps the columns of a csv trace (1-based; 0 = absent): key is required,
	// time is in seconds, op is the operation (reads unless listed in TraceWrites).
	TraceColumns TraceColumns `yaml:"trace_columns" json:"trace_columns,omitzero"`
	// TraceWrites lists the operation values of a csv trace that are writes (updates);
	// every other value is a read.
	TraceWrites []string `yaml:"trace_writes" json:"trace_writes,omitempty"`
	// TraceSpeed plays the trace's recorded time that many times faster (10: ten times);
	// 0 means 1.
	TraceSpeed float64 `yaml:"trace_speed" json:"trace_speed,omitempty"`
	// TraceRate ignores the recorded times and replays the rows evenly at this many a
	// second. At most one of TraceSpeed and TraceRate may be set.
	TraceRate float64 `yaml:"trace_rate" json:"trace_rate,omitempty"`
	// TraceSizes: a trace's value sizes (Twitter's, oracleGeneral's, a csv trace's size
	// column) set the sizes of the Stripe objects served, padded to them (default true).
	// false serves every object at its own size, for comparisons by entry count.
	TraceSizes bool `yaml:"trace_sizes" json:"trace_sizes"`
	// Expand lists expansions requested with every read (e.g. [default_payment_method]).
	Expand []string `yaml:"expand" json:"expand,omitempty"`
}

// TraceColumns (keys.trace_columns) are the 1-based columns of a csv trace; 0 means the
// trace has no such column.
type TraceColumns struct {
	Time int `yaml:"time" json:"time,omitempty"`
	Key  int `yaml:"key" json:"key,omitempty"`
	Op   int `yaml:"op" json:"op,omitempty"`
	Size int `yaml:"size" json:"size,omitempty"`
}

// Trace formats (keys.trace_format).
const (
	TraceCachebench    = "cachebench"
	TraceOracleGeneral = "oracle-general"
	TraceTwitter       = "twitter"
	TraceCSV           = "csv"
)

// Ops (ops) is the share of each operation; they must sum to 1. Default get: 1. When a
// file (or an override) gives only one of them, the other is 1 minus it: `ops: {update:
// 0.05}` means get 0.95.
type Ops struct {
	Get    float64 `yaml:"get" json:"get"`
	Update float64 `yaml:"update" json:"update"`
}

// Cache (cache) configures cachecore.
type Cache struct {
	L1 L1 `yaml:"l1" json:"l1"`
	L2 L2 `yaml:"l2" json:"l2"`
	L3 L3 `yaml:"l3" json:"l3"`
	// Coalesce turns request coalescing on (default true).
	Coalesce bool `yaml:"coalesce" json:"coalesce"`
	// Invalidation is webhook (default: the overlay's events are applied to the cache) or
	// ttl-only (events are ignored; entries live out their TTL).
	Invalidation string `yaml:"invalidation" json:"invalidation"`
	// EventMode is what a webhook does: refresh (default) or invalidate.
	EventMode string `yaml:"event_mode" json:"event_mode"`
	// NegativeTTL caches "not found" this long; default 30s; 0 turns negative caching
	// off (cachecore's Config.NegativeTTL wants a negative value for that).
	NegativeTTL time.Duration `yaml:"negative_ttl" json:"negative_ttl_ns"`
	// SWR (stale_while_revalidate) serves an expired entry this long while one refresh
	// runs; default 0 (off).
	SWR time.Duration `yaml:"stale_while_revalidate" json:"stale_while_revalidate_ns"`
	// XFetchBeta enables probabilistic early refresh; default 0 (off).
	XFetchBeta float64 `yaml:"xfetch_beta" json:"xfetch_beta"`
	// Lease (lease) makes a fleet of instances take a Redis lease before an origin call;
	// default 0 (off).
	Lease time.Duration `yaml:"lease" json:"lease_ns"`
	// Shape (shape) is what every tier holds of each object: full (default, the whole
	// object as Stripe sent it) or fields (only Fields, plus id and object).
	Shape string `yaml:"shape" json:"shape"`
	// Fields (fields) names the top-level fields kept when Shape is fields, such as [id,
	// email, metadata]: required then, and an error with shape full, except in a sweep
	// over cache.shape, whose full points leave them out.
	Fields []string `yaml:"fields" json:"fields,omitempty"`
}

// Object shapes (cache.shape).
const (
	ShapeFull   = "full"
	ShapeFields = "fields"
)

// L2 pipelining (cache.l2.pipeline).
const (
	PipelineAuto   = "auto"
	PipelineAlways = "always"
	PipelineNever  = "never"
)

// L1 policies (cache.l1.policy).
const (
	PolicyLRU      = "lru"
	PolicyTinyLFU  = "tinylfu"
	PolicyMap      = "map"
	PolicyTracking = "tracking"
)

// Invalidation modes (cache.invalidation) and webhook event modes (cache.event_mode).
const (
	InvalidationWebhook = "webhook"
	InvalidationTTLOnly = "ttl-only"
	EventModeRefresh    = "refresh"
	EventModeInvalidate = "invalidate"
)

// L1 (cache.l1) is the in-process tier.
type L1 struct {
	Enabled bool `yaml:"enabled" json:"enabled"` // default true
	// Policy is lru, tinylfu (default), map (a plain map: no bound, no eviction) or
	// tracking (go-redis's client-side cache on the L2 client, invalidated by Redis;
	// needs cache.l2 and a real Redis).
	Policy string `yaml:"policy" json:"policy"`
	// MaxEntries bounds entries; default 10000; at least 1.
	MaxEntries int `yaml:"max_entries" json:"max_entries"`
	// MaxBytes bounds bytes ("64MiB"); default 64 MiB; at least 1KiB.
	MaxBytes ByteSize `yaml:"max_bytes" json:"max_bytes"`
	// TTL caps an entry's fresh life in L1; default 30s; 0 = no expiry of L1's own.
	TTL time.Duration `yaml:"ttl" json:"ttl_ns"`
	// Warm pre-loads a new Lambda environment's L1 from L2 during its INIT.
	Warm Warm `yaml:"warm" json:"warm"`
}

// Warm (cache.l1.warm) is cache warming: on a cold start an environment reads the Keys
// hottest keys (a list the caches keep in Redis) from L2 in one pipelined read, within
// Budget, before its first request. The time is part of INIT, billed as INIT is.
type Warm struct {
	// Keys is how many keys to load; default 0 (off). Needs cache.l2 and a policy that
	// holds entries (not tracking).
	Keys int `yaml:"keys" json:"keys"`
	// Budget bounds the warming; default 200ms; at most 10s (INIT itself is at most 10s).
	Budget time.Duration `yaml:"budget" json:"budget_ns"`
}

// L2 (cache.l2) is Redis.
type L2 struct {
	Enabled bool `yaml:"enabled" json:"enabled"` // default true
	// TTL is the fresh life of entries written to Redis; default 5m; must be > 0.
	TTL time.Duration `yaml:"ttl" json:"ttl_ns"`
	// TTLJitter spreads L2 and L3 expiries by ±this fraction; default 0.1, at most 0.5.
	TTLJitter float64 `yaml:"ttl_jitter" json:"ttl_jitter"`
	// Maxmemory is Redis's maxmemory ("256MiB"); 0 (default) leaves the server's setting.
	Maxmemory ByteSize `yaml:"maxmemory" json:"maxmemory"`
	// Eviction is Redis's maxmemory-policy; default allkeys-lru (used with Maxmemory):
	// allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu,
	// volatile-random, volatile-ttl or noeviction.
	Eviction string `yaml:"eviction" json:"eviction"`
	// Pipeline is when single-key commands go through go-redis's autopipeliner: auto
	// (default: when another command of the same client is in flight), always or never
	// (cachecore.RedisConfig.Pipeline).
	Pipeline string `yaml:"pipeline" json:"pipeline"`
	// AutoPipeline: true is pipeline: always, as earlier scenarios spell it; default false.
	AutoPipeline bool `yaml:"autopipeline" json:"autopipeline"`
	// Topology is what the docker and local environments start: standalone (default, one
	// server), replicated (a primary, Replicas replicas and three Sentinels that fail it
	// over, reached through the Sentinels) or cluster (a Redis Cluster of Shards × (1 +
	// Replicas) nodes). The external environment reports what its URL reaches; embedded
	// runs only standalone.
	Topology string `yaml:"topology" json:"topology"`
	// Shards is the cluster's primaries; default 3; 1 to 16. Cluster only.
	Shards int `yaml:"shards" json:"shards"`
	// Replicas is the replicas of each primary; default 0; 0 to 5. Cluster and
	// replicated only; a replicated set has at least one (0 means 1).
	Replicas int `yaml:"replicas" json:"replicas"`
	// ReadFrom is where the cache's reads go: primary (default) or replica (a replica of
	// the key's primary, so reads may be as old as the replication lag; the staleness
	// oracle counts what that serves stale). Replicated and cluster only.
	ReadFrom string `yaml:"read_from" json:"read_from,omitempty"`
	// TLS: the started servers speak only TLS, with certificates made at start and
	// verified by the client against their CA; default false.
	TLS bool `yaml:"tls" json:"tls"`
	// Auth is none (default), password (requirepass) or acl (an ACL user allowed only
	// the commands the cache sends; the default user is password-protected).
	Auth string `yaml:"auth" json:"auth"`
}

// L2 topologies (cache.l2.topology), where reads go (cache.l2.read_from) and
// authentication (cache.l2.auth).
const (
	TopologyStandalone = "standalone"
	TopologyReplicated = "replicated"
	TopologyCluster    = "cluster"

	ReadFromPrimary = "primary"
	ReadFromReplica = "replica"

	AuthNone     = "none"
	AuthPassword = "password"
	AuthACL      = "acl"
)

// L3 (cache.l3) is DynamoDB.
type L3 struct {
	Enabled bool `yaml:"enabled" json:"enabled"` // default true
	// TTL is the fresh life of entries written to DynamoDB; default 24h; must be > 0.
	TTL time.Duration `yaml:"ttl" json:"ttl_ns"`
}

// Lambda architectures (lambda.arch).
const (
	ArchARM64 = "arm64"
	ArchX8664 = "x86_64"
)

// Lambda (lambda) is the virtual Lambda fleet.
type Lambda struct {
	// Enabled runs each request in a simulated Lambda execution environment (default
	// true); false runs one long-lived process sharing one cache.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// MemoryMB is the function's memory, 128 to 10240; default 512.
	MemoryMB int `yaml:"memory_mb" json:"memory_mb"`
	// Arch is arm64 (default) or x86_64.
	Arch string `yaml:"arch" json:"arch"`
	// MaxConcurrency caps concurrent environments, provisioned ones included; a request
	// that finds none free and the cap reached is throttled. Default 100.
	MaxConcurrency int `yaml:"max_concurrency" json:"max_concurrency"`
	// IdleTimeout is the mean idle time after which an on-demand environment is recycled;
	// default 10m.
	IdleTimeout time.Duration `yaml:"idle_timeout" json:"idle_timeout_ns"`
	// ProvisionedConcurrency (provisioned_concurrency) is the number of environments
	// initialised before the run and kept warm for all of it, as Lambda's provisioned
	// concurrency: requests go to them first, they never cold-start, and they are billed
	// at the provisioned prices. 0 (default) to MaxConcurrency, which counts them.
	ProvisionedConcurrency int `yaml:"provisioned_concurrency" json:"provisioned_concurrency,omitempty"`
	// HandlerTime (handler_time) is time each invocation spends beyond its cache read
	// without using the CPU, such as waiting on another service. The environment stays
	// busy and billed for it, at any memory size. Default 0.
	HandlerTime time.Duration `yaml:"handler_time" json:"handler_time_ns,omitempty"`
	// HandlerCPU (handler_cpu) is CPU-bound work each invocation does beyond decoding
	// what it read, as long as it takes with one full vCPU (1769 MB). Below 1769 MB it
	// takes 1769/memory_mb times as long (pricing.ScaleCPU). The fleet does not burn the
	// CPU: it keeps the environment busy, and billed, for the scaled time. Default 0.
	HandlerCPU time.Duration `yaml:"handler_cpu" json:"handler_cpu_ns,omitempty"`
}

// Network (network) is a profile name for every service, or one per service. In YAML it
// is either a string (`network: aws-same-az`, spread over the services as NetworkFor
// says) or a map (`network: {redis: aws-same-az, stripe: stripe-internet}`), where a
// service may also get custom figures (`redis: {latency: 500us, jitter: 100us,
// bandwidth: 100MiB}`, profile custom). Services the map leaves out keep their profile
// (default none). The profiles are none, aws-same-az, aws-cross-az, aws-dynamodb,
// stripe-internet and custom (see Profiles).
type Network struct {
	Redis    NetLink `json:"redis"`
	DynamoDB NetLink `json:"dynamodb"`
	Stripe   NetLink `json:"stripe"`
}

// NetLink is the network between the cache and one service: a named profile, or custom
// figures when Profile is "custom" (the figures must be 0 for a named profile).
type NetLink struct {
	Profile string `yaml:"profile" json:"profile"`
	// Latency is the mean added round-trip time; Jitter its standard deviation.
	Latency time.Duration `yaml:"latency" json:"latency_ns,omitempty"`
	Jitter  time.Duration `yaml:"jitter" json:"jitter_ns,omitempty"`
	// Bandwidth is bytes per second each way; 0 = unlimited.
	Bandwidth ByteSize `yaml:"bandwidth" json:"bandwidth,omitempty"`
}

// Stripe rate-limit modes (stripe.mode).
const (
	StripeModeTest = "test"
	StripeModeLive = "live"
	StripeModeNone = "none"

	LimiterNone     = "none"
	LimiterInstance = "instance"
	LimiterFleet    = "fleet"
)

// Stripe (stripe) is the Stripe overlay's behaviour.
type Stripe struct {
	// Mode is the rate-limit profile: test (default, 25 req/s), live (100 req/s) or none.
	// It applies both to the overlay's 429 emulation and to the cache's client-side limiter.
	Mode string `yaml:"mode" json:"mode"`
	// Limiter is where the cache's client-side rate limit is kept: instance (default: each
	// process or Lambda environment limits only itself, so a fleet of N sends up to N
	// times the limit), fleet (one GCRA limiter in Redis shared by every environment,
	// each falling back to its share when Redis fails) or none (no client-side limit).
	Limiter string `yaml:"limiter" json:"limiter"`
	// WebhookDelay is the mean delay before an event is delivered; default 1s.
	WebhookDelay time.Duration `yaml:"webhook_delay" json:"webhook_delay_ns"`
	// WebhookDuplicates is the share of events delivered twice; default 0.
	WebhookDuplicates float64 `yaml:"webhook_duplicates" json:"webhook_duplicates"`
	// WebhookReorder is the share of events delivered after a later one; default 0.
	WebhookReorder float64 `yaml:"webhook_reorder" json:"webhook_reorder"`
}

// Fault targets and kinds (faults[].target, faults[].kind).
const (
	TargetRedis    = "redis"
	TargetDynamoDB = "dynamodb"
	TargetStripe   = "stripe"

	FaultDown      = "down"       // refuse connections; open ones are cut
	FaultPause     = "pause"      // accept, but pass no bytes
	FaultLatency   = "latency"    // add `latency` (± `jitter`) to each round trip
	FaultReset     = "reset"      // reset connections (TCP RST)
	FaultBandwidth = "bandwidth"  // limit to `bandwidth` bytes per second
	FaultRateLimit = "rate_limit" // stripe only: answer every request 429
	FaultErrors    = "errors"     // stripe only: answer `rate` of requests with 500
	FaultFailover  = "failover"   // redis only, replicated or cluster: kill the primary so a replica is promoted
)

// Fault (faults[]) is one fault window against one service. At and For are required (For
// > 0); when the run is timed (duration), the window must end by its end. Latency and
// Jitter belong to a latency fault, Bandwidth to a bandwidth fault, Rate to an errors
// fault; rate_limit and errors target stripe only; failover targets a replicated or
// cluster redis only, whose killed primary comes back (as a replica) when For ends. Two faults of the same kind on the
// same target may not overlap.
type Fault struct {
	At     time.Duration `yaml:"at" json:"at_ns"`
	For    time.Duration `yaml:"for" json:"for_ns"`
	Target string        `yaml:"target" json:"target"`
	Kind   string        `yaml:"kind" json:"kind"`
	// Latency and Jitter are the added delay of a latency fault.
	Latency time.Duration `yaml:"latency" json:"latency_ns,omitempty"`
	Jitter  time.Duration `yaml:"jitter" json:"jitter_ns,omitempty"`
	// Bandwidth is the limit of a bandwidth fault, bytes per second.
	Bandwidth ByteSize `yaml:"bandwidth" json:"bandwidth,omitempty"`
	// Rate is the share of requests an errors fault fails (0 < rate <= 1).
	Rate float64 `yaml:"rate" json:"rate,omitempty"`
}

// SweepAxis is one key of a sweep with its values, in file order. Key is a dotted key as
// Set takes it; Values are the values' YAML text (10s, 512, lru).
type SweepAxis struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// ByteSize is a size in bytes, written in YAML as an integer or with a unit: 512KiB,
// 64MiB, 1GiB, 100MB (decimal units are powers of 1000, binary ones of 1024).
type ByteSize int64

// ElastiCache engines (cost.elasticache.engine).
const (
	EngineRedisOSS = "redis_oss"
	EngineValkey   = "valkey"
)

// Cost (cost) says how the run is priced: what runs the L2, and the traffic to project a
// month at. Prices come from the pricing table (`--pricing FILE`, default AWS us-east-1).
type Cost struct {
	ElastiCache ElastiCache `yaml:"elasticache" json:"elasticache"`
	// MonthlyRequests projects a monthly bill at this many requests a month; 0 (default)
	// means no projection. `cachebench run --monthly-requests N` sets it too.
	MonthlyRequests float64 `yaml:"monthly_requests" json:"monthly_requests,omitempty"`
}

// ElastiCache (cost.elasticache) is the ElastiCache that the L2 stands for.
type ElastiCache struct {
	// Engine is redis_oss (default) or valkey.
	Engine string `yaml:"engine" json:"engine"`
	// Serverless prices ElastiCache Serverless (data stored and ECPUs) instead of nodes.
	Serverless bool `yaml:"serverless" json:"serverless"`
	// NodeType is the node type of a node-based cluster; default cache.t4g.small.
	NodeType string `yaml:"node_type" json:"node_type,omitempty"`
	// Nodes counts every node, replicas included; default 1.
	Nodes int `yaml:"nodes" json:"nodes,omitempty"`
}
