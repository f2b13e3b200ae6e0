package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Schema is the version of the result format this package writes and reads.
const Schema = "cachebench/result/v1"

// Result is one run's result: the contents of result.json. Its keys, names and units are
// the contract of DESIGN.md ("result.json"); fields beyond it are additions other tools
// may ignore. Every figure is computed from the counters and histograms it carries, so a
// reader can recompute it.
type Result struct {
	Schema      string      `json:"schema"`
	Scenario    ScenarioRef `json:"scenario"`
	Environment Environment `json:"environment"`
	// StartedAt is when the measured part began (RFC 3339).
	StartedAt   string  `json:"started_at"`
	DurationS   float64 `json:"duration_s"`
	WarmupS     float64 `json:"warmup_s"`
	Interrupted bool    `json:"interrupted"`
	// Clock is "real" (the wall clock) or "virtual" (simulated time); empty in results
	// written before it existed, which were all real.
	Clock string `json:"clock,omitempty"`
	// LatencyModel is "measured" (real clock) or "modelled" (virtual clock: latency is
	// modelled from the network profiles, not measured).
	LatencyModel string `json:"latency_model,omitempty"`
	// LatencyCalibration (clock: virtual) is each tier's service time as measured at the
	// start of the run, which the modelled latencies are drawn from, by service.
	LatencyCalibration map[string]Latency `json:"latency_calibration,omitempty"`

	Requests Requests `json:"requests"`
	// LatencyUS is the latency of reads in microseconds, measured from each request's
	// intended start time (corrected for coordinated omission).
	LatencyUS Latency `json:"latency_us"`
	// ServiceUS is the latency of reads from the moment a worker began the request: what a
	// closed-loop benchmark would report. The gap to LatencyUS is queueing.
	ServiceUS Latency `json:"service_us"`
	// UpdateLatencyUS is the latency of updates (writes through the Stripe overlay).
	UpdateLatencyUS *Latency `json:"update_latency_us,omitempty"`

	Tiers  Tiers  `json:"tiers"`
	Origin Origin `json:"origin"`
	// Limiter is the cache's client-side Stripe limit; absent in results of older runs.
	Limiter     *Limiter    `json:"limiter,omitempty"`
	Consistency Consistency `json:"consistency"`
	Webhooks    *Webhooks   `json:"webhooks,omitempty"`
	Lambda      *Lambda     `json:"lambda,omitempty"`
	// Servers are the services' own counters over the measured part, beside cachebench's.
	Servers   *Servers  `json:"servers,omitempty"`
	CostUSD   *Cost     `json:"cost_usd,omitempty"`
	Generator Generator `json:"generator"`

	Timeline []Second `json:"timeline"`
	Faults   []Fault  `json:"faults,omitempty"`
	// Failover is what a failover fault did to the cache; absent without one.
	Failover   *Failover   `json:"failover,omitempty"`
	Thresholds []Threshold `json:"thresholds"`
	// Histograms are the encoded HdrHistograms (hdrhistogram-go Encode, base64), so runs
	// can be merged without loss.
	Histograms Histograms `json:"histograms"`
	// Notes are warnings about the run a reader must see: a network profile that could
	// not be applied, a generator that fell behind.
	Notes []string `json:"notes,omitempty"`
	// Shards is set on the result of one shard of a sharded run (count and index) and on
	// the result Merge made of them (count and merged_from); absent for a whole run.
	Shards *Shards `json:"shards,omitempty"`
}

// Shards places a result in a sharded run. On one shard's result Count and Index are
// set and index is always written, 0 included (Index is a pointer for that reason); on a
// merged result Index is nil and omitted, and MergedFrom names the shards' results in
// index order, with Generators their generators' health.
type Shards struct {
	Count      int              `json:"count"`
	Index      *int             `json:"index,omitempty"`
	MergedFrom []string         `json:"merged_from,omitempty"`
	Generators []ShardGenerator `json:"generators,omitempty"`
}

// ShardGenerator is one shard's load generator health, as its own result reported it.
type ShardGenerator struct {
	Index             int     `json:"index"`
	Scheduled         int64   `json:"scheduled"`
	LateOver1ms       int64   `json:"late_over_1ms"`
	LateRatio         float64 `json:"late_ratio"`
	LagP99US          float64 `json:"lag_p99_us"`
	Bottleneck        bool    `json:"bottleneck"`
	BottleneckReason  string  `json:"bottleneck_reason,omitempty"`
	BottleneckService string  `json:"bottleneck_service,omitempty"`
	BottleneckDetail  string  `json:"bottleneck_detail,omitempty"`
	CPUPercent        float64 `json:"cpu_percent"`
	MachineCPUPercent float64 `json:"machine_cpu_percent,omitempty"`
}

