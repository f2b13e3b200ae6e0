package netsim

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Names of the built-in network profiles.
const (
	ProfileNone           = "none"
	ProfileAWSSameAZ      = "aws-same-az"
	ProfileAWSCrossAZ     = "aws-cross-az"
	ProfileAWSDynamoDB    = "aws-dynamodb"
	ProfileStripeInternet = "stripe-internet"
)

// MinBandwidth is the smallest bandwidth limit a proxy can apply, in bytes per second.
// Toxiproxy's bandwidth toxic counts in units of 1000 bytes per second, so limits are
// rounded to the nearest 1000 bytes per second.
const MinBandwidth = 1000

// Profile is the network between the benchmarked code and one service, applied by a
// Proxy to every connection through it.
//
// Latency is added to every round trip: half of it to each direction (client to
// service, service to client), so a request and its response together take Latency
// longer on average, and a message that travels one way only (a pub/sub push) takes
// Latency/2. Each direction's delay is drawn per chunk of data from a lognormal
// distribution with mean Latency/2 and standard deviation Jitter/√2, so the round trip's
// added delay has mean Latency and standard deviation Jitter exactly, is never negative,
// and has the long right tail real networks show. Chunks keep their order and a chunk's
// delay counts from the moment the proxy read it, so pipelined requests do not add up
// their delays.
//
// Delays are kept in nanoseconds, not toxiproxy's whole milliseconds. On Linux the proxy
// sleeps on a timerfd (Go's own timers there wake up to a millisecond late) and learns
// how late it wakes so that the mean comes out right: on the 2-core build machine a
// 500 µs ± 100 µs profile added 490-520 µs ± 100-115 µs, and 2 ms ± 500 µs added
// 2.00-2.09 ms ± 440-525 µs, over what the proxy itself costs (15-55 µs per round trip).
// Very short delays are limited by how fast the machine wakes a goroutine.
type Profile struct {
	// Name is the profile's name: one of the built-in names, or "custom".
	Name string
	// Latency is the mean time added to a round trip (request and response).
	Latency time.Duration
	// Jitter is the standard deviation of the added round-trip time.
	Jitter time.Duration
	// Bandwidth limits throughput in each direction, in bytes per second; 0 is unlimited.
	// Non-zero values must be at least MinBandwidth.
	Bandwidth int64
	// Source says where the figures come from, with public references, and which
	// figures are estimates.
	Source string
}

// String gives the profile's name and figures, e.g.
// "aws-same-az (RTT +300µs ± 100µs, bandwidth unlimited)".
func (p Profile) String() string {
	bw := "unlimited"
	if p.Bandwidth > 0 {
		bw = fmt.Sprintf("%d B/s", p.Bandwidth)
	}
	name := p.Name
	if name == "" {
		name = "unnamed"
	}
	return fmt.Sprintf("%s (RTT +%v ± %v, bandwidth %s)", name, p.Latency, p.Jitter, bw)
}

// Validate reports every problem with the profile's figures at once.
func (p Profile) Validate() error {
	var errs []error
	if p.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %v is negative; use 0 for none", p.Latency))
	}
	if p.Jitter < 0 {
		errs = append(errs, fmt.Errorf("jitter %v is negative; use 0 for none", p.Jitter))
	}
	if p.Jitter > 0 && p.Latency <= 0 {
		errs = append(errs, fmt.Errorf("jitter %v needs a latency above 0 (jitter is the spread around the mean latency)", p.Jitter))
	}
	if p.Bandwidth < 0 {
		errs = append(errs, fmt.Errorf("bandwidth %d is negative; use 0 for unlimited", p.Bandwidth))
	}
	if p.Bandwidth > 0 && p.Bandwidth < MinBandwidth {
		errs = append(errs, fmt.Errorf("bandwidth %d B/s is below the minimum of %d B/s; use 0 for unlimited", p.Bandwidth, MinBandwidth))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("netsim: profile %q: %w", p.Name, errors.Join(errs...))
}

// Custom returns a profile named "custom" with the given figures: the mean and standard
// deviation of the round-trip time added, and the bandwidth in bytes per second each way
// (0 = unlimited). NewProxy and SetProfile validate it.
func Custom(latency, jitter time.Duration, bandwidth int64) Profile {
	return Profile{
		Name:      "custom",
		Latency:   latency,
		Jitter:    jitter,
		Bandwidth: bandwidth,
		Source:    "custom figures given by the user",
	}
}

