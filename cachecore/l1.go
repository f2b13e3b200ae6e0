package cachecore

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/maypok86/otter/v2"
)

// entryOverhead is the weight L1 adds to every entry besides its key and value: the Entry
// struct (about 110 bytes with its three times), the hash table slot and the policy's node.
// An entry weighs len(key) + len(Value) + entryOverhead bytes, for MaxBytes and L1Stats.Bytes.
const entryOverhead = 100

// L1 policies.
const (
	l1PolicyLRU      = "lru"
	l1PolicyTinyLFU  = "tinylfu"
	l1PolicyMap      = "map"
	l1PolicyTracking = "tracking"
)

// L1 defaults.
const (
	l1DefaultMaxEntries = 10000
	l1DefaultMaxBytes   = 64 << 20
)

// l1Forever is the otter lifetime of an entry with no end: deadlines saturate at the time
// that is never reached.
const l1Forever = time.Duration(math.MaxInt64)

// L1Config configures the in-process tier. Zero values mean the documented defaults.
type L1Config struct {
	// Policy is the eviction policy: "lru" (least recently used, hashicorp/golang-lru),
	// "tinylfu" (W-TinyLFU, maypok86/otter), "map" (a plain Go map with no bound and no
	// eviction, the baseline), or "tracking" (go-redis's client-side cache, which Redis
	// invalidates; built by NewTrackingL1, not NewL1). "" means "tinylfu".
	Policy string
	// MaxEntries bounds the number of entries. 0 means 10000. The map policy ignores it.
	MaxEntries int
	// MaxBytes bounds the entries' total weight, len(key)+len(Value)+entryOverhead (100)
	// each. 0 means 64 MiB. An entry heavier than the bound is never stored. The map
	// policy ignores it.
	MaxBytes int64
	// TTL caps how long an entry is fresh in L1, from the write: its ExpiresAt is clamped
	// to now+TTL (a zero ExpiresAt becomes now+TTL), and its stale window, if any, follows.
	// 0 means only the entry's own ExpiresAt/StaleUntil. With tracking it is go-redis's
	// MaxStaleness: how long a value is served without an invalidation.
	TTL time.Duration
	// Now is the clock of the tinylfu policy's own expiry; nil means the real clock. Set it
	// to the same clock as Config.Now when that is not time.Now (a simulated clock), so
	// entries leave otter when the simulated time, not the wall clock, passes their life.
	// A set clock gives otter no periodic clean-up ticks: dead entries then leave when they
	// are read, replaced or evicted (Get never returns them either way).
	Now func() time.Time
}

// Validate reports every problem of c at once (joined with errors.Join), each naming the
// field and the fix; nil means c is usable (zero fields take their defaults).
func (c L1Config) Validate() error {
	var errs []error
	switch c.Policy {
	case "", l1PolicyLRU, l1PolicyTinyLFU, l1PolicyMap, l1PolicyTracking:
	default:
		errs = append(errs, fmt.Errorf("L1Config.Policy %q is unknown: use %q, %q, %q, %q, or \"\" for %q",
			c.Policy, l1PolicyLRU, l1PolicyTinyLFU, l1PolicyMap, l1PolicyTracking, l1PolicyTinyLFU))
	}
	if c.MaxEntries < 0 {
		errs = append(errs, fmt.Errorf("L1Config.MaxEntries is %d: use a positive count, or 0 for the default %d",
			c.MaxEntries, l1DefaultMaxEntries))
	}
	switch {
	case c.MaxBytes < 0:
		errs = append(errs, fmt.Errorf("L1Config.MaxBytes is %d: use a positive size, or 0 for the default %d (64 MiB)",
			c.MaxBytes, l1DefaultMaxBytes))
	case c.MaxBytes > 0 && c.MaxBytes <= entryOverhead:
		errs = append(errs, fmt.Errorf("L1Config.MaxBytes is %d, which no entry fits in (each weighs %d bytes plus its key and value): use a larger size, or 0 for the default %d (64 MiB)",
			c.MaxBytes, entryOverhead, l1DefaultMaxBytes))
	}
	if c.TTL < 0 {
		errs = append(errs, fmt.Errorf("L1Config.TTL is %v: use a positive duration, or 0 to keep entries for their own lifetime", c.TTL))
	}
	return errors.Join(errs...)
}

