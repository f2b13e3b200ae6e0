package cachecore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig configures a RedisTier.
//
// Autopipelining: go-redis v9.23 can itself batch the commands of concurrent callers into
// pipelines, cutting round trips (EXPERIMENTAL in go-redis). The tier does no batching of
// its own; it submits its single-key commands to the client's deferred autopipeliner
// (AsyncAutoPipeline, configured by the client options' AutoPipelineOptions, go-redis's
// defaults when nil) as Pipeline says, auto by default. A caller may also pass an
// autopipeliner as the client (it is a redis.UniversalClient):
//
//	ap, err := rc.AutoPipelineWithOptions(&redis.AutoPipelineOptions{MaxBatchSize: 100})
//	l2, err := cachecore.NewRedisTier(cachecore.RedisConfig{Client: ap})
//
// Then every single-key command goes through an autopipeliner with ap's options: ap
// itself if it is a deferred one, else the deferred one of rc built with them (or rc's
// existing one: go-redis keeps one of each face per client). Closing rc stops them too,
// and *redis.Ring has none. Passing the client itself is better on a cluster: the tier
// still sees the *redis.ClusterClient underneath, so Info sums every master, whereas
// behind a bare autopipeliner it asks one node, and GetMulti pipelines GETs rather than
// trying MGET even on a standalone server, as it cannot tell whether a cluster is hidden
// there.
//
// The deferred face is what keeps the cache's time-out (Config.L2Timeout) on
// autopipelined commands: an autopipeliner runs its batches on a context of its own, so
// the tier waits for each command's batch only while the call's context allows and
// then returns the context's error, leaving the command to finish unread.
type RedisConfig struct {
	// Now is the clock the tier judges entries' retention by (what PX a write gets, and
	// whether a read entry is dead); nil means time.Now. Set it to Config.Now's clock when
	// that is simulated.
	Now func() time.Time
	// Client is required: a *redis.Client (standalone or Sentinel failover), a
	// *redis.ClusterClient, or an autopipeliner of either. Give it ContextTimeoutEnabled:
	// the cache bounds each call by Config.L2Timeout through the call's context, and
	// without that option go-redis ignores the context's deadline on the socket and waits
	// for its own ReadTimeout (3 s by default) when Redis stops answering. A command that
	// goes through the autopipeliner is bounded by the context whatever the option: the
	// tier stops waiting for it (see Autopipelining above). The command itself runs on
	// until its batch ends, bounded by ReadTimeout and WriteTimeout, and holds its place
	// in the autopipeliner's queue meanwhile.
	Client redis.UniversalClient
	// Prefix is prepended to every key; "" means "cb:".
	Prefix string
	// CompressAbove compresses values of at least this many bytes; 0 means 1024, and a
	// negative value means never.
	CompressAbove int
	// Pipeline says when the tier's single-key commands (GET, the guarded SET script, DEL,
	// MGET) go through Client.AsyncAutoPipeline(), so that concurrent callers share
	// round trips: PipelineAuto ("" is the same) when another of the tier's commands is
	// in flight, PipelineAlways, or PipelineNever. With an autopipeliner as Client they
	// always do, and PipelineNever is refused. Explicit pipelines (GetMulti in cluster
	// mode, SetMulti) and INFO use Client itself.
	//
	// Auto is the default because each way is faster where the other is slower: with 50
	// callers sharing a client, autopipelining answered 4.9 to 6.2 times the L2 hits a
	// second of one command per round trip (median 5.9; scripts/bench-l2.sh, three runs),
	// with 6 allocations a hit against 9, while a lone caller only waits for the
	// autopipeliner's hand-off (its hit took 1.9 to 2.3 times as long, and 20
	// allocations), so it goes straight to the connection. A Lambda environment, serving
	// one request at a time, takes the direct path. Over a *redis.Client whose pool
	// holds at least 4 connections and that has no client-side cache, a lone caller
	// whose commands come less than a second apart keeps one connection of the pool for
	// them, up to a second at a time, and so skips go-redis's health check of a
	// connection taken from the pool: its L2 hit took 0.950 to 0.999 times a plain
	// go-redis GET's time (median 0.973; 1.022 to 1.060 before, median 1.029;
	// scripts/bench-l2.sh, three runs each, alternating blocks; see RedisTier.Get).
	// That connection comes from go-redis's WithTimeout copy of Client, which in v9.23
	// has none of Client's hooks (AddHook): the lone caller's commands skip them, so a
	// client whose hooks must see every command (tracing, metrics, a stand-in that
	// answers commands itself) wants PipelineNever or PipelineAlways.
	Pipeline string
	// AutoPipeline is Pipeline: PipelineAlways, as earlier versions spelled it.
	AutoPipeline bool
}

