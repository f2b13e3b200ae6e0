package workload

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

func mustKeys(t *testing.T, k scenarios.Keys, seed uint64) KeyChooser {
	t.Helper()
	c, err := NewKeys(k, seed)
	if err != nil {
		t.Fatalf("NewKeys(%+v): %v", k, err)
	}
	return c
}

// chiSquare returns Σ(obs-exp)²/exp.
func chiSquare(obs []int, exp []float64) float64 {
	x := 0.0
	for i := range obs {
		d := float64(obs[i]) - exp[i]
		x += d * d / exp[i]
	}
	return x
}

// chiLimit is the upper acceptance bound of a χ² statistic with df degrees of freedom:
// its mean plus 5 standard deviations.
func chiLimit(df int) float64 { return float64(df) + 5*math.Sqrt(2*float64(df)) }

func TestZipfPMF(t *testing.T) {
	for _, s := range []float64{0.5, 1, 1.5} {
		p := ZipfPMF(s, 1000)
		sum := 0.0
		for _, x := range p {
			sum += x
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("s=%v: probabilities sum to %v", s, sum)
		}
		if r := p[0] / p[1]; math.Abs(r-math.Pow(2, s)) > 1e-9 {
			t.Errorf("s=%v: p(1)/p(2) = %v, want 2^s", s, r)
		}
	}
	// Harmonic numbers: H(4) = 25/12.
	if p := ZipfPMF(1, 4); math.Abs(p[0]-12.0/25) > 1e-15 {
		t.Errorf("ZipfPMF(1, 4)[0] = %v, want 12/25", p[0])
	}
	if ZipfPMF(1, 0) != nil {
		t.Error("ZipfPMF(1, 0) is not nil")
	}
}

// TestZipfMatchesPMF draws a million keys for each exponent, maps them back to ranks, and
// checks every rank's frequency against ZipfPMF: the top ranks one by one (5 standard
// errors) and all 1000 ranks together with a χ² test.
func TestZipfMatchesPMF(t *testing.T) {
	const (
		n     = 1000
		draws = 1_000_000
	)
	for _, s := range []float64{0.8, 1.0, 1.2} {
		c := mustKeys(t, scenarios.Keys{Count: n, Distribution: scenarios.DistZipf, ZipfS: s}, 7)
		perm := c.(*zipfKeys).perm
		rankOf := make([]int, n)
		for r, k := range perm {
			rankOf[k] = r
		}
		obs := make([]int, n)
		for range draws {
			obs[rankOf[c.Next(0)]]++
		}
		p := ZipfPMF(s, n)
		exp := make([]float64, n)
		for r := range p {
			exp[r] = p[r] * draws
		}
		for r := range 20 {
			f := float64(obs[r]) / draws
			if se := math.Sqrt(p[r] * (1 - p[r]) / draws); math.Abs(f-p[r]) > 5*se {
				t.Errorf("s=%v rank %d: frequency %.5f, want %.5f ± %.5f", s, r+1, f, p[r], 5*se)
			}
		}
		if x := chiSquare(obs, exp); x > chiLimit(n-1) {
			t.Errorf("s=%v: χ² over %d ranks %.0f > %.0f", s, n, x, chiLimit(n-1))
		} else {
			t.Logf("s=%v: χ² %.0f (%d degrees of freedom)", s, x, n-1)
		}
	}
}

func TestZipfSmall(t *testing.T) {
	c := mustKeys(t, scenarios.Keys{Count: 1, Distribution: scenarios.DistZipf}, 1)
	for range 100 {
		if k := c.Next(0); k != 0 {
			t.Fatalf("one key: got %d", k)
		}
	}
	// Two keys, s = 1: ranks 1 and 2 with probabilities 2/3 and 1/3.
	c = mustKeys(t, scenarios.Keys{Count: 2, Distribution: scenarios.DistZipf}, 1)
	top := c.(*zipfKeys).perm[0]
	hits := 0
	const draws = 100_000
	for range draws {
		if c.Next(0) == int(top) {
			hits++
		}
	}
	if f := float64(hits) / draws; math.Abs(f-2.0/3) > 0.01 {
		t.Errorf("two keys: rank 1 frequency %.4f, want 2/3", f)
	}
}

// TestZipfRanksShuffled checks that the hottest key depends on the seed, and that the
// key drawn most is the one the permutation gives rank 1.
func TestZipfRanksShuffled(t *testing.T) {
	hottest := map[int]bool{}
	for seed := uint64(1); seed <= 20; seed++ {
		c := mustKeys(t, scenarios.Keys{Count: 1000, Distribution: scenarios.DistZipf, ZipfS: 1.2}, seed)
		counts := make([]int, 1000)
		for range 20_000 {
			counts[c.Next(0)]++
		}
		top := slices.Index(counts, slices.Max(counts))
		if want := int(c.(*zipfKeys).perm[0]); top != want {
			t.Errorf("seed %d: most drawn key %d, want rank 1's key %d", seed, top, want)
		}
		hottest[top] = true
	}
	if len(hottest) < 15 {
		t.Errorf("20 seeds gave only %d different hottest keys: ranks are not shuffled", len(hottest))
	}
}

func TestUniformChiSquare(t *testing.T) {
	const (
		n     = 100
		draws = 100_000
	)
	c := mustKeys(t, scenarios.Keys{Count: n}, 3)
	obs := make([]int, n)
	for range draws {
		k := c.Next(0)
		if k < 0 || k >= n {
			t.Fatalf("key %d out of range", k)
		}
		obs[k]++
	}
	exp := make([]float64, n)
	for i := range exp {
		exp[i] = draws / n
	}
	if x := chiSquare(obs, exp); x > chiLimit(n-1) {
		t.Errorf("χ² %.1f > %.1f", x, chiLimit(n-1))
	}
}

