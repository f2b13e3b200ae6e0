package scenarios

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of a scenario that Validate enforces.
const (
	MinMemoryMB    = 128   // lambda.memory_mb, AWS Lambda's smallest
	MaxMemoryMB    = 10240 // lambda.memory_mb, AWS Lambda's largest
	MaxTTLJitter   = 0.5   // cache.l2.ttl_jitter
	MaxShards      = 16    // cache.l2.shards
	MaxReplicas    = 5     // cache.l2.replicas
	MaxSweepPoints = 256   // points of one sweep (the product of its lists' lengths)

	maxRate        = 1e6
	maxCount       = 100_000_000
	maxConcurrency = 10000
	maxDuration    = 24 * time.Hour
	maxHandler     = 15 * time.Minute // Lambda's longest invocation
	maxWarmup      = time.Hour
	shareTolerance = 1e-6
)

// Defaults is the scenario every file starts from: a key absent from the file keeps the
// value here (the defaults listed on each field of Scenario). Its Name is empty: Parse
// names a scenario after its file.
func Defaults() Scenario {
	return Scenario{
		Seed:     1,
		Duration: 30 * time.Second,
		Arrival:  Arrival{Model: ArrivalConstant, Rate: 100, Concurrency: 10},
		Keys: Keys{
			Object: "customer", Count: 10000, Distribution: DistUniform,
			ZipfS: 1.0, HotShare: 0.8, HotKeys: 0.2, TraceSizes: true,
		},
		Ops: Ops{Get: 1},
		Cache: Cache{
			L1: L1{Enabled: true, Policy: PolicyTinyLFU, MaxEntries: 10000, MaxBytes: 64 << 20, TTL: 30 * time.Second,
				Warm: Warm{Budget: 200 * time.Millisecond}},
			L2: L2{Enabled: true, TTL: 5 * time.Minute, TTLJitter: 0.1, Eviction: "allkeys-lru", Pipeline: PipelineAuto,
				Topology: TopologyStandalone, Shards: 3, Auth: AuthNone, ReadFrom: ReadFromPrimary},
			L3:           L3{Enabled: true, TTL: 24 * time.Hour},
			Coalesce:     true,
			Invalidation: InvalidationWebhook,
			EventMode:    EventModeRefresh,
			NegativeTTL:  30 * time.Second,
			Shape:        ShapeFull,
		},
		Lambda:  Lambda{Enabled: true, MemoryMB: 512, Arch: ArchARM64, MaxConcurrency: 100, IdleTimeout: 10 * time.Minute},
		Network: NetworkFor(ProfileNone),
		Stripe:  Stripe{Mode: StripeModeTest, Limiter: LimiterInstance, WebhookDelay: time.Second},
		Cost:    Cost{ElastiCache: ElastiCache{Engine: EngineRedisOSS, NodeType: "cache.t4g.small", Nodes: 1}},
	}
}

