package reports

import (
	"encoding/json"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// encodedHistogram records n latencies (µs) drawn from a log-normal around median µs,
// with a tail of slow requests, and returns the histogram encoded as result.json holds it.
func encodedHistogram(t testing.TB, seed uint64, n int, median float64) string {
	t.Helper()
	h := hdrhistogram.New(1, 60_000_000, 3)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < n; i++ {
		v := median * math.Exp(0.5*rng.NormFloat64())
		if i%100 == 0 {
			v *= 8 // the slow tail: a miss all the way to Stripe
		}
		if err := h.RecordValue(int64(v)); err != nil {
			t.Fatalf("record %v: %v", v, err)
		}
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatalf("encode histogram: %v", err)
	}
	return string(b)
}

// histogramWithP99 returns an encoded histogram of 1,000 latencies whose p99 is p99 µs
// (to the histogram's precision): 980 at half of it and 20 at it. Merging such histograms
// of several runs gives a pooled p99 among the runs' own.
func histogramWithP99(t testing.TB, p99 float64) string {
	t.Helper()
	h := hdrhistogram.New(1, 60_000_000, 3)
	if err := h.RecordValues(int64(p99/2), 980); err != nil {
		t.Fatal(err)
	}
	if err := h.RecordValues(int64(p99), 20); err != nil {
		t.Fatal(err)
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fixtureResult is a complete, deterministic run: every section of the reports has data,
// including a fault window, a failed threshold, cost and a Lambda fleet.
func fixtureResult(t testing.TB) *Result {
	t.Helper()
	cfg, _ := json.Marshal(map[string]any{"name": "zipf-read-heavy", "seed": 42, "duration": "30s"})
	r := &Result{
		Schema: Schema,
		Scenario: ScenarioRef{Name: "zipf-read-heavy", File: "scenarios/zipf-read-heavy.yaml", Seed: 42,
			Config: cfg},
		Environment: Environment{
			Provider: "local",
			Redis:    "redis-server 7.0.15 (local process, 127.0.0.1)",
			DynamoDB: "DynamoDB Local 1.25.1 (local process, 127.0.0.1)",
			Stripe:   "stripe-mock v0.203.0 + overlay (embedded)",
			Network:  map[string]string{"redis": "aws-same-az", "dynamodb": "aws-in-region", "stripe": "stripe-internet"},
		},
		StartedAt: "2026-11-23T10:00:00Z",
		DurationS: 30, WarmupS: 5,
		Requests: Requests{Total: 60000, OK: 59950, Errors: 50, Gets: 57000, Updates: 3000, NotFound: 12, RatePerS: 2000,
			ErrorKinds: map[string]int64{"redis tier: get: dial tcp: connection refused": 40, "stripe: 429 too many requests": 10}},
		LatencyUS:       Latency{P50: 850, P90: 2400, P99: 9800, P999: 41000, Max: 120000, Mean: 1300, Count: 57000},
		ServiceUS:       Latency{P50: 800, P90: 2100, P99: 7900, P999: 30000, Max: 110000, Mean: 1150, Count: 57000},
		UpdateLatencyUS: &Latency{P50: 1500, P90: 3000, P99: 12000, P999: 20000, Max: 25000, Mean: 1800, Count: 3000},
		Tiers: Tiers{
			L1: TierStats{Enabled: true, Hits: 45600, Misses: 11400, HitRatio: 0.8},
			L2: TierStats{Enabled: true, Hits: 9120, Misses: 2280, HitRatio: 0.8},
			L3: TierStats{Enabled: false},
		},
		Origin:      Origin{Calls: 2280, RateLimited: 10, Retries: 12, Errors: 2, CallsSaved: 54720, RateLimitShare: 0.76, OverlayRateLimited: 10},
		Consistency: Consistency{ReadsChecked: 57000, StaleReads: 114, StaleRatio: 0.002, MaxStalenessMS: 1800, P99StalenessMS: 950},
		Webhooks:    &Webhooks{Emitted: 3000, Delivered: 2990, Duplicated: 30, Reordered: 15, Applied: 2960, Rejected: 30},
		Lambda: &Lambda{Invocations: 60000, ColdStarts: 25, PeakEnvironments: 25, BilledMS: 90000, InitBilledMS: 5000,
			GBSeconds: 45, MemoryMB: 512, Arch: "arm64", Recycled: 3,
			CPUMS: 31200, MeanConcurrency: 1.5, PeakConcurrency: 9, ProvisionedConcurrency: 4, ProvisionedBilledMS: 41000},
		CostUSD: &Cost{LambdaCompute: 0.0006, LambdaRequests: 0.012, ElastiCache: 0.0011, DynamoDB: 0.0004, Total: 0.0141,
			PerMillionRequests: 0.235, MonthlyRequests: 100e6, Monthly: 23.5, Pricing: "AWS us-east-1, 2026-11"},
		Generator: Generator{Model: "constant", Scheduled: 60000, LateOver1ms: 30, LateRatio: 0.0005, LagP99US: 300, LagMaxUS: 2500, PeakWorkers: 64},
		Faults:    []Fault{{Target: "redis", Kind: "down", AtS: 10, ForS: 5, StartS: 10.02, EndS: 15.03}},
		Thresholds: []Threshold{
			{Expr: "p99 < 50ms", OK: true, Value: 9800, Unit: "us"},
			{Expr: "l1.hit_ratio > 0.9", OK: false, Value: 0.8, Unit: "ratio"},
		},
		Histograms: Histograms{
			Latency: encodedHistogram(t, 1, 57000, 850),
			Service: encodedHistogram(t, 2, 57000, 780),
		},
		Notes: []string{"network profile stripe-internet: latency only, no packet loss"},
	}
	for s := 0; s < 30; s++ {
		sec := Second{TS: s, Requests: 2000, P50US: 850 + float64(s%3)*10, P99US: 9000 + float64(s%5)*300,
			L1HitRatio: 0.8, L2HitRatio: 0.8, Errors: 0, OriginCalls: 76, StaleReads: 4}
		if s < 3 { // cold caches
			sec.L1HitRatio, sec.L2HitRatio, sec.OriginCalls = 0.3+0.15*float64(s), 0.4, 400
		}
		if s >= 10 && s < 15 { // Redis is down
			sec.L2HitRatio, sec.Errors, sec.P99US, sec.RateLimited = 0, 8, 40000, 2
		}
		r.Timeline = append(r.Timeline, sec)
	}
	return r
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./reports -run %s -update to create it): %v", t.Name(), err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file; run with -update if the change is intended.\n--- got ---\n%s", path, got)
	}
}
