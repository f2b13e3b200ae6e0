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

// Hot keys and warming.
//
// A Lambda environment starts with an empty L1, so its first reads all go to Redis or
// further. Warm pre-loads L1 before the first request, with one pipelined read (MGET on a
// standalone Redis) of the keys the fleet reads most. Those are kept in Redis, in a
// sorted set every Cache with Config.HotKeys feeds: each samples one read in hotSample
// (wherever it is answered) into a local tally, and a background flush adds the tally to
// the set once every HotKeysEvery (ZINCRBY, pipelined) and trims the set to
// hotKeep*HotKeys members. Scores are cumulative, with no decay: the list follows a
// popularity that drifts slowly, not a sudden change.
//
// Sampling keeps the read path cheap: one draw from the runtime's per-thread generator
// per read, and a mutex and a map increment on one read in hotSample.

// hotSample is the share of reads tallied: one in hotSample (a power of two).
const hotSample = 16

// hotKeep is how many times HotKeys members the sorted set keeps, so that a key on its
// way up is not trimmed before it gets there.
const hotKeep = 4

// DefaultHotKeysKey is the sorted set's key when Config.HotKeysKey is empty.
const DefaultHotKeysKey = "cachebench:hot"

// hotKeys is a Cache's tally of sampled reads, flushed to Redis.
type hotKeys struct {
	mu    sync.Mutex
	tally map[string]float64

	flushes, flushErrors atomic.Uint64
}

// saw tallies a read of key, one in hotSample, drawn with rnd.
func (h *hotKeys) saw(key string, rnd func() float64) {
	if rnd()*hotSample >= 1 {
		return
	}
	h.mu.Lock()
	h.tally[key] += hotSample
	h.mu.Unlock()
}

// startHotKeys starts the flush of the tally to Redis, every HotKeysEvery until Close
// (none when HotKeysEvery is negative: FlushHotKeys does it).
func (c *Cache) startHotKeys() {
	c.hot = &hotKeys{tally: make(map[string]float64)}
	if c.cfg.HotKeysEvery < 0 {
		return
	}
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		t := time.NewTicker(c.cfg.HotKeysEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				c.flushHotKeys(c.bgCtx)
			case <-c.bgCtx.Done():
				// A last flush, so a short-lived instance still adds what it saw.
				ctx, cancel := context.WithTimeout(context.Background(), max(c.cfg.L2Timeout, 100*time.Millisecond))
				c.flushHotKeys(ctx)
				cancel()
				return
			}
		}
	}()
}

// FlushHotKeys adds the reads tallied since the last flush to the hot list in Redis now.
// With Config.HotKeysEvery negative it is the only flush (a simulation calls it on its own
// clock); otherwise the background flush does it too. Without Config.HotKeys it does
// nothing.
func (c *Cache) FlushHotKeys(ctx context.Context) {
	if c.hot != nil {
		c.flushHotKeys(ctx)
	}
}

// flushHotKeys adds the tally to the sorted set in one pipeline and trims the set.
func (c *Cache) flushHotKeys(ctx context.Context) {
	h := c.hot
	h.mu.Lock()
	tally := h.tally
	if len(tally) == 0 {
		h.mu.Unlock()
		return
	}
	h.tally = make(map[string]float64, len(tally))
	h.mu.Unlock()
	h.flushes.Add(1)
	key := c.cfg.HotKeysKey
	_, err := c.cfg.Redis.Pipelined(ctx, func(p redis.Pipeliner) error {
		for k, n := range tally {
			p.ZIncrBy(ctx, key, n, k)
		}
		p.ZRemRangeByRank(ctx, key, 0, int64(-hotKeep*c.cfg.HotKeys-1))
		return nil
	})
	if err != nil {
		h.flushErrors.Add(1)
	}
}

// WarmOptions says what Warm loads.
type WarmOptions struct {
	// Keys is how many of the hottest keys to load (from the sorted set the caches keep,
	// Config.HotKeys); ignored when List is given.
	Keys int
	// List, when not empty, is the keys to load (Ref.Key form), instead of the hot list.
	List []string
	// Budget bounds the whole warming: listing and reading. 0 means 200ms.
	Budget time.Duration
}

// WarmReport is what one Warm did.
type WarmReport struct {
	// Listed is the number of keys asked for; Loaded the entries stored in L1 (the rest
	// were absent from L2, past their life, or not read within the budget).
	Listed, Loaded int
	// Took is the time Warm took; OverBudget reports that the budget ended it.
	Took       time.Duration
	OverBudget bool
}

// Warm pre-loads L1 from L2 with the hottest keys (or opts.List), in one pipelined read,
// within opts.Budget: the cold start of a Lambda environment calls it before its first
// request. An entry keeps the rest of its L2 life, capped by L1's TTL. It needs an L1 that
// stores what it is given (not tracking) and an L2; the hot list needs Config.Redis and
// Config.HotKeys. A failed or late read loads what it can and reports the error.
func (c *Cache) Warm(ctx context.Context, opts WarmOptions) (WarmReport, error) {
	start := c.cfg.Now()
	var rep WarmReport
	switch {
	case c.l1 == nil || c.l1.trk != nil:
		return rep, errors.New("cachecore: Warm needs an L1 that holds entries (lru, tinylfu or map)")
	case c.l2 == nil:
		return rep, errors.New("cachecore: Warm reads L2, and there is none")
	}
	budget := opts.Budget
	if budget <= 0 {
		budget = 200 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	keys := opts.List
	if len(keys) == 0 && opts.Keys > 0 {
		if c.cfg.Redis == nil || c.cfg.HotKeys <= 0 {
			return rep, errors.New("cachecore: Warm from the hot list needs Config.Redis and Config.HotKeys")
		}
		var err error
		keys, err = c.cfg.Redis.ZRevRange(ctx, c.cfg.HotKeysKey, 0, int64(opts.Keys-1)).Result()
		if err != nil {
			rep.Took = c.cfg.Now().Sub(start)
			rep.OverBudget = ctx.Err() != nil
			return rep, fmt.Errorf("cachecore: warm: hot list: %w", err)
		}
	}
	rep.Listed = len(keys)
	var err error
	if len(keys) > 0 {
		entries, found := c.l2.getMulti(ctx, keys)
		if found == nil {
			err = errors.New("cachecore: warm: the L2 read failed or was cut short by the budget")
		}
		now := c.cfg.Now()
		for i, ok := range found {
			e := entries[i]
			if ok && !e.Tombstone && e.Servable(now) && c.l1.SetIfNewer(keys[i], c.lifetime(e, now, c.l1TTL(), 0, e), now) {
				rep.Loaded++
			}
		}
	}
	rep.Took = c.cfg.Now().Sub(start)
	rep.OverBudget = ctx.Err() != nil
	c.stats.warmed.Add(uint64(rep.Loaded))
	return rep, err
}