// L1Stats is L1's own account of what it holds and what it dropped.
type L1Stats struct {
	// Entries is the number of entries held, including expired ones not yet dropped.
	Entries int
	// Bytes is the total weight of the entries held: len(key)+len(Value)+entryOverhead each.
	Bytes int64
	// Evictions counts entries dropped to keep within MaxEntries and MaxBytes.
	Evictions uint64
	// Expirations counts entries dropped because their retention (ExpiresAt, or StaleUntil
	// when later, capped by TTL) ended. The tracking policy reports neither Evictions nor
	// Expirations: go-redis does not count them.
	Expirations uint64

	// Invalidations counts the keys Redis invalidated in a tracking L1 (0 for the other
	// policies). InvalidationsHeld of them arrived while the L1 was frozen and waited for
	// the thaw, HeldTotal in all and HeldMax the longest.
	Invalidations, InvalidationsHeld uint64
	HeldTotal, HeldMax               time.Duration
}

// L1 is the in-process tier: a bounded, concurrency-safe map from key to Entry, guarded by
// version, that forgets entries once their retention ends. A hit allocates nothing.
//
// The map policy has no bound (see l1Map), and the tracking policy is go-redis's own
// cache (see NewTrackingL1). The other two hold L1 to both bounds, MaxEntries and MaxBytes:
//
//   - "lru" keeps a golang-lru list under a mutex and, after each write, drops the least
//     recently used entries until both bounds hold.
//   - "tinylfu" is an otter (W-TinyLFU) cache bounded by weight alone: otter bounds by count
//     or by weight, not both. With f = MaxBytes/MaxEntries (integer division, at least 1), an
//     entry weighs max(its bytes, f) against a maximum weight of MaxEntries*f (at most
//     MaxBytes, and less by under MaxEntries bytes). n entries weigh at least n*f, so at most
//     MaxEntries fit; their bytes never exceed their weights, so they hold at most MaxBytes.
//     The price: an entry smaller than f is charged f, so a cache of small and large entries
//     is full before it reaches either bound. otter evicts asynchronously, shortly after the
//     write that overflows it. L1Stats.Bytes is the true byte total, not the weight.
//
// Expiry: an entry's retention ends at its ExpiresAt, or its StaleUntil when later (both
// capped by TTL). Get reports an entry past it at the caller's now as absent, and drops it;
// so does SetIfNewer for the entry it would replace. Besides, the tinylfu policy gives each
// entry an otter expiry of the retention it had left at the write, so dead entries leave by
// themselves; the lru policy counts an entry it evicts past its retention as an expiration.
//
// The Value slices of stored entries are shared, not copied: neither the writer nor a
// reader may modify them.
type L1 struct {
	policy   string
	ttl      time.Duration
	maxBytes int64 // an entry weighing more is not stored
	tiny     *l1Tiny
	// store is the lru or map policy when tiny is nil.
	store l1Store
	// trk is the tracking policy; then tiny and store are nil (see NewTrackingL1).
	trk *l1Tracking
}

// l1Store is a policy held under its own lock: lru or map. tinylfu's reads are written
// out in L1.Get, one frame fewer on the hit path.
type l1Store interface {
	get(key string, now time.Time) (Entry, bool)
	setIfNewer(key string, e Entry, storable bool, now time.Time) bool
	delete(key string)
	stats() L1Stats
}

// NewL1 returns an empty L1 configured by cfg, with the defaults applied to its zero fields.
func NewL1(cfg L1Config) (*L1, error) {
	if cfg.Now != nil {
		return newL1(cfg, funcClock{now: cfg.Now})
	}
	return newL1(cfg, nil)
}

// funcClock is an otter.Clock reading a func() time.Time, without ticks.
type funcClock struct{ now func() time.Time }

// NowNano returns the clock's time in nanoseconds since the Unix epoch.
func (c funcClock) NowNano() int64 { return c.now().UnixNano() }

