package pricing

import (
	"errors"
	"fmt"
	"math"
)

// HoursPerMonth is the month AWS's pricing examples and calculator use: 8,760 hours a
// year over 12.
const HoursPerMonth = 730

// RunUsage is what one measured run used, over DurationS seconds, for Requests requests.
// A nil part was not in the configuration.
type RunUsage struct {
	DurationS float64
	// Requests counts the requests the run served (the unit a user's traffic is given in).
	Requests    int64
	Lambda      *LambdaUsage
	ElastiCache *CacheUsage
	DynamoDB    *DynamoUsage
}

// CacheUsage is the ElastiCache behind the L2 tier: node-based (NodeType and Nodes) or
// serverless (Serverless, DataGB and ECPUs).
type CacheUsage struct {
	Engine Engine
	// NodeType and Nodes describe a node-based cluster: every node, replicas included.
	NodeType string
	Nodes    int
	// Serverless selects ElastiCache Serverless.
	Serverless bool
	// DataGB is the average data stored (serverless).
	DataGB float64
	// ECPUs is the ECPUs the run consumed (serverless); see ECPUs.
	ECPUs float64
}

// DynamoUsage is the DynamoDB on-demand table behind the L3 tier.
type DynamoUsage struct {
	// ReadUnits and WriteUnits are the capacity units consumed, as DynamoDB reported them;
	// see DynamoCost for how they map to request units.
	ReadUnits, WriteUnits float64
	// StorageGB is the table's size.
	StorageGB float64
}

// CacheBill is what the ElastiCache part costs, in US dollars.
type CacheBill struct {
	Engine Engine
	// NodeHours and NodeUSD price a node-based cluster.
	NodeHours float64
	NodeUSD   float64
	// Serverless prices a serverless cache; nil for a node-based one.
	Serverless *ServerlessBill
	TotalUSD   float64
}

// Breakdown is the cost of a run, or of a month projected from it, by component. Its
// fields map onto result.json's cost_usd: LambdaComputeUSD is lambda_compute,
// LambdaRequestsUSD lambda_requests, ElastiCacheUSD elasticache, DynamoDBUSD dynamodb,
// TotalUSD total and PerMillionUSD per_million_requests.
type Breakdown struct {
	// Requests is the requests the breakdown covers, Hours the time.
	Requests float64
	Hours    float64

	// The parts' own bills; nil for a part not in the configuration.
	Lambda      *LambdaBill
	ElastiCache *CacheBill
	DynamoDB    *DynamoBill

	// LambdaComputeUSD is every Lambda charge but requests: duration, provisioned
	// concurrency and ephemeral storage.
	LambdaComputeUSD  float64
	LambdaRequestsUSD float64
	ElastiCacheUSD    float64
	DynamoDBUSD       float64
	TotalUSD          float64
	// PerMillionUSD is TotalUSD per million requests.
	PerMillionUSD float64
}

// RunCost prices a run as it was measured: Lambda from its counters, ElastiCache nodes
// for the run's duration (prorated, not rounded up to whole node-hours, so runs of any
// length compare per request), Lambda's provisioned concurrency for its Hours prorated
// the same way (not rounded up to 5 minutes), serverless data stored for the run's
// duration and its ECPUs, DynamoDB's request units and its storage for the run's share
// of a month.
func RunCost(t *Table, run RunUsage) (Breakdown, error) {
	if run.DurationS < 0 || math.IsNaN(run.DurationS) || run.Requests < 0 {
		return Breakdown{}, fmt.Errorf("run cost: negative run (%v s, %d requests)", run.DurationS, run.Requests)
	}
	hours := run.DurationS / 3600
	return price(t, float64(run.Requests), hours, run.Lambda, run.ElastiCache, run.DynamoDB, true)
}

