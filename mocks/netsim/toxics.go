package netsim

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/Shopify/toxiproxy/v2/stream"
	"github.com/Shopify/toxiproxy/v2/toxics"
)

// Toxic types this package adds to toxiproxy's registry (the only package-level state:
// toxiproxy keeps one registry per process).
const (
	toxicLatency = "cachebench_latency"
	toxicPause   = "cachebench_pause"
)

func init() {
	toxics.Register(toxicLatency, new(latencyToxic))
	toxics.Register(toxicPause, new(pauseToxic))
}

// flushTimeout bounds how long a toxic waits to hand on data it holds when it is
// interrupted. A live connection takes the data at once; only a connection whose
// writer has already died makes the wait run out, and its data has nowhere to go.
const flushTimeout = 2 * time.Second

// latencyToxic delays each chunk of one direction by a lognormal delay with mean MeanNs
// and standard deviation StdDevNs (nanoseconds), counted from the moment the proxy read
// the chunk, so chunks that queue behind each other do not add up their delays.
//
// Toxiproxy's own latency toxic works in whole milliseconds with uniform jitter, and Go
// timers on Linux wake up to a millisecond late; this toxic keeps nanoseconds and sleeps
// on a precise alarm (see alarm) that learns its own wake-up lateness and wakes that
// much earlier, so the delay is right on average even on a busy machine.
type latencyToxic struct {
	MeanNs   int64 `json:"mean_ns"`
	StdDevNs int64 `json:"stddev_ns"`

	// late is shared by every connection through this toxic (toxiproxy hands the same
	// toxic value to each link), so a new connection starts with what others learnt.
	late lateness
}

// GetBufferSize lets up to 1024 chunks wait in the toxic, as toxiproxy's latency toxic
// does, so added latency does not limit throughput.
func (t *latencyToxic) GetBufferSize() int { return 1024 }

// Pipe implements toxics.Toxic.
func (t *latencyToxic) Pipe(stub *toxics.ToxicStub) {
	d := newLognormal(time.Duration(t.MeanNs), time.Duration(t.StdDevNs))
	var a alarm
	defer func() {
		if a != nil {
			a.close()
		}
	}()
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			due := c.Timestamp.Add(d.sample())
			if time.Until(due) > 0 {
				if a == nil {
					a = newAlarm()
				}
				if !t.late.sleepUntil(a, due, stub.Interrupt) {
					// Interrupted (the toxic is being removed or the chain changed):
					// hand the chunk on without the rest of its delay.
					_ = stub.WriteOutput(c, flushTimeout)
					return
				}
			}
			// The next toxic in the chain counts its own delay from now.
			c.Timestamp = time.Now()
			select {
			case stub.Output <- c:
			case <-stub.Interrupt:
				_ = stub.WriteOutput(c, flushTimeout)
				return
			}
		}
	}
}

// lognormal draws delays with a given mean and standard deviation.
type lognormal struct {
	mean       time.Duration
	mu, sigma  float64
	randomized bool
}

func newLognormal(mean, stddev time.Duration) lognormal {
	if mean <= 0 || stddev <= 0 {
		return lognormal{mean: max(mean, 0)}
	}
	m, s := float64(mean), float64(stddev)
	sigma2 := math.Log1p(s * s / (m * m))
	return lognormal{
		mean:       mean,
		mu:         math.Log(m) - sigma2/2,
		sigma:      math.Sqrt(sigma2),
		randomized: true,
	}
}

func (l lognormal) sample() time.Duration {
	if !l.randomized {
		return l.mean
	}
	return time.Duration(math.Exp(l.mu + l.sigma*rand.NormFloat64()))
}

// pauseToxic passes no bytes while it is in the chain and passes on everything it held,
// in order, when it is removed: a stalled network, not a lossy one. It keeps reading its
// input (up to pauseHoldLimit bytes per connection and direction, then it stops reading
// and TCP pushes back on the sender), so toxics before it in the chain can always be
// removed without waiting on it. The end of a stream is held too: a client that closes
// its connection during a pause is seen by the service only when the pause ends.
type pauseToxic struct{}

