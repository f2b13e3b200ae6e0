package cachecore

import (
	"context"
	"fmt"
	"sync"
)

// GetMany reads several objects at once: L1 first, then one batch read of L2 (MGET, or a
// pipeline in cluster mode) and one of L3 (BatchGetItem) for the rest, each batch backfilled
// in one pipelined write; what no tier holds is fetched from the origin, coalesced per key
// as Get does. results[i] and errs[i] answer refs[i]; a missing object is ErrNotFound.
// Each result's Trace is its key's, as Get would report it; a batch lookup counts as one
// lookup of each of its keys.
func (c *Cache) GetMany(ctx context.Context, refs []Ref) (results []Result, errs []error) {
	results, errs = make([]Result, len(refs)), make([]error, len(refs))
	keys := make([]string, len(refs))
	missed := make([]TierSet, len(refs))
	failed := make([]TierSet, len(refs))
	var pending []int // indexes still unanswered
	now := c.cfg.Now()
	for i, r := range refs {
		if err := r.Validate(); err != nil {
			errs[i] = fmt.Errorf("cachecore: %w", err)
			continue
		}
		keys[i] = r.Key()
		if c.l1 != nil {
			if e, ok := c.l1.Get(keys[i], now); ok && !e.Tombstone && e.Fresh(now) {
				c.stats.l1.hits.Add(1)
				results[i], errs[i] = resultOf(&e, TierL1, false)
				continue
			}
			c.stats.l1.misses.Add(1)
			missed[i] = missed[i].With(TierL1)
		}
		pending = append(pending, i)
	}
	for _, t := range c.lower {
		if len(pending) == 0 {
			break
		}
		batch := make([]string, len(pending))
		for j, i := range pending {
			batch[j] = keys[i]
		}
		entries, found := t.g.getMulti(ctx, batch)
		var still []int
		var upKeys []string
		var upEntries []Entry
		for j, i := range pending {
			if found == nil {
				failed[i] = failed[i].With(t.id)
			}
			if found == nil || !found[j] || entries[j].Tombstone || !entries[j].Servable(now) {
				t.st.misses.Add(1)
				missed[i] = missed[i].With(t.id)
				still = append(still, i)
				continue
			}
			e := entries[j]
			t.st.hits.Add(1)
			stale := !e.Fresh(now)
			if stale {
				t.st.staleHits.Add(1)
				c.refreshInBackground(keys[i], e.Version, refreshStale)
			}
			results[i], errs[i] = resultOf(&e, t.id, stale)
			results[i].Trace.Missed, results[i].Trace.Failed = missed[i], failed[i]
			if c.l1 != nil {
				c.l1.SetIfNewer(keys[i], c.lifetime(e, now, c.l1TTL(), 0, e), now)
			}
			upKeys = append(upKeys, keys[i])
			upEntries = append(upEntries, c.lifetime(e, now, c.cfg.L2TTL, c.cfg.TTLJitter, e))
		}
		// What L3 answered is backfilled to L2 in one batch.
		if t.id == TierL3 && c.l2 != nil && len(upKeys) > 0 {
			c.stats.l2.backfills.Add(uint64(len(upKeys)))
			c.l2.setMulti(ctx, upKeys, upEntries)
		}
		pending = still
	}
	// The rest from the origin, concurrently; GetKey's coalescing (and lease) applies.
	var wg sync.WaitGroup
	for _, i := range pending {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = c.fetchCoalesced(ctx, keys[i])
			tr := &results[i].Trace
			tr.Missed |= missed[i]
			tr.Failed |= failed[i]
			if tr.Origin == OriginUnused && results[i].Tier != TierNone {
				// It joined a Get's lookup that a tier answered, after this batch had
				// missed every tier: it took another read's answer.
				tr.Origin = OriginShared
			}
		}(i)
	}
	wg.Wait()
	return results, errs
}
