package pricing

import (
	"fmt"
	"math"
	"time"
)

// Arch is a Lambda instruction set architecture.
type Arch string

// The architectures Lambda runs on, named as in its API and in scenario files.
const (
	X86_64 Arch = "x86_64"
	ARM64  Arch = "arm64"
)

// Archs returns the architectures a table must price.
func Archs() []Arch { return []Arch{X86_64, ARM64} }

func (a Arch) valid() bool { return a == X86_64 || a == ARM64 }

// Lambda's configuration limits and its CPU allocation.
const (
	// MinMemoryMB and MaxMemoryMB bound a function's memory (1 MB steps).
	MinMemoryMB = 128
	MaxMemoryMB = 10240
	// FreeEphemeralMB is the /tmp every function gets at no charge; MaxEphemeralMB the most
	// it can be configured with.
	FreeEphemeralMB = 512
	MaxEphemeralMB  = 10240
	// MBPerVCPU is the memory at which a function has the equivalent of one vCPU (one
	// vCPU-second of credits per second): https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
	MBPerVCPU = 1769
)

// BilledMS returns the billed duration in milliseconds of one invocation (or one INIT
// phase) that ran durationNS nanoseconds: rounded up to the next whole millisecond, as
// Lambda has billed since December 2020 (before, it rounded up to 100 ms). AWS states no
// minimum execution time; anything that ran bills at least 1 ms, and so does a duration
// of zero or less (a clock that did not advance).
func BilledMS(durationNS int64) int64 {
	if durationNS <= 0 {
		return 1
	}
	ms := durationNS / int64(time.Millisecond)
	if durationNS%int64(time.Millisecond) != 0 {
		ms++
	}
	return ms
}

// GBSeconds returns the GB-seconds of billedMS milliseconds at memoryMB: Lambda counts
// memory in GB of 1,024 MB and time in seconds of 1,000 ms.
func GBSeconds(memoryMB int, billedMS int64) float64 {
	return float64(memoryMB) * float64(billedMS) / (1024 * 1000)
}

// CPUShare returns the vCPUs a function with memoryMB gets: memoryMB/1769, since Lambda
// allocates CPU in proportion to memory and gives one vCPU at 1,769 MB. Above 1,769 MB the
// share exceeds 1 (about 5.79 at 10,240 MB), which only several threads can use.
func CPUShare(memoryMB int) float64 {
	if memoryMB <= 0 {
		return 0
	}
	return float64(memoryMB) / MBPerVCPU
}

// ScaleCPU returns how long the CPU-bound part of a handler takes at memoryMB, given how
// long it takes with one full vCPU (at 1,769 MB).
//
// The model: below 1,769 MB the function gets CPUShare(memoryMB) of a vCPU, so CPU-bound
// work stretches by 1769/memoryMB (at 128 MB, 13.8 times as long). From 1,769 MB up it
// returns cpuBoundAt1769 unchanged: the extra memory buys more than one vCPU, and a
// single-threaded handler (cachebench's, one request at a time) cannot run on more than
// one, so it gets no faster. A multi-threaded handler could use the extra vCPUs; this
// model does not credit that. Time spent waiting on the network (Redis, DynamoDB, Stripe)
// is not CPU-bound and must not be passed here. Memory below Lambda's 128 MB minimum is
// treated as 128 MB.
func ScaleCPU(cpuBoundAt1769 time.Duration, memoryMB int) time.Duration {
	if memoryMB >= MBPerVCPU || cpuBoundAt1769 <= 0 {
		return cpuBoundAt1769
	}
	if memoryMB < MinMemoryMB {
		memoryMB = MinMemoryMB
	}
	return time.Duration(math.Round(float64(cpuBoundAt1769) * MBPerVCPU / float64(memoryMB)))
}

