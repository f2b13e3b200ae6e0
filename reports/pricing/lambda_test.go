package pricing

import (
	"math"
	"strings"
	"testing"
	"time"
)

// cents rounds USD to whole cents, as AWS's examples print them.
func cents(usd float64) int64 { return int64(math.Round(usd * 100)) }

// ms converts a duration in milliseconds, as AWS writes it in REPORT lines, to nanoseconds.
func ms(v float64) int64 { return int64(math.Round(v * 1e6)) }

// TestAWSPublishedExamples reproduces, to the cent, the worked examples of
// https://aws.amazon.com/lambda/pricing/ (US East (N. Virginia), page as checked
// 2026-11-23) and of the AWS News Blog post announcing 1 ms billing. Every figure in want
// is the one AWS prints. Some examples apply the free tier and some do not; each case
// does what its example does.
func TestAWSPublishedExamples(t *testing.T) {
	type want struct {
		onDemand, provisionedCompute, requests, provisioned, ephemeral, total int64 // cents; -1: not published
	}
	tests := []struct {
		name  string
		usage LambdaUsage
		want  want
	}{
		{
			// "Example 1: Mobile application backend": 3M requests, 120 ms, 1536 MB, x86;
			// 540,000 GB-s - 400,000 free = 140,000 x $0.0000166667 = $2.33, 2M x $0.2/M = $0.40,
			// total $2.73 per month.
			name: "pricing page example 1, mobile application backend",
			usage: LambdaUsage{Arch: X86_64, MemoryMB: 1536, Invocations: 3_000_000,
				BilledMS: 3_000_000 * 120, FreeTier: true},
			want: want{onDemand: 233, requests: 40, total: 273},
		},
		{
			// "Example 2: Enriching streaming telemetry with additional metadata": 7.44M
			// messages, 2 s, 1 GB, x86, no free tier: 7.44M x $0.20/M = $1.49,
			// 14.88M GB-s x $0.0000166667 = $248.00, total $249.49.
			name: "pricing page example 2, streaming telemetry",
			usage: LambdaUsage{Arch: X86_64, MemoryMB: 1024, Invocations: 10_000 * 24 * 31,
				BilledMS: 10_000 * 24 * 31 * 2000},
			want: want{onDemand: 24800, requests: 149, total: 24949},
		},
		{
			// "Example 3: Performing ML on customer support tickets": 6M requests, 280 ms,
			// 4096 MB, x86, 2048 MB ephemeral storage: 6,320,000 GB-s x $0.0000166667 =
			// $105.33, 5M x $0.2/M = $1, 2,520,000 GB-s x $0.0000000309 = $0.08, total $106.41.
			name: "pricing page example 3, ML with ephemeral storage",
			usage: LambdaUsage{Arch: X86_64, MemoryMB: 4096, EphemeralStorageMB: 2048,
				Invocations: 6_000_000, BilledMS: 6_000_000 * 280, FreeTier: true},
			want: want{onDemand: 10533, requests: 100, ephemeral: 8, total: 10641},
		},
		{
			// Provisioned Concurrency "Example 1: Mobile application launch": 1536 MB, x86,
			// concurrency 100 for 8 hours serving 500,000 requests of 100 ms, 2.5M more
			// requests of 120 ms on demand: 4.32M GB-s x $0.0000041667 = $18, requests
			// $0.40, 75,000 GB-s x $0.0000097222 = $0.73, 50,000 GB-s x $0.0000166667 =
			// $0.83, total $19.96.
			name: "provisioned concurrency example 1, mobile application launch",
			usage: LambdaUsage{Arch: X86_64, MemoryMB: 1536, Invocations: 3_000_000,
				BilledMS:    500_000*100 + 2_500_000*120,
				Provisioned: &Provisioned{Concurrency: 100, Hours: 8, BilledMS: 500_000 * 100},
				FreeTier:    true},
			want: want{onDemand: 83, provisionedCompute: 73, requests: 40, provisioned: 1800, total: 1996},
		},
		{
			// Provisioned Concurrency "Example 2: Routing customers ... during Cyber
			// Monday": 2M requests of 280 ms at 4096 MB, x86, concurrency 7 for 24 hours:
			// 2,419,200 GB-s x $0.0000041667 = $10.08, 2,240,000 GB-s x $0.0000097222 =
			// $21.78, 2M x $0.2/M = $0.40, total $32.26.
			name: "provisioned concurrency example 2, Cyber Monday",
			usage: LambdaUsage{Arch: X86_64, MemoryMB: 4096, Invocations: 2_000_000,
				BilledMS:    2_000_000 * 280,
				Provisioned: &Provisioned{Concurrency: 7, Hours: 24, BilledMS: 2_000_000 * 280}},
			want: want{onDemand: 0, provisionedCompute: 2178, requests: 40, provisioned: 1008, total: 3226},
		},
		{
			// Durable Functions pricing example, the arm64 one: 1M executions of 32 s in
			// all at 1 GB on Arm, 2 invocations each: 31,600,000 GB-s x $0.0000133334 =
			// $421.34, (2M - 1M free) x $0.20/M = $0.20. (The page's total, $490.46, adds
			// durable-operation charges this model does not have.)
			name: "durable functions example, arm64 compute and requests",
			usage: LambdaUsage{Arch: ARM64, MemoryMB: 1024, Invocations: 2_000_000,
				BilledMS: 1_000_000 * 32_000, FreeTier: true},
			want: want{onDemand: 42134, requests: 20, total: -1},
		},
		{
			// HTTP response streaming example: 3M requests, 500 ms, 1536 MB, x86:
			// 1,850,000 GB-s x $0.0000166667 = $30.83, requests $0.40 (the page's total adds
			// $7.81 of bytes streamed).
			name: "response streaming example, compute and requests",
			usage: LambdaUsage{Arch: X86_64, MemoryMB: 1536, Invocations: 3_000_000,
				BilledMS: 3_000_000 * 500, FreeTier: true},
			want: want{onDemand: 3083, requests: 40, total: -1},
		},
		{
			// Provisioned Mode for ESM "Pricing Example 2" (SQS): 30M invocations of 1 s at
			// 1024 MB, x86, no free tier: 30,000,000 GB-s x $0.0000166667 = $500, 30M x
			// $0.20/M = $6 (the page's total adds $74 of event pollers).
			name: "event source mapping example 2, compute and requests",
			usage: LambdaUsage{Arch: X86_64, MemoryMB: 1024, Invocations: 30_000_000,
				BilledMS: 30_000_000 * 1000},
			want: want{onDemand: 50000, requests: 600, total: -1},
		},
		{
			// https://aws.amazon.com/blogs/aws/new-for-aws-lambda-1ms-billing-granularity-adds-cost-savings/
			// 60M invocations of 28 ms at 1 GB, no free tier: $12 of requests + $28 of
			// duration = $40 (with 100 ms rounding it was $112).
			name: "1 ms billing blog, 60M invocations of 28 ms",
			usage: LambdaUsage{Arch: X86_64, MemoryMB: 1024, Invocations: 60_000_000,
				BilledMS: 60_000_000 * BilledMS(ms(27.55))},
			want: want{onDemand: 2800, requests: 1200, total: 4000},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := LambdaCost(Default(), tc.usage)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got float64, want int64) {
				t.Helper()
				if want >= 0 && cents(got) != want {
					t.Errorf("%s = $%.6f, want $%.2f", what, got, float64(want)/100)
				}
			}
			check("on-demand compute", b.OnDemandComputeUSD, tc.want.onDemand)
			check("provisioned compute", b.ProvisionedComputeUSD, tc.want.provisionedCompute)
			check("requests", b.RequestUSD, tc.want.requests)
			check("provisioned concurrency", b.ProvisionedUSD, tc.want.provisioned)
			check("ephemeral storage", b.EphemeralUSD, tc.want.ephemeral)
			check("total", b.TotalUSD, tc.want.total)
			if sum := b.ComputeUSD + b.RequestUSD + b.ProvisionedUSD + b.EphemeralUSD; math.Abs(sum-b.TotalUSD) > 1e-9 {
				t.Errorf("total %v is not the sum of its parts %v", b.TotalUSD, sum)
			}
		})
	}
}