// ScenarioRef names the scenario and carries its effective configuration.
type ScenarioRef struct {
	Name  string `json:"name"`
	File  string `json:"file,omitempty"`
	Seed  int64  `json:"seed"`
	Point string `json:"point,omitempty"`
	// Config is the effective scenario after defaults and overrides.
	Config json.RawMessage `json:"config"`
	// Trace describes the trace a trace scenario replayed.
	Trace *TraceInfo `json:"trace,omitempty"`
}

// TraceInfo describes a replayed trace file.
type TraceInfo struct {
	File   string `json:"file"`
	Format string `json:"format"`
	// Rows and DistinctKeys count the whole file, whatever part of it the run replayed.
	Rows         int64 `json:"rows"`
	DistinctKeys int64 `json:"distinct_keys"`
	// Sizes, for a trace that records value sizes, describes how they were applied.
	Sizes *TraceSizes `json:"sizes,omitempty"`
}

// TraceSizes describes a trace's value sizes, which set the sizes of the Stripe objects
// served (padded with a cachebench_pad field): Keys have a size, of MeanBytes on average
// and MaxBytes at most, Capped of them cut to the largest size served (350 KiB, under
// DynamoDB's item limit). Padded counts the Stripe answers padded to their key's size and
// OverSize those whose object was already larger than it, served as they were (a Stripe
// object is at least its fixture's size, about 1 to 4 KB), over the whole run.
type TraceSizes struct {
	Keys      int64   `json:"keys"`
	MeanBytes float64 `json:"mean_bytes"`
	MaxBytes  int64   `json:"max_bytes"`
	Capped    int64   `json:"capped,omitempty"`
	Padded    int64   `json:"padded_answers"`
	OverSize  int64   `json:"over_size_answers"`
}

// Limiter describes the cache's client-side Stripe rate limit (stripe.limiter): Mode is
// none, instance or fleet; over the measured part (by time), WaitMS is the time fetches
// spent waiting for a token, summed over environments, and Fallbacks the waits for the
// fleet's token that Redis failed to answer, served by the environment's own share.
type Limiter struct {
	Mode      string  `json:"mode"`
	WaitMS    float64 `json:"wait_ms"`
	Fallbacks int64   `json:"fallbacks"`
}

// Environment describes what answered for each tier.
type Environment struct {
	Provider string `json:"provider"`
	Redis    string `json:"redis"`
	DynamoDB string `json:"dynamodb"`
	Stripe   string `json:"stripe"`
	// Network is the profile applied in front of each service.
	Network map[string]string `json:"network,omitempty"`
	// RedisTopology is standalone, replicated or cluster; Shards the primaries, Replicas the
	// replicas of each; TLS whether L2 connections are encrypted; Auth none, password
	// or acl. Absent in results of earlier versions (and tls, replicas when false, 0).
	RedisTopology string `json:"redis_topology,omitempty"`
	Shards        int    `json:"shards,omitempty"`
	Replicas      int    `json:"replicas,omitempty"`
	TLS           bool   `json:"tls,omitempty"`
	Auth          string `json:"auth,omitempty"`
}

// RedisShape describes the L2's topology, TLS and AUTH for the environment line
// ("cluster of 3 shards × (1 + 1 replica), TLS, AUTH acl"), or "" for a result that
// does not say.
func (e Environment) RedisShape() string {
	if e.RedisTopology == "" {
		return ""
	}
	s := e.RedisTopology
	if e.RedisTopology == "replicated" {
		s = fmt.Sprintf("replicated: a primary and %d replicas behind Sentinels", e.Replicas)
	}
	if e.RedisTopology == "cluster" {
		s = fmt.Sprintf("cluster of %d shards × (1 + %d replicas)", e.Shards, e.Replicas)
		if e.Shards == 0 {
			s = fmt.Sprintf("cluster (shards unknown, %d replicas each)", e.Replicas)
		}
	}
	if e.TLS {
		s += ", TLS"
	} else {
		s += ", no TLS"
	}
	if e.Auth == "" || e.Auth == "none" {
		s += ", no AUTH"
	} else {
		s += ", AUTH " + e.Auth
	}
	return s
}

// Requests counts the measured requests.
type Requests struct {
	Total   int64 `json:"total"`
	OK      int64 `json:"ok"`
	Errors  int64 `json:"errors"`
	Gets    int64 `json:"gets"`
	Updates int64 `json:"updates"`
	// NotFound counts reads answered "does not exist" (an OK answer).
	NotFound int64 `json:"not_found"`
	// RatePerS is the measured completion rate.
	RatePerS float64 `json:"rate_per_s"`
	// ErrorKinds counts errors by their first line, at most 20 kinds.
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
}

