package cachecore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
)

// fakeTier is an in-memory Tier with the version guard, and switches for failure.
type fakeTier struct {
	name  string
	mu    sync.Mutex
	m     map[string]Entry
	fail  atomic.Bool  // every call fails
	delay atomic.Int64 // nanoseconds every call takes
	calls atomic.Int64
	// batches counts GetMulti and SetMulti calls.
	batches atomic.Int64
}

func newFakeTier(name string) *fakeTier { return &fakeTier{name: name, m: map[string]Entry{}} }

func (f *fakeTier) Name() string { return f.name }

func (f *fakeTier) enter(ctx context.Context) error {
	f.calls.Add(1)
	if d := time.Duration(f.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if f.fail.Load() {
		return errors.New("fake tier down")
	}
	return nil
}

func (f *fakeTier) Get(ctx context.Context, key string) (Entry, bool, error) {
	if err := f.enter(ctx); err != nil {
		return Entry{}, false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[key]
	return e, ok, nil
}

func (f *fakeTier) GetMulti(ctx context.Context, keys []string) ([]Entry, []bool, error) {
	f.batches.Add(1)
	es, fs := make([]Entry, len(keys)), make([]bool, len(keys))
	for i, k := range keys {
		e, ok, err := f.Get(ctx, k)
		if err != nil {
			return nil, nil, err
		}
		es[i], fs[i] = e, ok
	}
	return es, fs, nil
}

func (f *fakeTier) SetIfNewer(ctx context.Context, key string, e Entry) (bool, error) {
	if err := f.enter(ctx); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.m[key]; ok && old.Version > e.Version {
		return false, nil
	}
	f.m[key] = e
	return true, nil
}

func (f *fakeTier) SetMulti(ctx context.Context, keys []string, es []Entry) error {
	f.batches.Add(1)
	for i := range keys {
		if _, err := f.SetIfNewer(ctx, keys[i], es[i]); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeTier) Delete(ctx context.Context, key string) error {
	if err := f.enter(ctx); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, key)
	return nil
}

func (f *fakeTier) peek(key string) (Entry, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[key]
	return e, ok
}

// fakeOrigin serves objects from a map, counting calls.
type fakeOrigin struct {
	mu      sync.Mutex
	objects map[string][]byte // key → JSON; absent = not found
	delay   time.Duration
	calls   atomic.Int64
	gate    chan struct{} // when set, every fetch waits for it to close
}

func (o *fakeOrigin) Fetch(ctx context.Context, ref Ref) ([]byte, int64, bool, error) {
	o.calls.Add(1)
	if o.gate != nil {
		<-o.gate
	}
	if o.delay > 0 {
		time.Sleep(o.delay)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.objects[ref.Key()]
	if !ok {
		return nil, 0, false, fmt.Errorf("fake: %w", ErrNotFound)
	}
	return v, 0, false, nil
}

func (o *fakeOrigin) set(key string, v string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.objects[key] = []byte(v)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestCache(t *testing.T, cfg Config) *Cache {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func mustL1(t *testing.T, cfg L1Config) *L1 {
	t.Helper()
	l, err := NewL1(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestCoalescing: 1,000 goroutines missing on one key make exactly one origin call and one
// L3 lookup (each reads L2 itself first, as an L2 hit is not coalesced); without
// coalescing they make many (the control).
func TestCoalescing(t *testing.T) {
	// A caller whose context can be cancelled waits on the lookup's channel; one whose
	// context cannot runs it in its own goroutine. Both must share it alike.
	cancellable, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctxs := map[string]context.Context{"background": context.Background(), "cancellable": cancellable}
	for _, coalesce := range []bool{true, false} {
		for name, ctx := range ctxs {
			t.Run(fmt.Sprintf("coalesce=%v/%s", coalesce, name), func(t *testing.T) {
				origin := &fakeOrigin{objects: map[string][]byte{"customer:cus_1": []byte(`{"id":"cus_1"}`)}, gate: make(chan struct{})}
				l2, l3 := newFakeTier("l2"), newFakeTier("l3")
				c := newTestCache(t, Config{L1: mustL1(t, L1Config{Policy: "lru"}), L2: l2, L3: l3, Origin: origin, NoCoalesce: !coalesce})
				const n = 1000
				var wg sync.WaitGroup
				var started sync.WaitGroup
				errs := make(chan error, n)
				started.Add(n)
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						started.Done()
						res, err := c.Get(ctx, Ref{Object: ObjectCustomer, ID: "cus_1"})
						if err == nil && string(res.Value) != `{"id":"cus_1"}` {
							err = fmt.Errorf("value %q", res.Value)
						}
						if err != nil {
							errs <- err
						}
					}()
				}
				started.Wait()
				time.Sleep(50 * time.Millisecond) // let the goroutines reach the cache
				close(origin.gate)
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
				calls := origin.calls.Load()
				if coalesce {
					if calls != 1 {
						t.Fatalf("origin calls = %d, want exactly 1", calls)
					}
					if n := l3.calls.Load(); n != 2 {
						t.Errorf("L3 calls = %d, want 2: one lookup and one fill", n)
					}
					s := c.Stats()
					if s.Coalesced+s.L1.Hits != n-1 {
						t.Errorf("coalesced %d + L1 hits %d, want %d", s.Coalesced, s.L1.Hits, n-1)
					}
				} else if calls < 2 {
					t.Fatalf("without coalescing origin calls = %d, want many", calls)
				}
			})
		}
	}
}

// TestVersionGuardShuffledEvents: a history of updates delivered shuffled, with
// duplicates, leaves every tier holding the newest state.
func TestVersionGuardShuffledEvents(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			l2, l3 := newFakeTier("l2"), newFakeTier("l3")
			c := newTestCache(t, Config{L1: mustL1(t, L1Config{Policy: "tinylfu"}), L2: l2, L3: l3, Origin: &fakeOrigin{}})
			const versions = 40
			var events []*stripe.Event
			for v := 1; v <= versions; v++ {
				for d := 0; d < 1+v%3; d++ { // duplicates
					events = append(events, customerEvent("cus_9", v, "customer.updated"))
				}
			}
			r := rand.New(rand.NewPCG(seed, seed))
			r.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
			var wg sync.WaitGroup
			for _, ev := range events {
				wg.Add(1)
				go func() { defer wg.Done(); _ = c.Apply(context.Background(), ev) }()
			}
			wg.Wait()
			want := fmt.Sprintf(`"v%d"`, versions)
			for _, tier := range []*fakeTier{l2, l3} {
				e, ok := tier.peek("customer:cus_9")
				if !ok || e.Version != versions || !json.Valid(e.Value) || !strings.Contains(string(e.Value), want) {
					t.Fatalf("%s holds version %d %s, want %d", tier.name, e.Version, e.Value, versions)
				}
			}
			res, err := c.Get(context.Background(), Ref{Object: ObjectCustomer, ID: "cus_9"})
			if err != nil || res.Version != versions || res.Tier != TierL1 {
				t.Fatalf("Get = version %d from %s, %v; want %d from l1", res.Version, res.Tier, err, versions)
			}
			// A late duplicate of an old event changes nothing.
			_ = c.Apply(context.Background(), customerEvent("cus_9", 3, "customer.updated"))
			if e, _ := l2.peek("customer:cus_9"); e.Version != versions {
				t.Fatalf("old event overwrote L2: version %d", e.Version)
			}
			if s := c.Stats(); s.EventsStale == 0 {
				t.Error("no event counted as stale")
			}
		})
	}
}

func customerEvent(id string, version int, typ string) *stripe.Event {
	obj := map[string]any{"id": id, "object": "customer", "name": fmt.Sprintf("v%d", version),
		"metadata": map[string]any{VersionMetadataKey: fmt.Sprint(version)}}
	raw, _ := json.Marshal(obj)
	return &stripe.Event{ID: fmt.Sprintf("evt_%d", version), Type: stripe.EventType(typ), Created: 1_700_000_000,
		Data: &stripe.EventData{Object: obj, Raw: raw}}
}

// TestNegativeCaching: "does not exist" is cached for NegativeTTL in every tier, then asked
// again.
func TestNegativeCaching(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	origin := &fakeOrigin{objects: map[string][]byte{}}
	l2 := newFakeTier("l2")
	c := newTestCache(t, Config{L1: mustL1(t, L1Config{}), L2: l2, Origin: origin, NegativeTTL: 10 * time.Second, Now: clk.Now})
	ref := Ref{Object: ObjectCustomer, ID: "cus_gone"}
	for i := 0; i < 3; i++ {
		if _, err := c.Get(context.Background(), ref); !errors.Is(err, ErrNotFound) {
			t.Fatalf("read %d: err = %v, want ErrNotFound", i, err)
		}
	}
	if n := origin.calls.Load(); n != 1 {
		t.Fatalf("origin calls = %d, want 1 (then served from the negative cache)", n)
	}
	if e, ok := l2.peek(ref.Key()); !ok || !e.Negative {
		t.Fatalf("L2 holds %+v, want a negative entry", e)
	}
	clk.Add(11 * time.Second)
	res, err := c.Get(context.Background(), ref)
	if !errors.Is(err, ErrNotFound) || res.Tier != TierOrigin || origin.calls.Load() != 2 {
		t.Fatalf("after NegativeTTL: tier %s err %v calls %d; want a new origin call", res.Tier, err, origin.calls.Load())
	}
}

// TestStaleWhileRevalidate: past its fresh life, within the stale window, an entry is
// served (marked stale) while exactly one background refresh runs.
func TestStaleWhileRevalidate(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	origin := &fakeOrigin{objects: map[string][]byte{"price:price_1": []byte(`{"v":1}`)}}
	c := newTestCache(t, Config{L1: mustL1(t, L1Config{TTL: 10 * time.Second}), Origin: origin,
		StaleWhileRevalidate: time.Minute, Now: clk.Now})
	ref := Ref{Object: ObjectPrice, ID: "price_1"}
	if _, err := c.Get(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	origin.set("price:price_1", `{"v":2}`)
	clk.Add(15 * time.Second) // past L1's 10s TTL, within the minute of SWR
	for i := 0; i < 20; i++ {
		res, err := c.Get(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && (!res.Stale || string(res.Value) != `{"v":1}` || res.Tier != TierL1) {
			t.Fatalf("first read past TTL = %+v, want the stale v1 from l1", res)
		}
	}
	waitFor(t, func() bool { return c.Stats().BackgroundRefreshes >= 1 && origin.calls.Load() == 2 })
	c.bg.Wait()
	if n := origin.calls.Load(); n != 2 {
		t.Fatalf("origin calls = %d, want 2 (the fill and one refresh)", n)
	}
	res, err := c.Get(context.Background(), ref)
	if err != nil || res.Stale || string(res.Value) != `{"v":2}` {
		t.Fatalf("after refresh = %+v %v, want fresh v2", res, err)
	}
	// Past the stale window too: a plain miss.
	clk.Add(2 * time.Minute)
	if res, _ := c.Get(context.Background(), ref); res.Tier != TierOrigin {
		t.Fatalf("past the stale window served from %s, want origin", res.Tier)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBreaker: a failing L2 opens its breaker after BreakerFailures failures, reads keep
// succeeding from the origin while it is open (bypassed, not failed), and after the
// cooldown one probe closes it again.
func TestBreaker(t *testing.T) {
	origin := &fakeOrigin{objects: map[string][]byte{}}
	for i := 0; i < 100; i++ {
		origin.set(fmt.Sprintf("customer:cus_%d", i), `{}`)
	}
	l2 := newFakeTier("l2")
	c := newTestCache(t, Config{L2: l2, Origin: origin, BreakerFailures: 3, BreakerCooldown: 200 * time.Millisecond})
	get := func(i int) {
		t.Helper()
		if _, err := c.Get(context.Background(), Ref{Object: ObjectCustomer, ID: fmt.Sprintf("cus_%d", i)}); err != nil {
			t.Fatalf("read %d failed while Redis was down: %v", i, err)
		}
	}
	l2.fail.Store(true)
	for i := 0; i < 10; i++ {
		get(i)
	}
	s := c.Stats()
	if s.L2.Breaker != "open" || s.L2.BreakerOpens != 1 {
		t.Fatalf("breaker %s after failures (opens %d), want open once", s.L2.Breaker, s.L2.BreakerOpens)
	}
	if s.L2.Errors != 3 || s.L2.Bypassed == 0 {
		t.Fatalf("errors %d bypassed %d; want 3 errors then bypasses", s.L2.Errors, s.L2.Bypassed)
	}
	callsWhileOpen := l2.calls.Load()
	get(20)
	if l2.calls.Load() != callsWhileOpen {
		t.Fatal("an open breaker let a call through to the tier")
	}
	l2.fail.Store(false)
	time.Sleep(250 * time.Millisecond)
	if st := c.Stats().L2.Breaker; st != "half-open" {
		t.Fatalf("after the cooldown breaker is %s, want half-open", st)
	}
	get(30) // the probe succeeds
	if st := c.Stats().L2.Breaker; st != "closed" {
		t.Fatalf("after a good probe breaker is %s, want closed", st)
	}
}

// TestSlowTierTimesOut: a tier slower than its time-out makes reads slower, never failed.
func TestSlowTierTimesOut(t *testing.T) {
	origin := &fakeOrigin{objects: map[string][]byte{"customer:cus_1": []byte(`{}`)}}
	l3 := newFakeTier("l3")
	l3.delay.Store(int64(time.Second))
	c := newTestCache(t, Config{L3: l3, Origin: origin, L3Timeout: 20 * time.Millisecond})
	start := time.Now()
	res, err := c.Get(context.Background(), Ref{Object: ObjectCustomer, ID: "cus_1"})
	if err != nil || res.Tier != TierOrigin {
		t.Fatalf("Get = %s, %v; want served by origin", res.Tier, err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("read took %v: the L3 time-out did not cut the slow call", took)
	}
	if s := c.Stats(); s.L3.Timeouts < 1 {
		t.Fatalf("timeouts = %d, want the slow L3 read (and write) counted", s.L3.Timeouts)
	}
}

// TestBackfillNeverOutlivesSource: an entry found in L3 is copied up with at most its
// remaining life, whatever the upper tier's TTL.
func TestBackfillNeverOutlivesSource(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	l2, l3 := newFakeTier("l2"), newFakeTier("l3")
	expires := clk.Now().Add(10 * time.Second)
	_, _ = l3.SetIfNewer(context.Background(), "customer:cus_1", Entry{Value: []byte(`{}`), Version: 5, ExpiresAt: expires})
	l1 := mustL1(t, L1Config{TTL: time.Hour})
	c := newTestCache(t, Config{L1: l1, L2: l2, L3: l3, Origin: &fakeOrigin{}, L2TTL: 5 * time.Minute, Now: clk.Now})
	res, err := c.Get(context.Background(), Ref{Object: ObjectCustomer, ID: "cus_1"})
	if err != nil || res.Tier != TierL3 {
		t.Fatalf("Get = %s, %v; want l3", res.Tier, err)
	}
	e, ok := l2.peek("customer:cus_1")
	if !ok || !e.ExpiresAt.Equal(expires) {
		t.Fatalf("L2 backfill expires %v, want %v (the L3 entry's end)", e.ExpiresAt, expires)
	}
	if e, ok := l1.Get("customer:cus_1", clk.Now()); !ok || !e.ExpiresAt.Equal(expires) {
		t.Fatalf("L1 backfill expires %v, want %v", e.ExpiresAt, expires)
	}
}

// TestTombstoneBlocksOlderFetch: after an invalidation, a fetch that started before it
// cannot write its older state back.
func TestTombstoneBlocksOlderFetch(t *testing.T) {
	l2 := newFakeTier("l2")
	c := newTestCache(t, Config{L2: l2, Origin: &fakeOrigin{}, EventMode: EventModeInvalidate})
	ev := customerEvent("cus_5", 100, "customer.updated")
	if err := c.Apply(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if e, ok := l2.peek("customer:cus_5"); !ok || !e.Tombstone || e.Version != 100 {
		t.Fatalf("L2 after invalidation = %+v, want a tombstone at version 100", e)
	}
	// The older fetch's write.
	stored := c.l2.set(context.Background(), "customer:cus_5", Entry{Value: []byte(`{"old":true}`), Version: 99, ExpiresAt: time.Now().Add(time.Minute)})
	if stored {
		t.Fatal("a fetch older than the invalidation was written back")
	}
}

// TestXFetch: with beta > 0 an entry about to expire is refreshed early; one far from
// expiry is not.
func TestXFetch(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	origin := &fakeOrigin{objects: map[string][]byte{"customer:cus_1": []byte(`{}`), "customer:cus_2": []byte(`{}`)}}
	c := newTestCache(t, Config{L1: mustL1(t, L1Config{TTL: time.Minute}), Origin: origin, XFetchBeta: 1, Now: clk.Now})
	c.observeOrigin(time.Second) // as if origin fetches took 1s
	for _, id := range []string{"cus_1", "cus_2"} {
		if _, err := c.Get(context.Background(), Ref{Object: ObjectCustomer, ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	c.bg.Wait()
	base := origin.calls.Load()
	// cus_1 and cus_2 both expire in 60s: with delta=1s, P(refresh) = exp(-60) ≈ 0.
	for i := 0; i < 200; i++ {
		_, _ = c.Get(context.Background(), Ref{Object: ObjectCustomer, ID: "cus_1"})
	}
	c.bg.Wait()
	if got := origin.calls.Load() - base; got != 0 {
		t.Fatalf("%d early refreshes 60s before expiry, want 0", got)
	}
	clk.Add(59900 * time.Millisecond) // 100ms left: P(refresh per read) = 1-exp(-0.1) ≈ 0.1
	for i := 0; i < 200 && c.Stats().EarlyRefreshes == 0; i++ {
		_, _ = c.Get(context.Background(), Ref{Object: ObjectCustomer, ID: "cus_2"})
	}
	c.bg.Wait()
	if c.Stats().EarlyRefreshes == 0 {
		t.Fatal("no early refresh 100ms before expiry in 200 reads")
	}
}

func TestConfigValidate(t *testing.T) {
	err := Config{TTLJitter: 0.9, XFetchBeta: -1, L2TTL: -time.Second, EventMode: "x", LeaseTTL: time.Second}.Validate()
	for _, want := range []string{"Origin is required", "TTLJitter", "XFetchBeta", "L2TTL", "EventMode", "LeaseTTL needs"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v does not mention %q", err, want)
		}
	}
}

func TestObjectOfEvent(t *testing.T) {
	for typ, want := range map[string][2]string{
		"customer.updated":              {"customer", "updated"},
		"customer.deleted":              {"customer", "deleted"},
		"customer.subscription.updated": {"subscription", "updated"},
		"invoice.paid":                  {"invoice", "paid"},
		"price.created":                 {"price", "created"},
		"customer.source.updated":       {"", ""},
		"charge.succeeded":              {"", ""},
	} {
		o, a := objectOfEvent(typ)
		if o != want[0] || (o != "" && a != want[1]) {
			t.Errorf("objectOfEvent(%q) = %q, %q; want %q, %q", typ, o, a, want[0], want[1])
		}
	}
}

// TestEventVersionEndOfSecond: without a stamped version, an event outranks any fetch that
// started within the second it was created in.
func TestEventVersionEndOfSecond(t *testing.T) {
	ev := &stripe.Event{Created: 1_700_000_000, Data: &stripe.EventData{Object: map[string]any{"id": "cus_1"}}}
	fetchedWithin := time.Unix(1_700_000_000, 999_000_000).UnixNano()
	fetchedAfter := time.Unix(1_700_000_001, 0).UnixNano()
	if v := eventVersion(ev); v <= fetchedWithin || v >= fetchedAfter {
		t.Fatalf("eventVersion = %d, want within (%d, %d)", v, fetchedWithin, fetchedAfter)
	}
}

// TestGetMany: one batch read per lower tier for whatever the tier above missed, one batch
// backfill of L2 from L3, the origin for the rest, and answers in the order asked.
func TestGetMany(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	l1 := mustL1(t, L1Config{})
	l2, l3 := newFakeTier("l2"), newFakeTier("l3")
	origin := &fakeOrigin{objects: map[string][]byte{"customer:cus_d": []byte(`{"id":"cus_d"}`)}}
	c := newTestCache(t, Config{L1: l1, L2: l2, L3: l3, Origin: origin, Now: clk.Now})
	exp := clk.Now().Add(time.Hour)
	l1.SetIfNewer("customer:cus_a", Entry{Value: []byte(`{"id":"cus_a"}`), Version: 1, ExpiresAt: exp}, clk.Now())
	_, _ = l2.SetIfNewer(context.Background(), "customer:cus_b", Entry{Value: []byte(`{"id":"cus_b"}`), Version: 1, ExpiresAt: exp})
	_, _ = l3.SetIfNewer(context.Background(), "customer:cus_c", Entry{Value: []byte(`{"id":"cus_c"}`), Version: 1, ExpiresAt: exp})
	l2.batches.Store(0)
	l3.batches.Store(0)
	ids := []string{"cus_a", "cus_b", "cus_c", "cus_d", "cus_e"}
	refs := make([]Ref, len(ids))
	for i, id := range ids {
		refs[i] = Ref{Object: ObjectCustomer, ID: id}
	}
	res, errs := c.GetMany(context.Background(), refs)
	want := []TierID{TierL1, TierL2, TierL3, TierOrigin, TierOrigin}
	for i := range refs {
		if res[i].Tier != want[i] {
			t.Errorf("%s served by %s, want %s", ids[i], res[i].Tier, want[i])
		}
		if i < 4 && (errs[i] != nil || string(res[i].Value) != `{"id":"`+ids[i]+`"}`) {
			t.Errorf("%s = %s, %v", ids[i], res[i].Value, errs[i])
		}
	}
	if !errors.Is(errs[4], ErrNotFound) {
		t.Errorf("cus_e error = %v, want ErrNotFound", errs[4])
	}
	if got := l2.batches.Load(); got != 2 { // one GetMulti, one SetMulti (the backfill of cus_c)
		t.Errorf("L2 batch calls = %d, want 2", got)
	}
	if got := l3.batches.Load(); got != 1 {
		t.Errorf("L3 batch calls = %d, want 1", got)
	}
	// The backfill lives the shorter of L2's TTL (5m default) and the L3 entry's hour left.
	if e, ok := l2.peek("customer:cus_c"); !ok || !e.ExpiresAt.Equal(clk.Now().Add(5*time.Minute)) {
		t.Errorf("cus_c backfilled to L2 as %+v, want expiry at now+5m", e)
	}
	if n := origin.calls.Load(); n != 2 {
		t.Errorf("origin calls = %d, want 2 (cus_d and cus_e)", n)
	}
	// Now every answer is in L1.
	res, _ = c.GetMany(context.Background(), refs)
	for i := range refs {
		if res[i].Tier != TierL1 {
			t.Errorf("second GetMany: %s from %s, want l1", ids[i], res[i].Tier)
		}
	}
}

// TestTTLJitter: L2 and L3 expiries spread by ±TTLJitter, also when L2's TTL equals L1's;
// L1's own expiry is not jittered.
func TestTTLJitter(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	origin := &fakeOrigin{objects: map[string][]byte{}}
	for i := 0; i < 50; i++ {
		origin.set(fmt.Sprintf("customer:cus_%d", i), `{}`)
	}
	l1 := mustL1(t, L1Config{TTL: time.Minute})
	l2 := newFakeTier("l2")
	c := newTestCache(t, Config{L1: l1, L2: l2, Origin: origin, L2TTL: time.Minute, TTLJitter: 0.2, Now: clk.Now})
	l2Expiries := map[time.Time]bool{}
	for i := 0; i < 50; i++ {
		key := fmt.Sprintf("customer:cus_%d", i)
		if _, err := c.GetKey(context.Background(), key); err != nil {
			t.Fatal(err)
		}
		e, _ := l2.peek(key)
		if d := e.ExpiresAt.Sub(clk.Now()); d < 48*time.Second || d > 72*time.Second {
			t.Fatalf("L2 expiry %v from now, want within 1m ±20%%", d)
		}
		l2Expiries[e.ExpiresAt] = true
		if e1, ok := l1.Get(key, clk.Now()); !ok || !e1.ExpiresAt.Equal(clk.Now().Add(time.Minute)) {
			t.Fatalf("L1 expiry %v, want exactly now+1m", e1.ExpiresAt)
		}
	}
	if len(l2Expiries) < 40 {
		t.Fatalf("only %d distinct L2 expiries for 50 keys: no jitter", len(l2Expiries))
	}
}

// TestRandDrivesJitter: Config.Rand is the jitter's source, so two caches given the same
// seeded source store the same expiries, and a draw of 0.75 with jitter 0.2 stretches
// the TTL by exactly 10%.
func TestRandDrivesJitter(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	expiries := func(rnd func() float64) []time.Time {
		origin := &fakeOrigin{objects: map[string][]byte{}}
		l2 := newFakeTier("l2")
		c := newTestCache(t, Config{L2: l2, Origin: origin, L2TTL: time.Minute, TTLJitter: 0.2, Now: clk.Now, Rand: rnd})
		var out []time.Time
		for i := range 20 {
			key := fmt.Sprintf("customer:cus_%d", i)
			origin.set(key, `{}`)
			if _, err := c.GetKey(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			e, _ := l2.peek(key)
			out = append(out, e.ExpiresAt)
		}
		return out
	}
	seeded := func() func() float64 { return rand.New(rand.NewPCG(1, 2)).Float64 }
	a, b := expiries(seeded()), expiries(seeded())
	if !slices.Equal(a, b) {
		t.Errorf("same seeded Rand, different expiries:\n%v\n%v", a, b)
	}
	for _, e := range expiries(func() float64 { return 0.75 }) {
		if d := e.Sub(clk.Now()); d != 66*time.Second {
			t.Fatalf("L2 expiry %v from now with a draw of 0.75, want 66s", d)
		}
	}
}