// Profiles returns the built-in profiles, "none" first. The figures add network time on
// top of what the local service already takes on loopback (tens of microseconds for
// Redis, about 0.7 ms for DynamoDB Local, about 0.3 ms for stripe-mock); bandwidth is
// unlimited in all of them because cache objects of a few kilobytes never approach the
// gigabits per second of AWS networks.
func Profiles() []Profile {
	return []Profile{
		// none adds nothing: the proxy still sits in the path (for faults) and costs
		// its own overhead, which BenchmarkProxyRoundTrip measures.
		{
			Name:   ProfileNone,
			Source: "no added latency; the proxy's own overhead only",
		},
		// aws-same-az: a Lambda function or container and an ElastiCache (Redis) node in
		// the same Availability Zone. Published same-AZ round trips range from about
		// 0.05-0.1 ms on current Nitro instances to 0.26-0.41 ms (averages of ping
		// between EC2 instances in three us-east-1 zones); a Lambda function in a VPC
		// reaches the cache through a Hyperplane ENI, one more hop. 0.3 ms ± 0.1 ms is
		// an estimate in the middle of that range; the ± covers the 0.2-0.56 ms
		// min/max those measurements show. AWS itself gives no same-AZ figure and
		// advertises ElastiCache as "microsecond" latency (server time, not network).
		{
			Name:    ProfileAWSSameAZ,
			Latency: 300 * time.Microsecond,
			Jitter:  100 * time.Microsecond,
			Source: "estimate from measured same-AZ EC2 round trips: " +
				"0.26-0.41 ms average ping (https://orensol.com/2009/05/24/network-latency-inside-and-across-amazon-ec2-availability-zones/), " +
				"about 0.05 ms VM to VM on current instances (https://news.ycombinator.com/item?id=39446520), " +
				"same-AZ more consistent than cross-AZ (https://lukasliesis.medium.com/what-is-aws-ec2-cross-availability-zones-network-lag-vs-inside-same-zone-827a4e06b6d7); " +
				"ElastiCache: https://aws.amazon.com/elasticache/",
		},
		// aws-cross-az: the cache node in another Availability Zone of the same region.
		// AWS documents "single-digit millisecond" latency between AZs; James Hamilton
		// (re:Invent 2014) put AZs "<2 ms apart, usually <1 ms"; measured averages are
		// 0.82-0.83 ms (eu-west-1, 2022) and 0.94-1.13 ms (us-east-1, 2009), with rare
		// spikes to 12 ms. 1 ms ± 0.25 ms.
		{
			Name:    ProfileAWSCrossAZ,
			Latency: time.Millisecond,
			Jitter:  250 * time.Microsecond,
			Source: "AWS describes inter-AZ latency as \"single-digit millisecond\" " +
				"(https://aws.amazon.com/about-aws/global-infrastructure/regions_az/, quoted and measured per region pair at https://www.bitsand.cloud/posts/cross-az-latencies); " +
				"James Hamilton, AWS re:Invent 2014 SPOT301: AZs <2 ms apart, usually <1 ms; " +
				"measured 0.82-0.83 ms average cross-AZ ping in eu-west-1 (https://lukasliesis.medium.com/what-is-aws-ec2-cross-availability-zones-network-lag-vs-inside-same-zone-827a4e06b6d7), " +
				"0.94-1.13 ms in us-east-1 (https://orensol.com/2009/05/24/network-latency-inside-and-across-amazon-ec2-availability-zones/)",
		},
		// aws-dynamodb: DynamoDB reached in-region over HTTPS. AWS documents
		// "single-digit millisecond" average SuccessfulRequestLatency for GetItem and
		// PutItem, which excludes the network; the client also pays the trip to the
		// regional endpoint. Client-observed GetItem in-region is typically 3-5 ms; the
		// emulator already answers in about 0.7 ms on loopback, so the profile adds
		// 3 ms ± 1 ms (an estimate) for the rest: the network round trip plus the
		// difference in service time.
		{
			Name:    ProfileAWSDynamoDB,
			Latency: 3 * time.Millisecond,
			Jitter:  time.Millisecond,
			Source: "estimate; AWS: single-digit millisecond average service-side latency for GetItem/PutItem, network not included " +
				"(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TroubleshootingLatency.html, " +
				"https://repost.aws/knowledge-center/dynamodb-high-latency, " +
				"https://aws.amazon.com/blogs/database/understanding-amazon-dynamodb-latency/); " +
				"DynamoDB Local's own ~0.7 ms p50 is already in the path",
		},
		// stripe-internet: the Stripe API (api.stripe.com) over the internet from AWS,
		// over a kept-alive TLS connection. Stripe publishes availability and incidents
		// on its status page but no latency figure; client-observed reads of a single
		// object are commonly a few hundred milliseconds, most of it Stripe's own
		// processing. 250 ms ± 75 ms is an estimate. The whole figure is applied per
		// round trip, so a new TLS connection (several round trips) pays it more than
		// once; stripe-go keeps connections alive, so this is rare.
		{
			Name:    ProfileStripeInternet,
			Latency: 250 * time.Millisecond,
			Jitter:  75 * time.Millisecond,
			Source: "estimate: Stripe publishes no latency figure, only availability and incidents (https://status.stripe.com); " +
				"typical client-observed single-object reads from AWS are a few hundred ms, mostly Stripe's processing; " +
				"stripe-mock's own ~0.3 ms is already in the path",
		},
	}
}

// Lookup returns the built-in profile with the given name; "" means "none".
func Lookup(name string) (Profile, error) {
	if name == "" {
		name = ProfileNone
	}
	all := Profiles()
	names := make([]string, 0, len(all))
	for _, p := range all {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Profile{}, fmt.Errorf("netsim: unknown network profile %q: use one of %s, "+
		"or give your own figures (round-trip latency, jitter, bandwidth in bytes/s) with netsim.Custom",
		name, strings.Join(names, ", "))
}