// Latency is a latency summary in microseconds.
type Latency struct {
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
	Count int64   `json:"count"`
}

// Tiers holds the hit counters of each tier, as the callers saw them: a read served by L2
// is an L1 miss and an L2 hit.
type Tiers struct {
	L1 TierStats `json:"l1"`
	L2 TierStats `json:"l2"`
	L3 TierStats `json:"l3"`
}

// TierStats counts the reads that reached a tier and how many it answered.
type TierStats struct {
	Enabled  bool    `json:"enabled"`
	Hits     int64   `json:"hits"`
	Misses   int64   `json:"misses"`
	HitRatio float64 `json:"hit_ratio"`
	// Coalesced is the part of Hits + Misses that reads took from another read's lookup
	// (request coalescing): the tier's answer was looked up once for all of them, so the
	// lookups the cache counted are Hits + Misses - Coalesced. At L3 that is what DynamoDB
	// saw. At L2 each read first makes a GET of its own (an L2 hit is served without
	// coalescing; a miss then joins the shared lookup), unless the L1 is tracking or
	// coalescing is off, so Redis saw Hits + Misses + Rereads GETs.
	Coalesced int64 `json:"coalesced,omitempty"`
	// Rereads (L2) counts the shared lookups that read L2 a second time because a write
	// through the cache finished after their first read began.
	Rereads int64 `json:"rereads,omitempty"`
	// Failed is the part of Misses whose lookup got no answer from the tier: an error, a
	// time-out, or a lookup skipped while the tier's circuit breaker was open. A degraded
	// tier shows here rather than as a low hit ratio with no cause.
	Failed int64 `json:"failed,omitempty"`
	// For L1, what the caches alive at the end held, summed over execution environments:
	// EntriesHeld entries of BytesHeld bytes (key, value and per-entry overhead; with the
	// tracking policy, go-redis's own estimate of its entries), in Caches L1s (the
	// environments alive at the end, or the one process).
	Caches      int64 `json:"caches,omitempty"`
	EntriesHeld int64 `json:"entries_held,omitempty"`
	BytesHeld   int64 `json:"bytes_held,omitempty"`
	// BytesPerEntry is what one entry takes in the tier, measured as BytesMeasure says:
	//   - l1_accounting (L1): BytesHeld / EntriesHeld, the L1's own count of key, value
	//     and per-entry overhead;
	//   - redis_memory_usage (L2): SampledMemoryBytes / SampledEntries, Redis's MEMORY
	//     USAGE (key, value and Redis's own overhead) of a sample of the run's keys;
	//   - redis_stored_bytes (L2, a server without MEMORY USAGE such as miniredis):
	//     (SampledKeyBytes + SampledValueBytes) / SampledEntries, the key and the stored
	//     value only;
	//   - dynamodb_item_size (L3): BytesWritten / EntriesWritten, the items the tier
	//     wrote, sized as DynamoDB counts an item (attribute names and values).
	BytesPerEntry float64 `json:"bytes_per_entry,omitempty"`
	BytesMeasure  string  `json:"bytes_measure,omitempty"`
	// ValueBytesPerEntry (L2) is SampledValueBytes / SampledEntries: the stored value,
	// a 34-byte envelope header and the object's JSON (s2-compressed from 1 KiB).
	ValueBytesPerEntry float64 `json:"value_bytes_per_entry,omitempty"`
	// For L2, the entries sampled at the end of the run (SCAN of the run's keys, at most
	// 200) and their key bytes, STRLEN and MEMORY USAGE (absent when the server does
	// not answer it).
	SampledEntries     int64  `json:"sampled_entries,omitempty"`
	SampledKeyBytes    int64  `json:"sampled_key_bytes,omitempty"`
	SampledValueBytes  int64  `json:"sampled_value_bytes,omitempty"`
	SampledMemoryBytes *int64 `json:"sampled_memory_bytes,omitempty"`
	// For L3, the items the run's tiers wrote (warm-up included: a size is a state, not
	// a rate) and their size as DynamoDB counts it.
	EntriesWritten int64 `json:"entries_written,omitempty"`
	BytesWritten   int64 `json:"bytes_written,omitempty"`
	// Invalidations is set for L1 with the tracking policy (Redis's client-side caching).
	Invalidations *Invalidations `json:"invalidations,omitempty"`
}