// TestFreeTierOffByDefault: the mobile backend example without the free tier flag pays
// for all 540,000 GB-s and 3M requests: $9.00 + $0.60.
func TestFreeTierOffByDefault(t *testing.T) {
	b, err := LambdaCost(Default(), LambdaUsage{MemoryMB: 1536, Invocations: 3_000_000, BilledMS: 3_000_000 * 120})
	if err != nil {
		t.Fatal(err)
	}
	if b.GBSeconds != 540_000 {
		t.Errorf("GB-seconds = %v, want 540,000", b.GBSeconds)
	}
	if cents(b.OnDemandComputeUSD) != 900 || cents(b.RequestUSD) != 60 || cents(b.TotalUSD) != 960 {
		t.Errorf("bill = %+v, want compute $9.00, requests $0.60, total $9.60", b)
	}
	if got, want := b.PerMillionUSD, b.TotalUSD/3; math.Abs(got-want) > 1e-9 {
		t.Errorf("per million = %v, want %v", got, want)
	}
}

// powerTuningComputePrice transcribes AWS Lambda Power Tuning's cost of one invocation,
// lambda/utils.js in alexcasalboni/aws-lambda-power-tuning:
//
//	module.exports.computePrice = (minCost, minRAM, value, duration) => {
//	    // it's just proportional to ms (ceiled) and memory value
//	    return Math.ceil(duration) * minCost * (value / minRAM);
//	};
//
// computeTotalCost sums it over the invocations' durations. minCost is the price of 1 ms at
// minRAM = 128 MB, from the baseCosts of template.yml: {"x86_64": {"default": 2.1e-9},
// "arm64": {"default": 1.7e-9}}. The formula charges no request price.
func powerTuningComputePrice(minCost, minRAM, value, duration float64) float64 {
	return math.Ceil(duration) * minCost * (value / minRAM)
}

