package cachecore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
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
	// ticks hands out the Done channels of the calls' time-outs (boundedCtx).
	ticks deadlineTicks
	// writes counts the writes (set, setMulti, delete) that have finished, whatever their
	// outcome, so a read made before can tell whether the tier may have changed since.
	writes atomic.Uint64
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
	return g.run(ctx, false, fn)
}

// run is do; detach makes fn ignore ctx's cancellation and deadline (as
// context.WithoutCancel does), so that only the time-out bounds it.
func (g *guardedTier) run(ctx context.Context, detach bool, fn func(ctx context.Context) error) bool {
	_, err := g.breaker.Execute(func() (struct{}, error) {
		if detach || ctx.Done() == nil {
			// Nothing of ctx's to propagate: one shared timer per millisecond of
			// deadlines instead of one per call. The boundedCtx is the one allocation.
			return struct{}{}, fn(g.ticks.bound(ctx, g.timeout))
		}
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

// probe is get detached from ctx's cancellation, as a lookup that others may share is:
// only the time-out bounds it, and a caller giving up is not counted as the tier failing.
func (g *guardedTier) probe(ctx context.Context, key string) (e Entry, found, failed bool) {
	if !g.run(ctx, true, func(ctx context.Context) (err error) {
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
	defer g.writes.Add(1)
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
	defer g.writes.Add(1)
	if g.do(ctx, func(ctx context.Context) error { return g.tier.SetMulti(ctx, keys, es) }) {
		g.stats.sets.Add(uint64(len(keys)))
	}
}

func (g *guardedTier) delete(ctx context.Context, key string) {
	defer g.writes.Add(1)
	g.do(ctx, func(ctx context.Context) error { return g.tier.Delete(ctx, key) })
}

// state is the breaker's state: "closed", "half-open" or "open".
func (g *guardedTier) state() string { return g.breaker.State().String() }

// deadlineTick is a deadline (Unix nanoseconds) and the channel closed when it passes.
type deadlineTick struct {
	at   int64
	done chan struct{}
}

// tickEvery is the granularity of boundedCtx deadlines: each is rounded up to the next
// multiple, so calls made within the same millisecond share one channel and one timer.
const tickEvery = int64(time.Millisecond)

// deadlineTicks hands out deadlineTicks: the latest one while it still fits, else a new
// one with a timer that closes it.
type deadlineTicks struct {
	cur atomic.Pointer[deadlineTick]
	mu  sync.Mutex
}

// bound returns a context carrying parent's values, not its cancellation, that is done
// timeout from now (rounded up to tickEvery).
func (d *deadlineTicks) bound(parent context.Context, timeout time.Duration) context.Context {
	at := (time.Now().UnixNano() + int64(timeout) + tickEvery - 1) / tickEvery * tickEvery
	t := d.cur.Load()
	if t == nil || t.at < at || t.at > at+tickEvery {
		d.mu.Lock()
		if t = d.cur.Load(); t == nil || t.at < at || t.at > at+tickEvery {
			t = &deadlineTick{at: at, done: make(chan struct{})}
			done := t.done
			time.AfterFunc(time.Until(time.Unix(0, at)), func() { close(done) })
			if cur := d.cur.Load(); cur == nil || cur.at < at {
				d.cur.Store(t)
			}
		}
		d.mu.Unlock()
	}
	// The one allocation of a bounded call: the context escapes into the tier.
	return &boundedCtx{parent: parent, tick: t}
}

// boundedCtx is context.WithTimeout(context.WithoutCancel(parent), ...) without a timer
// or a channel of its own: its Done channel is shared with every call whose deadline falls
// in the same tickEvery.
type boundedCtx struct {
	parent context.Context
	tick   *deadlineTick
}

func (c *boundedCtx) Deadline() (time.Time, bool) { return time.Unix(0, c.tick.at), true }
func (c *boundedCtx) Done() <-chan struct{}       { return c.tick.done }
func (c *boundedCtx) Value(key any) any           { return c.parent.Value(key) }

func (c *boundedCtx) Err() error {
	select {
	case <-c.tick.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

func (c *boundedCtx) String() string { return "cachecore.boundedCtx" }
