package workload

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

// KeyChooser picks the key of each request. It is not safe for concurrent use.
type KeyChooser interface {
	// Next returns the key index, in [0, Count()), of a request due at offset t from the
	// start of the run. Only choosers whose popularity changes with time (hotspot with a
	// moving hot set) look at t; t must not decrease from call to call.
	Next(t time.Duration) int
	// Count is the number of distinct keys.
	Count() int
}

// Defaults of the keys section for its zero values (the scenario parser applies the same).
const (
	DefaultZipfS    = 1.0
	DefaultHotShare = 0.8
	DefaultHotKeys  = 0.2
)

// maxKeys is the largest keys.count: key permutations are stored as int32.
const maxKeys = math.MaxInt32

// distribution returns k.Distribution with the default (uniform) for the zero value.
func distribution(k scenarios.Keys) string {
	if k.Distribution == "" {
		return scenarios.DistUniform
	}
	return k.Distribution
}

// CheckKeys says everything that is wrong with the popularity settings of k, naming each
// field, or nil. Zero values of zipf_s, hot_share and hot_keys mean their defaults.
func CheckKeys(k scenarios.Keys) error {
	var errs []error
	dist := distribution(k)
	if dist != scenarios.DistTrace {
		if k.Count <= 0 || k.Count > maxKeys {
			errs = append(errs, fmt.Errorf("keys.count must be between 1 and %d, got %d", maxKeys, k.Count))
		}
	}
	switch dist {
	case scenarios.DistUniform:
	case scenarios.DistZipf:
		if k.ZipfS < 0 || math.IsNaN(k.ZipfS) || math.IsInf(k.ZipfS, 0) {
			errs = append(errs, fmt.Errorf("keys.zipf_s must be > 0 (1.0 is classic Zipf; smaller is flatter), got %v", k.ZipfS))
		}
	case scenarios.DistHotspot:
		if k.Count == 1 {
			errs = append(errs, errors.New("keys.count must be at least 2 for hotspot (a hot set and the rest)"))
		}
		if k.HotShare < 0 || k.HotShare > 1 || math.IsNaN(k.HotShare) {
			errs = append(errs, fmt.Errorf("keys.hot_share must be between 0 and 1 (the share of requests to hot keys), got %v", k.HotShare))
		}
		if k.HotKeys < 0 || k.HotKeys >= 1 || math.IsNaN(k.HotKeys) {
			errs = append(errs, fmt.Errorf("keys.hot_keys must be > 0 and < 1 (the hot fraction of keys.count), got %v", k.HotKeys))
		}
		if k.HotMove < 0 {
			errs = append(errs, fmt.Errorf("keys.hot_move must be >= 0 (0: the hot set never moves), got %v", k.HotMove))
		}
	case scenarios.DistTrace:
		if k.Trace == "" {
			errs = append(errs, errors.New("keys.trace is empty: the trace distribution needs a CSV file of time,key,operation rows"))
		}
	default:
		errs = append(errs, fmt.Errorf("keys.distribution %q is unknown: use uniform, zipf, hotspot or trace", k.Distribution))
	}
	return errors.Join(errs...)
}

// NewKeys returns the chooser of k's distribution, seeded with seed:
//
//   - uniform: every key equally likely.
//   - zipf: the key of popularity rank r (1 = most popular) has probability
//     ∝ 1/r^zipf_s (see ZipfPMF), for any zipf_s > 0; ranks are shuffled onto key indices
//     with the seed, so the hottest key is not key 0.
//   - hotspot: hot_share of the requests go uniformly to a hot set of hot_keys·count keys
//     (at least 1, at most count-1), the rest uniformly to the other keys. With hot_move
//     > 0 the hot set changes every hot_move to the next window of a seeded permutation of
//     the keys: a set disjoint from the last one while hot_keys <= 0.5.
//   - trace: the keys of the trace file k.Trace (read with LoadTrace; the path is used as
//     given, so resolve it first, see TracePath), in the file's order, from the start
//     again after the last row; t is not used. Its count is the number of distinct keys.
func NewKeys(k scenarios.Keys, seed uint64) (KeyChooser, error) {
	if err := CheckKeys(k); err != nil {
		return nil, err
	}
	draw := newRand(derive(seed, streamKeyDraw))
	switch distribution(k) {
	case scenarios.DistZipf:
		s := k.ZipfS
		if s == 0 {
			s = DefaultZipfS
		}
		return &zipfKeys{z: newZipf(s, k.Count), perm: permutation(k.Count, derive(seed, streamKeyPerm)), rng: draw}, nil
	case scenarios.DistHotspot:
		share, frac := k.HotShare, k.HotKeys
		if share == 0 {
			share = DefaultHotShare
		}
		if frac == 0 {
			frac = DefaultHotKeys
		}
		hot := min(max(int(math.Round(frac*float64(k.Count))), 1), k.Count-1)
		return &hotspotKeys{
			share: share, hot: hot, move: k.HotMove,
			perm: permutation(k.Count, derive(seed, streamKeyPerm)), rng: draw,
		}, nil
	case scenarios.DistTrace:
		tr, err := LoadTraceWith(k.Trace, TraceOptionsOf(k))
		if err != nil {
			return nil, err
		}
		return tr.Keys(), nil
	default:
		return &uniformKeys{n: k.Count, rng: draw}, nil
	}
}