// LambdaUsage is what a function used: the counters the virtual fleet records.
type LambdaUsage struct {
	// Arch is the function's architecture; empty means x86_64, Lambda's default.
	Arch Arch
	// MemoryMB is the function's memory, 128 to 10,240.
	MemoryMB int
	// EphemeralStorageMB is the /tmp configured; 0 means the free default of 512 MB.
	EphemeralStorageMB int
	// Invocations counts requests to the function.
	Invocations int64
	// BilledMS is the billed duration summed over all invocations, each rounded with
	// BilledMS, including billed INIT milliseconds (billed for every on-demand function
	// since 1 August 2025, and always for custom runtimes such as Go's provided.al2023)
	// and including Provisioned.BilledMS.
	BilledMS int64
	// Provisioned describes provisioned concurrency; nil means none.
	Provisioned *Provisioned
	// MonthlyVolumeGBs is the on-demand GB-seconds the account already used this month on
	// the same architecture in the same region, before this usage: it places this usage in
	// the duration tiers, which apply to the month's cumulative total. 0 means this usage
	// is the month's first.
	MonthlyVolumeGBs float64
	// FreeTier applies the monthly free tier (1M requests, 400,000 GB-seconds of on-demand
	// duration) to this usage, as AWS's own pricing examples do: as if it were the
	// account's only Lambda usage this month. Off by default, because the free tier is per
	// account and a benchmark of one function cannot know what else uses it.
	FreeTier bool
}

// Provisioned is provisioned concurrency configured on a function.
type Provisioned struct {
	// Concurrency is the number of environments kept initialised.
	Concurrency int
	// Hours is how long it was enabled; Lambda bills it rounded up to 5 minutes.
	Hours float64
	// BilledMS is the part of LambdaUsage.BilledMS served by provisioned environments,
	// billed at the provisioned duration price instead of the on-demand one.
	BilledMS int64
}

// LambdaBill is what a LambdaUsage costs, in US dollars.
type LambdaBill struct {
	// GBSeconds is the billed duration of all invocations (on demand and provisioned).
	GBSeconds float64
	// OnDemandGBSeconds and ProvisionedDurationGBSeconds split GBSeconds.
	OnDemandGBSeconds, ProvisionedDurationGBSeconds float64
	// ConcurrencyGBSeconds is the provisioned concurrency configured: environments x memory
	// x time enabled.
	ConcurrencyGBSeconds float64
	// OnDemandComputeUSD is the on-demand duration charge, tiered, less the free tier when
	// applied.
	OnDemandComputeUSD float64
	// ProvisionedComputeUSD is the duration charge of invocations served by provisioned
	// environments.
	ProvisionedComputeUSD float64
	// ComputeUSD is OnDemandComputeUSD + ProvisionedComputeUSD.
	ComputeUSD float64
	// RequestUSD is the request charge.
	RequestUSD float64
	// ProvisionedUSD is the charge for the provisioned concurrency configured.
	ProvisionedUSD float64
	// EphemeralUSD is the charge for /tmp configured above 512 MB.
	EphemeralUSD float64
	// TotalUSD is ComputeUSD + RequestUSD + ProvisionedUSD + EphemeralUSD.
	TotalUSD float64
	// PerMillionUSD is TotalUSD per million invocations (0 without invocations).
	PerMillionUSD float64
}

// LambdaCost prices u with t. The on-demand duration of the usage occupies the month's
// GB-seconds from u.MonthlyVolumeGBs on, and each part is charged at the rate of the tier
// it falls in; requests, provisioned concurrency and its duration are not tiered.
// Provisioned concurrency is billed for its Hours rounded up to 5 minutes, as AWS bills
// it. It fails on an unknown architecture or a configuration Lambda does not allow.
func LambdaCost(t *Table, u LambdaUsage) (LambdaBill, error) {
	return lambdaCost(t, u, false)
}