func powerTuningComputeTotalCost(minCost, minRAM, value float64, durations []float64) float64 {
	var total float64
	for _, d := range durations {
		total += powerTuningComputePrice(minCost, minRAM, value, d)
	}
	return total
}

// powerTuningBaseCost is template.yml's baseCosts default for each architecture, in USD
// per ms at 128 MB.
var powerTuningBaseCost = map[Arch]float64{X86_64: 2.1e-9, ARM64: 1.7e-9}

// TestPowerTuningBaseCost: Power Tuning's per-ms constants are the first-tier GB-second
// price of our table at 128 MB, rounded as AWS's per-1 ms price table rounds (to 10
// decimal places of a dollar).
func TestPowerTuningBaseCost(t *testing.T) {
	tab := Default()
	for _, a := range Archs() {
		perMS := tab.Lambda.Duration[a][0].Value * 128 / 1024 / 1000
		if got := math.Round(perMS*1e10) / 1e10; got != powerTuningBaseCost[a] {
			t.Errorf("%s: 1 ms at 128 MB = %.4g, rounded %.10f; Power Tuning uses %g", a, perMS, got, powerTuningBaseCost[a])
		}
	}
}

// TestPowerTuningFormula: given Power Tuning's own rate (its per-ms constant as a price
// per GB-second), LambdaCost's duration charge equals Power Tuning's computeTotalCost for
// the same durations, at every memory size: the same per-invocation ceiling to 1 ms and
// the same scaling with memory. The durations include those of Power Tuning's own test
// logs (469.40 ms, 1.317 ms).
func TestPowerTuningFormula(t *testing.T) {
	durations := []float64{469.40, 1.317, 27.55, 300, 0.5, 1000, 2.000001}
	for _, a := range Archs() {
		tab := Default()
		perGBs := powerTuningBaseCost[a] * 1024 / 128 * 1000 // USD per GB-second
		tab.Lambda.Duration[a] = []Tier{{FromGBs: 0, Price: Price{Value: perGBs}}}
		for _, mem := range []int{128, 256, 512, 1024, 1536, 1769, 3008, 10240} {
			var billed int64
			for _, d := range durations {
				billed += BilledMS(ms(d))
			}
			b, err := LambdaCost(tab, LambdaUsage{Arch: a, MemoryMB: mem, Invocations: int64(len(durations)), BilledMS: billed})
			if err != nil {
				t.Fatal(err)
			}
			want := powerTuningComputeTotalCost(powerTuningBaseCost[a], 128, float64(mem), durations)
			if math.Abs(b.ComputeUSD-want) > 1e-12*want {
				t.Errorf("%s %d MB: duration charge %.15g, Power Tuning %.15g", a, mem, b.ComputeUSD, want)
			}
		}
	}
}

