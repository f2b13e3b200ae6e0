package netsim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProxyLatency measures what a profile adds to a round trip through the proxy.
//
// Six connections to one echo server, measured in turn so that load from other
// processes hits all of them alike: direct, through a proxy with no profile (the
// baseline: toxiproxy's own hops cost ~50 µs here, which BenchmarkProxyRoundTrip
// reports), and through proxies of L ± J and L ± 0 for L ± J = 500 µs ± 100 µs and
// 2 ms ± 500 µs. 300 round trips each after 50 of warm-up.
//
// Tolerances, stated:
//   - added mean (2%-trimmed mean of L ± J minus that of the baseline) within ±15% of L
//     or ±150 µs, whichever is larger;
//   - the spread the jitter adds (robust standard deviation of L ± J, with that of L ± 0
//     taken out in quadrature, which removes this machine's timer wake-up noise) within
//     -50%/+60% of J.
//
// The machine is shared and its load comes in bursts: see retryTiming.
func TestProxyLatency(t *testing.T) {
	echo := startEcho(t)
	n := NewNetwork()
	t.Cleanup(func() { _ = n.Close() })
	type setup struct{ rtt, jitter time.Duration }
	setups := []setup{{500 * time.Microsecond, 100 * time.Microsecond}, {2 * time.Millisecond, 500 * time.Microsecond}}

	addrs := []string{echo}
	for i, p := range []Profile{
		{},
		Custom(setups[0].rtt, setups[0].jitter, 0), Custom(setups[0].rtt, 0, 0),
		Custom(setups[1].rtt, setups[1].jitter, 0), Custom(setups[1].rtt, 0, 0),
	} {
		px, err := n.Proxy(string(rune('a'+i)), echo, p)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, px.Addr())
	}
	conns := make([]net.Conn, len(addrs))
	for i, a := range addrs {
		conns[i] = dial(t, a)
	}
	msg := []byte("GET key:0123456\r\n")

	measure := func() [][]time.Duration {
		res := make([][]time.Duration, len(conns))
		for i := range 350 {
			for j, c := range conns {
				d, err := roundTrip(c, msg, 2*time.Second)
				if err != nil {
					t.Fatalf("round trip via %s: %v", addrs[j], err)
				}
				if i >= 50 {
					res[j] = append(res[j], d)
				}
			}
		}
		return res
	}
	check := func(res [][]time.Duration) (problems []string) {
		base := trimmedMean(res[1], 0.02)
		t.Logf("direct %v, proxy without profile %v (overhead %v)", trimmedMean(res[0], 0.02), base, base-trimmedMean(res[0], 0.02))
		for k, s := range setups {
			withJ, noJ := res[2+2*k], res[3+2*k]
			added := trimmedMean(withJ, 0.02) - base
			spread := quadDiff(robustStdDev(withJ), robustStdDev(noJ))
			t.Logf("profile %v ± %v: added mean %v, added spread %v (L ± 0 adds %v, spread %v)",
				s.rtt, s.jitter, added, spread, trimmedMean(noJ, 0.02)-base, robustStdDev(noJ))
			tol := max(s.rtt*15/100, 150*time.Microsecond)
			if d := added - s.rtt; d < -tol || d > tol {
				problems = append(problems, "added mean "+added.String()+" not within "+tol.String()+" of "+s.rtt.String())
			}
			if spread < s.jitter/2 || spread > s.jitter*16/10 {
				problems = append(problems, "added spread "+spread.String()+" not within -50%/+60% of "+s.jitter.String())
			}
		}
		return problems
	}
	retryTiming(t, 3, func() []string { return check(measure()) })
}

