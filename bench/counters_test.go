package bench_test

import (
	"fmt"
	"testing"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// checkCounters asserts the identities the bench package documents between a result's
// counters (see its package doc, "Counters"). Every run the bench tests make goes through
// it: the harness tests' run helper, runFleet, and the tests and benchmarks that call
// bench.Run themselves.
func checkCounters(tb testing.TB, s *scenarios.Scenario, res *reports.Result) {
	tb.Helper()
	for _, p := range counterProblems(s, res) {
		tb.Errorf("counters: %s", p)
	}
}

// counterProblems lists the identities res breaks.
func counterProblems(s *scenarios.Scenario, res *reports.Result) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	q, o := res.Requests, res.Origin
	if q.Gets+q.Updates != q.Total || q.OK+q.Errors != q.Total {
		fail("requests %+v: gets + updates and ok + errors must both be total", q)
	}
	// Reads that completed their lookup: every read but some of the failed ones.
	inRange := func(what string, n int64) {
		if n > q.Gets || n < q.Gets-q.Errors {
			fail("%s = %d, want between gets - errors = %d and gets = %d", what, n, q.Gets-q.Errors, q.Gets)
		}
	}

	// Tiers: misses at one enabled tier are the lookups at the next; the last tier's
	// misses are the reads that fetched or took another read's fetch.
	tiers := []struct {
		name string
		t    reports.TierStats
	}{{"l1", res.Tiers.L1}, {"l2", res.Tiers.L2}, {"l3", res.Tiers.L3}}
	var prev *reports.TierStats
	prevName := ""
	var hits int64
	for i := range tiers {
		t := &tiers[i].t
		if !t.Enabled {
			if t.Hits != 0 || t.Misses != 0 {
				fail("%s is off but counts %d hits, %d misses", tiers[i].name, t.Hits, t.Misses)
			}
			continue
		}
		if t.Hits < 0 || t.Misses < 0 || t.Coalesced < 0 || t.Coalesced > t.Hits+t.Misses {
			fail("%s %+v: negative counts, or more coalesced lookups than lookups", tiers[i].name, *t)
		}
		if prev == nil {
			inRange(tiers[i].name+" lookups (hits + misses)", t.Hits+t.Misses)
			if t.Coalesced != 0 && tiers[i].name == "l1" {
				fail("l1 counts %d coalesced lookups: every read looks L1 up itself", t.Coalesced)
			}
		} else if prev.Misses != t.Hits+t.Misses {
			fail("%s misses %d != %s lookups (hits %d + misses %d)", prevName, prev.Misses, tiers[i].name, t.Hits, t.Misses)
		}
		hits += t.Hits
		prev, prevName = t, tiers[i].name
	}
	if prev != nil {
		if prev.Misses != o.Fetches+o.Coalesced {
			fail("%s (the last tier) misses %d != origin fetches %d + coalesced %d", prevName, prev.Misses, o.Fetches, o.Coalesced)
		}
	} else {
		inRange("origin fetches + coalesced (no tier)", o.Fetches+o.Coalesced)
	}

	// The origin: calls saved are the reads answered without a fetch of their own; each
	// fetch makes one call plus its retries, unless it failed before its first.
	if o.CallsSaved != hits+o.Coalesced {
		fail("calls_saved %d != tier hits %d + coalesced %d", o.CallsSaved, hits, o.Coalesced)
	}
	inRange("calls_saved + origin fetches", o.CallsSaved+o.Fetches)
	if o.Calls > o.Fetches+o.Retries || o.Calls < o.Fetches+o.Retries-o.Errors {
		fail("origin calls %d, want fetches %d + retries %d, less at most the %d failed fetches", o.Calls, o.Fetches, o.Retries, o.Errors)
	}
	if o.RateLimited > o.Calls || o.Errors > o.Fetches || o.Errors > q.Errors {
		fail("origin %+v: more 429s than calls, or more failed fetches than fetches or failed requests (%d)", o, q.Errors)
	}

	// Refreshes are counted apart, and only when something could start one.
	if r := o.Refreshes; r != nil {
		if r.Fetches > r.Done || r.Errors > r.Done || r.Calls < r.Fetches-r.Errors || r.RateLimited > r.Calls ||
			r.Stale < 0 || r.Early < 0 {
			fail("refreshes %+v do not add up", *r)
		}
		if s.Cache.XFetchBeta == 0 && r.Early != 0 {
			fail("%d early refreshes with XFetch off", r.Early)
		}
	} else if s.Cache.SWR > 0 || s.Cache.XFetchBeta > 0 {
		fail("no origin.refreshes block, with stale-while-revalidate or XFetch on")
	}

	// Consistency: checked reads are answered reads.
	c := res.Consistency
	if c.StaleReads > c.ReadsChecked || c.ReadsChecked > q.Gets-q.Errors-q.NotFound {
		fail("consistency %+v: stale <= checked <= answered reads (%d) broken", c, q.Gets-q.Errors-q.NotFound)
	}

	// Lambda: every read either ran in an environment, was throttled, or failed its cold
	// start; updates do not go through the fleet.
	if l := res.Lambda; l != nil {
		if n := l.Invocations + l.Throttled; n > q.Gets || n < q.Gets-q.Errors {
			fail("lambda invocations %d + throttled %d, want between gets - errors %d and gets %d", l.Invocations, l.Throttled, q.Gets-q.Errors, q.Gets)
		}
		if l.Throttled > q.Errors || l.ColdStarts > l.Invocations || l.InitBilledMS > l.BilledMS || l.ProvisionedBilledMS > l.BilledMS {
			fail("lambda %+v: throttles beyond errors (%d), cold starts beyond invocations, or parts beyond billed_ms", *l, q.Errors)
		}
	}

	// The timeline adds up to the totals.
	var tl reports.Second
	for _, sec := range res.Timeline {
		tl.Requests += sec.Requests
		tl.Errors += sec.Errors
		tl.StaleReads += sec.StaleReads
		tl.OriginCalls += sec.OriginCalls
		tl.RateLimited += sec.RateLimited
		tl.ColdStarts += sec.ColdStarts
	}
	wantCalls, wantLimited := o.Calls, o.RateLimited
	if o.Refreshes != nil {
		wantCalls += o.Refreshes.Calls
		wantLimited += o.Refreshes.RateLimited
	}
	if tl.Requests != q.Total || tl.Errors != q.Errors || tl.StaleReads != c.StaleReads || tl.OriginCalls != wantCalls || tl.RateLimited != wantLimited {
		fail("timeline sums requests %d, errors %d, stale %d, origin calls %d, 429s %d; totals %d, %d, %d, %d (reads' and refreshes'), %d",
			tl.Requests, tl.Errors, tl.StaleReads, tl.OriginCalls, tl.RateLimited, q.Total, q.Errors, c.StaleReads, wantCalls, wantLimited)
	}
	if res.Lambda != nil && tl.ColdStarts != res.Lambda.ColdStarts {
		fail("timeline cold starts %d != lambda.cold_starts %d", tl.ColdStarts, res.Lambda.ColdStarts)
	}

	// The servers' own counters: present where the service reports them, never negative.
	if sv := res.Servers; sv != nil {
		if st := sv.Stripe; st != nil && (st.Reads < 0 || st.Reads > st.Requests) {
			fail("servers.stripe %+v: reads must be within requests", *st)
		}
		if d := sv.DynamoDB; d != nil && (d.ConsumedRCU < 0 || d.ConsumedWCU < 0) {
			fail("servers.dynamodb %+v negative", *d)
		}
		if sv.DynamoDB != nil && !s.Cache.L3.Enabled {
			fail("servers.dynamodb reported with L3 off")
		}
		if r := sv.Redis; r != nil {
			for name, v := range map[string]*int64{"keyspace_hits": r.KeyspaceHits, "keyspace_misses": r.KeyspaceMisses,
				"evicted_keys": r.EvictedKeys, "expired_keys": r.ExpiredKeys, "commands": r.Commands, "used_memory_peak_bytes": r.UsedMemoryPeakBytes} {
				if v != nil && *v < 0 {
					fail("servers.redis.%s = %d", name, *v)
				}
			}
		}
	}
	return bad
}