// TestPowerTuningAgainstList: with the published list prices, Power Tuning's
// per-invocation figure runs above this model's duration charge by exactly the rounding
// of its constant (x86_64: 0.0000168 / 0.0000166667, about 0.8%; arm64: 0.0000136 /
// 0.0000133334, about 2%), and it leaves out the $0.20 per million request price that
// LambdaCost adds.
func TestPowerTuningAgainstList(t *testing.T) {
	tab := Default()
	cases := []struct {
		arch     Arch
		mem      int
		duration float64
	}{{X86_64, 1024, 469.40}, {X86_64, 128, 1.317}, {ARM64, 1536, 120}, {ARM64, 3008, 2.5}}
	for _, c := range cases {
		b, err := LambdaCost(tab, LambdaUsage{Arch: c.arch, MemoryMB: c.mem, Invocations: 1, BilledMS: BilledMS(ms(c.duration))})
		if err != nil {
			t.Fatal(err)
		}
		pt := powerTuningComputePrice(powerTuningBaseCost[c.arch], 128, float64(c.mem), c.duration)
		ratio := powerTuningBaseCost[c.arch] * 8000 / tab.Lambda.Duration[c.arch][0].Value
		if math.Abs(pt/b.ComputeUSD-ratio) > 1e-12 {
			t.Errorf("%s %d MB %v ms: Power Tuning %.6g / model %.6g = %v, want %v", c.arch, c.mem, c.duration, pt, b.ComputeUSD, pt/b.ComputeUSD, ratio)
		}
		if math.Abs(b.RequestUSD-0.2/1e6) > 1e-18 {
			t.Errorf("request charge of one invocation = %v, want $0.0000002", b.RequestUSD)
		}
	}
}

func TestBilledMS(t *testing.T) {
	tests := []struct {
		name string
		ns   int64
		want int64
	}{
		{"zero bills the minimum", 0, 1},
		{"negative bills the minimum", -5, 1},
		{"1 ns", 1, 1},
		{"just under 1 ms", 999_999, 1},
		{"exactly 1 ms", 1_000_000, 1},
		{"just over 1 ms", 1_000_001, 2},
		{"blog REPORT line, 27.55 ms", ms(27.55), 28},
		{"blog REPORT line, 27.40 ms", ms(27.40), 28},
		{"Power Tuning test log, 469.40 ms", ms(469.40), 470},
		{"exactly 120 ms", 120 * int64(time.Millisecond), 120},
		{"15 minutes", int64(15 * time.Minute), 900_000},
		{"largest duration", math.MaxInt64, math.MaxInt64/1_000_000 + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := BilledMS(tc.ns); got != tc.want {
				t.Errorf("BilledMS(%d) = %d, want %d", tc.ns, got, tc.want)
			}
		})
	}
}

// TestTiers checks the duration tiers on usage that reaches or straddles their bounds.
// The month's position is MonthlyVolumeGBs; at 1024 MB one GB-second is 1,000 billed ms.
func TestTiers(t *testing.T) {
	const gbs = 1000 // billed ms per GB-second at 1024 MB
	tests := []struct {
		name        string
		arch        Arch
		before, use float64 // GB-seconds
		want        float64 // USD
	}{
		{"x86 whole first tier", X86_64, 0, 6e9, 6e9 * 0.0000166667},
		{"x86 straddling 6 billion", X86_64, 5.9e9, 0.2e9, 0.1e9*0.0000166667 + 0.1e9*0.000015},
		{"x86 starting at 6 billion", X86_64, 6e9, 1e9, 1e9 * 0.000015},
		// The scenario of https://aws.amazon.com/blogs/compute/introducing-tiered-pricing-for-aws-lambda/:
		// 75M invocations of 60 s at 2 GB, 9 billion GB-s on x86.
		{"x86 tiered pricing blog, 9 billion", X86_64, 0, 9e9, 6e9*0.0000166667 + 3e9*0.000015},
		{"x86 through all three tiers", X86_64, 0, 16e9, 6e9*0.0000166667 + 9e9*0.000015 + 1e9*0.0000133334},
		{"x86 beyond 15 billion", X86_64, 20e9, 1e9, 1e9 * 0.0000133334},
		{"arm64 straddling 7.5 billion", ARM64, 7e9, 1e9, 0.5e9*0.0000133334 + 0.5e9*0.0000120001},
		{"arm64 straddling 18.75 billion", ARM64, 18e9, 1.5e9, 0.75e9*0.0000120001 + 0.75e9*0.0000106667},
		{"arm64 below its tiers at x86's 6 billion", ARM64, 5.9e9, 0.2e9, 0.2e9 * 0.0000133334},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := LambdaCost(Default(), LambdaUsage{Arch: tc.arch, MemoryMB: 1024, Invocations: 1,
				BilledMS: int64(tc.use * gbs), MonthlyVolumeGBs: tc.before})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(b.OnDemandComputeUSD-tc.want) > 1e-9*tc.want {
				t.Errorf("duration charge = $%.6f, want $%.6f", b.OnDemandComputeUSD, tc.want)
			}
		})
	}
	if got, want := 6e9*0.0000166667+3e9*0.000015, 145_000.2; math.Abs(got-want) > 1e-6 {
		t.Errorf("9 billion GB-s on x86 = $%.2f, want $%.2f", got, want)
	}
}

