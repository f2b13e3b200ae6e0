package bench

import (
	"fmt"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/reports/pricing"
)

// usage gathers what the run consumed, in the units the pricing model bills: Lambda
// invocations, billed milliseconds and provisioned concurrency from the fleet,
// ElastiCache from the scenario's cost block and the L2's operations, DynamoDB from the
// capacity units the L3 reported.
func (r *runner) usage(res *reports.Result, l2, l3 cachecore.TierStats) pricing.RunUsage {
	s := r.s
	u := pricing.RunUsage{DurationS: res.DurationS, Requests: res.Requests.Total}
	if lm := res.Lambda; lm != nil {
		u.Lambda = &pricing.LambdaUsage{
			Arch: pricing.Arch(lm.Arch), MemoryMB: lm.MemoryMB,
			Invocations: lm.Invocations, BilledMS: lm.BilledMS,
		}
		if lm.ProvisionedConcurrency > 0 {
			// Provisioned environments are billed for the measured part, as every other
			// figure is (pricing.RunCost prorates it).
			u.Lambda.Provisioned = &pricing.Provisioned{
				Concurrency: lm.ProvisionedConcurrency, Hours: res.DurationS / 3600,
				BilledMS: lm.ProvisionedBilledMS,
			}
		}
	}
	avg := 0.0
	if res.Requests.Gets > 0 {
		avg = float64(r.valueBytes) / float64(res.Requests.Gets)
	}
	if s.Cache.L2.Enabled {
		e := s.Cost.ElastiCache
		cu := &pricing.CacheUsage{Engine: pricing.Engine(e.Engine), NodeType: e.NodeType, Nodes: e.Nodes, Serverless: e.Serverless}
		if e.Serverless {
			ops := int64(l2.Gets + l2.Sets + l2.Deletes)
			cu.ECPUs = pricing.ECPUs(ops, avg)
			// Data stored: the entries written, at their average size; an upper bound,
			// since rewrites of one key count again.
			cu.DataGB = float64(l2.Sets) * avg / 1e9
		}
		u.ElastiCache = cu
	}
	if s.Cache.L3.Enabled {
		u.DynamoDB = &pricing.DynamoUsage{
			ReadUnits: l3.ReadUnits, WriteUnits: l3.WriteUnits,
			StorageGB: float64(l3.Sets) * avg / 1e9,
		}
	}
	return u
}

// cost prices the run, and projects a month when the scenario gives a monthly traffic.
func (r *runner) cost(res *reports.Result, l2, l3 cachecore.TierStats) (*reports.Cost, error) {
	t := r.opt.Pricing
	if t == nil {
		t = pricing.Default()
	}
	u := r.usage(res, l2, l3)
	if u.Requests == 0 || u.DurationS <= 0 {
		return nil, nil
	}
	b, err := pricing.RunCost(t, u)
	if err != nil {
		return nil, fmt.Errorf("cost: %w", err)
	}
	c := &reports.Cost{
		LambdaCompute: b.LambdaComputeUSD, LambdaRequests: b.LambdaRequestsUSD,
		ElastiCache: b.ElastiCacheUSD, DynamoDB: b.DynamoDBUSD,
		Total: b.TotalUSD, PerMillionRequests: b.PerMillionUSD,
		Pricing: t.Label(),
	}
	if m := r.s.Cost.MonthlyRequests; m > 0 {
		mb, err := pricing.ProjectMonthly(t, u, m)
		if err != nil {
			return nil, fmt.Errorf("monthly projection: %w", err)
		}
		c.MonthlyRequests = m
		c.Monthly = mb.TotalUSD
	}
	return c, nil
}