// Pipeline modes (RedisConfig.Pipeline).
const (
	PipelineAuto   = "auto"
	PipelineAlways = "always"
	PipelineNever  = "never"
)

// DefaultRedisPrefix is the key prefix of a RedisTier whose Prefix is empty.
const DefaultRedisPrefix = "cb:"

// defaultCompressAbove is the compression threshold of both tiers when none is set.
const defaultCompressAbove = 1024

// TierStats are a RedisTier's or DynamoTier's own counters, as the tier itself saw its
// calls (the Cache's TierCounts are what the cache made of them). Every key of a
// GetMulti and every entry of a SetMulti counts once.
type TierStats struct {
	// Gets counts keys looked up; each is a Hit or a Miss, or the call failed (Errors).
	Gets, Hits, Misses uint64
	// Sets counts entries stored; SetsRejected those the version guard refused because
	// the tier held a newer version. Entries already dead are neither.
	Sets, SetsRejected uint64
	// Deletes counts keys deleted.
	Deletes uint64
	// Corrupt counts stored values that were not a readable envelope; each read as a miss.
	Corrupt uint64
	// Errors counts calls (or keys of a batch) that failed for the tier's own reasons.
	Errors uint64
	// ReadUnits and WriteUnits are the capacity units DynamoDB reported consumed
	// (ReturnConsumedCapacity TOTAL), plus an estimate for writes refused by the
	// version guard, whose cost DynamoDB does not report. Zero for Redis.
	ReadUnits, WriteUnits float64
	// ReportedReadUnits and ReportedWriteUnits are the part of ReadUnits and WriteUnits
	// DynamoDB itself reported, and CapacityReports the responses that carried a
	// ConsumedCapacity. Zero for Redis.
	ReportedReadUnits, ReportedWriteUnits float64
	CapacityReports                       uint64
	// Oversize counts entries not written to DynamoDB because the item would exceed
	// its 400 KB limit even compressed. Zero for Redis.
	Oversize uint64
	// SetBytes is the size of the items Sets counts, as DynamoDB counts an item's size
	// (each attribute's name plus its value: the key, the envelope, the version and the
	// expiry), so SetBytes/Sets is the mean item written. Zero for Redis (see
	// RedisTier.Footprint).
	SetBytes uint64
}

// tierStatCounters are the atomic counters behind TierStats.
type tierStatCounters struct {
	gets, hits, misses, sets, setsRejected, deletes, corrupt, errors, oversize atomic.Uint64
	readUnits, writeUnits                                                      atomicFloat
	reportedRead, reportedWrite                                                atomicFloat
	capacityReports                                                            atomic.Uint64
	setBytes                                                                   atomic.Uint64
}

func (c *tierStatCounters) snapshot() TierStats {
	return TierStats{
		Gets: c.gets.Load(), Hits: c.hits.Load(), Misses: c.misses.Load(),
		Sets: c.sets.Load(), SetsRejected: c.setsRejected.Load(), Deletes: c.deletes.Load(),
		Corrupt: c.corrupt.Load(), Errors: c.errors.Load(),
		ReadUnits: c.readUnits.Load(), WriteUnits: c.writeUnits.Load(), Oversize: c.oversize.Load(),
		ReportedReadUnits: c.reportedRead.Load(), ReportedWriteUnits: c.reportedWrite.Load(),
		CapacityReports: c.capacityReports.Load(), SetBytes: c.setBytes.Load(),
	}
}

// admit counts one stored value a tier read: one that did not decode (err) is corrupt and
// a miss, one whose retention has ended is a miss, the rest are hits.
func (c *tierStatCounters) admit(e Entry, err error, now time.Time) (Entry, bool) {
	if err != nil {
		c.corrupt.Add(1)
		c.misses.Add(1)
		return Entry{}, false
	}
	if e.Dead(now) {
		c.misses.Add(1)
		return Entry{}, false
	}
	c.hits.Add(1)
	return e, true
}

// atomicFloat is a float64 updated atomically through its bits.
type atomicFloat struct{ bits atomic.Uint64 }

func (f *atomicFloat) Load() float64 { return math.Float64frombits(f.bits.Load()) }