// Invalidations are what Redis told the tracking L1s of the measured part, summed over
// execution environments: Received keys invalidated, Held of them while an environment
// was frozen between invocations (they wait for its next invocation, and its L1 serves
// the old value until they are applied), HeldMeanMS and HeldMaxMS how long those waited
// (the longest over the whole run).
type Invalidations struct {
	Received   int64   `json:"received"`
	Held       int64   `json:"held"`
	HeldMeanMS float64 `json:"held_mean_ms"`
	HeldMaxMS  float64 `json:"held_max_ms"`
}

// Origin counts calls to the Stripe API made by the cache for the measured reads, each
// counted with the read that made it: Calls are HTTP requests (retries included),
// RateLimited those answered 429, Errors the fetches that failed in the end.
type Origin struct {
	Calls       int64 `json:"calls"`
	RateLimited int64 `json:"rate_limited"`
	Retries     int64 `json:"retries"`
	Errors      int64 `json:"errors"`
	// Fetches counts the reads that fetched from Stripe themselves (each fetch is one
	// call plus its retries); Coalesced the reads that missed every tier and took the
	// answer of another read's fetch instead (request coalescing, or a fill lease).
	Fetches   int64 `json:"fetches"`
	Coalesced int64 `json:"coalesced"`
	// CallsSaved is reads answered without a fetch of their own, by a tier or by another
	// read's fetch: what the cache spared Stripe.
	CallsSaved int64 `json:"calls_saved"`
	// Refreshes is the background refreshes' own work (stale-while-revalidate, XFetch),
	// which belongs to no read and is not in the counters above.
	Refreshes *Refreshes `json:"refreshes,omitempty"`
	// RateLimitShare is calls per second over the mode's read limit (1 = at the limit).
	RateLimitShare float64 `json:"rate_limit_share"`
	// OverlayRateLimited counts the 429s the Stripe emulation answered.
	OverlayRateLimited int64 `json:"overlay_rate_limited"`
}

// Refreshes counts background refreshes over the measured part, by time: Stale and Early
// were started (for a stale hit within stale-while-revalidate, and by XFetch's early
// refresh); Done finished, Fetches of them fetched (the rest found another instance's
// fill), with Calls, Retries and RateLimited their requests to Stripe; Errors failed.
type Refreshes struct {
	Stale       int64 `json:"stale"`
	Early       int64 `json:"early"`
	Done        int64 `json:"done"`
	Fetches     int64 `json:"fetches"`
	Calls       int64 `json:"calls"`
	Retries     int64 `json:"retries"`
	RateLimited int64 `json:"rate_limited"`
	Errors      int64 `json:"errors"`
}

// Servers are the services' own counters over the measured part, read from the services
// before and after it (Redis INFO, DynamoDB's reported consumed capacity, the Stripe
// emulation's request count). A counter a service does not report is left out (null),
// never written as zero. They differ from cachebench's by design: see the report's
// "Servers' own counters" section.
type Servers struct {
	Redis    *RedisServer    `json:"redis,omitempty"`
	DynamoDB *DynamoDBServer `json:"dynamodb,omitempty"`
	Stripe   *StripeServer   `json:"stripe,omitempty"`
}

// RedisServer is Redis's INFO over the measured part, summed over every master of a
// cluster: the keyspace_hits, keyspace_misses, evicted_keys, expired_keys and
// total_commands_processed deltas, and used_memory_peak at the end (Redis keeps its peak
// since start, not per window). A nil field was not in INFO (miniredis omits most).
type RedisServer struct {
	KeyspaceHits        *int64 `json:"keyspace_hits,omitempty"`
	KeyspaceMisses      *int64 `json:"keyspace_misses,omitempty"`
	EvictedKeys         *int64 `json:"evicted_keys,omitempty"`
	ExpiredKeys         *int64 `json:"expired_keys,omitempty"`
	UsedMemoryPeakBytes *int64 `json:"used_memory_peak_bytes,omitempty"`
	Commands            *int64 `json:"commands,omitempty"`
}

// DynamoDBServer is the capacity DynamoDB reported consumed (ReturnConsumedCapacity
// TOTAL) by the cache's calls over the measured part, in read and write capacity units.
type DynamoDBServer struct {
	ConsumedRCU float64 `json:"consumed_rcu"`
	ConsumedWCU float64 `json:"consumed_wcu"`
}

// StripeServer is the Stripe emulation's (the overlay in front of stripe-mock) own count
// of the HTTP requests it served over the measured part, updates included.
type StripeServer struct {
	Requests int64 `json:"requests"`
	// Reads are the GET requests among them (the cache's fetches, retries included).
	Reads int64 `json:"reads"`
}

