package pricing

import (
	"math"
	"strings"
	"testing"
)

// sampleRun is a 60 s run of 120,000 requests: an arm64 512 MB function billed 12 ms a
// request on average (INIT included), a two-node cache.r7g.large Redis OSS cluster and an
// on-demand DynamoDB table of 2 GB.
func sampleRun() RunUsage {
	return RunUsage{
		DurationS:   60,
		Requests:    120_000,
		Lambda:      &LambdaUsage{Arch: ARM64, MemoryMB: 512, Invocations: 120_000, BilledMS: 1_440_000},
		ElastiCache: &CacheUsage{Engine: RedisOSS, NodeType: "cache.r7g.large", Nodes: 2},
		DynamoDB:    &DynamoUsage{ReadUnits: 10_000, WriteUnits: 500, StorageGB: 2},
	}
}

func TestRunCost(t *testing.T) {
	b, err := RunCost(Default(), sampleRun())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]float64{
		// 720 GB-s x $0.0000133334
		"lambda compute":  {b.LambdaComputeUSD, 720 * 0.0000133334},
		"lambda requests": {b.LambdaRequestsUSD, 120_000 * 0.2e-6},
		// 2 nodes x 1/60 h x $0.219, prorated
		"elasticache": {b.ElastiCacheUSD, 2 * 0.219 / 60},
		"dynamodb":    {b.DynamoDBUSD, 10_000*0.125e-6 + 500*0.625e-6 + 2*0.25/60/HoursPerMonth},
	}
	var sum float64
	for name, v := range want {
		if !near(v[0], v[1]) {
			t.Errorf("%s = $%.9f, want $%.9f", name, v[0], v[1])
		}
		sum += v[1]
	}
	if !near(b.TotalUSD, sum) || !near(b.PerMillionUSD, sum/120_000*1e6) {
		t.Errorf("total $%v, per million $%v; want $%v, $%v", b.TotalUSD, b.PerMillionUSD, sum, sum/120_000*1e6)
	}
	if b.Hours != 1.0/60 || b.Requests != 120_000 || b.Lambda == nil || b.ElastiCache.NodeHours != 2.0/60 {
		t.Errorf("breakdown = %+v", b)
	}
}

// TestProjectMonthlySameRate: a month at the run's own request rate costs the run's cost
// times the month's length over the run's, for every component, while the Lambda volume
// stays in the first tier.
func TestProjectMonthlySameRate(t *testing.T) {
	run := sampleRun()
	factor := HoursPerMonth * 3600 / run.DurationS
	r, err := RunCost(Default(), run)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ProjectMonthly(Default(), run, float64(run.Requests)*factor)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		run, month float64
	}{
		{"lambda compute", r.LambdaComputeUSD, m.LambdaComputeUSD},
		{"lambda requests", r.LambdaRequestsUSD, m.LambdaRequestsUSD},
		{"elasticache", r.ElastiCacheUSD, m.ElastiCacheUSD},
		{"dynamodb", r.DynamoDBUSD, m.DynamoDBUSD},
		{"total", r.TotalUSD, m.TotalUSD},
	} {
		if !near(c.month, c.run*factor) {
			t.Errorf("%s: month $%.6f, run $%.9f x %v = $%.6f", c.name, c.month, c.run, factor, c.run*factor)
		}
	}
	if !near(m.PerMillionUSD, r.PerMillionUSD) {
		t.Errorf("per million requests: month $%v, run $%v", m.PerMillionUSD, r.PerMillionUSD)
	}
	if m.Hours != HoursPerMonth {
		t.Errorf("hours = %v", m.Hours)
	}
}