// TestTiersAdditive: pricing a month in two parts, the second placed after the first,
// costs what pricing it whole does.
func TestTiersAdditive(t *testing.T) {
	tab := Default()
	for _, a := range Archs() {
		for _, split := range []float64{1e6, 5.999e9, 6e9, 7.5e9, 12e9, 18.75e9} {
			const total = 25e9
			cost := func(before, use float64) float64 {
				b, err := LambdaCost(tab, LambdaUsage{Arch: a, MemoryMB: 1024, BilledMS: int64(use * 1000), MonthlyVolumeGBs: before})
				if err != nil {
					t.Fatal(err)
				}
				return b.OnDemandComputeUSD
			}
			whole, parts := cost(0, total), cost(0, split)+cost(split, total-split)
			if math.Abs(whole-parts) > 1e-6 {
				t.Errorf("%s split at %g: whole $%.6f, parts $%.6f", a, split, whole, parts)
			}
		}
	}
}

func TestCPUShare(t *testing.T) {
	for _, c := range []struct {
		mb   int
		want float64
	}{{1769, 1}, {3538, 2}, {128, 128.0 / 1769}, {10240, 10240.0 / 1769}, {0, 0}} {
		if got := CPUShare(c.mb); got != c.want {
			t.Errorf("CPUShare(%d) = %v, want %v", c.mb, got, c.want)
		}
	}
}

func TestScaleCPU(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		mb   int
		want time.Duration
	}{
		{"one vCPU", 10 * time.Millisecond, 1769, 10 * time.Millisecond},
		{"two vCPUs: a single thread gets no faster", 10 * time.Millisecond, 3538, 10 * time.Millisecond},
		{"10 GB: no faster", 10 * time.Millisecond, 10240, 10 * time.Millisecond},
		{"half a vCPU takes twice as long", 10 * time.Millisecond, 1769 / 2, time.Duration(math.Round(10e6 * 1769 / 884.0))},
		{"128 MB", time.Millisecond, 128, 13_820_313}, // 1 ms x 1769/128 = 13.8203125 ms
		{"below the 128 MB minimum counts as 128 MB", time.Millisecond, 64, 13_820_313},
		{"zero work", 0, 128, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ScaleCPU(tc.d, tc.mb); got != tc.want {
				t.Errorf("ScaleCPU(%v, %d) = %v, want %v", tc.d, tc.mb, got, tc.want)
			}
		})
	}
}

func TestLambdaCostRejects(t *testing.T) {
	ok := LambdaUsage{Arch: ARM64, MemoryMB: 512, Invocations: 10, BilledMS: 100}
	tests := []struct {
		name   string
		change func(*LambdaUsage)
		want   string
	}{
		{"unknown architecture", func(u *LambdaUsage) { u.Arch = "sparc" }, `unknown architecture "sparc"`},
		{"memory below 128 MB", func(u *LambdaUsage) { u.MemoryMB = 64 }, "memory 64 MB"},
		{"memory above 10,240 MB", func(u *LambdaUsage) { u.MemoryMB = 20000 }, "memory 20000 MB"},
		{"ephemeral storage below 512 MB", func(u *LambdaUsage) { u.EphemeralStorageMB = 256 }, "ephemeral storage 256 MB"},
		{"negative invocations", func(u *LambdaUsage) { u.Invocations = -1 }, "negative usage"},
		{"provisioned ms beyond the total", func(u *LambdaUsage) { u.Provisioned = &Provisioned{Concurrency: 1, Hours: 1, BilledMS: 101} }, "includes Provisioned.BilledMS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := ok
			tc.change(&u)
			_, err := LambdaCost(Default(), u)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := LambdaCost(Default(), LambdaUsage{MemoryMB: 128}); err != nil {
		t.Errorf("empty arch (x86_64) rejected: %v", err)
	}
}

// TestProvisionedRoundsToFiveMinutes: provisioned concurrency enabled 61 minutes is billed
// for 65.
func TestProvisionedRoundsToFiveMinutes(t *testing.T) {
	b, err := LambdaCost(Default(), LambdaUsage{MemoryMB: 1024, Provisioned: &Provisioned{Concurrency: 2, Hours: 61.0 / 60}})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2.0 * 65 * 60; math.Abs(b.ConcurrencyGBSeconds-want) > 1e-6 {
		t.Errorf("configured GB-s = %v, want %v", b.ConcurrencyGBSeconds, want)
	}
}