// hotSet estimates the hot set from draws at offset at: the keys drawn far more often
// than the average key.
func hotSet(c KeyChooser, at time.Duration, draws int) (set map[int]bool, hotDraws int) {
	counts := make([]int, c.Count())
	for range draws {
		counts[c.Next(at)]++
	}
	set = map[int]bool{}
	for k, n := range counts {
		if n > 2*draws/c.Count() {
			set[k] = true
			hotDraws += n
		}
	}
	return set, hotDraws
}

func TestHotspot(t *testing.T) {
	const (
		n     = 1000
		draws = 100_000
	)
	k := scenarios.Keys{Count: n, Distribution: scenarios.DistHotspot, HotShare: 0.9, HotKeys: 0.1, HotMove: time.Second}
	c := mustKeys(t, k, 5)
	var sets []map[int]bool
	for epoch := range 4 {
		at := time.Duration(epoch)*time.Second + 500*time.Millisecond
		set, hot := hotSet(c, at, draws)
		if len(set) != 100 {
			t.Fatalf("epoch %d: hot set of %d keys, want 100", epoch, len(set))
		}
		// The share's standard error is √(0.09/1e5) ≈ 0.001.
		if f := float64(hot) / draws; math.Abs(f-0.9) > 0.005 {
			t.Errorf("epoch %d: hot share %.4f, want 0.9 ± 0.005", epoch, f)
		}
		sets = append(sets, set)
	}
	for e := 1; e < len(sets); e++ {
		for key := range sets[e] {
			if sets[e-1][key] {
				t.Errorf("key %d is hot in epochs %d and %d: the hot set did not move", key, e-1, e)
			}
		}
	}
	// Within an epoch the set stays.
	late, _ := hotSet(c, 999*time.Millisecond, draws)
	if !mapsEqual(late, sets[0]) {
		t.Error("the hot set changed within the first epoch")
	}
	// Another seed, another hot set.
	other, _ := hotSet(mustKeys(t, k, 6), 0, draws)
	if mapsEqual(other, sets[0]) {
		t.Error("seeds 5 and 6 have the same hot set")
	}
	// No movement without hot_move; defaults of 0.8 of the requests on 0.2 of the keys.
	c = mustKeys(t, scenarios.Keys{Count: n, Distribution: scenarios.DistHotspot}, 5)
	a, hot := hotSet(c, 0, draws)
	b, _ := hotSet(c, time.Hour, draws)
	if len(a) != 200 || !mapsEqual(a, b) {
		t.Errorf("default hotspot: hot sets of %d and %d keys, want the same 200", len(a), len(b))
	}
	if f := float64(hot) / draws; math.Abs(f-0.8) > 0.007 {
		t.Errorf("default hot share %.4f, want 0.8", f)
	}
}

func mapsEqual(a, b map[int]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func TestKeysInRange(t *testing.T) {
	for _, k := range []scenarios.Keys{
		{Count: 7},
		{Count: 7, Distribution: scenarios.DistZipf, ZipfS: 0.3},
		{Count: 7, Distribution: scenarios.DistZipf, ZipfS: 3},
		{Count: 2, Distribution: scenarios.DistHotspot, HotKeys: 0.01, HotMove: time.Millisecond},
		{Count: 7, Distribution: scenarios.DistHotspot, HotKeys: 0.99, HotShare: 1, HotMove: time.Nanosecond},
	} {
		c := mustKeys(t, k, 1)
		if c.Count() != k.Count {
			t.Errorf("%+v: Count %d", k, c.Count())
		}
		seen := map[int]bool{}
		for i := range 10_000 {
			x := c.Next(time.Duration(i) * time.Millisecond)
			if x < 0 || x >= k.Count {
				t.Fatalf("%+v: key %d out of range", k, x)
			}
			seen[x] = true
		}
		if len(seen) != k.Count {
			t.Errorf("%+v: only %d of %d keys drawn", k, len(seen), k.Count)
		}
	}
}

func TestKeysErrors(t *testing.T) {
	for _, tc := range []struct {
		k    scenarios.Keys
		want []string
	}{
		{scenarios.Keys{}, []string{"keys.count"}},
		{scenarios.Keys{Count: 10, Distribution: "pareto"}, []string{`keys.distribution "pareto"`, "uniform, zipf"}},
		{scenarios.Keys{Count: 10, Distribution: "zipf", ZipfS: -1}, []string{"keys.zipf_s"}},
		{scenarios.Keys{Count: 10, Distribution: "hotspot", HotShare: 1.5, HotKeys: 1, HotMove: -1}, []string{"keys.hot_share", "keys.hot_keys", "keys.hot_move"}},
		{scenarios.Keys{Count: 1, Distribution: "hotspot"}, []string{"at least 2"}},
		{scenarios.Keys{Distribution: "trace"}, []string{"keys.trace"}},
		{scenarios.Keys{Distribution: "trace", Trace: "testdata/missing.csv"}, []string{"missing.csv"}},
	} {
		_, err := NewKeys(tc.k, 1)
		if err == nil {
			t.Errorf("NewKeys(%+v): no error", tc.k)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("NewKeys(%+v): error %q does not contain %q", tc.k, err, w)
			}
		}
	}
}