// Consistency counts reads checked against the Stripe overlay's staleness oracle.
type Consistency struct {
	ReadsChecked   int64   `json:"reads_checked"`
	StaleReads     int64   `json:"stale_reads"`
	StaleRatio     float64 `json:"stale_ratio"`
	MaxStalenessMS float64 `json:"max_staleness_ms"`
	// P99StalenessMS is the 99th percentile staleness of the stale reads.
	P99StalenessMS float64 `json:"p99_staleness_ms"`
}

// Webhooks counts the Stripe overlay's events and what the cache did with them.
type Webhooks struct {
	Emitted    int64 `json:"emitted"`
	Delivered  int64 `json:"delivered"`
	Duplicated int64 `json:"duplicated"`
	Reordered  int64 `json:"reordered"`
	Applied    int64 `json:"applied"`
	Rejected   int64 `json:"rejected"`
}

// Lambda summarises the virtual Lambda fleet.
type Lambda struct {
	Invocations      int64   `json:"invocations"`
	ColdStarts       int64   `json:"cold_starts"`
	PeakEnvironments int64   `json:"peak_environments"`
	Throttled        int64   `json:"throttled"`
	BilledMS         int64   `json:"billed_ms"`
	InitBilledMS     int64   `json:"init_billed_ms"`
	GBSeconds        float64 `json:"gb_seconds"`
	MemoryMB         int     `json:"memory_mb"`
	Arch             string  `json:"arch"`
	Recycled         int64   `json:"recycled"`
	// CPUMS is the part of BilledMS spent on CPU-bound work (decoding what was read, and
	// lambda.handler_cpu), as long as it took at MemoryMB: below 1,769 MB, one vCPU, it
	// stretches by 1769/MemoryMB. The rest of BilledMS waited on the network or the
	// handler's own waits, whatever the memory.
	CPUMS float64 `json:"cpu_ms"`
	// MeanConcurrency is the time-average of the environments busy (initialising or
	// running an invocation) over the measured part; PeakConcurrency the most busy at once.
	MeanConcurrency float64 `json:"mean_concurrency"`
	PeakConcurrency int64   `json:"peak_concurrency"`
	// ProvisionedConcurrency is the environments kept initialised for the whole run
	// (lambda.provisioned_concurrency), billed for duration_s; ProvisionedBilledMS is the
	// part of BilledMS their invocations took, billed at the provisioned duration price.
	ProvisionedConcurrency int   `json:"provisioned_concurrency,omitempty"`
	ProvisionedBilledMS    int64 `json:"provisioned_billed_ms,omitempty"`
	// FirstMinute is the reads served by environments in the first minute of their life
	// (from the start of their cold start): what a cold start, and warming, change.
	FirstMinute *FirstMinute `json:"first_minute,omitempty"`
	// Warming is what cache.l1.warm did at the cold starts of the measured part.
	Warming *Warming `json:"warming,omitempty"`
}

// FirstMinute is the reads of the measured part served by an environment less than a
// minute old: their number, their L1 hit ratio, and their latency percentiles (from
// intended start, as latency_us).
type FirstMinute struct {
	Reads      int64   `json:"reads"`
	L1Hits     int64   `json:"l1_hits"`
	L1HitRatio float64 `json:"l1_hit_ratio"`
	P50US      float64 `json:"p50_us"`
	P99US      float64 `json:"p99_us"`
}

// Warming is cache warming at cold starts (cache.l1.warm): ColdStarts warmed, KeysListed
// asked for from the hot list and KeysLoaded stored in L1 in all, MSMean and MSMax the
// warming's time (part of INIT), OverBudget the warmings the budget cut short, Errors those
// whose read failed.
type Warming struct {
	ColdStarts int64   `json:"cold_starts"`
	KeysListed int64   `json:"keys_listed"`
	KeysLoaded int64   `json:"keys_loaded"`
	MSMean     float64 `json:"ms_mean"`
	MSMax      float64 `json:"ms_max"`
	OverBudget int64   `json:"over_budget"`
	Errors     int64   `json:"errors"`
}

