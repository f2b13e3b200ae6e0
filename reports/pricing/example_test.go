package pricing_test

import (
	"fmt"
	"time"

	"github.com/cachebench/cachebench/reports/pricing"
)

// A fleet's counters priced: a million requests to an arm64 function of 512 MB billed
// 12 ms each, INIT included.
func ExampleLambdaCost() {
	bill, err := pricing.LambdaCost(pricing.Default(), pricing.LambdaUsage{
		Arch:        pricing.ARM64,
		MemoryMB:    512,
		Invocations: 1_000_000,
		BilledMS:    1_000_000 * pricing.BilledMS(int64(11_400*time.Microsecond)),
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.0f GB-s: compute $%.2f + requests $%.2f = $%.2f\n", bill.GBSeconds, bill.ComputeUSD, bill.RequestUSD, bill.TotalUSD)
	// Output: 6000 GB-s: compute $0.08 + requests $0.20 = $0.28
}

// A 60 s run projected to 50 million requests a month.
func ExampleProjectMonthly() {
	run := pricing.RunUsage{
		DurationS:   60,
		Requests:    120_000,
		Lambda:      &pricing.LambdaUsage{Arch: pricing.ARM64, MemoryMB: 512, Invocations: 120_000, BilledMS: 1_440_000},
		ElastiCache: &pricing.CacheUsage{Engine: pricing.Valkey, NodeType: "cache.t4g.small", Nodes: 2},
		DynamoDB:    &pricing.DynamoUsage{ReadUnits: 6_000, WriteUnits: 300, StorageGB: 1},
	}
	m, err := pricing.ProjectMonthly(pricing.Default(), run, 50e6)
	if err != nil {
		panic(err)
	}
	fmt.Printf("lambda $%.2f + $%.2f, elasticache $%.2f, dynamodb $%.2f: $%.2f a month, $%.2f per million requests\n",
		m.LambdaComputeUSD, m.LambdaRequestsUSD, m.ElastiCacheUSD, m.DynamoDBUSD, m.TotalUSD, m.PerMillionUSD)
	// Output: lambda $4.00 + $10.00, elasticache $37.38, dynamodb $0.64: $52.02 a month, $1.04 per million requests
}

func ExampleScaleCPU() {
	for _, mb := range []int{128, 512, 1769, 3538} {
		fmt.Printf("%d MB: %.2f vCPU, 2 ms of CPU takes %v\n", mb, pricing.CPUShare(mb), pricing.ScaleCPU(2*time.Millisecond, mb))
	}
	// Output:
	// 128 MB: 0.07 vCPU, 2 ms of CPU takes 27.640625ms
	// 512 MB: 0.29 vCPU, 2 ms of CPU takes 6.910156ms
	// 1769 MB: 1.00 vCPU, 2 ms of CPU takes 2ms
	// 3538 MB: 2.00 vCPU, 2 ms of CPU takes 2ms
}