// TestProjectMonthlyDrivers: each component follows its own driver.
func TestProjectMonthlyDrivers(t *testing.T) {
	run := sampleRun()
	low, err := ProjectMonthly(Default(), run, 1e6)
	if err != nil {
		t.Fatal(err)
	}
	high, err := ProjectMonthly(Default(), run, 1e9)
	if err != nil {
		t.Fatal(err)
	}
	// Nodes run all month whatever the traffic: 2 x 730 h x $0.219 = $319.74.
	if cents(low.ElastiCacheUSD) != 31974 || cents(high.ElastiCacheUSD) != 31974 {
		t.Errorf("elasticache: $%v at 1M, $%v at 1B; want $319.74 both", low.ElastiCacheUSD, high.ElastiCacheUSD)
	}
	// Requests and request units scale with traffic: 1M requests x $0.20/M.
	if !near(low.LambdaRequestsUSD, 0.2) || !near(high.LambdaRequestsUSD, 200) {
		t.Errorf("lambda requests: $%v at 1M, $%v at 1B", low.LambdaRequestsUSD, high.LambdaRequestsUSD)
	}
	if !near(high.DynamoDB.ReadUSD, low.DynamoDB.ReadUSD*1000) || !near(high.DynamoDB.WriteUSD, low.DynamoDB.WriteUSD*1000) {
		t.Errorf("dynamodb units did not scale: %+v vs %+v", low.DynamoDB, high.DynamoDB)
	}
	// Storage stays: 2 GB for one month.
	if !near(low.DynamoDB.StorageUSD, 0.5) || !near(high.DynamoDB.StorageUSD, 0.5) {
		t.Errorf("dynamodb storage: $%v, $%v; want $0.50", low.DynamoDB.StorageUSD, high.DynamoDB.StorageUSD)
	}
	// 1B requests x 12 ms x 0.5 GB = 6M GB-s, all in arm64's first tier.
	if !near(high.Lambda.GBSeconds, 6e6) || !near(high.LambdaComputeUSD, 6e6*0.0000133334) {
		t.Errorf("lambda: %v GB-s, $%v", high.Lambda.GBSeconds, high.LambdaComputeUSD)
	}
}

// TestProjectMonthlyTiers: the month's total, not the run, decides the tier. 2e12
// requests of 12 ms at 512 MB is 12 billion GB-s on arm64: 7.5 billion in the first tier,
// 4.5 billion in the second.
func TestProjectMonthlyTiers(t *testing.T) {
	run := sampleRun()
	m, err := ProjectMonthly(Default(), run, 2e12)
	if err != nil {
		t.Fatal(err)
	}
	want := 7.5e9*0.0000133334 + 4.5e9*0.0000120001
	if !near(m.Lambda.GBSeconds, 12e9) || !near(m.LambdaComputeUSD, want) {
		t.Errorf("%v GB-s cost $%.2f, want 12e9 GB-s at $%.2f", m.Lambda.GBSeconds, m.LambdaComputeUSD, want)
	}
	// With 8 billion GB-s already used this month by other arm64 functions, all of it is
	// in the second tier.
	run.Lambda.MonthlyVolumeGBs = 8e9
	m, err = ProjectMonthly(Default(), run, 1e9)
	if err != nil {
		t.Fatal(err)
	}
	if !near(m.LambdaComputeUSD, 6e6*0.0000120001) {
		t.Errorf("after 8e9 GB-s: $%v, want $%v", m.LambdaComputeUSD, 6e6*0.0000120001)
	}
}

func TestProjectMonthlyServerless(t *testing.T) {
	run := RunUsage{DurationS: 60, Requests: 60_000,
		ElastiCache: &CacheUsage{Engine: Valkey, Serverless: true, DataGB: 0.5, ECPUs: ECPUs(60_000, 3000)}}
	m, err := ProjectMonthly(Default(), run, 10e6)
	if err != nil {
		t.Fatal(err)
	}
	// 0.5 GB for 730 h at $0.084, and 10M requests of 3,000 B: 10M x 3000/1024 ECPUs.
	wantData, wantECPU := 0.5*730*0.084, 10e6*3000/1024*0.0023/1e6
	s := m.ElastiCache.Serverless
	if s == nil || !near(s.DataStoredUSD, wantData) || !near(s.ECPUUSD, wantECPU) || !near(m.TotalUSD, wantData+wantECPU) {
		t.Errorf("serverless = %+v, total $%v; want data $%v, ECPU $%v", s, m.TotalUSD, wantData, wantECPU)
	}
}

