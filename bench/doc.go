// Package bench runs a scenario against a mocks environment and measures it: Run takes one
// sweep point (scenarios.Expand first) and returns its reports.Result.
//
// An open-loop run schedules every request at its intended time from a dispatcher locked
// to its own OS thread, which sleeps with nanosleep (Go's timers wake about a millisecond
// late) and hands each request to an idle worker, starting one only when none is idle. A
// closed-loop run keeps a fixed number of workers, each sending, waiting and thinking.
// Latency counts from the intended start, so a stall or a late generator shows in it as a
// production caller would see it; service time, from when a worker began, is recorded
// beside it. Workers record into a few Recorder shards (HdrHistograms, microseconds, 3
// significant digits) that a collector takes once a second for the timeline and the
// totals; the warm-up is excluded from every figure.
//
// With the Lambda fleet on, each execution environment has its own cachecore instance
// (own L1, connections and Stripe rate limiter) and takes one request at a time: a request
// goes to an idle warm environment, else a new one pays a cold start, up to
// lambda.max_concurrency, beyond which it is throttled. Idle environments are recycled;
// provisioned ones are started before the run and never are. Billed time, INIT and the
// CPU-bound part of each invocation (scaled to the memory size) feed the cost model in
// reports/pricing. Without the fleet, one instance serves every request, as one process
// would.
//
// The benchmarks in this package (BenchmarkCachePath, BenchmarkOpenLoopL1,
// BenchmarkRecorderRead) report their figures with b.ReportMetric for benchstat.
package bench