func (f *atomicFloat) Add(d float64) {
	for {
		old := f.bits.Load()
		if f.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// RedisTier is the L2: entries as envelopes in Redis string keys, each with a PX expiry
// at the end of the entry's retention, written through a Lua version guard. It works on
// standalone, Sentinel and cluster deployments: every command touches one key, except
// MGET, which it sends only to a plain *redis.Client.
type RedisTier struct {
	// client is the deferred autopipeliner of base (Client) that single-key commands
	// take as Pipeline says (pick); nil with PipelineNever. base serves the rest: the
	// direct path, explicit pipelines and INFO on every master.
	client   *redis.AutoPipeliner
	base     redis.UniversalClient
	pipeline string
	// inflight counts the single-key commands under way, for PipelineAuto.
	inflight atomic.Int64
	// lone is what a lone caller's commands take (see runLone): set with PipelineAuto
	// over a plain *redis.Client whose pool can spare a connection. Only the caller
	// that took inflight from 0 to 1 touches it, until it gives inflight back.
	lone          *loneConn
	prefix        string
	compressAbove int // 0 = never
	// useMGET is set for a *redis.Client, where one MGET serves a GetMulti. Elsewhere
	// (cluster, or a wrapper such as an AutoPipeliner that may hide a cluster) MGET of
	// keys in several slots fails with CROSSSLOT, so GetMulti pipelines GETs, which
	// go-redis splits by node.
	useMGET bool
	// setIfNewer is the version guard script (redisSetIfNewerSrc); each tier has its own,
	// as the package keeps no global state.
	setIfNewer *redis.Script
	// tracked is set by New when the client is a tracking L1's (NewTrackingL1).
	tracked atomic.Bool
	stats   tierStatCounters
	now     func() time.Time
}

var _ Tier = (*RedisTier)(nil)

// redisSetIfNewerSrc stores ARGV[1] (an envelope) at KEYS[1] unless the key holds an
// envelope with a higher version, with expiry ARGV[2] milliseconds (0 = none). It
// returns 1 when it wrote, 0 when the guard refused.
//
// The versions are the 8 ordered bytes at offset 2 (Lua positions 3..10), compared byte
// by byte as numbers. Lua's string < is not used: Redis's Lua compares strings with
// strcoll, which follows the server's locale and is not bytewise for arbitrary bytes. A
// current value that is not an envelope (too short, other format byte) is overwritten:
// reads treat it as a miss anyway.
const redisSetIfNewerSrc = `
local cur = redis.call('GET', KEYS[1])
local new = ARGV[1]
if cur and string.len(cur) >= 34 and string.byte(cur, 1) == 1 then
  local a = string.sub(cur, 3, 10)
  local b = string.sub(new, 3, 10)
  if a ~= b then
    for i = 1, 8 do
      local x, y = string.byte(a, i), string.byte(b, i)
      if x ~= y then
        if y < x then return 0 end
        break
      end
    end
  end
end
local px = tonumber(ARGV[2])
if px > 0 then
  redis.call('SET', KEYS[1], new, 'PX', px)
else
  redis.call('SET', KEYS[1], new)
end
return 1
`

// NewRedisTier returns an L2 over cfg.Client. It makes no call to Redis.
func NewRedisTier(cfg RedisConfig) (*RedisTier, error) {
	if cfg.Client == nil {
		return nil, errors.New("redis tier: Client is required")
	}
	r := &RedisTier{
		base:          cfg.Client,
		pipeline:      cfg.Pipeline,
		prefix:        cfg.Prefix,
		compressAbove: compressThreshold(cfg.CompressAbove),
		setIfNewer:    redis.NewScript(redisSetIfNewerSrc),
		now:           time.Now,
	}
	if cfg.Now != nil {
		r.now = cfg.Now
	}
	if r.prefix == "" {
		r.prefix = DefaultRedisPrefix
	}
	_, r.useMGET = cfg.Client.(*redis.Client)
	switch {
	case cfg.AutoPipeline && cfg.Pipeline != "" && cfg.Pipeline != PipelineAlways:
		return nil, fmt.Errorf("redis tier: AutoPipeline is Pipeline %q, and Pipeline is %q: set one", PipelineAlways, cfg.Pipeline)
	case cfg.AutoPipeline:
		r.pipeline = PipelineAlways
	case r.pipeline == "":
		r.pipeline = PipelineAuto
	}
	given, _ := cfg.Client.(*redis.AutoPipeliner)
	switch r.pipeline {
	case PipelineNever:
		if given != nil {
			return nil, fmt.Errorf("redis tier: Pipeline %q with an autopipeliner as Client: pass the client it came from", PipelineNever)
		}
	case PipelineAuto, PipelineAlways:
		if given != nil {
			ap, err := deferredFace(given)
			if err != nil {
				return nil, fmt.Errorf("redis tier: the autopipeliner given as Client: %w", err)
			}
			// Its commands are autopipelined whichever way they go, and the tier bounds
			// them only on the deferred face.
			r.client, r.pipeline = ap, PipelineAlways
			break
		}
		ap, err := cfg.Client.AsyncAutoPipeline()
		switch {
		case err == nil:
			r.client = ap
			if rc, ok := cfg.Client.(*redis.Client); ok && r.pipeline == PipelineAuto && loneFits(rc.Options()) {
				r.lone = &loneConn{client: rc}
			}
		case r.pipeline == PipelineAuto && errors.Is(err, redis.ErrRingAutoPipelineUnsupported):
			// A client with no autopipeliner (a *redis.Ring) sends every command itself.
		default:
			return nil, fmt.Errorf("redis tier: autopipelining: %w", err)
		}
	default:
		return nil, fmt.Errorf("redis tier: Pipeline %q is unknown: use %q, %q or %q", r.pipeline, PipelineAuto, PipelineAlways, PipelineNever)
	}
	return r, nil
}

// deferredFace returns ap if it is a deferred (async) autopipeliner, else the deferred
// one of ap's client built with ap's options (or the one that client already has).
func deferredFace(ap *redis.AutoPipeliner) (*redis.AutoPipeliner, error) {
	if !ap.IsBlocking() {
		return ap, nil
	}
	opts := ap.Config()
	async, err := ap.AsyncAutoPipelineWithOptions(&opts)
	if err != nil {
		return nil, fmt.Errorf("its options do not suit a deferred autopipeliner, which the tier needs to bound each command by its context (%w): pass the client it came from, or a deferred one (AsyncAutoPipelineWithOptions)", err)
	}
	return async, nil
}

// pick returns the autopipeliner for one single-key command, or nil when the command
// goes to the client itself, and done must be called when it has its answer: the
// autopipeliner when Pipeline says so (with auto, when another command is in flight).
// lone says the command is a lone caller's, the only one of the tier's in flight, which
// may take the lone connection (runLone).
func (r *RedisTier) pick() (ap *redis.AutoPipeliner, lone bool) {
	switch {
	case r.client == nil:
		return nil, false
	case r.pipeline == PipelineAlways:
		return r.client, false
	case r.inflight.Add(1) > 1:
		return r.client, false
	}
	return nil, r.lone != nil
}

// done ends a command started with pick.
func (r *RedisTier) done() {
	if r.client != nil && r.pipeline == PipelineAuto {
		r.inflight.Add(-1)
	}
}

// run sends cmd, a single-key command, the way pick says, and returns its error. Through
// the autopipeliner it waits for the command's batch only while ctx allows: when ctx
// ends first, run returns ctx's error and the command is left to its batch, which still
// runs it and may be writing its result; so after an error the caller must not read cmd
// beyond the error run returned.
func (r *RedisTier) run(ctx context.Context, cmd redis.Cmder) error {
	ap, lone := r.pick()
	defer r.done()
	switch {
	case ap != nil:
		return ap.Submit(ctx, cmd).WaitContext(ctx)
	case lone:
		return r.runLone(ctx, cmd)
	}
	return r.base.Process(ctx, cmd)
}

// loneConn is a connection of the client's pool that a lone caller keeps between its
// commands (a redis.Conn), so that each command skips what taking a connection from the
// pool costs: go-redis v9.23 checks a pooled connection's health each time it leaves the
// pool (a syscall peeking at the socket, and 3 allocations) and takes the pool's lock.
// Only one caller uses it at a time (pick).
type loneConn struct {
	client *redis.Client
	// conn is the connection kept, nil when none is; taken is when it left the pool.
	conn  *redis.Conn
	taken time.Time
	// last is when a lone caller last sent a command.
	last time.Time
}

// loneKeep is how long a lone connection is kept before it goes back to the pool and
// another is taken. go-redis skips its peek for push notifications before and after each
// command only within 5 s of a connection's return to the pool; a connection kept
// longer would pay two peeks a command, where the pool's check is one.
const loneKeep = time.Second

// loneMinPool is the smallest pool (PoolSize, and MaxActiveConns when set) that spares a
// connection for a lone caller: one kept out of a smaller pool could leave other
// callers of the client (the cache's fill lease, INFO, explicit pipelines) waiting for
// the pool's PoolTimeout.
const loneMinPool = 4

// loneFits says whether a client with opts can spare a lone connection, and has no
// client-side cache, which serves only what goes through the client itself.
func loneFits(opts *redis.Options) bool {
	return opts.PoolSize >= loneMinPool && (opts.MaxActiveConns == 0 || opts.MaxActiveConns >= loneMinPool) &&
		opts.ClientSideCache == nil && opts.ClientSideCacheConfig == nil
}

// runLone sends a lone caller's cmd on the lone connection: the one kept, unless it has
// been kept loneKeep; else, when the previous lone command was recent, a new one taken
// from the pool; else (a lone caller's commands are loneKeep or more apart, as a Lambda
// environment's may be, and a connection kept would serve just one) through the
// client's pool, as the command would go without one.
//
// A command that fails on the connection for a reason other than Redis's reply (the
// connection was closed by a failover, which closes the old master's connections in use
// too, or by the server; or the command timed out) gives the connection up, as go-redis
// discards a pooled connection that failed so, and is sent again through the client
// while ctx allows, where go-redis retries it as it retries any command (the kept
// connection does not: its retries would wait out their back-off on that one
// connection, which go-redis will not hand out again). Every single-key command of the
// tier may run twice: a read, a delete, or a write whose version guard makes a second
// run change nothing.
func (r *RedisTier) runLone(ctx context.Context, cmd redis.Cmder) error {
	l := r.lone
	now := time.Now()
	if l.conn != nil && now.Sub(l.taken) >= loneKeep {
		l.drop()
	}
	recent := now.Sub(l.last) < loneKeep
	l.last = now
	if l.conn == nil {
		if !recent {
			return r.base.Process(ctx, cmd)
		}
		l.take(now)
	}
	err := l.conn.Process(ctx, cmd)
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	if _, reply := err.(redis.Error); reply && !redis.HasErrorPrefix(err, "READONLY") {
		// Redis answered (WRONGTYPE, NOSCRIPT, ...): the connection is sound. A demoted
		// master's READONLY is go-redis's sign to drop the connection and retry. Only
		// the reply itself counts: go-redis wraps the error that spoilt a connection
		// into the one it gives for the connection's next command.
		return err
	}
	l.drop()
	if over := ctxErr(ctx); over != nil {
		if !errors.Is(err, over) {
			// The socket's deadline was ctx's: say so, as the autopipelined path does.
			err = fmt.Errorf("%w: %w", over, err)
		}
		return err
	}
	return r.base.Process(ctx, cmd)
}

// take takes a connection from the pool to keep: through a copy of the client (which
// shares its pool and options, but not its hooks: go-redis v9.23's WithTimeout copy
// starts with none) that makes no retries of its own (runLone). The copy and the
// redis.Conn are a few dozen allocations, once a loneKeep at most.
func (l *loneConn) take(now time.Time) {
	opts := l.client.Options()
	c := l.client.WithTimeout(opts.ReadTimeout)
	// The copy's options are its own (WithTimeout copies them), read by its commands
	// only, none of which has run.
	copts := c.Options()
	copts.WriteTimeout = opts.WriteTimeout
	copts.MaxRetries = 0
	l.conn, l.taken = c.Conn(), now
}

// drop gives the kept connection back to the pool, which discards it if a command
// failed on it.
func (l *loneConn) drop() {
	_ = l.conn.Close()
	l.conn = nil
}

// ctxErr is ctx's error, or context.DeadlineExceeded once ctx's deadline has passed: a
// command whose socket deadline was ctx's can fail before ctx's own timer ends it.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// direct makes every single-key command take the client itself: a tracking L1's client
// caches only what goes through it, and not what goes through a connection kept.
func (r *RedisTier) direct() {
	r.client = nil
	if r.lone != nil && r.lone.conn != nil {
		r.lone.drop()
	}
	r.lone = nil
}

// compressThreshold maps a configured CompressAbove to EncodeEntry's argument.
func compressThreshold(n int) int {
	switch {
	case n == 0:
		return defaultCompressAbove
	case n < 0:
		return 0
	}
	return n
}

// Name returns "l2".
func (r *RedisTier) Name() string { return "l2" }

// Stats returns a snapshot of the tier's counters.
func (r *RedisTier) Stats() TierStats { return r.stats.snapshot() }

func (r *RedisTier) key(k string) string { return r.prefix + k }

// decode turns a stored value into an entry: a value that is not an envelope, or whose
// retention has ended, is a miss. It counts the outcome.
//
// b is a reply go-redis read into a buffer of its own for this one command (and no one
// else's), so the entry's value keeps pointing into it rather than being copied; except
// on a tracking L1's client, whose cache holds the reply and hands it to later reads.
func (r *RedisTier) decode(b []byte, now time.Time) (Entry, bool) {
	e, err := decodeEntry(b, !r.tracked.Load())
	return r.stats.admit(e, err, now)
}

// Get returns the entry stored for key.
//
// The allocations of an L2 hit, 6 for a lone caller on the connection it keeps (9 for
// one whose commands come a second or more apart, which takes a connection from the
// pool each time; TestL2HitAllocs checks at most 10), are all here but the guard's
// time-out context (boundedCtx, 1):
//   - r.key: the prefixed key, 1. go-redis takes the key as a string, and keeping every
//     key's prefixed form would cost more memory than the allocation.
//   - the GET command: the command, its argument slice and the key boxed into it, 3.
//     Unavoidable through go-redis's public API (its Get builds the same), and a command
//     cannot be reused while another caller may read it, nor one left to its batch
//     after a time-out (run) while the batch may still write it.
//   - go-redis's reply buffer, 1, which the entry's value keeps pointing into (decode).
//
// A plain go-redis GET makes 7: the command's 3, the reply's, and the 3 of go-redis's
// health check of a connection taken from its pool (pool.connCheck: SyscallConn's raw
// conn, the read callback and the error it captures; v9.23 peeks at the socket each
// time a connection leaves the pool, with no option to skip it). A lone caller skips
// that check on the connection it keeps (runLone); concurrent callers go through the
// autopipeliner (Pipeline auto), whose batches take one connection for many commands,
// so its check and its own batch allocations are shared: about 7 per hit in all with
// 50 callers.
func (r *RedisTier) Get(ctx context.Context, key string) (Entry, bool, error) {
	cmd := redis.NewStringCmd(ctx, "get", r.key(key))
	err := r.run(ctx, cmd)
	var b []byte
	if err == nil {
		b, _ = cmd.Bytes()
	}
	if r.tracked.Load() {
		if m, _ := ctx.Value(trackMarkKey{}).(*trackMark); m != nil && m.local.Load() {
			// The tracking L1 answered from the client's own cache: the tier's counters
			// are the calls Redis served, so this read is not one of them.
			if err != nil {
				return Entry{}, false, nil
			}
			e, derr := DecodeEntry(b)
			if derr != nil || e.Dead(r.now()) {
				return Entry{}, false, nil
			}
			return e, true, nil
		}
	}
	r.stats.gets.Add(1)
	if errors.Is(err, redis.Nil) {
		r.stats.misses.Add(1)
		return Entry{}, false, nil
	}
	if err != nil {
		r.stats.errors.Add(1)
		return Entry{}, false, fmt.Errorf("redis tier: GET %s: %w", key, err)
	}
	e, ok := r.decode(b, r.now())
	return e, ok, nil
}

// GetMulti returns the entries for keys, in order: one MGET on a standalone server, a
// pipeline of GETs (one round trip per node) otherwise.
func (r *RedisTier) GetMulti(ctx context.Context, keys []string) ([]Entry, []bool, error) {
	entries := make([]Entry, len(keys))
	found := make([]bool, len(keys))
	if len(keys) == 0 {
		return entries, found, nil
	}
	r.stats.gets.Add(uint64(len(keys)))
	now := r.now()
	if r.useMGET {
		args := make([]any, 1+len(keys))
		args[0] = "mget"
		for i, k := range keys {
			args[1+i] = r.key(k)
		}
		cmd := redis.NewSliceCmd(ctx, args...)
		err := r.run(ctx, cmd)
		var vals []any
		if err == nil {
			vals = cmd.Val()
		}
		if err == nil && len(vals) != len(keys) {
			err = fmt.Errorf("MGET returned %d values for %d keys", len(vals), len(keys))
		}
		if err != nil {
			r.stats.errors.Add(uint64(len(keys)))
			return entries, found, fmt.Errorf("redis tier: MGET of %d keys: %w", len(keys), err)
		}
		for i, v := range vals {
			s, ok := v.(string)
			if !ok { // nil: no such key
				r.stats.misses.Add(1)
				continue
			}
			entries[i], found[i] = r.decode([]byte(s), now)
		}
		return entries, found, nil
	}

	pipe := r.base.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.Get(ctx, r.key(k))
	}
	_, _ = pipe.Exec(ctx) // errors are examined per command
	var errs []error
	for i, cmd := range cmds {
		b, err := cmd.Bytes()
		switch {
		case errors.Is(err, redis.Nil):
			r.stats.misses.Add(1)
		case err != nil:
			r.stats.errors.Add(1)
			if len(errs) < 3 {
				errs = append(errs, fmt.Errorf("GET %s: %w", keys[i], err))
			}
		default:
			entries[i], found[i] = r.decode(b, now)
		}
	}
	if len(errs) > 0 {
		return entries, found, fmt.Errorf("redis tier: pipelined GET of %d keys: %w", len(keys), errors.Join(errs...))
	}
	return entries, found, nil
}

// expiryArgs returns the envelope of e and its PX argument in milliseconds (0 = no
// expiry), or ok=false for an entry already dead.
func (r *RedisTier) expiryArgs(e Entry, now time.Time) (env []byte, px int64, ok bool) {
	ret := e.retention(now)
	if ret < 0 {
		return nil, 0, false
	}
	if ret > 0 {
		px = ret.Milliseconds()
		if px < 1 { // less than a millisecond left: as good as dead
			return nil, 0, false
		}
	}
	return EncodeEntry(e, r.compressAbove), px, true
}

// SetIfNewer stores e under key unless Redis holds an entry with a higher version, with
// an expiry at the end of e's retention. An entry already dead is not written.
func (r *RedisTier) SetIfNewer(ctx context.Context, key string, e Entry) (bool, error) {
	env, px, ok := r.expiryArgs(e, r.now())
	if !ok {
		return false, nil
	}
	k := r.key(key)
	cmd := redis.NewCmd(ctx, "evalsha", r.setIfNewer.Hash(), 1, k, env, px)
	cmd.SetFirstKeyPos(3)
	err := r.run(ctx, cmd)
	if redisNoScript(err) {
		// Not in the server's script cache (after a restart, a failover or SCRIPT
		// FLUSH): send the source, which caches it, as Script.Run does.
		cmd = redis.NewCmd(ctx, "eval", redisSetIfNewerSrc, 1, k, env, px)
		cmd.SetFirstKeyPos(3)
		err = r.run(ctx, cmd)
	}
	var n int64
	if err == nil {
		n, err = cmd.Int64()
	}
	if err != nil {
		r.stats.errors.Add(1)
		return false, fmt.Errorf("redis tier: set %s: %w", key, err)
	}
	return r.countSet(n == 1), nil
}

func (r *RedisTier) countSet(stored bool) bool {
	if stored {
		r.stats.sets.Add(1)
	} else {
		r.stats.setsRejected.Add(1)
	}
	return stored
}

// SetMulti stores entries (each guarded like SetIfNewer) in one pipeline of script runs,
// split by node in cluster mode. Scripts missing from a server's script cache (after a
// restart, a failover or SCRIPT FLUSH) are loaded on every master and the affected
// entries run again.
func (r *RedisTier) SetMulti(ctx context.Context, keys []string, entries []Entry) error {
	if len(keys) != len(entries) {
		return fmt.Errorf("redis tier: SetMulti with %d keys and %d entries", len(keys), len(entries))
	}
	now := r.now()
	type write struct {
		i   int
		env []byte
		px  int64
	}
	writes := make([]write, 0, len(keys))
	for i, e := range entries {
		if env, px, ok := r.expiryArgs(e, now); ok {
			writes = append(writes, write{i, env, px})
		}
	}
	if len(writes) == 0 {
		return nil
	}
	run := func(ws []write, eval bool) []*redis.Cmd {
		pipe := r.base.Pipeline()
		cmds := make([]*redis.Cmd, len(ws))
		for j, w := range ws {
			k := []string{r.key(keys[w.i])}
			if eval {
				cmds[j] = r.setIfNewer.Eval(ctx, pipe, k, w.env, w.px)
			} else {
				cmds[j] = r.setIfNewer.EvalSha(ctx, pipe, k, w.env, w.px)
			}
		}
		_, _ = pipe.Exec(ctx) // errors are examined per command
		return cmds
	}

	pending, eval := writes, false
	var errs []error
	for attempt := 0; attempt < 2 && len(pending) > 0; attempt++ {
		cmds := run(pending, eval)
		var retry []write
		for j, cmd := range cmds {
			n, err := cmd.Int64()
			switch {
			case err == nil:
				r.countSet(n == 1)
			case attempt == 0 && redisNoScript(err):
				retry = append(retry, pending[j])
			default:
				r.stats.errors.Add(1)
				if len(errs) < 3 {
					errs = append(errs, fmt.Errorf("set %s: %w", keys[pending[j].i], err))
				}
			}
		}
		if len(retry) > 0 {
			// SCRIPT LOAD goes to every master of a cluster client. Should it fail, the
			// second attempt sends the script's source (EVAL), which also caches it.
			if err := r.setIfNewer.Load(ctx, r.base).Err(); err != nil {
				eval = true
			}
		}
		pending = retry
	}
	if len(errs) > 0 {
		return fmt.Errorf("redis tier: SetMulti of %d entries: %w", len(writes), errors.Join(errs...))
	}
	return nil
}

func redisNoScript(err error) bool {
	return err != nil && (errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT"))
}

// Delete removes key whatever its version.
func (r *RedisTier) Delete(ctx context.Context, key string) error {
	if err := r.run(ctx, redis.NewIntCmd(ctx, "del", r.key(key))); err != nil {
		r.stats.errors.Add(1)
		return fmt.Errorf("redis tier: DEL %s: %w", key, err)
	}
	r.stats.deletes.Add(1)
	return nil
}

// RedisInfo is a summary of Redis's INFO, summed over every master in cluster mode.
type RedisInfo struct {
	// UsedMemory and MaxMemory are bytes (MaxMemory 0 = no limit); MaxMemoryPolicy is the
	// eviction policy ("allkeys-lru", "noeviction", ...), the first master's in a cluster.
	UsedMemory, MaxMemory int64
	MaxMemoryPolicy       string
	// EvictedKeys, ExpiredKeys, KeyspaceHits and KeyspaceMisses are the servers' totals
	// since they started (or CONFIG RESETSTAT), for all keys, not just the tier's.
	EvictedKeys, ExpiredKeys, KeyspaceHits, KeyspaceMisses int64
	// Keys is the number of keys in every database, the tier's and any others.
	Keys int64
	// UsedMemoryPeak is the most memory the servers used since they started (bytes);
	// TotalCommands the commands they processed (total_commands_processed), every
	// client's.
	UsedMemoryPeak, TotalCommands int64
	// Reported holds the INFO fields every server answered ("keyspace_hits",
	// "used_memory_peak", "total_commands_processed", ...): a field not in it was not
	// reported, and its value is zero without meaning (miniredis reports few).
	Reported map[string]bool
}

// Info reads INFO from the server, or from every master of a *redis.ClusterClient, and
// sums it. Servers that omit sections (miniredis has no memory or keyspace section) leave
// those fields zero.
func (r *RedisTier) Info(ctx context.Context) (RedisInfo, error) {
	// Plain INFO (the default sections) holds memory, stats and keyspace; asking for the
	// three sections by name needs Redis 7 and is refused by some stand-ins.
	if cc, ok := r.base.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		var sum RedisInfo
		var reported map[string]bool
		first := true
		err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			s, err := n.Info(ctx).Result()
			if err != nil {
				return fmt.Errorf("INFO from %s: %w", n.Options().Addr, err)
			}
			in := parseRedisInfo(s)
			mu.Lock()
			defer mu.Unlock()
			sum.UsedMemory += in.UsedMemory
			sum.MaxMemory += in.MaxMemory
			if first || sum.MaxMemoryPolicy == "" {
				sum.MaxMemoryPolicy = in.MaxMemoryPolicy
			}
			// A field is reported when every master reported it.
			if first {
				reported = in.Reported
			} else {
				for k := range reported {
					if !in.Reported[k] {
						delete(reported, k)
					}
				}
			}
			first = false
			sum.UsedMemoryPeak += in.UsedMemoryPeak
			sum.TotalCommands += in.TotalCommands
			sum.EvictedKeys += in.EvictedKeys
			sum.ExpiredKeys += in.ExpiredKeys
			sum.KeyspaceHits += in.KeyspaceHits
			sum.KeyspaceMisses += in.KeyspaceMisses
			sum.Keys += in.Keys
			return nil
		})
		if err != nil {
			return RedisInfo{}, fmt.Errorf("redis tier: %w", err)
		}
		sum.Reported = reported
		return sum, nil
	}
	s, err := r.base.Info(ctx).Result()
	if err != nil {
		return RedisInfo{}, fmt.Errorf("redis tier: INFO: %w", err)
	}
	return parseRedisInfo(s), nil
}

