// Package pricing owns what a configuration costs: the price table, as data, and the cost
// model, as pure functions over the counters a run records (invocations, billed
// milliseconds, node-hours, ECPUs, request units). It simulates nothing.
//
// # Prices as data
//
// Every price lives in a JSON table with its unit, its public source URL and the date it
// was checked; the us-east-1 table aws-us-east-1.json is embedded and returned by
// Default, and Load reads another (the --pricing flag) and validates every entry. The
// table also states the billing rules the model implements, each with its source:
//
//   - Lambda duration is billed per invocation rounded up to 1 ms (since December 2020),
//     at a price per GB-second that depends on the architecture and falls in tiers of the
//     month's cumulative on-demand GB-seconds per architecture, region and account
//     (x86_64: first 6 billion, next 9 billion, over 15 billion; arm64: first 7.5 billion,
//     next 11.25 billion, over 18.75 billion). Requests cost $0.20 per million.
//   - INIT is billed. Since 1 August 2025 AWS bills the INIT phase of every on-demand
//     invocation like the INVOKE phase
//     (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/).
//     Before that only ZIP-packaged functions on managed runtimes had it free (up to the
//     10 s INIT limit); custom runtimes, such as Go on provided.al2023, always paid for it.
//     LambdaUsage.BilledMS therefore includes billed INIT milliseconds.
//   - Provisioned concurrency bills the environments configured x memory x time enabled
//     (rounded up to 5 minutes; RunCost prorates it like ElastiCache nodes) and the
//     invocations they serve at the provisioned duration price (Provisioned.BilledMS).
//     Their INIT happens before they serve and is not billed as on-demand duration.
//   - The free tier (1M requests and 400,000 GB-seconds a month) is stated but applied
//     only when LambdaUsage.FreeTier is set: it is per account, and a benchmark of one
//     function cannot know what else uses it.
//   - CPU is allocated in proportion to memory, one vCPU at 1,769 MB (CPUShare, ScaleCPU).
//   - ElastiCache Serverless bills data stored per GB-hour (at least 1 GB per Redis OSS
//     cache, 100 MB per Valkey cache) and requests in ECPUs: 1 per KB transferred, at
//     least 1 per simple GET or SET (ECPUs). Nodes bill per node-hour.
//   - DynamoDB on-demand bills request units at the prices after the November 2024 cut
//     ($0.125 per million reads, $0.625 per million writes); consumed capacity as
//     DynamoDB reports it converts one to one (DynamoCost).
//
// # The model
//
// LambdaCost, NodeCost, ServerlessCost and DynamoCost price one component each.
// RunCost prices a measured run; ProjectMonthly scales it to a user's monthly traffic.
// The package's tests reproduce AWS's published Lambda pricing examples to the cent and
// AWS Lambda Power Tuning's per-invocation cost formula.
//
// A tiny example:
//
//	t := pricing.Default()
//	bill, err := pricing.LambdaCost(t, pricing.LambdaUsage{
//		Arch: pricing.ARM64, MemoryMB: 512,
//		Invocations: 1_000_000, BilledMS: 1_000_000 * pricing.BilledMS(int64(12*time.Millisecond)),
//	})
//	// bill.TotalUSD is 0.2 (requests) + 6,000 GB-s x $0.0000133334 = $0.28
package pricing