// permutation returns a seeded random permutation of [0, n) (Fisher–Yates).
func permutation(n int, seed uint64) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	rng := newRand(seed)
	for i := n - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

type uniformKeys struct {
	n   int
	rng *rand.Rand
}

func (u *uniformKeys) Next(time.Duration) int { return u.rng.IntN(u.n) }
func (u *uniformKeys) Count() int             { return u.n }

type zipfKeys struct {
	z    zipf
	perm []int32 // perm[r-1] is the key of rank r
	rng  *rand.Rand
}

func (z *zipfKeys) Next(time.Duration) int { return int(z.perm[z.z.rank(z.rng)-1]) }
func (z *zipfKeys) Count() int             { return len(z.perm) }

// hotspotKeys: in epoch e = t / move, the hot set is the window of hot keys of perm that
// starts at (e·hot) mod n, and the cold set the n-hot keys after it (cyclically).
type hotspotKeys struct {
	share float64
	hot   int
	move  time.Duration
	perm  []int32
	rng   *rand.Rand
}

// start returns where the hot window begins at offset t.
func (h *hotspotKeys) start(t time.Duration) int {
	if h.move <= 0 || t < h.move {
		return 0
	}
	n := int64(len(h.perm))
	e := int64(t/h.move) % n
	return int(e * int64(h.hot) % n)
}

func (h *hotspotKeys) Next(t time.Duration) int {
	n := len(h.perm)
	i := h.start(t)
	if h.rng.Float64() < h.share {
		i += h.rng.IntN(h.hot)
	} else {
		i += h.hot + h.rng.IntN(n-h.hot)
	}
	if i >= n {
		i -= n
	}
	return int(h.perm[i])
}

func (h *hotspotKeys) Count() int { return len(h.perm) }

// ZipfPMF returns the Zipf probabilities of n ranks with exponent s: element r-1 is the
// probability of rank r, (1/r^s) / Σₖ 1/k^s. It is the distribution zipf keys are drawn
// from (before ranks are shuffled onto keys). It returns nil for n <= 0.
func ZipfPMF(s float64, n int) []float64 {
	if n <= 0 {
		return nil
	}
	p := make([]float64, n)
	sum := 0.0
	for r := n; r >= 1; r-- { // smallest terms first, for accuracy
		p[r-1] = math.Pow(float64(r), -s)
		sum += p[r-1]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// zipf draws ranks in [1, n] with P(r) ∝ r^-s for any s > 0, by rejection-inversion
// (W. Hörmann and G. Derflinger, "Rejection-inversion to generate variates from monotone
// discrete distributions", 1996), as in Apache Commons Math's ZipfDistribution: O(1)
// memory and time per draw, with an acceptance rate close to 1.
type zipf struct {
	n         int
	s         float64 // the exponent
	hX1, hN   float64 // H(1.5) - 1 and H(n + 0.5)
	threshold float64 // 2 - H⁻¹(H(2.5) - h(2)), the squeeze for quick acceptance
}

func newZipf(s float64, n int) zipf {
	z := zipf{n: n, s: s}
	z.hX1 = z.hIntegral(1.5) - 1
	z.hN = z.hIntegral(float64(n) + 0.5)
	z.threshold = 2 - z.hIntegralInverse(z.hIntegral(2.5)-z.h(2))
	return z
}

// rank draws one rank.
func (z *zipf) rank(rng *rand.Rand) int {
	if z.n == 1 {
		return 1
	}
	for {
		u := z.hN + rng.Float64()*(z.hX1-z.hN) // uniform in (hX1, hN]
		x := z.hIntegralInverse(u)
		k := int(x + 0.5)
		if k < 1 {
			k = 1
		} else if k > z.n {
			k = z.n
		}
		if float64(k)-x <= z.threshold || u >= z.hIntegral(float64(k)+0.5)-z.h(float64(k)) {
			return k
		}
	}
}

// h is the unnormalised density x^-s.
func (z *zipf) h(x float64) float64 { return math.Exp(-z.s * math.Log(x)) }

// hIntegral is H(x) = (x^(1-s) - 1) / (1-s), or log x for s = 1, evaluated stably.
func (z *zipf) hIntegral(x float64) float64 {
	lx := math.Log(x)
	return helper2((1-z.s)*lx) * lx
}

// hIntegralInverse is the inverse of hIntegral.
func (z *zipf) hIntegralInverse(x float64) float64 {
	t := x * (1 - z.s)
	if t < -1 { // only through rounding
		t = -1
	}
	return math.Exp(helper1(t) * x)
}

// helper1 is log1p(x)/x, continuous at 0.
func helper1(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Log1p(x) / x
	}
	return 1 - x*(0.5-x*(1.0/3-0.25*x))
}

// helper2 is expm1(x)/x, continuous at 0.
func helper2(x float64) float64 {
	if math.Abs(x) > 1e-8 {
		return math.Expm1(x) / x
	}
	return 1 + x*0.5*(1+x*(1.0/3)*(1+0.25*x))
}