// Tick returns nil: no periodic clean-ups on a simulated clock (see L1Config.Now).
func (funcClock) Tick(time.Duration) <-chan time.Time { return nil }

// newL1 is NewL1 with the clock of otter's expiry (nil = the real clock), for tests.
func newL1(cfg L1Config, clock otter.Clock) (*L1, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Policy == "" {
		cfg.Policy = l1PolicyTinyLFU
	}
	if cfg.Policy == l1PolicyTracking {
		return nil, errors.New("L1 tracking: it is go-redis's client-side cache and needs Redis: build it with NewTrackingL1")
	}
	if cfg.MaxEntries == 0 {
		cfg.MaxEntries = l1DefaultMaxEntries
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = l1DefaultMaxBytes
	}
	l := &L1{policy: cfg.Policy, ttl: cfg.TTL, maxBytes: cfg.MaxBytes}
	var err error
	switch cfg.Policy {
	case l1PolicyLRU:
		l.store, err = newL1LRU(cfg.MaxEntries, cfg.MaxBytes)
	case l1PolicyMap:
		l.store, l.maxBytes = newL1Map(), math.MaxInt64
	default:
		l.tiny, l.maxBytes, err = newL1Tiny(cfg.MaxEntries, cfg.MaxBytes, clock)
	}
	if err != nil {
		return nil, fmt.Errorf("L1 %s: %w", cfg.Policy, err)
	}
	return l, nil
}

// Policy returns the policy in use: "lru", "tinylfu", "map" or "tracking".
func (l *L1) Policy() string { return l.policy }

// Get returns the entry held for key if it is present and its retention (ExpiresAt, or
// StaleUntil when later) has not ended at now. An entry past it is reported absent and
// dropped. A hit allocates nothing.
func (l *L1) Get(key string, now time.Time) (Entry, bool) {
	if l.tiny == nil {
		if l.trk != nil {
			return Entry{}, false
		}
		return l.store.get(key, now)
	}
	// The tinylfu read is written out here: one frame, and one copy of the entry, fewer.
	it, ok := l.tiny.c.GetIfPresent(key)
	if ok && !it.entry.Dead(now) {
		return it.entry, true
	}
	if ok {
		l.tiny.dropDead(key, now)
	}
	return Entry{}, false
}

// SetIfNewer stores e under key unless L1 holds a live entry for key with a higher Version
// (an equal one is replaced), and reports whether it stored e. With a TTL, e.ExpiresAt is
// first clamped to now+TTL (a zero ExpiresAt becomes now+TTL) and e.StaleUntil moves with
// it, keeping the length of its stale-while-revalidate window. An entry
// whose retention has already ended, or that weighs more than MaxBytes, is not stored; then
// an entry of a lower or equal version held for key is dropped, so that an older state is
// not served after a newer one was offered. The check and the write are atomic per key.
func (l *L1) SetIfNewer(key string, e Entry, now time.Time) bool {
	if l.ttl > 0 {
		limit := now.Add(l.ttl)
		// The stale-while-revalidate window keeps its length after the fresh life moves.
		var window time.Duration
		if !e.ExpiresAt.IsZero() && e.StaleUntil.After(e.ExpiresAt) {
			window = e.StaleUntil.Sub(e.ExpiresAt)
		}
		if e.ExpiresAt.IsZero() || e.ExpiresAt.After(limit) {
			e.ExpiresAt = limit
		}
		e.StaleUntil = time.Time{}
		if window > 0 {
			e.StaleUntil = e.ExpiresAt.Add(window)
		}
	}
	life := e.retention(now)
	storable := life >= 0 && l1Bytes(key, &e) <= l.maxBytes
	if life == 0 {
		life = l1Forever
	}
	if l.tiny != nil {
		return l.tiny.setIfNewer(key, e, life, storable, now)
	}
	if l.trk != nil {
		// go-redis fills its cache from the reads it serves, and Redis invalidates it.
		return false
	}
	return l.store.setIfNewer(key, e, storable, now)
}

