package cachecore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
	"github.com/cachebench/cachebench/mocks/netsim"
)

// pausedTimeout is the L2 time-out of the tests below, and pausedBound the longest a call
// may take with Redis paused: twenty time-outs, far above a read's own cost (its lookup's
// and its fill's time-outs, about two) so that a loaded machine or the race detector do
// not trip it, and far below the client's ReadTimeout (3 s), which alone bounds a command
// whose context is not honoured.
const (
	pausedTimeout = 50 * time.Millisecond
	pausedBound   = time.Second
)

// pausableRedis returns the options of a client for the local Redis reached through a
// proxy, and pause, which makes the proxy accept connections but pass no bytes until the
// test ends. Clients made from the options must be closed by cleanups registered before
// pause is called, so that the pause ends first and their commands in flight finish.
func pausableRedis(t *testing.T) (opts *redis.Options, pause func()) {
	t.Helper()
	env := tierEnv(t, mocks.ProviderLocal)
	opts = env.RedisOptions()
	if opts == nil {
		if mockstest.Required() {
			t.Fatalf("the local Redis is a %s, which one proxy cannot stand in for; the test needs a standalone one", env.Redis.Topology)
		}
		t.Skipf("the local Redis is a %s, which one proxy cannot stand in for", env.Redis.Topology)
	}
	px, err := netsim.NewProxy("redis", opts.Addr, netsim.Profile{Name: netsim.ProfileNone})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = px.Close() })
	opts.Addr = px.Addr()
	return opts, func() {
		t.Helper()
		clear, err := px.Inject(netsim.Fault{Kind: netsim.KindPause})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = clear() })
	}
}

// TestPausedRedisBoundsReads: with Redis paused (connections accepted, no bytes passed
// on), concurrent reads on the default path (Pipeline auto: all but the first go through
// go-redis's autopipeliner) each give up on L2 after L2Timeout and are answered by the
// origin: none fails, and none waits for the client's ReadTimeout.
func TestPausedRedisBoundsReads(t *testing.T) {
	for _, callers := range []int{5, 20} {
		t.Run(fmt.Sprintf("callers=%d", callers), func(t *testing.T) {
			opts, pause := pausableRedis(t)
			rc := redis.NewClient(opts)
			t.Cleanup(func() { _ = rc.Close() })
			l2, err := NewRedisTier(RedisConfig{Client: rc, Prefix: "cbt:" + tierUnique(t) + ":"})
			if err != nil {
				t.Fatal(err)
			}
			refs := make([]Ref, callers)
			objects := make(map[string][]byte, callers)
			for i := range refs {
				refs[i] = Ref{Object: ObjectCustomer, ID: fmt.Sprintf("cus_pause%d", i)}
				objects[refs[i].Key()] = []byte(`{"id":"` + refs[i].ID + `"}`)
			}
			// The breaker would soon take L2 out of the reads: every one must ask Redis.
			c := newTestCache(t, Config{L2: l2, Origin: &fakeOrigin{objects: objects}, L2Timeout: pausedTimeout,
				BreakerFailures: 1 << 30})

			// Redis answering: every key read from the origin and filled in L2, and the
			// client's connections dialled.
			if _, errs := readConcurrently(c, refs, TierOrigin); len(errs) > 0 {
				t.Fatalf("with Redis answering: %v", errors.Join(errs...))
			}
			before := c.Stats().L2

			pause()
			took, errs := readConcurrently(c, refs, TierOrigin)
			if len(errs) > 0 {
				t.Errorf("with Redis paused: %v", errors.Join(errs...))
			}
			after := c.Stats().L2
			t.Logf("%d reads with Redis paused and L2Timeout %v: the slowest took %v; L2 timeouts %d, errors %d",
				callers, pausedTimeout, took, after.Timeouts-before.Timeouts, after.Errors-before.Errors)
			if took > pausedBound {
				t.Errorf("the slowest of %d reads took %v with L2Timeout %v: the time-out did not bound the L2 calls (want under %v)",
					callers, took, pausedTimeout, pausedBound)
			}
			if failed := after.Timeouts + after.Errors - before.Timeouts - before.Errors; failed < uint64(callers) {
				t.Errorf("%d L2 calls failed or timed out, want at least the %d lookups", failed, callers)
			}
		})
	}
}

