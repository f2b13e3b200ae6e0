package bench

import (
	"math"
	"math/rand/v2"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// TestInverseCDFIsValueAtQuantile: the binary search sample uses gives exactly the
// histogram's own ValueAtQuantile, over quantiles drawn as sample draws them and the
// edges, for histograms of one value, a few, and a long-tailed spread.
func TestInverseCDFIsValueAtQuantile(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := map[string]func() int64{
		"one value": func() int64 { return 250 },
		"two":       func() int64 { return []int64{90, 4000}[rng.IntN(2)] },
		"long tail": func() int64 { return int64(math.Exp(5 + 1.5*rng.NormFloat64())) },
	}
	for name, draw := range shapes {
		for _, n := range []int{1, 7, 20000} {
			h := hdrhistogram.New(1, 60_000_000, 3)
			for range n {
				_ = h.RecordValue(max(1, min(draw(), 60_000_000)))
			}
			f := newInverseCDF(h)
			qs := []float64{0, 1e-12, 0.5, 50, 99, 99.9999, 100}
			for range 20000 {
				qs = append(qs, rng.Float64()*100)
			}
			for _, q := range qs {
				if got, want := f.at(q), h.ValueAtQuantile(q); got != want {
					t.Fatalf("%s, %d values: at(%v) = %d, ValueAtQuantile = %d", name, n, q, got, want)
				}
			}
		}
	}
	if got := newInverseCDF(hdrhistogram.New(1, 1000, 3)).at(50); got != 0 {
		t.Errorf("empty histogram: at(50) = %d, want 0", got)
	}
}
