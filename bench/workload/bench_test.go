package workload

import (
	"testing"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

// BenchmarkGeneratorNext measures one request of the stream; the runner's pacer needs
// well over a million per second from one core.
func BenchmarkGeneratorNext(b *testing.B) {
	cases := []struct {
		name string
		s    func() *scenarios.Scenario
	}{
		{"constant+zipf", func() *scenarios.Scenario {
			s := scenario(1)
			s.Arrival = scenarios.Arrival{Model: scenarios.ArrivalConstant, Rate: 1e6}
			s.Keys.Count = 100_000
			return s
		}},
		{"poisson+hotspot", func() *scenarios.Scenario {
			s := scenario(1)
			s.Arrival = scenarios.Arrival{Model: scenarios.ArrivalPoisson, Rate: 1e6}
			s.Keys.Count = 100_000
			s.Keys.Distribution = scenarios.DistHotspot
			s.Keys.HotMove = 10 * time.Millisecond
			return s
		}},
		{"constant+uniform/one-object", func() *scenarios.Scenario {
			return &scenarios.Scenario{Seed: 1, Arrival: scenarios.Arrival{Rate: 1e6}, Keys: scenarios.Keys{Count: 100_000}}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			g := mustGenerator(b, c.s(), 0)
			var r Request
			b.ReportAllocs()
			for b.Loop() {
				if !g.Next(&r) {
					b.Fatal("stream ended")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
