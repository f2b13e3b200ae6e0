package reports

import (
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// This file holds the little statistics comparisons need: a sample's mean and Student-t
// confidence interval, and Welch's t-test. The t distribution is gonum's (stat/distuv);
// Welch's statistic and its Welch–Satterthwaite degrees of freedom are the textbook
// formulas, which gonum does not provide as one function.

// sampleStats is the summary of a small sample.
type sampleStats struct {
	n    int
	mean float64
	// sd is the sample standard deviation (n-1 in the denominator); 0 when n < 2.
	sd float64
}

func describe(xs []float64) sampleStats {
	s := sampleStats{n: len(xs)}
	switch s.n {
	case 0:
		s.mean = math.NaN()
	case 1:
		s.mean = xs[0]
	default:
		s.mean, s.sd = stat.MeanStdDev(xs, nil)
	}
	return s
}

// ci95 returns the half-width of the 95% confidence interval of the mean (Student t with
// n-1 degrees of freedom); NaN when n < 2.
func (s sampleStats) ci95() float64 {
	if s.n < 2 {
		return math.NaN()
	}
	return studentTQuantile(0.975, float64(s.n-1)) * s.sd / math.Sqrt(float64(s.n))
}

// welchTTest returns the two-sided p-value of Welch's t-test for a difference of means,
// with its t statistic and degrees of freedom. Both samples need at least two values;
// otherwise p is NaN. When neither sample varies, p is 1 for equal means and 0 otherwise.
func welchTTest(a, b sampleStats) (p, t, df float64) {
	if a.n < 2 || b.n < 2 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	va := a.sd * a.sd / float64(a.n)
	vb := b.sd * b.sd / float64(b.n)
	se2 := va + vb
	if se2 == 0 {
		if a.mean == b.mean {
			return 1, 0, math.Inf(1)
		}
		return 0, math.Inf(1), math.Inf(1)
	}
	t = (b.mean - a.mean) / math.Sqrt(se2)
	df = se2 * se2 / (va*va/float64(a.n-1) + vb*vb/float64(b.n-1))
	p = 2 * studentT(df).Survival(math.Abs(t))
	return math.Min(p, 1), t, df
}

// studentT is the standard Student's t distribution with df degrees of freedom.
func studentT(df float64) distuv.StudentsT { return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df} }

// studentTCDF is P(T <= t) for Student's t with df degrees of freedom.
func studentTCDF(t, df float64) float64 { return studentT(df).CDF(t) }

// studentTQuantile returns t such that P(T <= t) = p, for 0 < p < 1.
func studentTQuantile(p, df float64) float64 {
	switch {
	case p <= 0:
		return math.Inf(-1)
	case p >= 1:
		return math.Inf(1)
	}
	return studentT(df).Quantile(p)
}