func TestProjectMonthlyProvisioned(t *testing.T) {
	run := RunUsage{DurationS: 60, Requests: 1000, Lambda: &LambdaUsage{MemoryMB: 1024, Invocations: 1000, BilledMS: 20_000,
		Provisioned: &Provisioned{Concurrency: 4, Hours: 1.0 / 60, BilledMS: 15_000}}}
	m, err := ProjectMonthly(Default(), run, 1e6)
	if err != nil {
		t.Fatal(err)
	}
	l := m.Lambda
	// 4 environments x 1 GB x 730 h, and 15,000 of each 20,000 ms on them.
	if !near(l.ConcurrencyGBSeconds, 4*730*3600) || !near(l.ProvisionedDurationGBSeconds, 15_000) || !near(l.OnDemandGBSeconds, 5_000) {
		t.Errorf("lambda = %+v", l)
	}
	if run.Lambda.Provisioned.Hours != 1.0/60 || run.Lambda.BilledMS != 20_000 {
		t.Error("ProjectMonthly changed the run it was given")
	}
}

// TestRunCostProratesProvisioned: a measured run prices provisioned concurrency for the
// run's own length, as it does ElastiCache nodes, where LambdaCost rounds up to 5 minutes.
func TestRunCostProratesProvisioned(t *testing.T) {
	tab := Default()
	lu := LambdaUsage{Arch: ARM64, MemoryMB: 1024, Invocations: 1000, BilledMS: 20_000,
		Provisioned: &Provisioned{Concurrency: 4, Hours: 12.0 / 3600, BilledMS: 15_000}}
	run, err := RunCost(tab, RunUsage{DurationS: 12, Requests: 1000, Lambda: &lu})
	if err != nil {
		t.Fatal(err)
	}
	// 4 environments x 1 GB x 12 s.
	if got := run.Lambda.ConcurrencyGBSeconds; !near(got, 4*12) {
		t.Errorf("run: %v GB-s of provisioned concurrency, want 48 (4 x 1 GB x 12 s)", got)
	}
	wantUSD := 48*tab.Lambda.ProvisionedConcurrency[ARM64].Value + 15*tab.Lambda.ProvisionedDuration[ARM64].Value +
		5*tab.Lambda.Duration[ARM64][0].Value
	if !near(run.LambdaComputeUSD, wantUSD) {
		t.Errorf("run: lambda compute $%v, want $%v", run.LambdaComputeUSD, wantUSD)
	}
	aws, err := LambdaCost(tab, lu)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ConcurrencyGBSeconds; !near(got, 4*300) {
		t.Errorf("LambdaCost: %v GB-s of provisioned concurrency, want 1200 (12 s billed as 5 minutes)", got)
	}
}

func TestProjectRejects(t *testing.T) {
	tab := Default()
	none := sampleRun()
	none.Requests = 0
	both := sampleRun()
	both.ElastiCache.Serverless = true
	unknown := sampleRun()
	unknown.ElastiCache.NodeType = "cache.x9.huge"
	for _, c := range []struct {
		name    string
		run     RunUsage
		monthly float64
		want    string
	}{
		{"no requests", none, 1e6, "no requests to scale from"},
		{"negative traffic", sampleRun(), -1, "not a traffic"},
		{"serverless and nodes", both, 1e6, "choose one"},
		{"unknown node type", unknown, 1e6, "cache.x9.huge"},
	} {
		_, err := ProjectMonthly(tab, c.run, c.monthly)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error = %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := RunCost(tab, RunUsage{DurationS: math.NaN()}); err == nil {
		t.Error("RunCost accepted a NaN duration")
	}
}
