package netsim

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestProfiles(t *testing.T) {
	all := Profiles()
	want := []string{ProfileNone, ProfileAWSSameAZ, ProfileAWSCrossAZ, ProfileAWSDynamoDB, ProfileStripeInternet}
	if len(all) != len(want) {
		t.Fatalf("Profiles() has %d profiles, want %d", len(all), len(want))
	}
	for i, p := range all {
		if p.Name != want[i] {
			t.Errorf("Profiles()[%d] = %q, want %q", i, p.Name, want[i])
		}
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
		if p.Source == "" {
			t.Errorf("%s has no Source", p.Name)
		}
		if p.Latency > 0 && !strings.Contains(p.Source, "https://") {
			t.Errorf("%s: Source cites no public page: %q", p.Name, p.Source)
		}
		got, err := Lookup(p.Name)
		if err != nil || got != p {
			t.Errorf("Lookup(%q) = %v, %v; want %v", p.Name, got, err, p)
		}
	}
	// The figures the profiles promise, in increasing order of distance.
	lat := func(name string) time.Duration { p, _ := Lookup(name); return p.Latency }
	if !(lat(ProfileNone) == 0 && lat(ProfileAWSSameAZ) < time.Millisecond &&
		lat(ProfileAWSSameAZ) < lat(ProfileAWSCrossAZ) && lat(ProfileAWSCrossAZ) < lat(ProfileAWSDynamoDB) &&
		lat(ProfileAWSDynamoDB) < 10*time.Millisecond && lat(ProfileStripeInternet) >= 100*time.Millisecond) {
		t.Errorf("profile latencies out of order or range: %v", all)
	}
	// Profiles returns a fresh slice each time.
	all[0].Name = "changed"
	if Profiles()[0].Name != ProfileNone {
		t.Error("Profiles() shares its slice with callers")
	}
}

func TestLookup(t *testing.T) {
	p, err := Lookup("")
	if err != nil || p.Name != ProfileNone {
		t.Errorf("Lookup(\"\") = %v, %v; want the none profile", p, err)
	}
	_, err = Lookup("aws-moon")
	if err == nil {
		t.Fatal("Lookup(aws-moon) succeeded")
	}
	for _, s := range []string{`"aws-moon"`, ProfileNone, ProfileAWSSameAZ, ProfileAWSCrossAZ, ProfileAWSDynamoDB, ProfileStripeInternet, "Custom"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
}

func TestCustomAndValidate(t *testing.T) {
	c := Custom(2*time.Millisecond, 500*time.Microsecond, 1_000_000)
	if c.Name != "custom" || c.Latency != 2*time.Millisecond || c.Jitter != 500*time.Microsecond || c.Bandwidth != 1_000_000 || c.Source == "" {
		t.Errorf("Custom = %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate(%v) = %v", c, err)
	}
	if got, want := c.String(), "custom (RTT +2ms ± 500µs, bandwidth 1000000 B/s)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		p    Profile
		want []string
	}{
		{Custom(-time.Millisecond, 0, 0), []string{"latency -1ms is negative"}},
		{Custom(0, time.Millisecond, 0), []string{"needs a latency above 0"}},
		{Custom(time.Millisecond, -time.Millisecond, 0), []string{"jitter -1ms is negative"}},
		{Custom(0, 0, 999), []string{"below the minimum of 1000"}},
		{Custom(0, 0, -1), []string{"bandwidth -1 is negative"}},
		// Every problem at once.
		{Custom(-time.Millisecond, -time.Millisecond, -5), []string{"latency -1ms", "jitter -1ms", "bandwidth -5"}},
	} {
		err := tc.p.Validate()
		if err == nil {
			t.Errorf("Validate(%v) = nil", tc.p)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Validate(%v) = %q, want it to contain %q", tc.p, err, w)
			}
		}
	}
}

func TestToxicSettings(t *testing.T) {
	a := latencyAttrs(2*time.Millisecond, 500*time.Microsecond)
	if a["mean_ns"] != int64(time.Millisecond) {
		t.Errorf("per-direction mean = %v, want half the round trip (1ms)", a["mean_ns"])
	}
	if sd := a["stddev_ns"].(int64); math.Abs(float64(sd)-500e3/math.Sqrt2) > 1 {
		t.Errorf("per-direction stddev = %v, want 500µs/√2", sd)
	}
	for _, tc := range []struct{ bps, kb int64 }{{1000, 1}, {1499, 1}, {1500, 2}, {250_000, 250}, {1 << 20, 1049}} {
		if got := bandwidthAttrs(tc.bps)["rate"]; got != tc.kb {
			t.Errorf("bandwidthAttrs(%d) rate = %v, want %d KB/s", tc.bps, got, tc.kb)
		}
	}
}

// TestLognormal checks the per-direction delay distribution: the mean and standard
// deviation asked for (within 1% and 3% over 200,000 draws), never negative.
func TestLognormal(t *testing.T) {
	for _, tc := range []struct{ mean, sd time.Duration }{
		{250 * time.Microsecond, 70 * time.Microsecond},
		{time.Millisecond, time.Millisecond}, // a spread as large as the mean stays positive
		{125 * time.Millisecond, 0},
	} {
		d := newLognormal(tc.mean, tc.sd)
		const n = 200_000
		var sum, sum2 float64
		for range n {
			x := d.sample()
			if x < 0 {
				t.Fatalf("negative delay %v", x)
			}
			sum += float64(x)
			sum2 += float64(x) * float64(x)
		}
		mean := sum / n
		sd := math.Sqrt(sum2/n - mean*mean)
		if math.Abs(mean-float64(tc.mean)) > 0.01*float64(tc.mean) {
			t.Errorf("mean %v: got %v", tc.mean, time.Duration(mean))
		}
		if math.Abs(sd-float64(tc.sd)) > 0.03*float64(tc.sd)+1000 { // +1µs: float rounding when sd is 0
			t.Errorf("sd %v: got %v", tc.sd, time.Duration(sd))
		}
	}
}

// TestLatenessLearns feeds the controller an alarm that always wakes 400µs late and
// checks it learns to wake 400µs early (within 5%), and that it stays in [0, maxBias].
func TestLatenessLearns(t *testing.T) {
	var l lateness
	const wakeLate = 400 * time.Microsecond
	for range 300 {
		l.learn(wakeLate - time.Duration(l.bias.Load()))
	}
	if b := time.Duration(l.bias.Load()); b < wakeLate*95/100 || b > wakeLate*105/100 {
		t.Errorf("bias = %v, want about %v", b, wakeLate)
	}
	// One stall of a second moves the bias by at most maxStep/8.
	b := l.bias.Load()
	l.learn(time.Second)
	if step := time.Duration(l.bias.Load() - b); step > maxStep/8 {
		t.Errorf("one stall moved the bias by %v", step)
	}
	for range 1000 {
		l.learn(time.Second)
	}
	if b := time.Duration(l.bias.Load()); b != maxBias {
		t.Errorf("bias = %v, want the cap %v", b, maxBias)
	}
	for range 1000 {
		l.learn(-time.Second)
	}
	if b := l.bias.Load(); b != 0 {
		t.Errorf("bias = %v, want 0", b)
	}
}