// pauseHoldLimit is how many bytes a paused connection holds in each direction before
// the pause stops reading from it.
const pauseHoldLimit = 1 << 20

type pauseState struct {
	held  []*stream.StreamChunk
	bytes int
	eof   bool
}

// NewState implements toxics.StatefulToxic: what a connection held survives the
// toxic's restarts when other toxics are added or removed.
func (t *pauseToxic) NewState() interface{} { return new(pauseState) }

// Pipe implements toxics.Toxic.
func (t *pauseToxic) Pipe(stub *toxics.ToxicStub) {
	st := stub.State.(*pauseState)
	for {
		in := stub.Input
		if st.eof || st.bytes >= pauseHoldLimit {
			in = nil
		}
		select {
		case <-stub.Interrupt:
			// Keep holding: either the chain is being rewired and Pipe runs again,
			// or the toxic is being removed and Cleanup hands everything on.
			return
		case c := <-in:
			if c == nil {
				// Leave the closed input for toxiproxy's removal to find, so the
				// end of stream follows the held data.
				st.eof = true
				continue
			}
			st.held = append(st.held, c)
			st.bytes += len(c.Data)
		}
	}
}

// Cleanup implements toxics.CleanupToxic: toxiproxy calls it when the pause is removed,
// after Pipe has returned, and the held data goes on in order.
func (t *pauseToxic) Cleanup(stub *toxics.ToxicStub) {
	st := stub.State.(*pauseState)
	for _, c := range st.held {
		if err := stub.WriteOutput(c, flushTimeout); err != nil {
			break // the connection's writer is gone; nobody will read the rest
		}
	}
	st.held, st.bytes = nil, 0
}

// lateness learns how late an alarm wakes up and wakes it that much earlier: an integral
// controller driving the mean error of the delivered delay to zero. Each error counts at
// most maxStep, so a rare stall of a busy machine (often 10 ms or more here, and it hits
// every goroutine wake-up alike, proxied or not) does not make the proxy send early for
// the next many chunks: a Huber-style estimate, close to the mean of the usual wake-up
// lateness. It is safe for concurrent use.
type lateness struct {
	bias atomic.Int64 // nanoseconds to wake early, in [0, maxBias]
}

const (
	// minAlarm is the shortest sleep worth arming an alarm for; shorter waits are
	// skipped and counted as early.
	minAlarm = 20 * time.Microsecond
	// maxBias caps how early the alarm may be set.
	maxBias = 2 * time.Millisecond
	// biasGainShift sets the controller's gain to 1/8 of each error.
	biasGainShift = 3
	// maxStep bounds the error one chunk feeds the controller.
	maxStep = time.Millisecond
)

// sleepUntil waits until about due on a, and reports false if interrupt fired first.
func (l *lateness) sleepUntil(a alarm, due time.Time, interrupt <-chan struct{}) bool {
	wait := time.Until(due)
	if wait <= 0 {
		return true // late already (queued behind other chunks): not the alarm's fault
	}
	if d := wait - time.Duration(l.bias.Load()); d >= minAlarm {
		if !a.wait(d, interrupt) {
			return false
		}
	}
	l.learn(time.Since(due))
	return true
}

func (l *lateness) learn(late time.Duration) {
	step := int64(min(max(late, -maxStep), maxStep)) >> biasGainShift
	for {
		old := l.bias.Load()
		b := min(max(old+step, 0), int64(maxBias))
		if l.bias.CompareAndSwap(old, b) {
			return
		}
	}
}

// alarm is a one-shot timer a toxic sleeps on; one per running Pipe, not shared.
type alarm interface {
	// wait sleeps for d and reports true, or returns false as soon as interrupt fires.
	wait(d time.Duration, interrupt <-chan struct{}) bool
	// close releases the alarm.
	close()
}

// goAlarm is an alarm on a Go timer: precise where the runtime's poller is (macOS,
// Windows); on Linux Go timers may wake up to a millisecond late, so newAlarm prefers a
// timerfd there.
type goAlarm struct{}

func (goAlarm) wait(d time.Duration, interrupt <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-interrupt:
		return false
	}
}

func (goAlarm) close() {}