// readConcurrently reads refs, each in a goroutine of its own, all released at once, and
// returns the longest a read took and the reads that failed or were not served by tier.
func readConcurrently(c *Cache, refs []Ref, tier TierID) (time.Duration, []error) {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		slowest time.Duration
		errs    []error
	)
	start := make(chan struct{})
	for _, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			res, err := c.Get(context.Background(), ref)
			took := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			slowest = max(slowest, took)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("%s: %w", ref.Key(), err))
			case res.Tier != tier:
				errs = append(errs, fmt.Errorf("%s served by %s, want %s", ref.Key(), res.Tier, tier))
			}
		}()
	}
	close(start)
	wg.Wait()
	return slowest, errs
}

// TestPausedRedisBoundsCommands: each single-key command of the tier sent through the
// autopipeliner (Pipeline always, or an autopipeliner as Client), or on the connection a
// lone caller keeps (Pipeline auto), ends with its context's error when the context ends
// before Redis answers, and is counted as an error.
func TestPausedRedisBoundsCommands(t *testing.T) {
	for _, way := range []string{"Pipeline-always", "autopipeliner-as-client", "lone-connection"} {
		t.Run(way, func(t *testing.T) {
			opts, pause := pausableRedis(t)
			rc := redis.NewClient(opts)
			t.Cleanup(func() { _ = rc.Close() })
			cfg := RedisConfig{Client: rc, Prefix: "cbt:" + tierUnique(t) + ":", Pipeline: PipelineAlways}
			switch way {
			case "lone-connection":
				cfg.Pipeline = PipelineAuto
			case "autopipeliner-as-client":
				ap, err := rc.AutoPipeline()
				if err != nil {
					t.Fatal(err)
				}
				cfg.Client, cfg.Pipeline = ap, ""
			}
			r, err := NewRedisTier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			e := Entry{Value: []byte(`{"id":"cus_cmd"}`), Version: 1, FetchedAt: now, ExpiresAt: now.Add(time.Minute)}
			type op struct {
				name string
				call func(ctx context.Context) error
				errs uint64 // counted when the call fails
			}
			ops := []op{
				{"Get", func(ctx context.Context) error { _, _, err := r.Get(ctx, "customer:cus_cmd"); return err }, 1},
				{"SetIfNewer", func(ctx context.Context) error { _, err := r.SetIfNewer(ctx, "customer:cus_cmd", e); return err }, 1},
				{"Delete", func(ctx context.Context) error { return r.Delete(ctx, "customer:cus_cmd") }, 1},
			}
			if r.useMGET { // GetMulti's MGET is autopipelined; its pipelined GETs are not
				keys := []string{"customer:cus_cmd", "customer:cus_other"}
				ops = append(ops, op{"GetMulti", func(ctx context.Context) error { _, _, err := r.GetMulti(ctx, keys); return err }, uint64(len(keys))})
			}
			for range 2 { // Redis answering: the script loaded, connections dialled and kept
				for _, op := range ops {
					if err := op.call(tierCtx(t)); err != nil {
						t.Fatalf("%s with Redis answering: %v", op.name, err)
					}
				}
			}
			if way == "lone-connection" && (r.lone == nil || r.lone.conn == nil) {
				t.Fatal("no connection kept for the lone caller")
			}
			errsBefore := r.Stats().Errors
			pause()
			var wantErrs uint64
			for _, op := range ops {
				wantErrs += op.errs
				ctx, cancel := context.WithTimeout(context.Background(), pausedTimeout)
				t0 := time.Now()
				err := op.call(ctx)
				took := time.Since(t0)
				cancel()
				if !errors.Is(err, context.DeadlineExceeded) || took > pausedBound {
					t.Errorf("%s with Redis paused and a %v context: %v after %v; want the context's error within %v",
						op.name, pausedTimeout, err, took, pausedBound)
				}
			}
			if n := r.Stats().Errors - errsBefore; n != wantErrs {
				t.Errorf("%d errors counted for %d failed calls, want %d (each key of a batch counts)", n, len(ops), wantErrs)
			}
		})
	}
}
