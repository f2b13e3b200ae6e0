// Package scenarios owns the scenario file: its YAML schema (the Scenario type), the
// strict parser that reports every unknown key and bad value at once as
// "FILE:LINE:COL: what is wrong (hint: how to fix)", the defaults of absent keys,
// `--set key=value` overrides, threshold expressions, the expansion of a sweep into one
// scenario per point, and the named scenarios shipped as scenarios/*.yaml.
//
// A run loads a scenario by name or path, applies the overrides, and runs each point:
//
//	s, err := scenarios.Load("ttl-sweep", []string{"arrival.rate=200"})
//	if err != nil {
//		return err // every problem, each with its file:line or override, and a hint
//	}
//	points, err := scenarios.Expand(s) // one scenario per sweep point, in order
//	for _, p := range points {
//		fmt.Println(p.Name, p.Point, p.Cache.L1.TTL)
//	}
//
// # The Lambda fleet (lambda)
//
// Each request runs in a simulated Lambda execution environment, one request at a time
// per environment (see the Lambda type for every key and its default):
//
//	lambda:
//	  enabled: true               # false: one long-lived process shares one cache
//	  memory_mb: 512              # 128 to 10240; CPU is memory_mb/1769 of a vCPU
//	  arch: arm64                 # or x86_64; prices differ
//	  max_concurrency: 100        # environments at once, provisioned ones included; beyond, requests are throttled
//	  idle_timeout: 10m           # mean idle time before an on-demand environment is recycled
//	  provisioned_concurrency: 0  # environments initialised before the run, up to max_concurrency
//	  handler_time: 0s            # per invocation, beyond the cache read: waiting, the same at any memory
//	  handler_cpu: 0s             # per invocation: CPU-bound work at one vCPU, x 1769/memory_mb below 1769 MB
//
// provisioned_concurrency environments are started before the run: requests go to them
// first, they never cold-start and never idle out, and their initialisation is not billed
// as on-demand INIT; cost_usd bills them as provisioned concurrency (environments x memory
// x the measured duration) and their invocations at the provisioned duration price.
// handler_time and handler_cpu make an invocation last longer than its cache read, as a
// real handler's other work does: the environment stays busy and billed for it. The fleet
// does not burn the CPU of handler_cpu; it holds the environment for the scaled time.
// Neither applies when lambda.enabled is false.
//
// The package holds no state: built-in scenarios are embedded files, and every Scenario
// carries what it knows about where its values came from.
package scenarios
