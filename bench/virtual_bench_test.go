package bench

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

// BenchmarkVirtualDayInTheLife runs the day-in-the-life scenario on the virtual clock,
// cut to one simulated hour (the whole day is `cachebench run day-in-the-life`), and
// reports simulated requests per second of wall time, the figure the 48k target is about.
func BenchmarkVirtualDayInTheLife(b *testing.B) {
	for b.Loop() {
		s, err := scenarios.Load("day-in-the-life", []string{"duration=1h"})
		if err != nil {
			b.Fatal(err)
		}
		env := startVirtualEnv(b)
		start := time.Now()
		res, err := Run(context.Background(), s, env, Options{})
		if err != nil {
			b.Fatal(err)
		}
		wall := time.Since(start)
		b.ReportMetric(float64(res.Requests.Total)/wall.Seconds(), "simulated_req/s")
		b.ReportMetric(res.Tiers.L3.HitRatio, "l3_hit_ratio")
	}
}

// BenchmarkVirtualL3TTLModel: with L1 and L2 off, two simulated hours of Poisson reads of
// uniform keys; reports the L3 hit ratio, the TTL-cache model's λT/(1+λT), and their
// distance (the target is at most 0.02).
func BenchmarkVirtualL3TTLModel(b *testing.B) {
	const rate, keys, ttl = 20.0, 2000.0, 300.0
	for b.Loop() {
		s, err := scenarios.Parse([]byte(`
name: l3-model
clock: virtual
duration: 2h
arrival: {model: poisson, rate: 20}
keys: {object: customer, count: 2000, distribution: uniform}
lambda: {enabled: false}
cache: {l1: {enabled: false}, l2: {enabled: false}, l3: {enabled: true, ttl: 5m}}
`), "l3-model.yaml")
		if err != nil {
			b.Fatal(err)
		}
		res, err := Run(context.Background(), s, startVirtualEnv(b), Options{})
		if err != nil {
			b.Fatal(err)
		}
		lt := rate / keys * ttl
		model := lt / (1 + lt)
		b.ReportMetric(res.Tiers.L3.HitRatio, "l3_hit_ratio")
		b.ReportMetric(model, "ttl_model")
		b.ReportMetric(math.Abs(res.Tiers.L3.HitRatio-model), "abs_diff")
	}
}