// lambdaCost is LambdaCost; prorate bills provisioned concurrency for its Hours exactly,
// as RunCost does for a run shorter than AWS's 5-minute billing step.
func lambdaCost(t *Table, u LambdaUsage, prorate bool) (LambdaBill, error) {
	arch := u.Arch
	if arch == "" {
		arch = X86_64
	}
	if !arch.valid() {
		return LambdaBill{}, fmt.Errorf("lambda cost: unknown architecture %q; use %s or %s", u.Arch, X86_64, ARM64)
	}
	if u.MemoryMB < MinMemoryMB || u.MemoryMB > MaxMemoryMB {
		return LambdaBill{}, fmt.Errorf("lambda cost: memory %d MB is outside Lambda's %d to %d MB", u.MemoryMB, MinMemoryMB, MaxMemoryMB)
	}
	eph := u.EphemeralStorageMB
	if eph == 0 {
		eph = FreeEphemeralMB
	}
	if eph < FreeEphemeralMB || eph > MaxEphemeralMB {
		return LambdaBill{}, fmt.Errorf("lambda cost: ephemeral storage %d MB is outside Lambda's %d to %d MB", u.EphemeralStorageMB, FreeEphemeralMB, MaxEphemeralMB)
	}
	if u.Invocations < 0 || u.BilledMS < 0 || u.MonthlyVolumeGBs < 0 || math.IsNaN(u.MonthlyVolumeGBs) {
		return LambdaBill{}, fmt.Errorf("lambda cost: negative usage (invocations %d, billed %d ms, monthly volume %v GB-s)", u.Invocations, u.BilledMS, u.MonthlyVolumeGBs)
	}
	var pc Provisioned
	if u.Provisioned != nil {
		pc = *u.Provisioned
		if pc.Concurrency < 0 || pc.Hours < 0 || math.IsNaN(pc.Hours) || pc.BilledMS < 0 {
			return LambdaBill{}, fmt.Errorf("lambda cost: negative provisioned concurrency (%d environments, %v hours, %d ms)", pc.Concurrency, pc.Hours, pc.BilledMS)
		}
		if pc.BilledMS > u.BilledMS {
			return LambdaBill{}, fmt.Errorf("lambda cost: provisioned environments billed %d ms of only %d ms in all; BilledMS includes Provisioned.BilledMS", pc.BilledMS, u.BilledMS)
		}
	}

	l := t.Lambda
	var b LambdaBill
	b.GBSeconds = GBSeconds(u.MemoryMB, u.BilledMS)
	b.ProvisionedDurationGBSeconds = GBSeconds(u.MemoryMB, pc.BilledMS)
	b.OnDemandGBSeconds = GBSeconds(u.MemoryMB, u.BilledMS-pc.BilledMS)

	free := 0.0
	billable := u.Invocations
	if u.FreeTier {
		free = math.Min(l.FreeTier.GBSeconds.Value, b.OnDemandGBSeconds)
		billable = max(0, u.Invocations-int64(l.FreeTier.Requests.Value))
	}
	start := u.MonthlyVolumeGBs
	b.OnDemandComputeUSD = tieredUSD(l.Duration[arch], start+free, start+b.OnDemandGBSeconds)
	b.ProvisionedComputeUSD = b.ProvisionedDurationGBSeconds * l.ProvisionedDuration[arch].Value
	b.ComputeUSD = b.OnDemandComputeUSD + b.ProvisionedComputeUSD
	b.RequestUSD = float64(billable) * l.Requests.Value / 1e6

	if pc.Concurrency > 0 && pc.Hours > 0 {
		hours := pc.Hours
		if !prorate {
			// Enabled time is billed rounded up to 5 minutes; the tolerance keeps 8 h at 8 h.
			hours = math.Ceil(pc.Hours*12-1e-9) / 12
		}
		b.ConcurrencyGBSeconds = float64(pc.Concurrency) * float64(u.MemoryMB) / 1024 * hours * 3600
		b.ProvisionedUSD = b.ConcurrencyGBSeconds * l.ProvisionedConcurrency[arch].Value
	}
	if eph > FreeEphemeralMB {
		b.EphemeralUSD = GBSeconds(eph-FreeEphemeralMB, u.BilledMS) * l.EphemeralStorage.Value
	}
	b.TotalUSD = b.ComputeUSD + b.RequestUSD + b.ProvisionedUSD + b.EphemeralUSD
	if u.Invocations > 0 {
		b.PerMillionUSD = b.TotalUSD / float64(u.Invocations) * 1e6
	}
	return b, nil
}

// tieredUSD charges the GB-seconds from the month's cumulative from to to, each part at
// its tier's rate.
func tieredUSD(tiers []Tier, from, to float64) float64 {
	var usd float64
	for i, tier := range tiers {
		lo, hi := tier.FromGBs, math.Inf(1)
		if i+1 < len(tiers) {
			hi = tiers[i+1].FromGBs
		}
		a, b := math.Max(lo, from), math.Min(hi, to)
		if b > a {
			usd += (b - a) * tier.Value
		}
	}
	return usd
}