// TestCountersAttributedByRequest is 200 closed-loop callers on one key with L1 only and
// no warm-up, run three times: every L1 miss is a read that fetched or took that fetch,
// whenever the fetch happened relative to the measured part's start. Counting the origin
// by time once reported 200 L1 misses beside 0 origin calls.
func TestCountersAttributedByRequest(t *testing.T) {
	for i := 1; i <= 3; i++ {
		t.Run(fmt.Sprint("run", i), func(t *testing.T) {
			sc := parse(t, `
name: closed-one-key
warmup: 0s
duration: 2s
arrival: {model: closed, concurrency: 200}
keys: {count: 1}
cache:
  l2: {enabled: false}
  l3: {enabled: false}
lambda: {enabled: false}
`)
			res := run(t, sc, bench.Options{}) // run checks every identity
			l1, o := res.Tiers.L1, res.Origin
			t.Logf("%d reads: L1 %d hits, %d misses; origin %d fetches, %d coalesced, %d calls, %d saved",
				res.Requests.Gets, l1.Hits, l1.Misses, o.Fetches, o.Coalesced, o.Calls, o.CallsSaved)
			// Usually one fetch; a read that missed L1 just before the fill and reached
			// the coalescing after the first lookup ended makes a second (seen once in
			// CI: 121 misses, 2 fetches, 119 coalesced), which the identities run checks
			// still account for.
			if l1.Misses == 0 || o.Fetches < 1 || o.Fetches > 3 || o.Calls < o.Fetches {
				t.Errorf("L1 misses %d, origin fetches %d, calls %d: the one key's first reads miss, and one of them (rarely a late second) fetches it", l1.Misses, o.Fetches, o.Calls)
			}
		})
	}
}

