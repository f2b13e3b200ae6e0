package cachecore

import (
	"context"
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"
)

// guardedTier wraps a Tier with a per-call time-out and a circuit breaker, so a dead Redis
// or a throttled DynamoDB makes reads slower, never failed: a failure, a time-out or an
// open breaker reads as a miss and a skipped write, and each is counted.
type guardedTier struct {
	tier    Tier
	timeout time.Duration
	breaker *gobreaker.CircuitBreaker[struct{}]
	stats   *tierCounters
}

func newGuardedTier(t Tier, timeout time.Duration, failures uint32, cooldown time.Duration, stats *tierCounters) *guardedTier {
	g := &guardedTier{tier: t, timeout: timeout, stats: stats}
	g.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        t.Name(),
		MaxRequests: 1,
		Timeout:     cooldown,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= failures },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				stats.breakerOpens.Add(1)
			}
		},
		// A caller giving up is not the tier failing.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
	})
	return g
}

// do runs fn under the time-out and the breaker; it reports whether fn ran and succeeded.
func (g *guardedTier) do(ctx context.Context, fn func(ctx context.Context) error) bool {
	_, err := g.breaker.Execute(func() (struct{}, error) {
		ctx, cancel := context.WithTimeout(ctx, g.timeout)
		defer cancel()
		return struct{}{}, fn(ctx)
	})
	switch {
	case err == nil:
		return true
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		g.stats.bypassed.Add(1)
	case errors.Is(err, context.DeadlineExceeded):
		g.stats.timeouts.Add(1)
	default:
		g.stats.errors.Add(1)
	}
	return false
}

// get reads key; failed says the lookup did not get an answer from the tier (an error,
// a time-out, or an open breaker), which the cache treats as a miss.
func (g *guardedTier) get(ctx context.Context, key string) (e Entry, found, failed bool) {
	if !g.do(ctx, func(ctx context.Context) (err error) {
		e, found, err = g.tier.Get(ctx, key)
		return err
	}) {
		return Entry{}, false, true
	}
	return e, found, false
}

// set stores e unless the tier holds a newer version; it reports whether e was stored.
func (g *guardedTier) set(ctx context.Context, key string, e Entry) bool {
	var stored bool
	if !g.do(ctx, func(ctx context.Context) (err error) {
		stored, err = g.tier.SetIfNewer(ctx, key, e)
		return err
	}) {
		return false
	}
	g.stats.sets.Add(1)
	if !stored {
		g.stats.setsRefused.Add(1)
	}
	return stored
}

// getMulti reads keys in one batch; found is nil when the batch failed (all misses).
func (g *guardedTier) getMulti(ctx context.Context, keys []string) ([]Entry, []bool) {
	var es []Entry
	var found []bool
	if !g.do(ctx, func(ctx context.Context) (err error) {
		es, found, err = g.tier.GetMulti(ctx, keys)
		return err
	}) {
		return nil, nil
	}
	return es, found
}

// setMulti writes a batch (each entry version-guarded) in as few round trips as the tier
// allows.
func (g *guardedTier) setMulti(ctx context.Context, keys []string, es []Entry) {
	if g.do(ctx, func(ctx context.Context) error { return g.tier.SetMulti(ctx, keys, es) }) {
		g.stats.sets.Add(uint64(len(keys)))
	}
}

func (g *guardedTier) delete(ctx context.Context, key string) {
	g.do(ctx, func(ctx context.Context) error { return g.tier.Delete(ctx, key) })
}

// state is the breaker's state: "closed", "half-open" or "open".
func (g *guardedTier) state() string { return g.breaker.State().String() }
