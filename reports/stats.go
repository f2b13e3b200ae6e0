package reports

import (
	"math"
)

// This file holds the little statistics comparisons need: a sample's mean and Student-t
// confidence interval, and Welch's t-test. The t distribution is computed here through the
// regularized incomplete beta function (continued fraction, as in Numerical Recipes §6.4),
// so the package needs no statistics library.

// sampleStats is the summary of a small sample.
type sampleStats struct {
	n    int
	mean float64
	// sd is the sample standard deviation (n-1 in the denominator); 0 when n < 2.
	sd float64
}

func describe(xs []float64) sampleStats {
	s := sampleStats{n: len(xs)}
	if s.n == 0 {
		s.mean = math.NaN()
		return s
	}
	for _, x := range xs {
		s.mean += x
	}
	s.mean /= float64(s.n)
	if s.n < 2 {
		return s
	}
	var ss float64
	for _, x := range xs {
		d := x - s.mean
		ss += d * d
	}
	s.sd = math.Sqrt(ss / float64(s.n-1))
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
	p = 2 * studentTSF(math.Abs(t), df)
	return math.Min(p, 1), t, df
}

// studentTSF is the upper tail P(T > t) of Student's t with df degrees of freedom, t >= 0.
func studentTSF(t, df float64) float64 {
	if math.IsInf(t, 1) {
		return 0
	}
	x := df / (df + t*t)
	return 0.5 * regIncBeta(df/2, 0.5, x)
}

// studentTCDF is P(T <= t) for Student's t with df degrees of freedom.
func studentTCDF(t, df float64) float64 {
	if t >= 0 {
		return 1 - studentTSF(t, df)
	}
	return studentTSF(-t, df)
}

// studentTQuantile returns t such that P(T <= t) = p, for 0 < p < 1, by bisection on the
// CDF (monotone, so bisection always converges).
func studentTQuantile(p, df float64) float64 {
	if p <= 0 {
		return math.Inf(-1)
	}
	if p >= 1 {
		return math.Inf(1)
	}
	if p == 0.5 {
		return 0
	}
	if p < 0.5 {
		return -studentTQuantile(1-p, df)
	}
	lo, hi := 0.0, 1.0
	for studentTCDF(hi, df) < p {
		lo, hi = hi, hi*2
		if hi > 1e12 {
			return hi
		}
	}
	for i := 0; i < 200 && hi-lo > 1e-12*math.Max(1, hi); i++ {
		mid := (lo + hi) / 2
		if studentTCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// regIncBeta is the regularized incomplete beta function I_x(a, b).
func regIncBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	front := math.Exp(la - lb - lc + a*math.Log(x) + b*math.Log1p(-x))
	// The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry
	// I_x(a,b) = 1 - I_{1-x}(b,a) otherwise.
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

// betaCF evaluates the continued fraction of the incomplete beta function by the modified
// Lentz method.
func betaCF(a, b, x float64) float64 {
	const (
		maxIter = 300
		eps     = 1e-15
		tiny    = 1e-300
	)
	qab, qap, qam := a+b, a+1, a-1
	// nonZero keeps a denominator away from zero (Lentz's method).
	nonZero := func(v float64) float64 {
		if math.Abs(v) < tiny {
			return tiny
		}
		return v
	}
	c, d := 1.0, 1/nonZero(1-qab*x/qap)
	h := d
	for m := 1; m <= maxIter; m++ {
		mf := float64(m)
		m2 := 2 * mf
		// The even step, then the odd step, of the continued fraction.
		aa := mf * (b - mf) * x / ((qam + m2) * (a + m2))
		d = 1 / nonZero(1+aa*d)
		c = nonZero(1 + aa/c)
		h *= d * c
		aa = -(a + mf) * (qab + mf) * x / ((a + m2) * (qap + m2))
		d = 1 / nonZero(1+aa*d)
		c = nonZero(1 + aa/c)
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}
