package cachecore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// tally counts traces the way a caller attributing work to reads would: per tier, the
// lookups and misses; at the origin, fetches, shared fetches, and calls.
type tally struct {
	lookups, misses, hits [3]int
	joined                [3]int // lookups below L1 a joined read took from another's
	fetched, shared       int
	calls, retries, r429  int
	failed                int
	incomplete            int
}

func (t *tally) add(res Result, enabled [3]bool) {
	tr := res.Trace
	if !tr.Complete(res.Tier) {
		t.incomplete++
		return
	}
	for i, on := range enabled {
		if !on {
			continue
		}
		id := TierL1 + TierID(i)
		t.lookups[i]++
		if tr.Joined && id != TierL1 {
			t.joined[i]++
		}
		if tr.Missed.Has(id) {
			t.misses[i]++
			continue
		}
		t.hits[i]++
		break
	}
	switch tr.Origin {
	case OriginFetched:
		t.fetched++
	case OriginShared:
		t.shared++
	}
	t.calls += int(tr.Calls)
	t.retries += int(tr.Retries)
	t.r429 += int(tr.RateLimited)
	if tr.OriginFailed {
		t.failed++
	}
}

// check asserts the identities Trace documents: misses at one tier are lookups at the
// next; misses at the last are fetched + shared.
func (t *tally) check(tb testing.TB, enabled [3]bool) {
	tb.Helper()
	last := -1
	for i, on := range enabled {
		if !on {
			continue
		}
		if last >= 0 && t.misses[last] != t.lookups[i] {
			tb.Errorf("tier %d misses %d != tier %d lookups %d", last+1, t.misses[last], i+1, t.lookups[i])
		}
		last = i
	}
	if last >= 0 && t.misses[last] != t.fetched+t.shared {
		tb.Errorf("last tier misses %d != fetched %d + shared %d", t.misses[last], t.fetched, t.shared)
	}
}

// TestTraceCoalescedReads: 200 readers missing on one key through L1, L2 and L3 share one
// lookup; exactly one read counts its fetch, the others took it (OriginShared, Joined),
// and the counts by trace satisfy the identities.
func TestTraceCoalescedReads(t *testing.T) {
	origin := &fakeOrigin{objects: map[string][]byte{"customer:cus_1": []byte(`{"id":"cus_1"}`)}, gate: make(chan struct{})}
	l2, l3 := newFakeTier("l2"), newFakeTier("l3")
	c := newTestCache(t, Config{L1: mustL1(t, L1Config{Policy: "lru"}), L2: l2, L3: l3, Origin: origin})
	const n = 200
	results := make([]Result, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Get(context.Background(), Ref{Object: ObjectCustomer, ID: "cus_1"})
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		}()
	}
	time.Sleep(50 * time.Millisecond) // let the readers reach the flight
	close(origin.gate)
	wg.Wait()
	enabled := [3]bool{true, true, true}
	var tl tally
	for _, r := range results {
		tl.add(r, enabled)
	}
	t.Logf("%+v", tl)
	tl.check(t, enabled)
	if tl.fetched != 1 || tl.calls != 1 || origin.calls.Load() != 1 {
		t.Errorf("fetched %d, calls %d by trace, origin saw %d: want exactly one fetch, counted once", tl.fetched, tl.calls, origin.calls.Load())
	}
	if tl.hits[0]+tl.shared != n-1 {
		t.Errorf("L1 hits %d + shared %d, want %d", tl.hits[0], tl.shared, n-1)
	}
	if s := c.Stats(); uint64(tl.shared) > s.Coalesced || tl.joined[1] != int(s.Coalesced) {
		t.Errorf("shared %d, joined L2 lookups %d; the cache counted %d coalesced", tl.shared, tl.joined[1], s.Coalesced)
	}
	// Each tier was really looked up once: the joined lookups were the one lookup's.
	if got := tl.lookups[1] - tl.joined[1]; got != 1 || l2.calls.Load() < 1 {
		t.Errorf("L2 lookups made by reads %d (tier calls %d), want 1", got, l2.calls.Load())
	}
}