// parseRedisInfo reads the fields RedisInfo holds from INFO's "name:value" lines.
func parseRedisInfo(s string) RedisInfo {
	in := RedisInfo{Reported: map[string]bool{}}
	num := func(v string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n
	}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		switch name {
		case "used_memory", "maxmemory", "maxmemory_policy", "evicted_keys", "expired_keys", "keyspace_hits",
			"keyspace_misses", "used_memory_peak", "total_commands_processed":
			in.Reported[name] = true
		}
		switch {
		case name == "used_memory":
			in.UsedMemory = num(value)
		case name == "maxmemory":
			in.MaxMemory = num(value)
		case name == "maxmemory_policy":
			in.MaxMemoryPolicy = value
		case name == "evicted_keys":
			in.EvictedKeys = num(value)
		case name == "expired_keys":
			in.ExpiredKeys = num(value)
		case name == "keyspace_hits":
			in.KeyspaceHits = num(value)
		case name == "keyspace_misses":
			in.KeyspaceMisses = num(value)
		case name == "used_memory_peak":
			in.UsedMemoryPeak = num(value)
		case name == "total_commands_processed":
			in.TotalCommands = num(value)
		case strings.HasPrefix(name, "db") && strings.Contains(value, "keys="):
			// db0:keys=12,expires=3,avg_ttl=0
			for _, kv := range strings.Split(value, ",") {
				if k, v, ok := strings.Cut(kv, "="); ok && k == "keys" {
					in.Keys += num(v)
				}
			}
		}
	}
	return in
}