// Cost is the simulated cost of the run in US dollars.
type Cost struct {
	LambdaCompute      float64 `json:"lambda_compute"`
	LambdaRequests     float64 `json:"lambda_requests"`
	ElastiCache        float64 `json:"elasticache"`
	DynamoDB           float64 `json:"dynamodb"`
	Total              float64 `json:"total"`
	PerMillionRequests float64 `json:"per_million_requests"`
	// Monthly is the projection at MonthlyRequests, when the user gave a traffic.
	MonthlyRequests float64 `json:"monthly_requests,omitempty"`
	Monthly         float64 `json:"monthly,omitempty"`
	Pricing         string  `json:"pricing,omitempty"`
	// PerDay and PerMonth (clock: virtual) are the run's cost at its rate for a day and
	// for a month of pricing.HoursPerMonth hours; a run of a whole simulated day is
	// its own PerDay.
	PerDay   float64 `json:"per_day,omitempty"`
	PerMonth float64 `json:"per_month,omitempty"`
	// Usage (clock: virtual) is what the cost was computed from.
	Usage *CostUsage `json:"usage,omitempty"`
}

// CostUsage is the quantities a virtual run's cost prices, over the measured part:
// Lambda invocations and billed milliseconds (INIT included); ElastiCache node-hours, or
// for serverless its ECPUs; the bytes Redis and DynamoDB held on average over the time
// (sampled at the end of every timeline bucket), which price serverless data stored and
// DynamoDB storage; DynamoDB's read and write request units.
type CostUsage struct {
	Hours                float64 `json:"hours"`
	Requests             int64   `json:"requests"`
	LambdaInvocations    int64   `json:"lambda_invocations,omitempty"`
	LambdaBilledMS       int64   `json:"lambda_billed_ms,omitempty"`
	ElastiCacheNodeHours float64 `json:"elasticache_node_hours,omitempty"`
	ElastiCacheECPUs     float64 `json:"elasticache_ecpus,omitempty"`
	RedisBytesMean       float64 `json:"redis_bytes_mean,omitempty"`
	DynamoDBReadUnits    float64 `json:"dynamodb_read_units,omitempty"`
	DynamoDBWriteUnits   float64 `json:"dynamodb_write_units,omitempty"`
	DynamoDBBytesMean    float64 `json:"dynamodb_bytes_mean,omitempty"`
}

// Generator reports how well the load generator kept to its schedule.
type Generator struct {
	// Model is the arrival model.
	Model string `json:"model"`
	// Scheduled is the number of requests the schedule asked for in the measured part.
	Scheduled int64 `json:"scheduled"`
	// LateOver1ms counts requests dispatched more than 1 ms after their intended time.
	LateOver1ms int64   `json:"late_over_1ms"`
	LateRatio   float64 `json:"late_ratio"`
	// LagP99US and LagMaxUS are the dispatch lag percentiles, in microseconds.
	LagP99US float64 `json:"lag_p99_us"`
	LagMaxUS float64 `json:"lag_max_us"`
	// Bottleneck is true when the generator, not the system, limited the run.
	Bottleneck bool `json:"bottleneck"`
	// PeakWorkers is the most concurrent requests in flight.
	PeakWorkers int64 `json:"peak_workers"`

	// BottleneckReason says what limited the run when it was not the cache under test:
	// one of the Bottleneck* constants ("none" when the harness and the stand-in
	// services kept up; "" in results written before the field existed).
	BottleneckReason string `json:"bottleneck_reason,omitempty"`
	// BottleneckService names the stand-in service of a mock_saturated reason
	// ("stripe").
	BottleneckService string `json:"bottleneck_service,omitempty"`
	// BottleneckDetail is the sentence behind the reason, with its figures.
	BottleneckDetail string `json:"bottleneck_detail,omitempty"`
	// PeakInFlight is the most requests in flight at once (the same count as
	// PeakWorkers); MaxInFlight is the bound on it, and SlotWaits counts the dispatches
	// that waited for a free slot.
	PeakInFlight int64 `json:"peak_in_flight"`
	MaxInFlight  int64 `json:"max_in_flight,omitempty"`
	SlotWaits    int64 `json:"slot_waits,omitempty"`
	// PoolWaits counts the requests that found every connection of a bounded pool
	// toward a service in use, by service ("stripe", "dynamodb").
	PoolWaits map[string]int64 `json:"pool_waits,omitempty"`
	// PeakOpenFiles is the most file descriptors the process held at once (sampled once
	// a second); OpenFilesLimit is its soft RLIMIT_NOFILE; OpenFilesErrors counts the
	// requests that failed for want of a descriptor (EMFILE, ENFILE).
	PeakOpenFiles   int64 `json:"peak_open_files"`
	OpenFilesLimit  int64 `json:"open_files_limit,omitempty"`
	OpenFilesErrors int64 `json:"open_files_errors,omitempty"`
	// CPUPercent is the process's CPU time (user and system) over the measured window,
	// as a percentage of all the machine's cores (100 = every core busy);
	// MachineCPUPercent is the same for the whole machine, every process included.
	CPUPercent        float64 `json:"cpu_percent"`
	MachineCPUPercent float64 `json:"machine_cpu_percent,omitempty"`
	// Cores is the number of cores the percentages are over.
	Cores int `json:"cores,omitempty"`
	// Mocks are the stand-in services' own accounts of the measured window (the
	// embedded stripe-mock), for the mock_saturated rule.
	Mocks []MockLoad `json:"mocks,omitempty"`
}