func TestSetProfile(t *testing.T) {
	echo := startEcho(t)
	px := newProxy(t, echo, Profile{})
	c := dial(t, px.Addr())
	msg := []byte("ping")
	median := func() time.Duration {
		var ds []time.Duration
		for range 15 {
			d, err := roundTrip(c, msg, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			ds = append(ds, d)
		}
		return trimmedMean(ds, 0.4) // about the median
	}
	between := func(what string, lo, hi time.Duration) func() []string {
		return func() []string {
			if d := median(); d < lo || d > hi {
				return []string{fmt.Sprintf("%s: median round trip %v, want %v-%v", what, d, lo, hi)}
			}
			return nil
		}
	}
	retryTiming(t, 3, between("without profile", 0, 2*time.Millisecond))
	slow := Custom(20*time.Millisecond, 0, 0)
	if err := px.SetProfile(slow); err != nil {
		t.Fatal(err)
	}
	if px.Profile() != slow {
		t.Errorf("Profile() = %v, want %v", px.Profile(), slow)
	}
	retryTiming(t, 3, between("with a +20ms profile", 18*time.Millisecond, 25*time.Millisecond))
	if err := px.SetProfile(Custom(0, 0, 0)); err != nil {
		t.Fatal(err)
	}
	retryTiming(t, 3, between("after the profile was removed", 0, 2*time.Millisecond))
	if err := px.SetProfile(Custom(0, time.Millisecond, 0)); err == nil {
		t.Error("SetProfile accepted jitter without latency")
	}
}

func TestNetwork(t *testing.T) {
	echo := startEcho(t)
	n := NewNetwork()
	a, err := n.Proxy("redis", echo, Profile{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.Addr(), "127.0.0.1:") || a.Addr() == "127.0.0.1:0" {
		t.Errorf("Addr() = %q, want 127.0.0.1 and a real port", a.Addr())
	}
	if a.Name() != "redis" || a.Upstream() != echo {
		t.Errorf("Name, Upstream = %q, %q", a.Name(), a.Upstream())
	}
	if _, err := n.Proxy("redis", echo, Profile{}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second proxy named redis: err = %v", err)
	}
	if _, err := n.Proxy("", "nonsense", Custom(0, time.Millisecond, 0)); err == nil ||
		!strings.Contains(err.Error(), "name is empty") || !strings.Contains(err.Error(), "not host:port") || !strings.Contains(err.Error(), "needs a latency") {
		t.Errorf("bad proxy: err = %v, want every problem named", err)
	}
	b, err := n.Proxy("dynamodb", echo, Custom(time.Millisecond, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if a.Addr() == b.Addr() {
		t.Errorf("two proxies on one address %s", a.Addr())
	}
	c := dial(t, b.Addr())
	if _, err := roundTrip(c, []byte("x"), time.Second); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", a.Addr(), time.Second); err == nil {
		t.Error("proxy still listens after Network.Close")
	}
	if _, err := b.Inject(Fault{Kind: KindDown}); !errors.Is(err, ErrClosed) {
		t.Errorf("Inject after Close: err = %v, want ErrClosed", err)
	}
	if _, err := n.Proxy("late", echo, Profile{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Proxy after Close: err = %v, want ErrClosed", err)
	}
	if err := n.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestInjectRejects(t *testing.T) {
	px := newProxy(t, startEcho(t), Profile{})
	for _, tc := range []struct {
		f    Fault
		want string
	}{
		{Fault{Kind: KindRateLimit}, "Stripe overlay"},
		{Fault{Kind: KindErrors, Rate: 0.5}, "Stripe overlay"},
		{Fault{Kind: "flood"}, `unknown fault kind "flood"`},
		{Fault{Kind: KindLatency}, "latency above 0"},
		{Fault{Kind: KindBandwidth, Bandwidth: 10}, "at least 1000"},
	} {
		if _, err := px.Inject(tc.f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Inject(%+v): err = %v, want %q", tc.f, err, tc.want)
		}
	}
}

// TestDown checks a down fault refuses new connections, cuts open ones, and that
// clearing it listens again on the same address; overlapping downs keep it down until
// the last ends.
func TestDown(t *testing.T) {
	px := newProxy(t, startEcho(t), Profile{})
	open := dial(t, px.Addr())
	clear1, err := px.Inject(Fault{Kind: KindDown})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", px.Addr(), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial during down: err = %v, want connection refused", err)
	}
	if _, err := roundTrip(open, []byte("x"), time.Second); err == nil || isTimeout(err) {
		t.Errorf("open connection during down: err = %v, want it cut", err)
	}
	clear2, err := px.Inject(Fault{Kind: KindDown})
	if err != nil {
		t.Fatal(err)
	}
	if err := clear1(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", px.Addr(), time.Second); err == nil {
		t.Error("proxy listens while a second down fault is active")
	}
	if err := clear2(); err != nil {
		t.Fatal(err)
	}
	if err := clear2(); err != nil {
		t.Errorf("second call of clear: %v", err)
	}
	c := dial(t, px.Addr())
	if _, err := roundTrip(c, []byte("x"), time.Second); err != nil {
		t.Errorf("round trip after down cleared: %v", err)
	}
}

// TestPause checks a pause accepts connections but passes nothing, and delivers what
// was held, in order and complete, when it ends.
func TestPause(t *testing.T) {
	px := newProxy(t, startEcho(t), Custom(time.Millisecond, 0, 0))
	c := dial(t, px.Addr())
	clear, err := px.Inject(Fault{Kind: KindPause})
	if err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("0123456789"), 10_000) // 100 KB: several chunks
	if err := c.SetDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); !isTimeout(err) {
		t.Fatalf("read during pause: err = %v, want a time-out", err)
	}
	fresh := dial(t, px.Addr()) // accepted...
	if _, err := roundTrip(fresh, []byte("x"), 50*time.Millisecond); !isTimeout(err) {
		t.Errorf("new connection during pause: err = %v, want a time-out", err) // ...but stalled
	}
	if err := clear(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if err := c.SetDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read after pause: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Error("data held during the pause came back altered")
	}
	if _, err := roundTrip(c, []byte("x"), time.Second); err != nil {
		t.Errorf("round trip after pause: %v", err)
	}
}

// TestReset checks connections opened during a reset fault are reset (RST) as soon as
// data flows, older ones are closed, and new ones work once it is cleared.
func TestReset(t *testing.T) {
	px := newProxy(t, startEcho(t), Profile{})
	old := dial(t, px.Addr())
	clear, err := px.Inject(Fault{Kind: KindReset})
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, px.Addr())
	if _, err := roundTrip(c, []byte("x"), time.Second); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("new connection during reset: err = %v, want connection reset", err)
	}
	if _, err := roundTrip(old, []byte("x"), time.Second); err == nil || isTimeout(err) {
		t.Errorf("old connection during reset: err = %v, want it closed", err)
	}
	if err := clear(); err != nil {
		t.Fatal(err)
	}
	c = dial(t, px.Addr())
	if _, err := roundTrip(c, []byte("x"), time.Second); err != nil {
		t.Errorf("round trip after reset cleared: %v", err)
	}
}