// ProjectMonthly scales a measured run to monthlyRequests requests a month and prices the
// month (HoursPerMonth hours), each component by what drives its cost:
//
//   - Lambda: invocations and billed milliseconds (INIT included) in proportion to
//     requests, the duration tiers applied to the month's total (from
//     LambdaUsage.MonthlyVolumeGBs on); provisioned concurrency, if any, enabled all month,
//     its share of billed milliseconds in proportion too. The run's cold-start rate is
//     assumed to hold at the month's traffic.
//   - ElastiCache nodes: node-hours for the whole month whatever the traffic.
//   - ElastiCache Serverless: the run's average data stored for the whole month, ECPUs in
//     proportion to requests.
//   - DynamoDB: read and write request units in proportion to requests, storage as
//     measured for one month.
//
// It fails when the run served no requests to scale from.
func ProjectMonthly(t *Table, run RunUsage, monthlyRequests float64) (Breakdown, error) {
	if run.Requests <= 0 {
		return Breakdown{}, errors.New("monthly projection: the run served no requests to scale from")
	}
	if monthlyRequests < 0 || math.IsNaN(monthlyRequests) || math.IsInf(monthlyRequests, 0) {
		return Breakdown{}, fmt.Errorf("monthly projection: %v requests a month is not a traffic; give a non-negative number", monthlyRequests)
	}
	k := monthlyRequests / float64(run.Requests)

	var lu *LambdaUsage
	if run.Lambda != nil {
		u := *run.Lambda
		var err error
		if u.Invocations, err = scale(u.Invocations, k); err != nil {
			return Breakdown{}, fmt.Errorf("monthly projection: lambda invocations: %w", err)
		}
		if u.BilledMS, err = scale(u.BilledMS, k); err != nil {
			return Breakdown{}, fmt.Errorf("monthly projection: lambda billed ms: %w", err)
		}
		if u.Provisioned != nil {
			pc := *u.Provisioned
			pc.Hours = HoursPerMonth
			if pc.BilledMS, err = scale(pc.BilledMS, k); err != nil {
				return Breakdown{}, fmt.Errorf("monthly projection: provisioned billed ms: %w", err)
			}
			pc.BilledMS = min(pc.BilledMS, u.BilledMS) // rounding must not split more than there is
			u.Provisioned = &pc
		}
		lu = &u
	}
	var cu *CacheUsage
	if run.ElastiCache != nil {
		c := *run.ElastiCache
		c.ECPUs *= k
		cu = &c
	}
	var du *DynamoUsage
	if run.DynamoDB != nil {
		d := *run.DynamoDB
		d.ReadUnits *= k
		d.WriteUnits *= k
		du = &d
	}
	return price(t, monthlyRequests, HoursPerMonth, lu, cu, du, false)
}

// scale multiplies a counter by k, rounding to the nearest whole count.
func scale(n int64, k float64) (int64, error) {
	v := math.Round(float64(n) * k)
	if v > math.MaxInt64/2 {
		return 0, fmt.Errorf("%d x %v overflows", n, k)
	}
	return int64(v), nil
}

// price prices the parts over hours for requests requests; prorate bills provisioned
// concurrency for its exact hours.
func price(t *Table, requests, hours float64, lu *LambdaUsage, cu *CacheUsage, du *DynamoUsage, prorate bool) (Breakdown, error) {
	b := Breakdown{Requests: requests, Hours: hours}
	if lu != nil {
		lb, err := lambdaCost(t, *lu, prorate)
		if err != nil {
			return Breakdown{}, err
		}
		b.Lambda = &lb
		b.LambdaComputeUSD = lb.ComputeUSD + lb.ProvisionedUSD + lb.EphemeralUSD
		b.LambdaRequestsUSD = lb.RequestUSD
	}
	if cu != nil {
		cb := CacheBill{Engine: cu.Engine}
		switch {
		case cu.Serverless && cu.NodeType != "":
			return Breakdown{}, fmt.Errorf("elasticache cost: both serverless and node type %q given; choose one", cu.NodeType)
		case cu.Serverless:
			sb, err := ServerlessCost(t, cu.Engine, cu.DataGB, hours, cu.ECPUs)
			if err != nil {
				return Breakdown{}, err
			}
			cb.Serverless = &sb
			cb.TotalUSD = sb.TotalUSD
		default:
			usd, err := NodeCost(t, cu.Engine, cu.NodeType, cu.Nodes, hours)
			if err != nil {
				return Breakdown{}, err
			}
			cb.NodeHours = float64(cu.Nodes) * hours
			cb.NodeUSD = usd
			cb.TotalUSD = usd
		}
		b.ElastiCache = &cb
		b.ElastiCacheUSD = cb.TotalUSD
	}
	if du != nil {
		db := DynamoCost(t, du.ReadUnits, du.WriteUnits, du.StorageGB, hours/HoursPerMonth)
		b.DynamoDB = &db
		b.DynamoDBUSD = db.TotalUSD
	}
	b.TotalUSD = b.LambdaComputeUSD + b.LambdaRequestsUSD + b.ElastiCacheUSD + b.DynamoDBUSD
	if requests > 0 {
		b.PerMillionUSD = b.TotalUSD / requests * 1e6
	}
	return b, nil
}