// Bottleneck reasons (Generator.BottleneckReason).
const (
	// BottleneckNone: the harness and the stand-ins kept up; the figures are the cache's.
	BottleneckNone = "none"
	// BottleneckHarnessCPU: the machine running cachebench was short of CPU and requests
	// started late.
	BottleneckHarnessCPU = "harness_cpu"
	// BottleneckInFlight: the in-flight bound (or a bounded connection pool) was reached
	// and requests waited for a slot.
	BottleneckInFlight = "in_flight"
	// BottleneckOpenFiles: the process ran out of, or came close to, its file
	// descriptors.
	BottleneckOpenFiles = "open_files"
	// BottleneckMockSaturated: a stand-in service (BottleneckService) queued requests.
	BottleneckMockSaturated = "mock_saturated"
)

// MockLoad is a stand-in service's own account of the measured window: how long its
// handler took and how long requests waited for one of its workers.
type MockLoad struct {
	// Service is the service it stands in for ("stripe"); Backend what it is.
	Service string `json:"service"`
	Backend string `json:"backend,omitempty"`
	// Requests is the number of requests it handled in the window.
	Requests int64 `json:"requests"`
	// Workers bounds the requests it handles at once (0: unbounded).
	Workers int `json:"workers,omitempty"`
	// HandlerP50US and HandlerP99US are its own handler time; QueueP50US, QueueP95US
	// and QueueP99US the time requests waited for a worker, in microseconds.
	HandlerP50US float64 `json:"handler_p50_us"`
	HandlerP99US float64 `json:"handler_p99_us"`
	QueueP50US   float64 `json:"queue_p50_us"`
	QueueP95US   float64 `json:"queue_p95_us"`
	QueueP99US   float64 `json:"queue_p99_us"`
	// Saturated is true when it met the mock_saturated rule.
	Saturated bool `json:"saturated"`
}

// Second is one second of the measured part.
type Second struct {
	TS          int     `json:"t_s"`
	Requests    int64   `json:"requests"`
	P50US       float64 `json:"p50_us"`
	P99US       float64 `json:"p99_us"`
	L1HitRatio  float64 `json:"l1_hit_ratio"`
	L2HitRatio  float64 `json:"l2_hit_ratio"`
	L3HitRatio  float64 `json:"l3_hit_ratio"`
	Errors      int64   `json:"errors"`
	OriginCalls int64   `json:"origin_calls"`
	RateLimited int64   `json:"rate_limited"`
	StaleReads  int64   `json:"stale_reads"`
	ColdStarts  int64   `json:"cold_starts,omitempty"`
	Envs        int64   `json:"environments,omitempty"`
	// Partial marks the last second when the run ended inside it; LengthS is then how
	// much of it the run lasted, so its counts are not read as a drop in throughput.
	Partial bool    `json:"partial,omitempty"`
	LengthS float64 `json:"length_s,omitempty"`
	// BucketS is the bucket's length in seconds when the timeline is bucketed by more
	// than a second (a clock: virtual run: per minute or per hour, by horizon); 0 = 1 s.
	BucketS int `json:"bucket_s,omitempty"`
	// RedisBytes and DynamoDBBytes are the bytes the L2 and L3 hold at the bucket's end
	// (a clock: virtual run; 0 when not known).
	RedisBytes    int64 `json:"redis_bytes,omitempty"`
	DynamoDBBytes int64 `json:"dynamodb_bytes,omitempty"`
	// CostUSD is the bucket's cost (a clock: virtual run), when priced.
	CostUSD float64 `json:"cost_usd,omitempty"`
}

// Length returns how many seconds s covers: LengthS when partial, else its bucket's
// length (BucketS, or 1).
func (s Second) Length() float64 {
	if s.Partial && s.LengthS > 0 {
		return s.LengthS
	}
	if s.BucketS > 0 {
		return float64(s.BucketS)
	}
	return 1
}

// Rate returns s's requests per second of its length.
func (s Second) Rate() float64 { return float64(s.Requests) / s.Length() }

// Fault is one fault window as it happened, for shading charts.
type Fault struct {
	Target string  `json:"target"`
	Kind   string  `json:"kind"`
	AtS    float64 `json:"at_s"`
	ForS   float64 `json:"for_s"`
	// StartS and EndS are when it was really injected and cleared, from the start of the
	// measured part.
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	Err    string  `json:"error,omitempty"`
}