// startSink starts a server that reads exactly size bytes per connection and then
// answers one byte, for measuring throughput in one direction.
func startSink(t testing.TB, size int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := io.CopyN(io.Discard, c, int64(size)); err == nil {
					_, _ = c.Write([]byte{1})
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// sendTime sends size bytes through addr to a sink and returns how long until the sink
// had them all.
func sendTime(t *testing.T, addr string, size int) time.Duration {
	t.Helper()
	c := dial(t, addr)
	start := time.Now()
	if err := c.SetDeadline(start.Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// TestBandwidth sends 125 KB through a 250 KB/s limit, from the profile and from a
// fault, and expects 0.5 s ± 15%; without a limit it takes milliseconds.
func TestBandwidth(t *testing.T) {
	const size, rate = 125_000, 250_000
	want := time.Duration(float64(size) / rate * float64(time.Second))
	sink := startSink(t, size)
	limitedTo := func(what, addr string) func() []string {
		return func() []string {
			d := sendTime(t, addr, size)
			t.Logf("%s: %v (%.0f B/s)", what, d, size/d.Seconds())
			if d < want*85/100 || d > want*115/100 {
				return []string{fmt.Sprintf("%s: %d bytes took %v, want %v ± 15%%", what, size, d, want)}
			}
			return nil
		}
	}
	unlimited := func(what, addr string) func() []string {
		return func() []string {
			if d := sendTime(t, addr, size); d > want/10 {
				return []string{fmt.Sprintf("%s: %d bytes took %v, want under %v", what, size, d, want/10)}
			}
			return nil
		}
	}

	limited := newProxy(t, sink, Custom(0, 0, rate))
	retryTiming(t, 3, limitedTo("profile bandwidth", limited.Addr()))

	px := newProxy(t, sink, Profile{})
	retryTiming(t, 3, unlimited("no limit", px.Addr()))
	clear, err := px.Inject(Fault{Kind: KindBandwidth, Bandwidth: rate})
	if err != nil {
		t.Fatal(err)
	}
	retryTiming(t, 3, limitedTo("bandwidth fault", px.Addr()))
	if err := clear(); err != nil {
		t.Fatal(err)
	}
	retryTiming(t, 3, unlimited("after the fault", px.Addr()))
}

// TestCloseWithFaults closes a proxy while a pause holds data and a latency fault is in
// force: Close returns promptly, the clear functions then do nothing, and the proxy's
// goroutines (links, toxics, timerfd readers) are gone.
func TestCloseWithFaults(t *testing.T) {
	echo := startEcho(t)
	before := runtime.NumGoroutine()
	px, err := NewProxy("closing", echo, Custom(time.Millisecond, 200*time.Microsecond, 0))
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", px.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := roundTrip(c, []byte("x"), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	clearLat, err := px.Inject(Fault{Kind: KindLatency, Latency: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	clearPause, err := px.Inject(Fault{Kind: KindPause})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conns[0].Write([]byte("held")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := px.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := clearPause(); err != nil {
		t.Errorf("clear pause after Close: %v", err)
	}
	if err := clearLat(); err != nil {
		t.Errorf("clear latency after Close: %v", err)
	}
	for _, c := range conns {
		_ = c.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