// TTL returns the cap on an entry's fresh life in L1 (0 = none).
func (l *L1) TTL() time.Duration { return l.ttl }

// Delete removes key's entry, whatever its version.
func (l *L1) Delete(key string) {
	if l.tiny != nil {
		l.tiny.c.Invalidate(key)
		return
	}
	if l.trk != nil {
		return
	}
	l.store.delete(key)
}

// Stats returns L1's account of what it holds and what it dropped. With "tinylfu", entries
// that an overflowing write is about to evict are counted until otter's maintenance, which
// follows the write shortly, evicts them.
func (l *L1) Stats() L1Stats {
	if l.tiny != nil {
		return l.tiny.stats()
	}
	if l.trk != nil {
		return l.trk.stats()
	}
	return l.store.stats()
}

// cleanUp runs otter's pending maintenance (evictions and expirations), for tests.
func (l *L1) cleanUp() {
	if l.tiny != nil {
		l.tiny.c.CleanUp()
	}
}

// l1Bytes is the weight of e under key.
func l1Bytes(key string, e *Entry) int64 {
	return int64(len(key)) + int64(len(e.Value)) + entryOverhead
}

// l1Verdict is what a write does to the entry held for its key, in the lru and map
// policies: keep it (the write is refused: it is older), drop it (dead, counted as an
// expiration; or the write cannot be stored), or replace it.
type l1Verdict uint8

const (
	l1Keep l1Verdict = iota
	l1DropDead
	l1Drop
	l1Replace
)

// l1Judge is the verdict on old, held for the key e is written to.
func l1Judge(old, e *Entry, storable bool, now time.Time) l1Verdict {
	switch {
	case old.Dead(now):
		return l1DropDead
	case old.Version > e.Version:
		return l1Keep
	case !storable:
		return l1Drop
	}
	return l1Replace
}

// l1Item is what the tinylfu policy stores: the entry and its lifetime in otter, the
// retention it had when it was written.
type l1Item struct {
	entry Entry
	life  time.Duration
}

// l1Tiny is the tinylfu policy: an otter cache bounded by weight (see L1).
type l1Tiny struct {
	c *otter.Cache[string, l1Item]

	// Entries and bytes are added by the write, under otter's bucket lock before the entry
	// is visible, and taken away by OnAtomicDeletion for every removal, replacements
	// included, so they never count an entry twice.
	entries     atomic.Int64
	bytes       atomic.Int64
	evictions   atomic.Uint64
	expirations atomic.Uint64
}

// newL1Tiny returns the tinylfu policy for the bounds, and the weight above which an entry
// cannot be stored.
func newL1Tiny(maxEntries int, maxBytes int64, clock otter.Clock) (*l1Tiny, int64, error) {
	floor := max(1, min(maxBytes/int64(maxEntries), math.MaxUint32))
	maxWeight := min(maxBytes, int64(maxEntries)*floor)
	t := &l1Tiny{}
	c, err := otter.New(&otter.Options[string, l1Item]{
		MaximumWeight: uint64(maxWeight),
		Weigher: func(key string, it l1Item) uint32 {
			return uint32(min(max(l1Bytes(key, &it.entry), floor), math.MaxUint32))
		},
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, l1Item]) time.Duration {
			return e.Value.life
		}),
		OnAtomicDeletion: t.onDeletion,
		Clock:            clock,
	})
	if err != nil {
		return nil, 0, err
	}
	t.c = c
	return t, maxWeight, nil
}

// onDeletion accounts for an entry that left the cache, replaced or removed.
func (t *l1Tiny) onDeletion(ev otter.DeletionEvent[string, l1Item]) {
	t.entries.Add(-1)
	t.bytes.Add(-l1Bytes(ev.Key, &ev.Value.entry))
	switch ev.Cause {
	case otter.CauseOverflow:
		t.evictions.Add(1)
	case otter.CauseExpiration:
		t.expirations.Add(1)
	}
}

