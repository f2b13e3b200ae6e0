package workload

import "math/rand/v2"

// Stream tags: each part of the request stream draws from its own generator, derived from
// the scenario seed and its tag, so that changing one part (say the arrival model) leaves
// the sequences of the others unchanged.
const (
	streamArrivals uint64 = 1 + iota
	streamKeys
	streamObjects
	streamOps
	streamKeyPerm
	streamKeyDraw
)

// splitmix is SplitMix64's finaliser: a bijective mix of 64 bits, so nearby seeds give
// unrelated streams.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// derive returns the seed of the stream tagged tag under seed.
func derive(seed, tag uint64) uint64 {
	return splitmix(seed ^ splitmix(tag*0xd1b54a32d192ed03))
}

// newRand returns a PCG generator seeded from seed. The 128-bit state is filled from two
// different mixes of seed.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(splitmix(seed), splitmix(^seed)))
}