// The choices of the enumerated keys, in the order messages list them.
var (
	arrivalModels  = []string{ArrivalConstant, ArrivalPoisson, ArrivalRamp, ArrivalSteps, ArrivalClosed, ArrivalDiurnal}
	distributions  = []string{DistUniform, DistZipf, DistHotspot, DistTrace}
	objects        = []string{"customer", "subscription", "price", "invoice", "product"}
	policies       = []string{PolicyLRU, PolicyTinyLFU, PolicyMap, PolicyTracking}
	pipelines      = []string{PipelineAuto, PipelineAlways, PipelineNever}
	topologies     = []string{TopologyStandalone, TopologyReplicated, TopologyCluster}
	readFroms      = []string{ReadFromPrimary, ReadFromReplica}
	auths          = []string{AuthNone, AuthPassword, AuthACL}
	evictions      = []string{"allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "noeviction"}
	invalidations  = []string{InvalidationWebhook, InvalidationTTLOnly}
	eventModes     = []string{EventModeRefresh, EventModeInvalidate}
	shapes         = []string{ShapeFull, ShapeFields}
	arches         = []string{ArchARM64, ArchX8664}
	stripeModes    = []string{StripeModeTest, StripeModeLive, StripeModeNone}
	faultTargets   = []string{TargetRedis, TargetDynamoDB, TargetStripe}
	faultKinds     = []string{FaultDown, FaultPause, FaultLatency, FaultReset, FaultBandwidth, FaultRateLimit, FaultErrors, FaultFailover}
	networkLinks   = []string{"redis", "dynamodb", "stripe"}
	scenarioNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// Validate checks s as a whole, after defaults and overrides: every value in range, every
// choice known, shares summing to 1, faults inside the run, thresholds well-formed, the
// sweep applicable. It returns every problem at once (errors.Join of *Error), each at the
// line of the file or the --set override that wrote the value, or nil.
func (s *Scenario) Validate() error {
	return joinErrors(s.problems(true))
}

// checker collects the problems of one scenario.
type checker struct {
	s    *Scenario
	errs []*Error
}

// add records a problem concerning keys (the first that was written locates it); it stays
// silent when one of the keys could not be decoded, as that was reported already.
func (c *checker) add(keys []string, msg, hint string) {
	src := c.s.src
	for _, k := range keys {
		if src.isBad(k) {
			return
		}
	}
	// The first key written locates the problem; failing that, the nearest key holding one.
	o, found := origin{}, false
	for _, k := range keys {
		if src != nil && !found {
			o, found = src.origins[k]
		}
	}
	for _, k := range keys {
		if !found {
			o, found = src.locate(k)
		}
	}
	e := src.errAt(o, keys[0], msg, hint)
	if src == nil {
		e.File = c.s.File
	}
	c.errs = append(c.errs, e)
}

func (c *checker) addf(key, hint, format string, args ...any) {
	c.add([]string{key}, fmt.Sprintf(format, args...), hint)
}

func (c *checker) choice(key, v string, choices []string) {
	if slices.Contains(choices, v) {
		return
	}
	if v == "" {
		c.addf(key, "give one of "+oneOf(choices), "%s is not set", key)
		return
	}
	hint := "use " + oneOf(choices)
	if s := suggest(v, choices); len(s) > 0 && len(s) < len(choices) {
		hint = didYouMean(s) + " The choices are " + oneOf(choices)
	}
	c.addf(key, hint, "%s: unknown value %q", key, v)
}

func (c *checker) share(key string, v float64) {
	if v < 0 || v > 1 || math.IsNaN(v) {
		c.addf(key, "write a fraction between 0 and 1, such as 0.05 for 5%", "%s is %s; it must be between 0 and 1", key, fmtFloat(v))
	}
}

func (c *checker) nonNegative(key string, d time.Duration) {
	if d < 0 {
		c.addf(key, "write a positive duration, or 0", "%s is %v; it cannot be negative", key, d)
	}
}

func (c *checker) positive(key string, d time.Duration, hint string) {
	if d <= 0 {
		c.addf(key, hint, "%s is %v; it must be more than 0", key, d)
	}
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// problems lists what is wrong with s; withSweep also tries each sweep value.
func (s *Scenario) problems(withSweep bool) []*Error {
	c := &checker{s: s}
	c.top()
	c.arrival()
	c.keys()
	c.ops()
	c.cache()
	c.lambda()
	c.network()
	c.stripe()
	c.cost()
	c.faults()
	c.thresholds()
	c.sweepShape()
	if withSweep {
		c.sweepValues()
	}
	return c.errs
}

func (c *checker) top() {
	s := c.s
	switch {
	case s.Name == "":
		c.addf("name", "add name: my-scenario", "the scenario has no name")
	case !scenarioNameRe.MatchString(s.Name) || len(s.Name) > 100:
		c.addf("name", "use letters, digits, '.', '_' and '-', such as zipf-read-heavy", "name %q is not a plain name", s.Name)
	}
	if strings.ContainsAny(s.Description, "\n\r") {
		c.addf("description", "keep the description to one line; put more in comments", "description spans several lines")
	}
	switch {
	case s.Duration < 0:
		c.addf("duration", "write a positive duration such as 30s", "duration is %v; it cannot be negative", s.Duration)
	case s.Duration > maxDuration:
		c.addf("duration", "use 24h or less", "duration %v is longer than 24h", s.Duration)
	}
	if s.Requests < 0 {
		c.addf("requests", "write a positive count such as 10000", "requests is %d; it cannot be negative", s.Requests)
	}
	switch {
	case s.Duration > 0 && s.Requests > 0:
		c.add([]string{"requests", "duration"}, "duration and requests are both set",
			"keep one: duration ends the measured part after a time, requests after a count")
	case s.Duration == 0 && s.Requests == 0 && s.Keys.Distribution != DistTrace:
		c.add([]string{"duration", "requests"}, "neither duration nor requests is set", "add duration: 30s, or requests: 10000")
	}
	c.nonNegative("warmup", s.Warmup)
	if s.Warmup > maxWarmup {
		c.addf("warmup", "use 1h or less", "warmup %v is longer than 1h", s.Warmup)
	}
}

func (c *checker) rate(key string, v float64, needed bool) {
	switch {
	case v < 0:
		c.addf(key, "write a rate in requests per second, such as 500", "%s is %s; a rate cannot be negative", key, fmtFloat(v))
	case v > maxRate:
		c.addf(key, "use at most 1000000 requests per second", "%s %s is above the most cachebench offers", key, fmtFloat(v))
	case needed && v == 0:
		c.addf(key, "write a rate in requests per second, such as 500", "%s is 0; it must be more than 0", key)
	}
}

func (c *checker) arrival() {
	a := c.s.Arrival
	if c.s.Clock != "" {
		c.choice("clock", c.s.Clock, []string{ClockReal, ClockVirtual})
	}
	c.choice("arrival.model", a.Model, arrivalModels)
	c.rate("arrival.rate", a.Rate, a.Model == ArrivalConstant || a.Model == ArrivalPoisson || a.Model == ArrivalDiurnal)
	if a.PeakRatio != 0 && !(a.PeakRatio >= 1 && a.PeakRatio <= 1000) {
		c.addf("arrival.peak_ratio", "use a ratio from 1 (flat) to 1000, such as 4", "arrival.peak_ratio is %s; it must be the peak rate over the trough rate, between 1 and 1000", fmtFloat(a.PeakRatio))
	}
	if a.PeakAt < 0 || a.PeakAt >= 24*time.Hour {
		c.addf("arrival.peak_at", "give a time of day such as 14h", "arrival.peak_at is %v; it must be in [0, 24h)", a.PeakAt)
	}
	if a.Model != ArrivalDiurnal && (a.PeakRatio != 0 || a.PeakAt != 0) {
		c.add([]string{"arrival.peak_ratio", "arrival.peak_at", "arrival.model"}, "arrival.peak_ratio and arrival.peak_at belong to the diurnal model",
			"write arrival: {model: diurnal, rate: 100, peak_ratio: 4, peak_at: 14h}, or remove them")
	}
	c.rate("arrival.from", a.From, false)
	c.rate("arrival.to", a.To, false)
	if a.Concurrency < 0 || a.Concurrency > maxConcurrency || (a.Model == ArrivalClosed && a.Concurrency == 0) {
		c.addf("arrival.concurrency", "use 1 to 10000 workers", "arrival.concurrency is %d; it must be between 1 and %d", a.Concurrency, maxConcurrency)
	}
	c.nonNegative("arrival.think", a.Think)
	switch a.Model {
	case ArrivalRamp:
		if a.From == 0 && a.To == 0 {
			c.add([]string{"arrival.to", "arrival.from", "arrival.model"}, "a ramp needs arrival.from and arrival.to",
				"write arrival: {model: ramp, from: 50, to: 1000} (requests per second)")
		}
		if c.s.Duration <= 0 {
			c.add([]string{"arrival.model", "requests"}, "a ramp rises over the duration, so it needs duration, not requests",
				"replace requests with duration: 30s")
		}
	case ArrivalSteps:
		if len(a.Steps) == 0 {
			c.add([]string{"arrival.steps", "arrival.model"}, "the steps model needs arrival.steps",
				"write steps: [{rate: 100, for: 10s}, {rate: 500, for: 20s}]")
		}
		some := false
		for i, st := range a.Steps {
			k := fmt.Sprintf("arrival.steps[%d]", i)
			c.rate(k+".rate", st.Rate, false)
			c.positive(k+".for", st.For, "give each step a duration such as 10s")
			some = some || st.Rate > 0
		}
		if len(a.Steps) > 0 && !some {
			c.add([]string{"arrival.steps"}, "every step has rate 0, so no request would be sent", "give a step a rate above 0")
		}
	}
}

func (c *checker) keys() {
	k := c.s.Keys
	c.choice("keys.object", k.Object, objects)
	if len(k.Mix) > 0 {
		sum := 0.0
		names := make([]string, 0, len(k.Mix))
		for name := range k.Mix {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			key := "keys.mix." + name
			if !slices.Contains(objects, name) {
				c.addf(key, "use "+oneOf(objects), "keys.mix: unknown object %q", name)
			}
			c.share(key, k.Mix[name])
			sum += k.Mix[name]
		}
		if math.Abs(sum-1) > shareTolerance {
			c.addf("keys.mix", "make the shares add up to 1", "the shares of keys.mix add up to %s, not 1", fmtFloat(round(sum)))
		}
	}
	if k.Count < 1 || k.Count > maxCount {
		c.addf("keys.count", "use 1 to 100000000 objects", "keys.count is %d; it must be between 1 and %d", k.Count, maxCount)
	}
	c.choice("keys.distribution", k.Distribution, distributions)
	if k.ZipfS <= 0 {
		c.addf("keys.zipf_s", "use a positive exponent such as 1.0; higher is more skewed", "keys.zipf_s is %s; it must be more than 0", fmtFloat(k.ZipfS))
	}
	if k.HotShare <= 0 || k.HotShare > 1 {
		c.addf("keys.hot_share", "write the share of traffic to the hot keys, such as 0.8", "keys.hot_share is %s; it must be more than 0 and at most 1", fmtFloat(k.HotShare))
	}
	if k.HotKeys <= 0 || k.HotKeys > 1 {
		c.addf("keys.hot_keys", "write the hot keys as a fraction of keys.count, such as 0.2", "keys.hot_keys is %s; it must be more than 0 and at most 1", fmtFloat(k.HotKeys))
	}
	c.nonNegative("keys.hot_move", k.HotMove)
	if k.Distribution == DistTrace && strings.TrimSpace(k.Trace) == "" {
		c.add([]string{"keys.trace", "keys.distribution"}, "the trace distribution needs keys.trace", "add trace: path/to/trace.csv (time,key,operation rows)")
	}
	c.traceKeys()
	for i, e := range k.Expand {
		if e == "" || strings.ContainsAny(e, " \t,") {
			c.addf(fmt.Sprintf("keys.expand[%d]", i), "write one field path per item, such as default_payment_method", "keys.expand: %q is not a field path", e)
		}
	}
}

func (c *checker) ops() {
	o := c.s.Ops
	c.share("ops.get", o.Get)
	c.share("ops.update", o.Update)
	if sum := o.Get + o.Update; math.Abs(sum-1) > shareTolerance {
		hint := "make get + update = 1"
		if o.Update >= 0 && o.Update <= 1 {
			hint = fmt.Sprintf("make get + update = 1, such as get: %s, update: %s", fmtFloat(round(1-o.Update)), fmtFloat(o.Update))
		}
		c.add([]string{"ops.get", "ops.update", "ops"}, fmt.Sprintf("ops: get + update is %s, not 1", fmtFloat(round(sum))), hint)
	}
}

func (c *checker) cache() {
	k := c.s.Cache
	c.choice("cache.l1.policy", k.L1.Policy, policies)
	if k.L1.MaxEntries < 1 {
		c.addf("cache.l1.max_entries", "use a positive count such as 10000, or cache.l1.enabled: false", "cache.l1.max_entries is %d; it must be at least 1", k.L1.MaxEntries)
	}
	if k.L1.MaxBytes < 1<<10 {
		c.addf("cache.l1.max_bytes", "use a size such as 64MiB", "cache.l1.max_bytes is %v; it must be at least 1KiB", k.L1.MaxBytes)
	}
	c.nonNegative("cache.l1.ttl", k.L1.TTL)
	if w := k.L1.Warm; w.Keys < 0 {
		c.addf("cache.l1.warm.keys", "use a count such as 1000, or 0 for no warming", "cache.l1.warm.keys is %d; it cannot be negative", w.Keys)
	} else if w.Keys > 0 && k.L1.Enabled {
		if w.Budget <= 0 || w.Budget > 10*time.Second {
			c.addf("cache.l1.warm.budget", "use a duration such as 200ms (Lambda's INIT phase lasts at most 10s)", "cache.l1.warm.budget is %v; it must be above 0 and at most 10s", w.Budget)
		}
		if !k.L2.Enabled {
			c.addf("cache.l1.warm.keys", "set cache.l2.enabled: true, or cache.l1.warm.keys: 0", "cache.l1.warm loads L1 from L2, and cache.l2 is off")
		}
		if k.L1.Policy == PolicyTracking {
			c.addf("cache.l1.warm.keys", "choose lru, tinylfu or map, or cache.l1.warm.keys: 0", "cache.l1.warm cannot fill a tracking L1: go-redis fills it from the reads it serves")
		}
	}
	if k.L1.Enabled && k.L1.Policy == PolicyTracking && !k.L2.Enabled {
		c.addf("cache.l1.policy", "set cache.l2.enabled: true, or choose lru, tinylfu or map",
			"cache.l1.policy tracking is Redis's client-side caching of the L2 client, and cache.l2 is off")
	}
	c.positive("cache.l2.ttl", k.L2.TTL, "give Redis entries a lifetime such as 5m, or set cache.l2.enabled: false")
	if j := k.L2.TTLJitter; j < 0 || j > MaxTTLJitter {
		c.addf("cache.l2.ttl_jitter", "use a fraction from 0 to 0.5, such as 0.1 for ±10%", "cache.l2.ttl_jitter is %s; it must be between 0 and %s", fmtFloat(j), fmtFloat(MaxTTLJitter))
	}
	if k.L2.Maxmemory < 0 {
		c.addf("cache.l2.maxmemory", "use a size such as 256MiB, or 0 to leave the server's setting", "cache.l2.maxmemory is %d; it cannot be negative", int64(k.L2.Maxmemory))
	}
	c.choice("cache.l2.eviction", k.L2.Eviction, evictions)
	c.choice("cache.l2.pipeline", k.L2.Pipeline, pipelines)
	if k.L2.AutoPipeline && k.L2.Pipeline != PipelineAlways && k.L2.Pipeline != PipelineAuto {
		c.addf("cache.l2.autopipeline", "keep one: pipeline: always is what autopipeline: true means",
			"cache.l2.autopipeline is true and cache.l2.pipeline is %s", k.L2.Pipeline)
	}
	c.choice("cache.l2.topology", k.L2.Topology, topologies)
	c.choice("cache.l2.auth", k.L2.Auth, auths)
	if k.L2.Topology == TopologyCluster {
		if k.L2.Shards < 1 || k.L2.Shards > MaxShards {
			c.addf("cache.l2.shards", "use 1 to 16, such as 3", "cache.l2.shards is %d; it must be between 1 and %d", k.L2.Shards, MaxShards)
		}
		if k.L2.Replicas < 0 || k.L2.Replicas > MaxReplicas {
			c.addf("cache.l2.replicas", "use 0 to 5, such as 1", "cache.l2.replicas is %d; it must be between 0 and %d", k.L2.Replicas, MaxReplicas)
		}
		if k.L1.Enabled && k.L1.Policy == PolicyTracking {
			c.addf("cache.l1.policy", "choose lru, tinylfu or map, or cache.l2.topology: standalone",
				"cache.l1.policy tracking runs on a standalone Redis, and cache.l2.topology is cluster")
		}
	} else if k.L2.Topology == TopologyStandalone && k.L2.Replicas != 0 {
		c.addf("cache.l2.replicas", "set cache.l2.topology: replicated or cluster for replicas, or cache.l2.replicas: 0",
			"cache.l2.replicas is %d, and a standalone Redis has none", k.L2.Replicas)
	}
	if k.L2.Topology == TopologyReplicated {
		if k.L2.Replicas < 0 || k.L2.Replicas > MaxReplicas {
			c.addf("cache.l2.replicas", "use 1 to 5, such as 1 (0 means 1)", "cache.l2.replicas is %d; it must be between 0 and %d", k.L2.Replicas, MaxReplicas)
		}
		if k.L1.Enabled && k.L1.Policy == PolicyTracking {
			c.addf("cache.l1.policy", "choose lru, tinylfu or map, or cache.l2.topology: standalone",
				"cache.l1.policy tracking runs on a standalone Redis, and cache.l2.topology is replicated")
		}
	}
	c.choice("cache.l2.read_from", k.L2.ReadFrom, readFroms)
	if k.L2.ReadFrom == ReadFromReplica && k.L2.Topology == TopologyStandalone {
		c.addf("cache.l2.read_from", "set cache.l2.topology: replicated (or cluster with replicas: 1), or cache.l2.read_from: primary",
			"cache.l2.read_from is replica, and a standalone Redis has no replica to read from")
	}
	c.positive("cache.l3.ttl", k.L3.TTL, "give DynamoDB entries a lifetime such as 24h, or set cache.l3.enabled: false")
	c.choice("cache.invalidation", k.Invalidation, invalidations)
	c.choice("cache.event_mode", k.EventMode, eventModes)
	c.nonNegative("cache.negative_ttl", k.NegativeTTL)
	c.nonNegative("cache.stale_while_revalidate", k.SWR)
	if k.XFetchBeta < 0 || k.XFetchBeta > 100 {
		c.addf("cache.xfetch_beta", "use 0 (off) or a small factor such as 1", "cache.xfetch_beta is %s; it must be between 0 and 100", fmtFloat(k.XFetchBeta))
	}
	c.nonNegative("cache.lease", k.Lease)
	c.shape()
}

// shape checks cache.shape against cache.fields.
func (c *checker) shape() {
	k := c.s.Cache
	c.choice("cache.shape", k.Shape, shapes)
	switch {
	case k.Shape == ShapeFields && len(k.Fields) == 0:
		c.add([]string{"cache.fields", "cache.shape"}, "cache.shape is fields but cache.fields names none",
			"name the fields to keep, such as cache.fields: [id, email, metadata], or use cache.shape: full")
	case k.Shape == ShapeFull && len(k.Fields) > 0 && !varies(c.s.Sweep, "cache.shape"):
		c.add([]string{"cache.fields", "cache.shape"}, fmt.Sprintf("cache.fields is [%s] but cache.shape is full, which keeps every field", strings.Join(k.Fields, ", ")),
			"set cache.shape: fields to cache only these fields, or remove cache.fields to cache whole objects")
	}
	for i, f := range k.Fields {
		key := fmt.Sprintf("cache.fields[%d]", i)
		switch {
		case strings.TrimSpace(f) == "":
			c.addf(key, "name a top-level field of the object, such as email", "%s is empty", key)
		case strings.Contains(f, "."):
			c.addf(key, fmt.Sprintf("keep the whole top-level field instead: %s", f[:strings.IndexByte(f, '.')]),
				"%s is %q, a nested path; only top-level fields can be kept", key, f)
		}
	}
}

func (c *checker) cost() {
	e := c.s.Cost.ElastiCache
	c.choice("cost.elasticache.engine", e.Engine, []string{EngineRedisOSS, EngineValkey})
	if !e.Serverless {
		if !strings.HasPrefix(e.NodeType, "cache.") {
			c.addf("cost.elasticache.node_type", "write a node type such as cache.t4g.small (see the pricing table)", "node_type %q is not an ElastiCache node type", e.NodeType)
		}
		if e.Nodes < 1 || e.Nodes > 500 {
			c.addf("cost.elasticache.nodes", "count every node, replicas included: 1 to 500", "nodes is %d", e.Nodes)
		}
	}
	if m := c.s.Cost.MonthlyRequests; m < 0 || m > 1e13 {
		c.addf("cost.monthly_requests", "write a monthly traffic such as 50000000, or 0 for no projection", "monthly_requests is %g", m)
	}
}

func (c *checker) lambda() {
	l := c.s.Lambda
	if l.MemoryMB < MinMemoryMB || l.MemoryMB > MaxMemoryMB {
		c.addf("lambda.memory_mb", "AWS Lambda allows 128 to 10240 MB, such as 512 or 1769 (one full vCPU)", "lambda.memory_mb is %d; it must be between %d and %d", l.MemoryMB, MinMemoryMB, MaxMemoryMB)
	}
	c.choice("lambda.arch", l.Arch, arches)
	if l.MaxConcurrency < 1 || l.MaxConcurrency > maxConcurrency {
		c.addf("lambda.max_concurrency", "use 1 to 10000 environments", "lambda.max_concurrency is %d; it must be between 1 and %d", l.MaxConcurrency, maxConcurrency)
	}
	c.positive("lambda.idle_timeout", l.IdleTimeout, "use the mean idle time before Lambda recycles an environment, such as 10m")
	switch pc := l.ProvisionedConcurrency; {
	case pc < 0:
		c.addf("lambda.provisioned_concurrency", "use 0 (none) or a number of environments up to lambda.max_concurrency", "lambda.provisioned_concurrency is %d; it cannot be negative", pc)
	case pc > l.MaxConcurrency && l.MaxConcurrency >= 1:
		c.add([]string{"lambda.provisioned_concurrency", "lambda.max_concurrency"},
			fmt.Sprintf("lambda.provisioned_concurrency %d is more than lambda.max_concurrency %d", pc, l.MaxConcurrency),
			"provisioned environments count against the concurrency limit: lower provisioned_concurrency or raise max_concurrency")
	}
	for _, h := range []struct {
		key string
		d   time.Duration
	}{{"lambda.handler_time", l.HandlerTime}, {"lambda.handler_cpu", l.HandlerCPU}} {
		c.nonNegative(h.key, h.d)
		if h.d > maxHandler {
			c.addf(h.key, "use the time one invocation takes, such as 20ms", "%s %v is longer than Lambda's longest invocation, 15m", h.key, h.d)
		}
	}
}

func (c *checker) network() {
	links := c.s.Network.Links()
	for _, svc := range networkLinks {
		l, key := links[svc], "network."+svc
		if !slices.Contains(Profiles(), l.Profile) {
			c.addf(key, profileHint(l.Profile), "%s: unknown network profile %q", key, l.Profile)
			continue
		}
		if l.Profile != ProfileCustom {
			if l.Latency != 0 || l.Jitter != 0 || l.Bandwidth != 0 {
				c.addf(key, fmt.Sprintf("drop profile: %s to use your own figures, or drop the figures", l.Profile),
					"%s: latency, jitter and bandwidth apply only to custom figures, not to the profile %s", key, l.Profile)
			}
			continue
		}
		c.nonNegative(key+".latency", l.Latency)
		c.nonNegative(key+".jitter", l.Jitter)
		if l.Bandwidth < 0 {
			c.addf(key+".bandwidth", "write bytes per second, such as 100MB, or 0 for unlimited", "%s.bandwidth is %d; it cannot be negative", key, int64(l.Bandwidth))
		}
		if l.Latency == 0 && l.Jitter == 0 && l.Bandwidth == 0 {
			c.addf(key, "give latency, jitter or bandwidth, such as {latency: 1ms}, or use the profile none", "%s: custom figures are all 0", key)
		}
	}
}

func (c *checker) stripe() {
	st := c.s.Stripe
	c.choice("stripe.mode", st.Mode, stripeModes)
	c.choice("stripe.limiter", st.Limiter, []string{LimiterNone, LimiterInstance, LimiterFleet})
	if st.Limiter == LimiterFleet && st.Mode == StripeModeNone {
		c.add([]string{"stripe.limiter", "stripe.mode"}, "stripe.limiter is fleet but stripe.mode is none: there is no rate limit to share",
			"set stripe.mode: test or live, or stripe.limiter: none")
	}
	c.nonNegative("stripe.webhook_delay", st.WebhookDelay)
	c.share("stripe.webhook_duplicates", st.WebhookDuplicates)
	c.share("stripe.webhook_reorder", st.WebhookReorder)
}

func (c *checker) faults() {
	s := c.s
	for i, f := range s.Faults {
		k := fmt.Sprintf("faults[%d]", i)
		c.nonNegative(k+".at", f.At)
		c.positive(k+".for", f.For, "give the fault a length, such as for: 10s")
		c.choice(k+".target", f.Target, faultTargets)
		c.choice(k+".kind", f.Kind, faultKinds)
		if (f.Kind == FaultRateLimit || f.Kind == FaultErrors) && f.Target != TargetStripe && slices.Contains(faultTargets, f.Target) {
			c.add([]string{k + ".kind", k}, fmt.Sprintf("%s: a %s fault applies to the Stripe API only, not to %s", k, f.Kind, f.Target),
				"use target: stripe, or a network kind (down, pause, latency, reset, bandwidth)")
		}
		if f.Kind == FaultFailover {
			l2 := s.Cache.L2
			switch {
			case f.Target != TargetRedis && slices.Contains(faultTargets, f.Target):
				c.add([]string{k + ".kind", k}, fmt.Sprintf("%s: a failover fault applies to Redis only, not to %s", k, f.Target),
					"use target: redis, or a network kind (down, pause, latency, reset, bandwidth)")
			case l2.Topology != TopologyReplicated && !(l2.Topology == TopologyCluster && l2.Replicas > 0):
				c.add([]string{k + ".kind", k, "cache.l2.topology"}, fmt.Sprintf("%s: a failover fault promotes a replica, and cache.l2.topology is %s with %d replicas", k, l2.Topology, l2.Replicas),
					"set cache.l2.topology: replicated, or cluster with cache.l2.replicas: 1 (started by --env local or docker)")
			}
		}
		switch f.Kind {
		case FaultLatency:
			if f.Latency <= 0 {
				c.add([]string{k + ".latency", k}, fmt.Sprintf("%s: a latency fault needs latency", k), "add latency: 200ms (and jitter: 50ms if you like)")
			}
			c.nonNegative(k+".jitter", f.Jitter)
		case FaultBandwidth:
			if f.Bandwidth <= 0 {
				c.add([]string{k + ".bandwidth", k}, fmt.Sprintf("%s: a bandwidth fault needs bandwidth", k), "add bandwidth: 100KB (bytes per second)")
			}
		case FaultErrors:
			if f.Rate <= 0 || f.Rate > 1 {
				c.add([]string{k + ".rate", k}, fmt.Sprintf("%s: an errors fault needs rate between 0 and 1 (got %s)", k, fmtFloat(f.Rate)), "add rate: 0.2 to fail 20% of requests")
			}
		}
		unused := func(field string, set bool, kind string) {
			if set && f.Kind != kind && slices.Contains(faultKinds, f.Kind) {
				c.addf(k+"."+field, "remove it, or use kind: "+kind, "%s.%s applies only to a %s fault, not to %s", k, field, kind, f.Kind)
			}
		}
		unused("latency", f.Latency != 0, FaultLatency)
		unused("jitter", f.Jitter != 0, FaultLatency)
		unused("bandwidth", f.Bandwidth != 0, FaultBandwidth)
		unused("rate", f.Rate != 0, FaultErrors)
		if s.Requests == 0 && s.Duration > 0 && f.At >= 0 && f.For > 0 && f.At+f.For > s.Duration {
			c.add([]string{k + ".for", k + ".at", k, "duration"},
				fmt.Sprintf("%s runs from %v to %v, past the end of the run at %v", k, f.At, f.At+f.For, s.Duration),
				fmt.Sprintf("fault times count from the end of warm-up; end it by %v, or lengthen duration", s.Duration))
		}
		for j := range i {
			g := s.Faults[j]
			if g.Target == f.Target && g.Kind == f.Kind && f.At < g.At+g.For && g.At < f.At+f.For {
				c.add([]string{k + ".at", k}, fmt.Sprintf("%s overlaps faults[%d]: both are %s faults on %s", k, j, f.Kind, f.Target),
					"merge them into one window, or move one")
			}
		}
	}
}

func (c *checker) thresholds() {
	for i, t := range c.s.Thresholds {
		if _, err := ParseThreshold(t); err != nil {
			var te *thresholdError
			hint := ""
			msg := err.Error()
			if asThresholdError(err, &te) {
				msg, hint = te.msg, te.hint
			}
			c.addf(fmt.Sprintf("thresholds[%d]", i), hint, "threshold %q: %s", t, msg)
		}
	}
}

// round drops float noise (0.95+0.05 = 1.0000000000000002) from a figure in a message.
func round(f float64) float64 {
	return math.Round(f*1e9) / 1e9
}

// traceFormats are the values of keys.trace_format.
var traceFormats = []string{TraceCachebench, TraceOracleGeneral, TraceTwitter, TraceCSV}

// traceKeys checks the trace_* keys of keys.
func (c *checker) traceKeys() {
	k := c.s.Keys
	if k.TraceFormat != "" {
		c.choice("keys.trace_format", k.TraceFormat, traceFormats)
	}
	if k.TraceSpeed < 0 || math.IsNaN(k.TraceSpeed) || math.IsInf(k.TraceSpeed, 0) {
		c.addf("keys.trace_speed", "write how many times faster than recorded, such as 10", "keys.trace_speed is %s; it must be more than 0", fmtFloat(k.TraceSpeed))
	}
	if k.TraceRate < 0 || math.IsNaN(k.TraceRate) || math.IsInf(k.TraceRate, 0) {
		c.addf("keys.trace_rate", "write rows a second, such as 3000", "keys.trace_rate is %s; it must be more than 0", fmtFloat(k.TraceRate))
	}
	if k.TraceSpeed > 0 && k.TraceRate > 0 {
		c.add([]string{"keys.trace_rate", "keys.trace_speed"}, "keys.trace_speed and keys.trace_rate are both set",
			"keep one: trace_speed scales the recorded times, trace_rate replaces them")
	}
	cols := k.TraceColumns
	for _, col := range []struct {
		name string
		v    int
	}{{"time", cols.Time}, {"key", cols.Key}, {"op", cols.Op}, {"size", cols.Size}} {
		if col.v < 0 || col.v > 1000 {
			c.addf("keys.trace_columns."+col.name, "write a 1-based column number, or leave it out", "keys.trace_columns.%s is %d; it must be between 1 and 1000", col.name, col.v)
		}
	}
	isCSV := k.TraceFormat == TraceCSV
	if isCSV && cols.Key == 0 {
		c.add([]string{"keys.trace_columns", "keys.trace_format"}, "a csv trace needs the key's column",
			"add trace_columns: {time: 1, key: 2, op: 3} with your file's 1-based columns")
	}
	if isCSV && cols.Time == 0 && k.TraceRate == 0 {
		c.add([]string{"keys.trace_columns", "keys.trace_rate"}, "a csv trace without a time column needs trace_rate",
			"add trace_columns.time, or trace_rate: 3000 to replay the rows evenly")
	}
	if !isCSV && (cols != TraceColumns{} || len(k.TraceWrites) > 0) {
		c.add([]string{"keys.trace_columns", "keys.trace_writes", "keys.trace_format"}, "trace_columns and trace_writes are for trace_format: csv",
			"set trace_format: csv, or remove them (the other formats have fixed columns)")
	}
	if k.Distribution != DistTrace && strings.TrimSpace(k.Trace) != "" {
		c.add([]string{"keys.trace", "keys.distribution"}, fmt.Sprintf("keys.trace is set but keys.distribution is %s, so the trace would not be replayed", k.Distribution),
			"remove keys.distribution (a trace implies distribution: trace), or remove keys.trace")
	}
	if k.Distribution != DistTrace && (k.TraceFormat != "" || k.TraceSpeed != 0 || k.TraceRate != 0) {
		c.add([]string{"keys.trace_format", "keys.trace_speed", "keys.trace_rate", "keys.distribution"}, "trace settings without the trace distribution",
			"set distribution: trace and trace: FILE, or remove the trace_* keys")
	}
}
