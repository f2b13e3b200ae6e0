package netsim

import (
	"testing"
	"time"
)

// BenchmarkProxyRoundTrip measures what the proxy itself adds to a round trip, with the
// "none" profile: each iteration does one 16-byte echo round trip directly and one
// through the proxy (ns/op counts both), and reports the mean of each and their
// difference, overhead-us. Run it briefly: -benchtime=200x.
func BenchmarkProxyRoundTrip(b *testing.B) {
	echo := startEcho(b)
	px := newProxy(b, echo, Profile{})
	direct, proxied := dial(b, echo), dial(b, px.Addr())
	msg := []byte("GET key:01234567")
	for range 20 { // warm up both paths
		if _, err := roundTrip(direct, msg, time.Second); err != nil {
			b.Fatal(err)
		}
		if _, err := roundTrip(proxied, msg, time.Second); err != nil {
			b.Fatal(err)
		}
	}
	var sumDirect, sumProxied time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		d, err := roundTrip(direct, msg, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		p, err := roundTrip(proxied, msg, time.Second)
		if err != nil {
			b.Fatal(err)
		}
		sumDirect += d
		sumProxied += p
	}
	n := float64(b.N)
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / n }
	b.ReportMetric(us(sumDirect), "direct-us")
	b.ReportMetric(us(sumProxied), "proxied-us")
	b.ReportMetric(us(sumProxied-sumDirect), "overhead-us")
}
