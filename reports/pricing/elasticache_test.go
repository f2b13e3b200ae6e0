package pricing

import (
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestNodeCost(t *testing.T) {
	tab := Default()
	tests := []struct {
		engine   Engine
		nodeType string
		nodes    int
		hours    float64
		want     float64
	}{
		{RedisOSS, "cache.r7g.large", 3, 730, 3 * 730 * 0.219}, // a primary and two replicas, a month: $479.61
		{Valkey, "cache.r7g.large", 3, 730, 3 * 730 * 0.1752},
		{RedisOSS, "cache.t4g.micro", 1, 730, 11.68},
		{Valkey, "cache.t4g.micro", 1, 730, 9.344},
		{RedisOSS, "cache.m7g.large", 2, 1.0 / 60, 2 * 0.158 / 60}, // a 60 s run, prorated
		{Valkey, "cache.t4g.medium", 0, 730, 0},
	}
	for _, tc := range tests {
		got, err := NodeCost(tab, tc.engine, tc.nodeType, tc.nodes, tc.hours)
		if err != nil {
			t.Fatal(err)
		}
		if !near(got, tc.want) {
			t.Errorf("%d %s %s for %v h = $%.6f, want $%.6f", tc.nodes, tc.engine, tc.nodeType, tc.hours, got, tc.want)
		}
	}
	if got, _ := NodeCost(tab, RedisOSS, "cache.r7g.large", 3, 730); cents(got) != 47961 {
		t.Errorf("3 x cache.r7g.large for 730 h = $%.4f, want $479.61", got)
	}
}

func TestNodeCostRejects(t *testing.T) {
	tab := Default()
	for _, c := range []struct {
		engine   Engine
		nodeType string
		nodes    int
		hours    float64
		want     string
	}{
		{RedisOSS, "cache.x9.huge", 1, 1, `no redis_oss price for node type "cache.x9.huge"; add elasticache.nodes.redis_oss.cache.x9.huge`},
		{"memcached", "cache.t4g.micro", 1, 1, `no node prices for engine "memcached"`},
		{Valkey, "cache.t4g.micro", -1, 1, "negative usage"},
	} {
		_, err := NodeCost(tab, c.engine, c.nodeType, c.nodes, c.hours)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error = %v, want one containing %q", err, c.want)
		}
	}
}

func TestServerlessCost(t *testing.T) {
	tab := Default()
	tests := []struct {
		name                  string
		engine                Engine
		dataGB, hours, ecpus  float64
		wantGBHours, wantData float64
		wantECPU              float64
	}{
		// An almost empty cache still meters the minimum: 1 GB for Redis OSS, 100 MB for
		// Valkey, a month of which is $91.25 and $6.13.
		{"redis minimum", RedisOSS, 0.2, 730, 0, 730, 91.25, 0},
		{"valkey minimum", Valkey, 0.05, 730, 0, 73, 6.132, 0},
		{"redis above the minimum", RedisOSS, 2.5, 10, 3_200_000, 25, 3.125, 3.2 * 0.0034},
		{"valkey a million ECPUs", Valkey, 0.5, 1, 1e6, 0.5, 0.042, 0.0023},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := ServerlessCost(tab, tc.engine, tc.dataGB, tc.hours, tc.ecpus)
			if err != nil {
				t.Fatal(err)
			}
			if !near(b.BilledGBHours, tc.wantGBHours) || !near(b.DataStoredUSD, tc.wantData) || !near(b.ECPUUSD, tc.wantECPU) || !near(b.TotalUSD, tc.wantData+tc.wantECPU) {
				t.Errorf("bill = %+v, want %v GB-h, data $%v, ECPU $%v", b, tc.wantGBHours, tc.wantData, tc.wantECPU)
			}
		})
	}
	if _, err := ServerlessCost(tab, "memcached", 1, 1, 1); err == nil || !strings.Contains(err.Error(), "elasticache.serverless.memcached") {
		t.Errorf("unknown engine: error = %v", err)
	}
	if _, err := ServerlessCost(tab, Valkey, -1, 1, 1); err == nil {
		t.Error("negative data accepted")
	}
}

// TestECPUs follows the rule of https://aws.amazon.com/elasticache/pricing/: 1 ECPU per KB
// transferred, a GET of up to 1 KB is 1 ECPU, a GET of 3.2 KB is 3.2 ECPUs.
func TestECPUs(t *testing.T) {
	for _, c := range []struct {
		bytes, want float64
	}{{0, 1}, {100, 1}, {1024, 1}, {1025, 1025.0 / 1024}, {3.2 * 1024, 3.2}, {400 * 1024, 400}} {
		if got := ECPUsPerRequest(c.bytes); !near(got, c.want) {
			t.Errorf("ECPUsPerRequest(%v) = %v, want %v", c.bytes, got, c.want)
		}
	}
	if got := ECPUs(1_000_000, 3.2*1024); !near(got, 3.2e6) {
		t.Errorf("ECPUs(1M, 3.2 KB) = %v, want 3.2M", got)
	}
	if got := ECPUs(1_000_000, 200); got != 1e6 {
		t.Errorf("ECPUs(1M, 200 B) = %v, want 1M", got)
	}
	if got := ECPUs(0, 5000); got != 0 {
		t.Errorf("ECPUs(0, ...) = %v", got)
	}
	// An average over mixed sizes is a lower bound: half 100 B, half 3,000 B.
	mixed := 0.5*ECPUsPerRequest(100) + 0.5*ECPUsPerRequest(3000)
	if avg := ECPUs(1, 1550); avg >= mixed {
		t.Errorf("average-size ECPUs %v not below the per-request sum %v", avg, mixed)
	}
}