// TestTraceTiers checks the trace of a read answered by each tier, of a read through a
// failing tier, and of a failed origin fetch.
func TestTraceTiers(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	e := Entry{Value: []byte(`{"id":"cus_1"}`), Version: 1, FetchedAt: now, ExpiresAt: now.Add(time.Hour)}
	all := TierSet(0).With(TierL1).With(TierL2).With(TierL3)
	cases := []struct {
		name    string
		setup   func(l2, l3 *fakeTier, o *fakeOrigin)
		tier    TierID
		missed  TierSet
		origin  OriginUse
		failed  bool
		wantErr bool
		down    TierSet // the lookups that failed (Trace.Failed)
	}{
		{"l2", func(l2, _ *fakeTier, _ *fakeOrigin) { l2.m["customer:cus_1"] = e }, TierL2, TierSet(0).With(TierL1), OriginUnused, false, false, 0},
		{"l3", func(_, l3 *fakeTier, _ *fakeOrigin) { l3.m["customer:cus_1"] = e }, TierL3, TierSet(0).With(TierL1).With(TierL2), OriginUnused, false, false, 0},
		{"l2 down", func(l2, l3 *fakeTier, _ *fakeOrigin) { l2.fail.Store(true); l3.m["customer:cus_1"] = e }, TierL3, TierSet(0).With(TierL1).With(TierL2), OriginUnused, false, false, TierSet(0).With(TierL2)},
		{"both down", func(l2, l3 *fakeTier, o *fakeOrigin) {
			l2.fail.Store(true)
			l3.fail.Store(true)
			o.set("customer:cus_1", `{"id":"cus_1"}`)
		}, TierOrigin, all, OriginFetched, false, false, TierSet(0).With(TierL2).With(TierL3)},
		{"origin", func(_, _ *fakeTier, o *fakeOrigin) { o.set("customer:cus_1", `{"id":"cus_1"}`) }, TierOrigin, all, OriginFetched, false, false, 0},
		{"not found", func(*fakeTier, *fakeTier, *fakeOrigin) {}, TierOrigin, all, OriginFetched, false, true, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := &fakeOrigin{objects: map[string][]byte{}}
			l2, l3 := newFakeTier("l2"), newFakeTier("l3")
			tc.setup(l2, l3, o)
			c := newTestCache(t, Config{L1: mustL1(t, L1Config{Policy: "lru"}), L2: l2, L3: l3, Origin: o, NegativeTTL: time.Minute})
			res, err := c.Get(ctx, Ref{Object: ObjectCustomer, ID: "cus_1"})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			tr := res.Trace
			if res.Tier != tc.tier || tr.Missed != tc.missed || tr.Origin != tc.origin || tr.OriginFailed != tc.failed || tr.Joined || tr.Failed != tc.down {
				t.Fatalf("tier %s trace %+v; want tier %s missed %b failed %b origin %d", res.Tier, tr, tc.tier, tc.missed, tc.down, tc.origin)
			}
			if tc.origin == OriginFetched && tr.Calls != 1 {
				t.Errorf("calls = %d, want 1 for a plain Origin", tr.Calls)
			}
			// The second read is an L1 hit with an empty trace.
			res, _ = c.Get(ctx, Ref{Object: ObjectCustomer, ID: "cus_1"})
			if res.Tier != TierL1 || res.Trace != (Trace{}) {
				t.Errorf("second read: tier %s trace %+v, want an L1 hit and no trace", res.Tier, res.Trace)
			}
		})
	}
}

// reportingOrigin fails with 429s and reports what each fetch took.
type reportingOrigin struct {
	fakeOrigin
	info FetchInfo
	err  error
}

func (o *reportingOrigin) FetchReport(ctx context.Context, ref Ref) ([]byte, int64, bool, FetchInfo, error) {
	if o.err != nil {
		o.calls.Add(1)
		return nil, 0, false, o.info, o.err
	}
	v, ver, ok, err := o.Fetch(ctx, ref)
	return v, ver, ok, o.info, err
}

// TestTraceOriginReport: a ReportingOrigin's calls, retries and 429s reach the trace of
// the read that fetched, and a failed fetch says so, with the error returned.
func TestTraceOriginReport(t *testing.T) {
	o := &reportingOrigin{fakeOrigin: fakeOrigin{objects: map[string][]byte{}}, info: FetchInfo{Calls: 4, Retries: 3, RateLimited: 4},
		err: errors.New("429 four times")}
	c := newTestCache(t, Config{L1: mustL1(t, L1Config{Policy: "lru"}), Origin: o})
	res, err := c.Get(context.Background(), Ref{Object: ObjectCustomer, ID: "cus_1"})
	if err == nil {
		t.Fatal("want the origin's error")
	}
	want := Trace{Missed: TierSet(0).With(TierL1), Origin: OriginFetched, Calls: 4, Retries: 3, RateLimited: 4, OriginFailed: true}
	if res.Trace != want || !res.Trace.Complete(res.Tier) {
		t.Errorf("trace %+v, want %+v (complete)", res.Trace, want)
	}
}

