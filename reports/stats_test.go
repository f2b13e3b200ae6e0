package reports

import (
	"math"
	"testing"
)

func TestStudentTQuantile(t *testing.T) {
	// Reference values of the 97.5% quantile (two-sided 95%).
	for _, tc := range []struct{ df, want float64 }{
		{1, 12.7062047}, {2, 4.30265273}, {3, 3.18244631}, {5, 2.57058184},
		{10, 2.22813885}, {30, 2.04227246}, {1000, 1.96233908},
	} {
		if got := studentTQuantile(0.975, tc.df); math.Abs(got-tc.want) > 1e-6*tc.want {
			t.Errorf("t(0.975, %g) = %.8f, want %.8f", tc.df, got, tc.want)
		}
		if got := studentTQuantile(0.025, tc.df); math.Abs(got+tc.want) > 1e-6*tc.want {
			t.Errorf("t(0.025, %g) = %.8f, want %.8f", tc.df, got, -tc.want)
		}
	}
}

// TestStudentTCDFAgainstIntegration checks the continued fraction against a numerical
// integral of the t density (Simpson's rule), an independent computation.
func TestStudentTCDFAgainstIntegration(t *testing.T) {
	pdf := func(x, df float64) float64 {
		lg1, _ := math.Lgamma((df + 1) / 2)
		lg2, _ := math.Lgamma(df / 2)
		return math.Exp(lg1-lg2) / math.Sqrt(df*math.Pi) * math.Pow(1+x*x/df, -(df+1)/2)
	}
	for _, df := range []float64{1.5, 3, 7.3, 25} {
		for _, x := range []float64{0.3, 1, 2.2, 4} {
			const n = 20000
			h := x / n
			sum := pdf(0, df) + pdf(x, df)
			for i := 1; i < n; i++ {
				w := 2.0
				if i%2 == 1 {
					w = 4
				}
				sum += w * pdf(float64(i)*h, df)
			}
			want := 0.5 + sum*h/3
			if got := studentTCDF(x, df); math.Abs(got-want) > 1e-9 {
				t.Errorf("CDF(%g; df %g) = %.12f, integral %.12f", x, df, got, want)
			}
			if got := studentTCDF(-x, df); math.Abs(got-(1-want)) > 1e-9 {
				t.Errorf("CDF(%g; df %g) = %.12f, want %.12f", -x, df, got, 1-want)
			}
		}
	}
}

func TestWelchTTest(t *testing.T) {
	// R: t.test(c(1,2,3,4,5), c(2,4,6,8,10)) gives t = 1.8974 (b - a), df = 5.8824, p = 0.1075.
	p, tt, df := welchTTest(describe([]float64{1, 2, 3, 4, 5}), describe([]float64{2, 4, 6, 8, 10}))
	if math.Abs(tt-1.897367) > 1e-5 || math.Abs(df-5.882353) > 1e-5 || math.Abs(p-0.1075) > 5e-4 {
		t.Errorf("welch: t %.6f df %.6f p %.6f; want t 1.897367, df 5.882353, p 0.1075", tt, df, p)
	}
	if p, _, _ := welchTTest(describe([]float64{3, 3, 3}), describe([]float64{3, 3, 3})); p != 1 {
		t.Errorf("identical constant samples: p %v, want 1", p)
	}
	if p, _, _ := welchTTest(describe([]float64{3}), describe([]float64{3, 4, 5})); !math.IsNaN(p) {
		t.Errorf("one value: p %v, want NaN", p)
	}
}

func TestCI95(t *testing.T) {
	s := describe([]float64{10, 12, 14})
	// sd 2, n 3: half-width t(0.975, 2) * 2 / sqrt(3).
	want := 4.30265273 * 2 / math.Sqrt(3)
	if got := s.ci95(); math.Abs(got-want) > 1e-6 {
		t.Errorf("ci95 %v, want %v", got, want)
	}
	if !math.IsNaN(describe([]float64{1}).ci95()) {
		t.Error("ci95 of one value should be NaN")
	}
}
