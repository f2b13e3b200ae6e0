//go:build race

package bench_test

// raceEnabled reports whether the test binary runs under the race detector, which
// multiplies the CPU cost of every request several times.
const raceEnabled = true
