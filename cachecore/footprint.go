package cachecore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Footprint is what a sample of the entries a RedisTier holds occupies in Redis.
type Footprint struct {
	// Entries is how many entries were sampled: keys under the tier's prefix that are
	// cache keys (ParseKey), tombstones and "not found" entries included.
	Entries int
	// ValueBytes is their stored values' length (STRLEN): each is an envelope, a 34-byte
	// header and the object's JSON, s2-compressed at or above the tier's CompressAbove.
	ValueBytes int64
	// KeyBytes is their keys' length, the tier's prefix included.
	KeyBytes int64
	// MemoryBytes is what Redis says they take (MEMORY USAGE: key, value and Redis's
	// per-key overhead, rounded to its allocator's sizes); valid only when MemoryReported.
	MemoryBytes int64
	// MemoryReported is false when the server does not answer MEMORY USAGE (miniredis).
	MemoryReported bool
}

// Footprint samples up to limit entries (at least 1) of what the tier holds, found by SCAN
// over the tier's prefix (on every master of a cluster), and measures them with STRLEN
// and MEMORY USAGE (SAMPLES 0: every field, exact for a string). Keys under the prefix
// that are not cache keys, such as a fleet limiter's, are skipped. A server that refuses
// MEMORY USAGE gives MemoryReported false and the other figures still.
func (r *RedisTier) Footprint(ctx context.Context, limit int) (Footprint, error) {
	limit = max(limit, 1)
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		it := c.Scan(ctx, 0, r.prefix+"*", 100).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			full := len(keys) >= limit
			if !full {
				if _, err := ParseKey(strings.TrimPrefix(it.Val(), r.prefix)); err == nil {
					keys = append(keys, it.Val())
				}
			}
			mu.Unlock()
			if full {
				break
			}
		}
		return it.Err()
	}
	var err error
	if cc, ok := r.base.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return scan(ctx, n) })
	} else {
		err = scan(ctx, r.base)
	}
	if err != nil {
		return Footprint{}, fmt.Errorf("redis tier: footprint: SCAN: %w", err)
	}
	var f Footprint
	if len(keys) == 0 {
		return f, nil
	}
	pipe := r.base.Pipeline()
	lens := make([]*redis.IntCmd, len(keys))
	mems := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		lens[i] = pipe.StrLen(ctx, k)
		mems[i] = pipe.MemoryUsage(ctx, k, 0)
	}
	_, _ = pipe.Exec(ctx) // examined per command
	f.MemoryReported = true
	var errs []error
	for i, k := range keys {
		n, err := lens[i].Result()
		if errors.Is(err, redis.Nil) {
			continue // expired or evicted since the SCAN
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("STRLEN %s: %w", k, err))
			continue
		}
		m, merr := mems[i].Result()
		if errors.Is(merr, redis.Nil) || n == 0 {
			continue // gone between the two commands
		}
		if merr != nil {
			f.MemoryReported = false
		}
		f.Entries++
		f.ValueBytes += n
		f.KeyBytes += int64(len(k))
		f.MemoryBytes += m
	}
	if len(errs) > 0 && f.Entries == 0 {
		return Footprint{}, fmt.Errorf("redis tier: footprint: %w", errors.Join(errs...))
	}
	if !f.MemoryReported || f.Entries == 0 {
		f.MemoryBytes, f.MemoryReported = 0, false
	}
	return f, nil
}
