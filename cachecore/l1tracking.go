package cachecore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// heldLimit bounds the invalidations a frozen tracking L1 holds. Past it the held keys are
// dropped and the whole cache is flushed at the thaw, as go-redis flushes it when a
// connection that carried invalidations is lost.
const heldLimit = 1 << 16

// NewTrackingL1 returns an L1 with the tracking policy and the Redis client that feeds it.
//
// The tracking policy is go-redis's client-side caching (RESP3 CLIENT TRACKING, go-redis
// v9.22 and later): the client keeps the replies of the reads it made in a local cache,
// and Redis tells it, with an invalidation push, when one of those keys changes or
// expires. Nothing of cachecore's own invalidation applies: Redis does it. So the client
// must be the L2 tier's: pass it as RedisConfig.Client (New checks), and as Config.Redis
// when the lease or pub/sub are used. An L2 read the client answers from its local cache
// is the L1 hit; one it sends to Redis is an L1 miss and an L2 lookup, in one round trip.
// L1 is filled by the reads, never by SetIfNewer: after an origin fetch, the next read
// goes to Redis once and is cached from then on.
//
// cfg.MaxEntries and cfg.MaxBytes bound go-redis's cache (its own LRU, sharded 16 ways
// above 64 entries); cfg.TTL is its MaxStaleness, the longest a value is served with no
// invalidation. opts is copied; Protocol becomes 3 and client-side caching is turned on.
// The caller closes the client.
//
// A Lambda environment is frozen between invocations: Freeze and Thaw model it. While
// frozen, the invalidations Redis sends wait, as they would in the socket of a process
// that is not scheduled, and Thaw applies them; the reads of the invocation that follows
// race with them, as they do in a thawed function. L1Stats counts them and how long they
// waited.
func NewTrackingL1(cfg L1Config, opts *redis.Options) (*L1, *redis.Client, error) {
	if cfg.Policy != l1PolicyTracking {
		return nil, nil, fmt.Errorf("NewTrackingL1: L1Config.Policy is %q: use %q", cfg.Policy, l1PolicyTracking)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if opts == nil {
		return nil, nil, errors.New("NewTrackingL1: redis options are required")
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = l1DefaultMaxEntries
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = l1DefaultMaxBytes
	}
	t := &l1Tracking{local: redis.NewLocalCache(redis.CacheConfig{
		MaxEntries:     cfg.MaxEntries,
		MaxMemoryBytes: cfg.MaxBytes,
		MaxStaleness:   cfg.TTL,
	})}
	o := *opts
	o.Protocol = 3
	o.ClientSideCache = t
	o.ClientSideCacheConfig = nil
	t.client = redis.NewClient(&o)
	return &L1{policy: l1PolicyTracking, ttl: cfg.TTL, maxBytes: cfg.MaxBytes, trk: t}, t.client, nil
}

// Freeze holds the invalidations that arrive from now on until Thaw. It does nothing to
// the other policies, whose entries only change by the process's own calls.
func (l *L1) Freeze() {
	if l.trk != nil {
		l.trk.mu.Lock()
		l.trk.frozen = true
		l.trk.mu.Unlock()
	}
}

// Thaw ends a Freeze: the invalidations held are applied by a goroutine of their own, as
// go-redis's background drainer applies them once the process runs again, so the reads
// that follow at once may still be served the old values.
func (l *L1) Thaw() {
	if l.trk == nil {
		return
	}
	t := l.trk
	t.mu.Lock()
	t.frozen = false
	held, overflow := t.held, t.overflow
	t.held, t.overflow = nil, false
	t.mu.Unlock()
	if len(held) == 0 && !overflow {
		return
	}
	t.applying.Add(1)
	go func() {
		defer t.applying.Done()
		now := time.Now()
		for _, h := range held {
			t.observeHeld(now.Sub(h.at))
			t.local.DeleteByRedisKey(h.key)
		}
		if overflow {
			t.local.Flush()
		}
	}()
}

// trackingClient returns the client of a tracking L1, or nil.
func (l *L1) trackingClient() *redis.Client {
	if l == nil || l.trk == nil {
		return nil
	}
	return l.trk.client
}

// l1Tracking is the tracking policy: go-redis's LocalCache behind a redis.Cache of its own
// that tells which reads it answered and holds invalidations while frozen.
type l1Tracking struct {
	client *redis.Client
	local  *redis.LocalCache

	mu       sync.Mutex
	frozen   bool
	held     []heldInvalidation
	overflow bool
	applying sync.WaitGroup

	invalidations atomic.Uint64
	heldCount     atomic.Uint64
	heldNanos     atomic.Int64
	heldMaxNanos  atomic.Int64
}

type heldInvalidation struct {
	key string
	at  time.Time
}

var _ redis.Cache = (*l1Tracking)(nil)

// trackMark is set by a read through the tracking client: local when the local cache
// answered it without a round trip.
type trackMark struct{ local, missed atomic.Bool }

type trackMarkKey struct{}

// withTrackMark returns ctx carrying m, for the tracking cache to mark.
func withTrackMark(ctx context.Context, m *trackMark) context.Context {
	return context.WithValue(ctx, trackMarkKey{}, m)
}

// Get serves a read from the local cache. go-redis calls it first for every cacheable
// read, and again after waiting for another caller's fetch of the same key: only a first
// call that hits counts as answered locally.
func (t *l1Tracking) Get(ctx context.Context, cacheKey string) ([]byte, bool) {
	b, ok := t.local.Get(ctx, cacheKey)
	if m, _ := ctx.Value(trackMarkKey{}).(*trackMark); m != nil {
		if !ok {
			m.missed.Store(true)
		} else if !m.missed.Load() {
			m.local.Store(true)
		}
	}
	return b, ok
}

func (t *l1Tracking) Reserve(cacheKey string, redisKeys []string) (uint64, bool) {
	return t.local.Reserve(cacheKey, redisKeys)
}

// FulfillOwned keeps a reply go-redis fetched, except "no such key": the other policies
// hold only what a tier or the origin answered, and a cached absence would hide the
// cache's own fill of that key until Redis's invalidation of it is read.
func (t *l1Tracking) FulfillOwned(cacheKey string, token, ownerConnID uint64, value []byte) bool {
	if isNullReply(value) {
		t.local.Cancel(cacheKey, token)
		return false
	}
	return t.local.FulfillOwned(cacheKey, token, ownerConnID, value)
}

// isNullReply reports whether raw is a RESP null: RESP3's "_", or RESP2's null bulk
// string or array.
func isNullReply(raw []byte) bool {
	s := string(raw)
	return s == "_\r\n" || s == "$-1\r\n" || s == "*-1\r\n"
}

func (t *l1Tracking) Cancel(cacheKey string, token uint64) bool {
	return t.local.Cancel(cacheKey, token)
}

// DeleteByRedisKey applies an invalidation from Redis, or holds it while frozen.
func (t *l1Tracking) DeleteByRedisKey(redisKey string) int {
	t.invalidations.Add(1)
	t.mu.Lock()
	if t.frozen {
		if len(t.held) < heldLimit {
			t.held = append(t.held, heldInvalidation{key: redisKey, at: time.Now()})
		} else {
			t.overflow = true
		}
		t.mu.Unlock()
		return 0
	}
	t.mu.Unlock()
	return t.local.DeleteByRedisKey(redisKey)
}

func (t *l1Tracking) DeleteByCacheKey(cacheKey string) bool {
	return t.local.DeleteByCacheKey(cacheKey)
}

func (t *l1Tracking) EvictByConn(connID uint64) int { return t.local.EvictByConn(connID) }

func (t *l1Tracking) Flush() int { return t.local.Flush() }

func (t *l1Tracking) observeHeld(d time.Duration) {
	t.heldCount.Add(1)
	t.heldNanos.Add(int64(d))
	for {
		m := t.heldMaxNanos.Load()
		if int64(d) <= m || t.heldMaxNanos.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

func (t *l1Tracking) stats() L1Stats {
	st := t.local.Stats()
	return L1Stats{
		Entries:           st.Entries,
		Bytes:             st.MemoryUsageBytes,
		Invalidations:     t.invalidations.Load(),
		InvalidationsHeld: t.heldCount.Load(),
		HeldTotal:         time.Duration(t.heldNanos.Load()),
		HeldMax:           time.Duration(t.heldMaxNanos.Load()),
	}
}