// dropDead removes key's entry if it is dead at now. otter's clock may not have reached the
// entry's end yet (it counts from the write, the caller's now may run ahead), so the removal
// is an invalidation to otter and is counted as an expiration here.
func (t *l1Tiny) dropDead(key string, now time.Time) {
	t.c.ComputeIfPresent(key, func(old l1Item) (l1Item, otter.ComputeOp) {
		if old.entry.Dead(now) {
			t.expirations.Add(1)
			return old, otter.InvalidateOp
		}
		return old, otter.CancelOp
	})
}

func (t *l1Tiny) setIfNewer(key string, e Entry, life time.Duration, storable bool, now time.Time) bool {
	stored := false
	t.c.Compute(key, func(old l1Item, found bool) (l1Item, otter.ComputeOp) {
		if found && old.entry.Dead(now) {
			// Gone at now; it leaves, replaced or removed, as an expiration.
			t.expirations.Add(1)
			found = false
			if !storable {
				return old, otter.InvalidateOp
			}
		}
		if found && old.entry.Version > e.Version {
			return old, otter.CancelOp
		}
		if !storable {
			if found {
				return old, otter.InvalidateOp
			}
			return old, otter.CancelOp
		}
		stored = true
		t.entries.Add(1)
		t.bytes.Add(l1Bytes(key, &e))
		return l1Item{entry: e, life: life}, otter.WriteOp
	})
	return stored
}

func (t *l1Tiny) stats() L1Stats {
	return L1Stats{
		Entries:     int(t.entries.Load()),
		Bytes:       t.bytes.Load(),
		Evictions:   t.evictions.Load(),
		Expirations: t.expirations.Load(),
	}
}

// l1LRU is the lru policy: a golang-lru list under a mutex, with byte accounting.
type l1LRU struct {
	maxEntries int
	maxBytes   int64

	mu          sync.Mutex
	list        *simplelru.LRU[string, Entry]
	bytes       int64
	evictions   uint64
	expirations uint64
}

func newL1LRU(maxEntries int, maxBytes int64) (*l1LRU, error) {
	// One more than the bound, so that the list never evicts by itself: evictions are made
	// here, where their bytes are accounted for.
	list, err := simplelru.NewLRU[string, Entry](max(maxEntries, maxEntries+1), nil)
	if err != nil {
		return nil, err
	}
	return &l1LRU{maxEntries: maxEntries, maxBytes: maxBytes, list: list}, nil
}

func (c *l1LRU) get(key string, now time.Time) (e Entry, ok bool) {
	c.mu.Lock()
	e, ok = c.list.Get(key)
	if ok && e.Dead(now) {
		c.removeLocked(key, &e)
		c.expirations++
		e, ok = Entry{}, false
	}
	c.mu.Unlock()
	return e, ok
}

func (c *l1LRU) setIfNewer(key string, e Entry, storable bool, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, found := c.list.Peek(key); found {
		switch l1Judge(&old, &e, storable, now) {
		case l1Keep:
			return false
		case l1DropDead:
			c.removeLocked(key, &old)
			c.expirations++
		case l1Drop:
			c.removeLocked(key, &old)
		case l1Replace:
			c.bytes -= l1Bytes(key, &old)
		}
	}
	if !storable {
		return false
	}
	c.list.Add(key, e)
	c.bytes += l1Bytes(key, &e)
	for c.list.Len() > c.maxEntries || c.bytes > c.maxBytes {
		k, old, _ := c.list.RemoveOldest()
		c.bytes -= l1Bytes(k, &old)
		if old.Dead(now) {
			c.expirations++
		} else {
			c.evictions++
		}
	}
	return true
}

func (c *l1LRU) delete(key string) {
	c.mu.Lock()
	if e, ok := c.list.Peek(key); ok {
		c.removeLocked(key, &e)
	}
	c.mu.Unlock()
}

// removeLocked removes key, which holds e.
func (c *l1LRU) removeLocked(key string, e *Entry) {
	c.list.Remove(key)
	c.bytes -= l1Bytes(key, e)
}

func (c *l1LRU) stats() L1Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return L1Stats{
		Entries:     c.list.Len(),
		Bytes:       c.bytes,
		Evictions:   c.evictions,
		Expirations: c.expirations,
	}
}