// TestTraceRefreshCountedApart: a stale-while-revalidate refresh is no read's: the stale
// read's trace shows no origin use, and Stats.Refresh counts the refresh's fetch.
func TestTraceRefreshCountedApart(t *testing.T) {
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	origin := &fakeOrigin{objects: map[string][]byte{"price:price_1": []byte(`{"v":1}`)}}
	c := newTestCache(t, Config{L1: mustL1(t, L1Config{TTL: 10 * time.Second}), Origin: origin,
		StaleWhileRevalidate: time.Minute, Now: clk.Now})
	ref := Ref{Object: ObjectPrice, ID: "price_1"}
	if res, err := c.Get(context.Background(), ref); err != nil || res.Trace.Origin != OriginFetched {
		t.Fatalf("first read: %+v %v", res, err)
	}
	clk.Add(15 * time.Second)
	res, err := c.Get(context.Background(), ref)
	if err != nil || !res.Stale || res.Trace != (Trace{}) {
		t.Fatalf("stale read: %+v %v; want a stale L1 hit with an empty trace", res, err)
	}
	c.bg.Wait()
	s := c.Stats()
	if s.Refresh.Done != 1 || s.Refresh.Fetches != 1 || s.Refresh.Calls != 1 || s.BackgroundRefreshes != 1 || s.OriginFetches != 2 {
		t.Errorf("stats %+v: want one refresh, with one fetch of one call, beside the read's fetch", s.Refresh)
	}
}

// TestTraceAbandoned: a read whose context ends while it waits on a lookup has an
// incomplete trace; the lookup counts for a reader that takes its result.
func TestTraceAbandoned(t *testing.T) {
	origin := &fakeOrigin{objects: map[string][]byte{"customer:cus_1": []byte(`{"id":"cus_1"}`)}, gate: make(chan struct{})}
	c := newTestCache(t, Config{Origin: origin})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	res, err := c.Get(ctx, Ref{Object: ObjectCustomer, ID: "cus_1"})
	if !errors.Is(err, context.DeadlineExceeded) || res.Trace.Complete(res.Tier) {
		t.Fatalf("abandoned read: %+v %v; want the deadline and an incomplete trace", res, err)
	}
	done := make(chan Result)
	go func() {
		r, _ := c.Get(context.Background(), Ref{Object: ObjectCustomer, ID: "cus_1"})
		done <- r
	}()
	time.Sleep(20 * time.Millisecond)
	close(origin.gate)
	r := <-done
	if r.Trace.Origin != OriginFetched || r.Trace.Calls != 1 {
		t.Errorf("the reader that took the lookup: %+v, want the fetch counted for it", r.Trace)
	}
}

// TestTierSet covers TierSet's bounds.
func TestTierSet(t *testing.T) {
	s := TierSet(0).With(TierL1).With(TierL3).With(TierOrigin).With(TierNone)
	for id, want := range map[TierID]bool{TierNone: false, TierL1: true, TierL2: false, TierL3: true, TierOrigin: false} {
		if s.Has(id) != want {
			t.Errorf("Has(%s) = %v, want %v", id, s.Has(id), want)
		}
	}
}

// TestTraceManyFailedBatch: when a tier's batch read fails, every read of the batch has
// the tier in Failed (and Missed), and the tier below still answers.
func TestTraceManyFailedBatch(t *testing.T) {
	now := time.Now()
	l2, l3 := newFakeTier("l2"), newFakeTier("l3")
	l2.fail.Store(true)
	for _, id := range []string{"cus_a", "cus_b"} {
		_, _ = l3.SetIfNewer(context.Background(), "customer:"+id, Entry{Value: []byte(`{"id":"` + id + `"}`), Version: 1, FetchedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	c := newTestCache(t, Config{L1: mustL1(t, L1Config{}), L2: l2, L3: l3, Origin: &fakeOrigin{objects: map[string][]byte{}}})
	res, errs := c.GetMany(context.Background(), []Ref{{Object: ObjectCustomer, ID: "cus_a"}, {Object: ObjectCustomer, ID: "cus_b"}})
	for i, r := range res {
		if errs[i] != nil || r.Tier != TierL3 {
			t.Fatalf("read %d: tier %s, err %v; want L3", i, r.Tier, errs[i])
		}
		if want := TierSet(0).With(TierL2); r.Trace.Failed != want || !r.Trace.Missed.Has(TierL2) {
			t.Errorf("read %d: trace %+v, want L2 failed and missed", i, r.Trace)
		}
	}
}
