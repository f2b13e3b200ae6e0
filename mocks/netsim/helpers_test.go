package netsim

import (
	"errors"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// startEcho starts a TCP echo server on loopback for t and returns its address.
func startEcho(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				_, _ = io.Copy(c, c)
				_ = c.Close()
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// newProxy starts a proxy on its own network for t.
func newProxy(t testing.TB, upstream string, p Profile) *Proxy {
	t.Helper()
	px, err := NewProxy("test", upstream, p)
	if err != nil {
		t.Fatalf("NewProxy: %v", err)
	}
	t.Cleanup(func() {
		if err := px.Close(); err != nil {
			t.Errorf("close proxy: %v", err)
		}
	})
	return px
}

// dial connects to addr for t.
func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip sends msg on c and reads the echo back within timeout, returning the time
// it took.
func roundTrip(c net.Conn, msg []byte, timeout time.Duration) (time.Duration, error) {
	buf := make([]byte, len(msg))
	start := time.Now()
	if err := c.SetDeadline(start.Add(timeout)); err != nil {
		return 0, err
	}
	if _, err := c.Write(msg); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		return time.Since(start), err
	}
	return time.Since(start), nil
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// trimmedMean is the mean of xs without the lowest and highest share of values: the
// loopback here has rare stalls of many milliseconds (a shared VM) that would swamp a
// plain mean.
func trimmedMean(xs []time.Duration, share float64) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	k := int(float64(len(s)) * share)
	s = s[k : len(s)-k]
	var sum time.Duration
	for _, x := range s {
		sum += x
	}
	return sum / time.Duration(len(s))
}

// robustStdDev estimates the standard deviation from the interquartile range
// (IQR/1.349, exact for a normal distribution), again to shrug off rare stalls.
func robustStdDev(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	q1, q3 := s[len(s)/4], s[len(s)*3/4]
	return time.Duration(float64(q3-q1) / 1.349)
}

// quadDiff returns sqrt(a² - b²), or 0 when b > a.
func quadDiff(a, b time.Duration) time.Duration {
	fa, fb := float64(a), float64(b)
	if fb >= fa {
		return 0
	}
	return time.Duration(math.Sqrt(fa*fa - fb*fb))
}

// busyLateness is how late a 1 ms timer may fire before the machine counts as too busy
// to judge timing: normally about 1 ms on Linux.
const busyLateness = 15 * time.Millisecond

// underCanary runs check while a canary goroutine measures how late the process's
// timers fire, and returns check's problems and the worst lateness seen.
func underCanary(check func() []string) ([]string, time.Duration) {
	done := make(chan struct{})
	worst := make(chan time.Duration)
	go func() {
		var w time.Duration
		for {
			select {
			case <-done:
				worst <- w
				return
			default:
			}
			t0 := time.Now()
			time.Sleep(time.Millisecond)
			w = max(w, time.Since(t0)-time.Millisecond)
		}
	}()
	problems := check()
	close(done)
	return problems, <-worst
}

// retryTiming runs a timing check up to attempts times, until it reports no problem.
// The machine is shared and its load comes in bursts, so one attempt out of tolerance
// proves little; a behaviour that is wrong fails every attempt. When the last attempt
// ran while the process's own timers fired more than busyLateness late, the machine
// was too busy to judge: the test is skipped with the figures, or fails under CI=true.
func retryTiming(t *testing.T, attempts int, check func() []string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		problems, late := underCanary(check)
		if len(problems) == 0 {
			return
		}
		msg := strings.Join(problems, "; ")
		if attempt < attempts {
			t.Logf("attempt %d out of tolerance (timers up to %v late meanwhile): %s; again", attempt, late.Round(time.Millisecond), msg)
			continue
		}
		if late > busyLateness && os.Getenv("CI") != "true" {
			t.Skipf("machine too busy to judge timing: timers fired up to %v late during attempt %d, which found: %s",
				late.Round(time.Millisecond), attempt, msg)
		}
		t.Fatalf("%d attempts out of tolerance (timers up to %v late in the last); last: %s", attempt, late.Round(time.Millisecond), msg)
	}
}
