package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/netsim"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// failoverWatch measures a run's failover fault (the first one, if several): it sees
// the primary killed through the injector it wraps, then the reads that began after
// that, and keeps a trail of acknowledged writes to count what the promotion lost.
//
// Writes lost: from the start of the run until the kill, a marker writer SETs a new key
// (under the run's Redis prefix) every markerEvery through the environment's client,
// which writes to the primary, and notes each the primary acknowledged. Once the fault
// has ended (the killed node is back, as a replica), the keys acknowledged in the last
// markerWindow before the kill are looked up on the new primary: each one missing was
// acknowledged by the old primary and never reached the one promoted. Earlier writes
// had long replicated, and some may have been evicted since, so they are not counted.
type failoverWatch struct {
	inner netsim.Injector
	env   *mocks.Env
	// at is when the primary was killed (Unix ns; 0 before): Inject returned.
	at atomic.Int64
	// killed and promoted are the primary before and after.
	killed, promoted string

	readsFailed atomic.Int64
	// firstHit is the earliest end of an L2 hit of a read begun after the kill, and
	// lastL2Error the latest end of a read begun after it whose L2 failed, as ns from the
	// kill plus 1 (0: none).
	firstHit, lastL2Error atomic.Int64

	mu     sync.Mutex
	acked  []marker // in order of acknowledgement
	prefix string
	stop   chan struct{}
	done   chan struct{}
}

// marker is one acknowledged write of the marker writer.
type marker struct {
	key string
	at  time.Time
}

const (
	markerEvery  = 10 * time.Millisecond
	markerWindow = time.Second
)

// newFailoverWatch returns a watch for s's failover fault, or nil when s has none.
func newFailoverWatch(s *scenarios.Scenario, env *mocks.Env, prefix string) *failoverWatch {
	for _, f := range s.Faults {
		if f.Kind == scenarios.FaultFailover {
			return &failoverWatch{env: env, prefix: prefix + "failover:"}
		}
	}
	return nil
}

// wrap puts the watch in front of the Redis injector, so it sees the kill.
func (w *failoverWatch) wrap(injectors map[string]netsim.Injector) {
	if inner := injectors[mocks.ServiceRedis]; inner != nil {
		w.inner = inner
		injectors[mocks.ServiceRedis] = w
	}
}

// SupportsKind implements netsim.KindSupporter for the wrapped injector.
func (w *failoverWatch) SupportsKind(kind string) bool {
	if ks, ok := w.inner.(netsim.KindSupporter); ok {
		return ks.SupportsKind(kind)
	}
	return true
}

// Inject implements netsim.Injector: it records the first failover's kill.
func (w *failoverWatch) Inject(f netsim.Fault) (func() error, error) {
	if f.Kind != netsim.KindFailover {
		return w.inner.Inject(f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	before, _ := w.env.RedisPrimary(ctx)
	cancel()
	clear, err := w.inner.Inject(f)
	if err == nil && w.at.CompareAndSwap(0, time.Now().UnixNano()) {
		w.mu.Lock()
		w.killed = before
		w.mu.Unlock()
	}
	return clear, err
}

// startMarkers runs the marker writer until the kill, or until stop.
func (w *failoverWatch) startMarkers() {
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(markerEvery)
		defer t.Stop()
		for i := 0; w.at.Load() == 0; i++ {
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
			key := w.prefix + strconv.Itoa(i)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			err := w.env.RedisClient.Set(ctx, key, i, 10*time.Minute).Err()
			cancel()
			if err == nil {
				w.mu.Lock()
				w.acked = append(w.acked, marker{key: key, at: time.Now()})
				w.mu.Unlock()
			}
		}
	}()
}

// read sees one measured read that ended at end: whether it failed, was served by L2,
// or found L2 failing.
func (w *failoverWatch) read(began, end time.Time, err error, res *cachecore.Result) {
	at := w.at.Load()
	if at == 0 || began.UnixNano() < at {
		return
	}
	since := end.UnixNano() - at + 1
	if err != nil && !errors.Is(err, cachecore.ErrNotFound) {
		w.readsFailed.Add(1)
	}
	if err == nil && res.Tier == cachecore.TierL2 {
		for {
			cur := w.firstHit.Load()
			if (cur != 0 && cur <= since) || w.firstHit.CompareAndSwap(cur, since) {
				break
			}
		}
	}
	if res.Trace.Failed.Has(cachecore.TierL2) {
		for {
			cur := w.lastL2Error.Load()
			if cur >= since || w.lastL2Error.CompareAndSwap(cur, since) {
				break
			}
		}
	}
}

// finish stops the marker writer, checks the markers on the new primary and returns
// the result's failover block with a note for what could not be measured.
func (w *failoverWatch) finish() (*reports.Failover, []string) {
	close(w.stop)
	<-w.done
	at := w.at.Load()
	if at == 0 {
		return nil, []string{"the failover fault did not run, so nothing of it was measured (see faults)"}
	}
	kill := time.Unix(0, at)
	out := &reports.Failover{ReadsFailed: w.readsFailed.Load(), L2RecoveryS: -1, L2LastErrorS: -1}
	if v := w.firstHit.Load(); v > 0 {
		out.L2RecoveryS = time.Duration(v - 1).Seconds()
	}
	if v := w.lastL2Error.Load(); v > 0 {
		out.L2LastErrorS = time.Duration(v - 1).Seconds()
	}
	var notes []string
	if out.L2RecoveryS < 0 {
		notes = append(notes, "after the failover no read was served by L2 before the run ended: failover.l2_recovery_s is -1")
	}
	w.mu.Lock()
	var keys []string
	for _, m := range w.acked {
		if !m.at.Before(kill.Add(-markerWindow)) {
			keys = append(keys, m.key)
		}
	}
	out.Killed = w.killed
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out.Promoted, _ = w.env.RedisPrimary(ctx)
	lost, err := w.missing(ctx, keys)
	out.WritesChecked = int64(len(keys))
	out.WritesLost = lost
	if err != nil {
		out.WritesLost = -1
		notes = append(notes, fmt.Sprintf("failover.writes_lost could not be checked (it is -1): %v", err))
	}
	return out, notes
}

// missing counts the keys the primary does not hold, retrying for a while as the
// clients may still be finding the promoted primary.
func (w *failoverWatch) missing(ctx context.Context, keys []string) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	var last error
	for ctx.Err() == nil {
		pipe := w.env.RedisClient.Pipeline()
		cmds := make([]*redis.IntCmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.Exists(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			last = err
			time.Sleep(200 * time.Millisecond)
			continue
		}
		var n int64
		for _, c := range cmds {
			if c.Val() == 0 {
				n++
			}
		}
		return n, nil
	}
	return 0, last
}
