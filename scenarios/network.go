package scenarios

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// Network profiles (network, network.redis, ...). The figures behind each name belong to
// the mocks' network proxy; here they are names.
const (
	ProfileNone           = "none"            // loopback as is, nothing added
	ProfileAWSSameAZ      = "aws-same-az"     // ElastiCache in the Lambda function's AZ
	ProfileAWSCrossAZ     = "aws-cross-az"    // ElastiCache in another AZ of the region
	ProfileAWSDynamoDB    = "aws-dynamodb"    // DynamoDB's regional endpoint from Lambda
	ProfileStripeInternet = "stripe-internet" // api.stripe.com over the internet from AWS
	ProfileCustom         = "custom"          // the link's own Latency, Jitter and Bandwidth
)

// Profiles lists the network profile names, ProfileCustom last.
func Profiles() []string {
	return []string{ProfileNone, ProfileAWSSameAZ, ProfileAWSCrossAZ, ProfileAWSDynamoDB, ProfileStripeInternet, ProfileCustom}
}

// NetworkFor is the network that the string form `network: NAME` stands for.
//
// The AWS placements, aws-same-az and aws-cross-az, say where the Lambda function runs
// relative to its ElastiCache node, and each service is then reached the way it is from
// there: Redis with that profile, DynamoDB through its regional endpoint (aws-dynamodb,
// the same from every AZ) and Stripe over the internet (stripe-internet). So
// `network: aws-same-az` means Redis in the same AZ, DynamoDB in the region and Stripe
// over the internet. Any other name (none, aws-dynamodb, stripe-internet) applies to all
// three services as it is; `network: none` adds nothing anywhere. Use the mapping form to
// set each service yourself.
func NetworkFor(name string) Network {
	switch name {
	case ProfileAWSSameAZ, ProfileAWSCrossAZ:
		return Network{
			Redis:    NetLink{Profile: name},
			DynamoDB: NetLink{Profile: ProfileAWSDynamoDB},
			Stripe:   NetLink{Profile: ProfileStripeInternet},
		}
	}
	l := NetLink{Profile: name}
	return Network{Redis: l, DynamoDB: l, Stripe: l}
}

// Links returns the network of each service by its key: redis, dynamodb, stripe.
func (n Network) Links() map[string]NetLink {
	return map[string]NetLink{"redis": n.Redis, "dynamodb": n.DynamoDB, "stripe": n.Stripe}
}

func profileHint(name string) string {
	if s := suggest(name, Profiles()); len(s) > 0 {
		return didYouMean(s)
	}
	return "the profiles are " + oneOf(Profiles())
}

// MarshalYAML writes n in its mapping form: each service with its profile name, or its
// custom figures.
func (n Network) MarshalYAML() (any, error) {
	return yaml.MapSlice{
		{Key: "redis", Value: n.Redis.yamlValue()},
		{Key: "dynamodb", Value: n.DynamoDB.yamlValue()},
		{Key: "stripe", Value: n.Stripe.yamlValue()},
	}, nil
}

func (l NetLink) yamlValue() any {
	if l.Profile != ProfileCustom && l.Latency == 0 && l.Jitter == 0 && l.Bandwidth == 0 {
		return l.Profile
	}
	m := yaml.MapSlice{}
	if l.Profile != ProfileCustom {
		m = append(m, yaml.MapItem{Key: "profile", Value: l.Profile})
	}
	m = append(m,
		yaml.MapItem{Key: "latency", Value: formatDuration(l.Latency)},
		yaml.MapItem{Key: "jitter", Value: formatDuration(l.Jitter)},
		yaml.MapItem{Key: "bandwidth", Value: l.Bandwidth.yamlValue()},
	)
	return m
}

// UnmarshalYAML reads n from its string or mapping form, as the scenario parser does.
// Services a mapping leaves out, and were unset, get the profile none.
func (n *Network) UnmarshalYAML(data []byte) error {
	err := unmarshalPart(data, "network", n)
	for _, l := range []*NetLink{&n.Redis, &n.DynamoDB, &n.Stripe} {
		if l.Profile == "" {
			l.Profile = ProfileNone
		}
	}
	return err
}

// UnmarshalYAML reads a size written as an integer or with a unit (see ByteSize).
func (b *ByteSize) UnmarshalYAML(data []byte) error {
	return unmarshalPart(data, "size", b)
}

// MarshalYAML writes b as String does, or as an integer when it has no unit.
func (b ByteSize) MarshalYAML() (any, error) {
	return b.yamlValue(), nil
}

func (b ByteSize) yamlValue() any {
	s := b.String()
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return int64(b)
	}
	return s
}

// unmarshalPart decodes one YAML value into v with the scenario decoder's rules.
func unmarshalPart(data []byte, key string, v any) error {
	src := newSource("")
	n, perr := parseYAML(data, src, nil)
	if perr != nil {
		return perr
	}
	d := newDecoder(src, nil)
	d.collectAnchors(n, 0)
	if n == nil {
		d.fail(n, key, key+" has no value", "")
	} else {
		d.value(key, n, reflectValue(v))
	}
	return joinErrors(d.problems())
}

// Byte-size units (ByteSize).
var byteUnits = []struct {
	name string
	mult int64
}{
	{"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6},
	{"KiB", 1 << 10}, {"KB", 1e3}, {"B", 1},
}

var byteSizeRe = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)$`)

// ParseByteSize reads a size: an integer number of bytes, or a number with a unit B, KB,
// MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), without a space: 512KiB,
// 1.5GiB, 100MB. The result must be a whole number of bytes.
func ParseByteSize(s string) (ByteSize, error) {
	m := byteSizeRe.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	mult := int64(0)
	if m[2] == "" {
		mult = 1
	}
	for _, u := range byteUnits {
		if m[2] == u.name {
			mult = u.mult
		}
	}
	if mult == 0 {
		return 0, fmt.Errorf("%q has an unknown unit %q", s, m[2])
	}
	if !strings.Contains(m[1], ".") {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || n > math.MaxInt64/mult {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return ByteSize(n * mult), nil
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	total := f * float64(mult)
	if total >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	if total != math.Trunc(total) {
		return 0, errors.New(strconv.Quote(s) + " is not a whole number of bytes")
	}
	return ByteSize(total), nil
}

// String writes b in the largest unit that divides it (64MiB, 100MB, 2GB), or as a number
// of bytes.
func (b ByteSize) String() string {
	if b != 0 {
		for _, u := range byteUnits[:len(byteUnits)-1] {
			if int64(b)%u.mult == 0 {
				return strconv.FormatInt(int64(b)/u.mult, 10) + u.name
			}
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// byteSizeHint suggests how to write s as a size.
func byteSizeHint(s string) string {
	const generic = "write a size such as 512KiB, 64MiB or 100MB (units B, KB, MB, GB, KiB, MiB, GiB; no space)"
	t := strings.ReplaceAll(s, " ", "")
	perSecond := false
	for _, suf := range []string{"/s", "/sec", "ps", "/second"} {
		if strings.HasSuffix(strings.ToLower(t), suf) {
			t, perSecond = t[:len(t)-len(suf)], true
			break
		}
	}
	if m := byteSizeRe.FindStringSubmatch(t); m != nil {
		for _, u := range byteUnits {
			if strings.EqualFold(m[2], u.name) {
				t = m[1] + u.name
				break
			}
		}
	}
	if t == s {
		return generic
	}
	if _, err := ParseByteSize(t); err != nil {
		return generic
	}
	if perSecond {
		return "write " + t + " (a bandwidth is bytes per second already)"
	}
	return "write " + t
}