// Failover is what a failover fault (a Redis primary killed so a replica is promoted)
// did to the reads that began after the kill: ReadsFailed counts those that failed (0
// while Stripe answers, since the cache falls through to L3 and the origin);
// L2RecoveryS is the time from the kill to the end of the first read served by L2
// (-1: none before the run ended), and L2LastErrorS to the end of the last read that
// found L2 failing (-1: none); WritesLost counts the writes the old primary
// acknowledged in the last second before the kill that the promoted primary does not
// hold, of WritesChecked (-1: could not be checked). Killed and Promoted are the
// primary's address before and after.
type Failover struct {
	ReadsFailed   int64   `json:"reads_failed"`
	L2RecoveryS   float64 `json:"l2_recovery_s"`
	WritesLost    int64   `json:"writes_lost"`
	L2LastErrorS  float64 `json:"l2_last_error_s"`
	WritesChecked int64   `json:"writes_checked"`
	Killed        string  `json:"killed,omitempty"`
	Promoted      string  `json:"promoted,omitempty"`
}

// Threshold is one evaluated threshold.
type Threshold struct {
	Expr  string  `json:"expr"`
	OK    bool    `json:"ok"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"`
	Err   string  `json:"error,omitempty"`
}

// Histograms holds encoded HdrHistograms (microseconds).
type Histograms struct {
	Latency   string `json:"latency_us"`
	Service   string `json:"service_us"`
	Update    string `json:"update_us,omitempty"`
	Staleness string `json:"staleness_ms,omitempty"`
}

// ThresholdsFailed reports whether any threshold failed.
func (r *Result) ThresholdsFailed() bool {
	for _, t := range r.Thresholds {
		if !t.OK {
			return true
		}
	}
	return false
}

// Write writes r to path as indented JSON, through a temporary file renamed into place,
// so a reader never sees a half-written result.
func (r *Result) Write(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".result-*.json")
	if err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write result %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write result %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; result.json is as readable as the reports beside it.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write result %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write result %s: %w", path, err)
	}
	return nil
}

// Read reads a result.json and checks it (see Parse). Its errors name the file and what
// to give instead.
func Read(path string) (*Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	return Parse(data, path)
}

// Parse decodes a result.json's content (name is its file, for messages) and checks it:
// the schema, that every encoded histogram decodes, and that its figures are ones a run can
// write (names present, counts and durations not negative, ratios within 0..1, the
// timeline in order), so that a truncated or corrupt file is an error here rather than a
// failure or a wrong figure half-way through a report.
func Parse(data []byte, name string) (*Result, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s is empty: a run that was killed while writing leaves no result; run it again, or give a result.json that cachebench run wrote", name)
	}
	var r Result
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s is not a cachebench result (%v): it may be truncated or corrupt; give a result.json that cachebench run wrote", name, err)
	}
	if r.Schema != Schema {
		if r.Schema == "" {
			return nil, errors.New(name + " has no schema key: it is not a cachebench result.json; give a result.json that cachebench run wrote")
		}
		return nil, fmt.Errorf("%s has schema %q; this cachebench reads %q: use the cachebench version that wrote it", name, r.Schema, Schema)
	}
	for _, h := range []struct{ key, enc string }{
		{"latency_us", r.Histograms.Latency}, {"service_us", r.Histograms.Service},
		{"update_us", r.Histograms.Update}, {"staleness_ms", r.Histograms.Staleness},
	} {
		if h.enc == "" {
			continue
		}
		if _, err := DecodeHistogram(h.enc); err != nil {
			return nil, fmt.Errorf("%s: histograms.%s does not decode (%v): the file is corrupt; run the scenario again, or give a result.json that cachebench run wrote", name, h.key, err)
		}
	}
	if err := checkFields(&r); err != nil {
		return nil, fmt.Errorf("%s holds figures no run writes, so it was edited or damaged; run the scenario again, or give a result.json that cachebench run wrote:\n%w", name, err)
	}
	return &r, nil
}

// DecodeHistogram decodes an HdrHistogram as result.json stores it (hdrhistogram-go's
// compressed, base64 form). A malformed one is an error, never a panic.
func DecodeHistogram(enc string) (h *hdrhistogram.Histogram, err error) {
	defer func() {
		if p := recover(); p != nil { // a decoder bug must not take the command down
			h, err = nil, fmt.Errorf("malformed histogram: %v", p)
		}
	}()
	return hdrhistogram.Decode([]byte(enc))
}