// TestCounterProblemsCatches feeds counterProblems results that break each identity, so
// the check that guards every run is known to bite.
func TestCounterProblemsCatches(t *testing.T) {
	sc := parse(t, "name: c\nduration: 1s\ncache: {l2: {enabled: true}, l3: {enabled: false}}\nlambda: {enabled: false}\n")
	good := func() *reports.Result {
		return &reports.Result{
			Requests: reports.Requests{Total: 10, OK: 10, Gets: 10},
			Tiers: reports.Tiers{
				L1: reports.TierStats{Enabled: true, Hits: 6, Misses: 4},
				L2: reports.TierStats{Enabled: true, Hits: 1, Misses: 3},
			},
			Origin:   reports.Origin{Calls: 2, Fetches: 2, Coalesced: 1, CallsSaved: 8},
			Timeline: []reports.Second{{Requests: 10, OriginCalls: 2}},
		}
	}
	if p := counterProblems(sc, good()); len(p) != 0 {
		t.Fatalf("a consistent result: %v", p)
	}
	for name, spoil := range map[string]func(*reports.Result){
		"l1 misses != l2 lookups": func(r *reports.Result) { r.Tiers.L2.Misses++ },
		"last misses != fetches":  func(r *reports.Result) { r.Origin.Fetches = 0; r.Origin.Calls = 0; r.Timeline[0].OriginCalls = 0 },
		"calls saved":             func(r *reports.Result) { r.Origin.CallsSaved = 10 },
		"calls beyond retries":    func(r *reports.Result) { r.Origin.Calls = 5; r.Timeline[0].OriginCalls = 5 },
		"timeline":                func(r *reports.Result) { r.Timeline[0].OriginCalls = 7 },
		"l1 lookups beyond reads": func(r *reports.Result) { r.Tiers.L1.Hits = 20 },
		"lambda invocations":      func(r *reports.Result) { r.Lambda = &reports.Lambda{Invocations: 3} },
		"negative server counter": func(r *reports.Result) {
			n := int64(-1)
			r.Servers = &reports.Servers{Redis: &reports.RedisServer{KeyspaceHits: &n}}
		},
		"stale beyond checked":        func(r *reports.Result) { r.Consistency.StaleReads = 1 },
		"more coalesced than lookups": func(r *reports.Result) { r.Tiers.L2.Coalesced = 9 },
	} {
		r := good()
		spoil(r)
		if p := counterProblems(sc, r); len(p) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
}
