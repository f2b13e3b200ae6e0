package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sameConfig reports whether a and b configure the same run (File aside).
func sameConfig(t *testing.T, a, b *Scenario) bool {
	t.Helper()
	ac, bc := a.Clone(), b.Clone()
	ac.File, bc.File = "", ""
	ja, err := json.Marshal(ac)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(bc)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// problemsOf returns the *Error values joined in err.
func problemsOf(t *testing.T, err error) []*Error {
	t.Helper()
	var out []*Error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		var pe *Error
		if !errors.As(e, &pe) {
			t.Fatalf("error %v (%T) is not a *scenarios.Error", e, e)
		}
		out = append(out, pe)
	}
	walk(err)
	return out
}

func TestParseErrors(t *testing.T) {
	const head = "name: t\n"
	tests := []struct {
		name string
		yaml string // after "name: t\n", so line 2 is its first line; "\x00..." is the whole file
		line int
		want []string // substrings of the error (message and hint)
	}{
		{"unknown shape", "cache:\n  shape: partial\n", 3, []string{"cache.shape", "partial", "full", "fields"}},
		{"shape fields without fields", "cache:\n  shape: fields\n", 3, []string{"cache.shape is fields but cache.fields names none", "cache.fields: [id, email, metadata]"}},
		{"fields with shape full", "cache:\n  fields: [id, email]\n", 3, []string{"cache.shape is full", "set cache.shape: fields"}},
		{"nested field", "cache:\n  shape: fields\n  fields: [id, metadata.plan]\n", 4, []string{`cache.fields[1] is "metadata.plan", a nested path`, "hint: keep the whole top-level field instead: metadata"}},
		{"empty field", "cache: {shape: fields, fields: [id, \"\"]}\n", 2, []string{"cache.fields[1] is empty"}},
		{"fields not a list", "cache: {shape: fields, fields: email}\n", 2, []string{"cache.fields must be a list", "[email]"}},
		{"unknown topology", "cache:\n  l2: {topology: clustered}\n", 3, []string{"cache.l2.topology", "clustered", "did you mean cluster?"}},
		{"shards out of range", "cache:\n  l2: {topology: cluster, shards: 0}\n", 3, []string{"cache.l2.shards is 0", "use 1 to 16"}},
		{"replicas on standalone", "cache:\n  l2: {replicas: 1}\n", 3, []string{"cache.l2.replicas is 1", "cache.l2.topology: replicated or cluster"}},
		{"read_from replica on standalone", "cache:\n  l2: {read_from: replica}\n", 3, []string{"cache.l2.read_from is replica", "no replica to read from", "cache.l2.topology: replicated"}},
		{"unknown read_from", "cache:\n  l2: {topology: replicated, read_from: replicas}\n", 3, []string{"cache.l2.read_from", "did you mean replica?"}},
		{"failover on standalone", "duration: 20s\nfaults: [{at: 5s, for: 5s, target: redis, kind: failover}]\n", 3, []string{"a failover fault promotes a replica", "cache.l2.topology: replicated, or cluster with cache.l2.replicas: 1"}},
		{"failover on a cluster without replicas", "duration: 20s\ncache:\n  l2: {topology: cluster}\nfaults: [{at: 5s, for: 5s, target: redis, kind: failover}]\n", 5, []string{"cluster with 0 replicas"}},
		{"failover of dynamodb", "duration: 20s\ncache:\n  l2: {topology: replicated}\nfaults: [{at: 5s, for: 5s, target: dynamodb, kind: failover}]\n", 5, []string{"a failover fault applies to Redis only"}},
		{"unknown auth", "cache:\n  l2: {auth: token}\n", 3, []string{"cache.l2.auth", "none, password or acl"}},
		{"tracking on a cluster", "cache:\n  l1: {policy: tracking}\n  l2: {topology: cluster}\n", 3, []string{"cache.l1.policy tracking runs on a standalone Redis"}},
		{"unknown top-level key", "duraton: 10s\n", 2, []string{`unknown key "duraton"`, "hint: did you mean duration?"}},
		{"unknown key nested", "cache:\n  l1:\n    tll: 5s\n", 4, []string{`unknown key "tll" in cache.l1`, "did you mean ttl?"}},
		{"key in the wrong section", "keys:\n  rate: 5\n", 3, []string{`unknown key "rate" in keys`, "arrival.rate"}},
		{"wrong type", "arrival:\n  rate: fast\n", 3, []string{"arrival.rate must be a number", `"fast"`}},
		{"list where a mapping belongs", "cache: [1, 2]\n", 2, []string{"cache must be a mapping, not a list"}},
		{"bad duration unit", "duration: 10 sec\n", 2, []string{`duration: "10 sec" is not a duration`, "hint: write 10s"}},
		{"duration without unit", "warmup: 30\n", 2, []string{"has no unit", "write 30s"}},
		{"duration in days", "cache:\n  l3: {ttl: 2d}\n", 3, []string{"cache.l3.ttl", "write 48h"}},
		{"bad bandwidth unit", "network:\n  redis: {latency: 1ms, bandwidth: 5 MB/s}\n", 3, []string{`"5 MB/s" is not a size`, "write 5MB"}},
		{"bad size case", "cache:\n  l2:\n    maxmemory: 256mib\n", 4, []string{`unknown unit "mib"`, "write 256MiB"}},
		{"quoted number", "keys:\n  count: \"10\"\n", 3, []string{"keys.count must be a whole number", "remove the quotes"}},
		{"fraction for a count", "keys:\n  count: 10.5\n", 3, []string{"keys.count must be a whole number"}},
		{"percentage for a share", "ops: {get: 95%, update: 0.05}\n", 2, []string{"ops.get must be a number", "write the fraction: 0.95"}},
		{"yes for a boolean", "cache:\n  l1:\n    enabled: yes\n", 4, []string{"cache.l1.enabled must be true or false", "write true"}},
		{"no value", "cache:\n  l1:\n    ttl:\n", 4, []string{"cache.l1.ttl has no value"}},
		{"negative rate", "arrival: {model: constant, rate: -5}\n", 2, []string{"arrival.rate is -5", "cannot be negative"}},
		{"zero rate", "arrival:\n  rate: 0\n", 3, []string{"arrival.rate is 0"}},
		{"ops not summing to 1", "ops:\n  get: 0.9\n  update: 0.2\n", 3, []string{"get + update is 1.1", "get: 0.8, update: 0.2"}},
		{"mix not summing to 1", "keys:\n  mix: {customer: 0.5, price: 0.4}\n", 3, []string{"keys.mix add up to 0.9"}},
		{"mix unknown object", "keys:\n  mix:\n    customer: 0.5\n    coupon: 0.5\n", 5, []string{`unknown object "coupon"`}},
		{"zipf_s zero", "keys: {distribution: zipf, zipf_s: 0}\n", 2, []string{"keys.zipf_s is 0", "more than 0"}},
		{"zipf_s negative", "keys:\n  zipf_s: -1\n", 3, []string{"keys.zipf_s is -1"}},
		{"ttl_jitter too large", "cache:\n  l2:\n    ttl_jitter: 0.7\n", 4, []string{"cache.l2.ttl_jitter is 0.7", "between 0 and 0.5"}},
		{"memory below Lambda's", "lambda:\n  memory_mb: 64\n", 3, []string{"lambda.memory_mb is 64", "128 to 10240"}},
		{"memory above Lambda's", "lambda: {memory_mb: 20480}\n", 2, []string{"lambda.memory_mb is 20480"}},
		{"provisioned above the limit", "lambda:\n  max_concurrency: 10\n  provisioned_concurrency: 20\n", 4, []string{"lambda.provisioned_concurrency 20 is more than lambda.max_concurrency 10", "count against the concurrency limit"}},
		{"provisioned negative", "lambda: {provisioned_concurrency: -1}\n", 2, []string{"lambda.provisioned_concurrency is -1"}},
		{"handler time negative", "lambda:\n  handler_time: -5ms\n", 3, []string{"lambda.handler_time is -5ms"}},
		{"handler cpu too long", "lambda:\n  handler_cpu: 20m\n", 3, []string{"lambda.handler_cpu 20m0s is longer than Lambda's longest invocation"}},
		{"duration and requests", "duration: 10s\nrequests: 1000\n", 3, []string{"duration and requests are both set", "keep one"}},
		{"unknown model", "arrival:\n  model: burst\n", 3, []string{`arrival.model: unknown value "burst"`, "constant, poisson, ramp, steps, closed or diurnal"}},
		{"misspelt distribution", "keys:\n  distribution: zipff\n", 3, []string{`unknown value "zipff"`, "did you mean zipf?"}},
		{"unknown policy", "cache:\n  l1: {policy: lfu}\n", 3, []string{`cache.l1.policy: unknown value "lfu"`}},
		{"warm without l2", "cache:\n  l1: {warm: {keys: 100}}\n  l2: {enabled: false}\n", 3, []string{"cache.l1.warm loads L1 from L2"}},
		{"warm budget too long", "cache:\n  l1: {warm: {keys: 100, budget: 30s}}\n", 3, []string{"cache.l1.warm.budget is 30s"}},
		{"warm negative", "cache:\n  l1: {warm: {keys: -1}}\n", 3, []string{"cache.l1.warm.keys is -1"}},
		{"tracking without l2", "cache:\n  l1: {policy: tracking}\n  l2: {enabled: false}\n", 3, []string{"cache.l1.policy tracking", "set cache.l2.enabled: true"}},
		{"unknown target", "faults:\n  - {at: 1s, for: 1s, target: postgres, kind: down}\n", 3, []string{`faults[0].target: unknown value "postgres"`, "redis, dynamodb or stripe"}},
		{"unknown kind", "faults:\n  - at: 1s\n    for: 1s\n    target: redis\n    kind: explode\n", 6, []string{`faults[0].kind: unknown value "explode"`}},
		{"fault past the end", "duration: 20s\nfaults:\n  - {at: 15s, for: 10s, target: redis, kind: down}\n", 4, []string{"faults[0] runs from 15s to 25s, past the end of the run at 20s"}},
		{"fault kind for stripe only", "faults:\n  - {at: 1s, for: 1s, target: redis, kind: rate_limit}\n", 3, []string{"applies to the Stripe API only"}},
		{"latency fault without latency", "faults:\n  - {at: 1s, for: 1s, target: dynamodb, kind: latency}\n", 3, []string{"a latency fault needs latency"}},
		{"fault field of another kind", "faults:\n  - {at: 1s, for: 1s, target: redis, kind: down, rate: 0.5}\n", 3, []string{"faults[0].rate applies only to a errors fault"}},
		{"overlapping faults", "faults:\n  - {at: 1s, for: 5s, target: redis, kind: down}\n  - {at: 3s, for: 5s, target: redis, kind: down}\n", 4, []string{"faults[1] overlaps faults[0]"}},
		{"unknown network profile", "network: aws-same-regoin\n", 2, []string{`unknown network profile "aws-same-regoin"`}},
		{"unknown network profile per service", "network:\n  redis: aws-cross-az\n  stripe: stripe-internets\n", 4, []string{`network.stripe: unknown network profile "stripe-internets"`, "did you mean stripe-internet?"}},
		{"unknown network service", "network:\n  postgres: none\n", 3, []string{`unknown key "postgres" in network`}},
		{"custom as a plain name", "network: custom\n", 2, []string{"custom profile needs figures"}},
		{"figures with a named profile", "network:\n  redis: {profile: aws-same-az, latency: 1ms}\n", 3, []string{"apply only to custom figures"}},
		{"threshold without unit", "thresholds:\n  - p99 < 50\n", 3, []string{`threshold "p99 < 50"`, "write p99 < 50ms"}},
		{"threshold unknown metric", "thresholds: [\"p98 < 5ms\"]\n", 2, []string{`unknown metric "p98"`, "did you mean"}},
		{"threshold bad op", "thresholds:\n  - l1.hit_ratio => 0.8\n", 3, []string{`unknown comparison "=>"`, "write >="}},
		{"threshold ratio above 1", "thresholds:\n  - l1.hit_ratio > 80\n", 3, []string{"write 80% or 0.8"}},
		{"threshold not a list", "thresholds: p99 < 5ms\n", 2, []string{"thresholds must be a list", "[p99 < 5ms]"}},
		{"sweep unknown key", "sweep:\n  cache.l1.tll: [1s]\n", 3, []string{`sweep: unknown key "cache.l1.tll"`, "did you mean cache.l1.ttl"}},
		{"sweep bad value", "sweep:\n  lambda.memory_mb:\n    - 512\n    - 64\n", 5, []string{"lambda.memory_mb is 64"}},
		{"sweep value of the wrong type", "sweep:\n  cache.l1.ttl: [5s, 10 sec]\n", 3, []string{`"10 sec" is not a duration`, "write 10s"}},
		{"sweep value breaks the scenario", "duration: 30s\nfaults: [{at: 10s, for: 5s, target: redis, kind: down}]\nsweep:\n  duration: [20s, 5s]\n", 5, []string{"with duration=5s, faults[0] runs from 10s to 15s"}},
		{"sweep not a list", "sweep:\n  cache.l1.ttl: 5s\n", 3, []string{"must be a list of values", "[5s, ...]"}},
		{"sweep of the name", "sweep:\n  name: [a, b]\n", 3, []string{"name cannot be swept"}},
		{"sweep too large", "sweep:\n  seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]\n  lambda.memory_mb: [128, 256, 512, 1024, 1769, 2048, 3008, 4096, 5120, 6144, 7168, 8192, 9216, 10240, 1000, 2000]\n", 2, []string{"more than 256 points"}},
		{"ramp without its rates", "arrival: {model: ramp}\n", 2, []string{"a ramp needs arrival.from and arrival.to"}},
		{"steps without steps", "arrival:\n  model: steps\n", 3, []string{"the steps model needs arrival.steps"}},
		{"trace without a file", "keys:\n  distribution: trace\n", 3, []string{"needs keys.trace"}},
		{"merge key", "cache:\n  <<: {coalesce: true}\n", 3, []string{"merge keys (<<) are not supported"}},
		{"syntax error", "arrival: {model: constant, rate: 5\nkeys: {}\n", 3, []string{"YAML syntax"}},
		{"second document", "seed: 2\n---\nseed: 3\n", 4, []string{"a second YAML document", "one scenario per file"}},
		{"not a mapping", "\x00- a\n- b\n", 1, []string{"must be a mapping, not a list"}},
		{"bad name", "\x00name: my run\n", 1, []string{`name "my run" is not a plain name`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := head + tt.yaml
			if full, ok := strings.CutPrefix(tt.yaml, "\x00"); ok {
				data = full // the whole file
			}
			s, err := Parse([]byte(data), "t.yaml")
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", data)
			}
			if s != nil {
				t.Error("Parse returned a scenario with its error")
			}
			msg := err.Error()
			if prefix := fmt.Sprintf("t.yaml:%d:", tt.line); !strings.HasPrefix(msg, prefix) {
				t.Errorf("error does not start with %q:\n%s", prefix, msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			for _, p := range problemsOf(t, err) {
				if p.Hint == "" && !strings.Contains(p.Msg, "YAML syntax") {
					t.Errorf("no hint: %v", p)
				}
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	data := `name: many
duration: 10 sec
arrival: {model: constant, rate: -1}
keys:
  distribution: zipf
  zipf_s: 0
cache:
  l1: {policy: lfu, ttll: 5s}
  l2: {ttl_jitter: 0.9}
lambda: {memory_mb: 100000}
network: somewhere
thresholds: ["p99 <", "l1.hit_ratio > 0.8"]
`
	_, err := Parse([]byte(data), "many.yaml")
	if err == nil {
		t.Fatal("Parse accepted a bad file")
	}
	var lines []int
	for _, p := range problemsOf(t, err) {
		lines = append(lines, p.Line)
	}
	want := []int{2, 3, 6, 8, 8, 9, 10, 11, 12}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("problems on lines %v, want %v:\n%v", lines, want, err)
	}
}

func TestErrorMessageGolden(t *testing.T) {
	data := "name: golden\ncache:\n  l2:\n    ttl_jitter: 0.75\n"
	_, err := Parse([]byte(data), "scenarios/golden.yaml")
	const want = "scenarios/golden.yaml:4:17: cache.l2.ttl_jitter is 0.75; it must be between 0 and 0.5 " +
		"(hint: use a fraction from 0 to 0.5, such as 0.1 for ±10%)"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	var pe *Error
	if !errors.As(err, &pe) || pe.Line != 4 || pe.Col != 17 || pe.Key != "cache.l2.ttl_jitter" || pe.File != "scenarios/golden.yaml" {
		t.Errorf("Error fields = %+v", pe)
	}
}

func TestEmptyFile(t *testing.T) {
	for _, in := range []string{"", "\n\n", "# only a comment\n  # and another\n", "---\n", "null\n",
		"{}\n", "# c\n{} # nothing\n", "\ufeff# a byte-order mark and a comment\n", "# a\r\n# b\r\n"} {
		_, err := Parse([]byte(in), "dir/empty.yaml")
		if err == nil {
			t.Errorf("%q: no error", in)
			continue
		}
		for _, want := range []string{"dir/empty.yaml", "empty", "cachebench list"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%q: error %q does not contain %q", in, err, want)
			}
		}
	}
}

// TestByteOrderMark checks a file saved with a UTF-8 byte-order mark reads as without it.
func TestByteOrderMark(t *testing.T) {
	s, err := Parse([]byte("\ufeffname: bom\nseed: 7\n"), "bom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "bom" || s.Seed != 7 {
		t.Errorf("name %q seed %d, want bom 7", s.Name, s.Seed)
	}
}

func TestDefaults(t *testing.T) {
	s, err := Parse([]byte("# nothing but defaults\nseed: 1\n"), "dir/plain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Name = "plain"
	want.File = "dir/plain.yaml"
	if !sameConfig(t, s, &want) {
		t.Errorf("empty file:\n%+v\nwant defaults\n%+v", s, want)
	}
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"name from the file", s.Name, "plain"},
		{"seed", s.Seed, int64(1)},
		{"duration", s.Duration, 30 * time.Second},
		{"model", s.Arrival.Model, ArrivalConstant},
		{"rate", s.Arrival.Rate, 100.0},
		{"object", s.Keys.Object, "customer"},
		{"count", s.Keys.Count, 10000},
		{"distribution", s.Keys.Distribution, DistUniform},
		{"get", s.Ops.Get, 1.0},
		{"l1 on", s.Cache.L1.Enabled, true},
		{"l1 policy", s.Cache.L1.Policy, PolicyTinyLFU},
		{"l1 bytes", s.Cache.L1.MaxBytes, ByteSize(64 << 20)},
		{"l2 on", s.Cache.L2.Enabled, true},
		{"l2 ttl", s.Cache.L2.TTL, 5 * time.Minute},
		{"l3 on", s.Cache.L3.Enabled, true},
		{"coalesce", s.Cache.Coalesce, true},
		{"lambda on", s.Lambda.Enabled, true},
		{"memory", s.Lambda.MemoryMB, 512},
		{"provisioned", s.Lambda.ProvisionedConcurrency, 0},
		{"handler time", s.Lambda.HandlerTime, time.Duration(0)},
		{"handler cpu", s.Lambda.HandlerCPU, time.Duration(0)},
		{"network", s.Network, NetworkFor(ProfileNone)},
		{"stripe", s.Stripe.Mode, StripeModeTest},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
	if err := (&want).Validate(); err != nil {
		t.Errorf("Defaults do not validate: %v", err)
	}
}

func TestParseKeepsDefaultsOfAbsentKeys(t *testing.T) {
	s, err := Parse([]byte("name: part\ncache:\n  l1: {ttl: 5s}\n  l2: {enabled: false}\nlambda: {memory_mb: 1024}\n"), "part.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Cache.L1.TTL != 5*time.Second || !s.Cache.L1.Enabled || s.Cache.L1.Policy != PolicyTinyLFU || s.Cache.L1.MaxEntries != 10000 {
		t.Errorf("cache.l1 = %+v", s.Cache.L1)
	}
	if s.Cache.L2.Enabled || s.Cache.L2.TTL != 5*time.Minute {
		t.Errorf("cache.l2 = %+v", s.Cache.L2)
	}
	if s.Lambda.MemoryMB != 1024 || s.Lambda.Arch != ArchARM64 || !s.Lambda.Enabled {
		t.Errorf("lambda = %+v", s.Lambda)
	}
}

func TestParseLambdaFleetKeys(t *testing.T) {
	s, err := Parse([]byte("name: fleet\nlambda: {max_concurrency: 20, provisioned_concurrency: 20, handler_time: 40ms, handler_cpu: 2ms}\n"), "fleet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := s.Lambda
	if l.ProvisionedConcurrency != 20 || l.HandlerTime != 40*time.Millisecond || l.HandlerCPU != 2*time.Millisecond || l.MaxConcurrency != 20 {
		t.Errorf("lambda = %+v", l)
	}
	if err := s.Set("lambda.provisioned_concurrency", "5"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("lambda.max_concurrency", "4"); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "lambda.provisioned_concurrency 5 is more than lambda.max_concurrency 4") {
		t.Errorf("Validate = %v, want provisioned_concurrency over max_concurrency", err)
	}
}

func TestParseRules(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		check func(*Scenario) bool
	}{
		{"requests alone drops the default duration", "requests: 5000\n",
			func(s *Scenario) bool { return s.Requests == 5000 && s.Duration == 0 }},
		{"duration 0 beside requests", "duration: 0\nrequests: 5000\n",
			func(s *Scenario) bool { return s.Requests == 5000 && s.Duration == 0 }},
		{"update alone gives get the rest", "ops: {update: 0.05}\n",
			func(s *Scenario) bool { return s.Ops.Get == 0.95 && s.Ops.Update == 0.05 }},
		{"get alone gives update the rest", "ops: {get: 0.8}\n",
			func(s *Scenario) bool { return s.Ops.Get == 0.8 && s.Ops.Update == 0.2 }},
		{"name in the file wins", "name: other\n",
			func(s *Scenario) bool { return s.Name == "other" }},
		{"sizes with units", "cache:\n  l1: {max_bytes: 1.5GiB}\n  l2: {maxmemory: 100MB}\n",
			func(s *Scenario) bool { return s.Cache.L1.MaxBytes == 3<<29 && s.Cache.L2.Maxmemory == 100e6 }},
		{"numbers in YAML forms", "keys: {count: 1e4}\nseed: 0x10\narrival: {rate: 1_000}\n",
			func(s *Scenario) bool { return s.Keys.Count == 10000 && s.Seed == 16 && s.Arrival.Rate == 1000 }},
		{"anchors and aliases", "arrival: {rate: &r 250}\nlambda: {max_concurrency: *r}\n",
			func(s *Scenario) bool { return s.Arrival.Rate == 250 && s.Lambda.MaxConcurrency == 250 }},
		{"l2 topology keys", "cache:\n  l2: {topology: cluster, shards: 4, replicas: 1, tls: true, auth: acl}\n",
			func(s *Scenario) bool {
				l := s.Cache.L2
				return l.Topology == TopologyCluster && l.Shards == 4 && l.Replicas == 1 && l.TLS && l.Auth == AuthACL
			}},
		{"replicated with replica reads and a failover", "duration: 20s\ncache:\n  l2: {topology: replicated, replicas: 2, read_from: replica}\nfaults: [{at: 5s, for: 5s, target: redis, kind: failover}]\n",
			func(s *Scenario) bool {
				l := s.Cache.L2
				return l.Topology == TopologyReplicated && l.Replicas == 2 && l.ReadFrom == ReadFromReplica && s.Faults[0].Kind == FaultFailover
			}},
		{"l2 defaults to standalone without TLS or AUTH", "seed: 2\n",
			func(s *Scenario) bool {
				l := s.Cache.L2
				return l.Topology == TopologyStandalone && l.Replicas == 0 && !l.TLS && l.Auth == AuthNone && l.ReadFrom == ReadFromPrimary
			}},
		{"mix", "keys:\n  mix: {customer: 0.7, subscription: 0.3}\n",
			func(s *Scenario) bool {
				return reflect.DeepEqual(s.Keys.Mix, map[string]float64{"customer": 0.7, "subscription": 0.3})
			}},
		{"steps", "arrival:\n  model: steps\n  steps:\n    - {rate: 10, for: 5s}\n    - {rate: 100, for: 10s}\n",
			func(s *Scenario) bool {
				return reflect.DeepEqual(s.Arrival.Steps, []Step{{10, 5 * time.Second}, {100, 10 * time.Second}})
			}},
		{"faults", "faults:\n  - {at: 5s, for: 2s, target: stripe, kind: errors, rate: 0.25}\n  - {at: 1s, for: 1s, target: dynamodb, kind: bandwidth, bandwidth: 64KiB}\n",
			func(s *Scenario) bool {
				return reflect.DeepEqual(s.Faults, []Fault{
					{At: 5 * time.Second, For: 2 * time.Second, Target: TargetStripe, Kind: FaultErrors, Rate: 0.25},
					{At: time.Second, For: time.Second, Target: TargetDynamoDB, Kind: FaultBandwidth, Bandwidth: 64 << 10},
				})
			}},
		{"sweep keeps file order", "sweep:\n  lambda.memory_mb: [128, 256]\n  cache.l1.ttl: [1s, 5s, 30s]\n  network: [none, aws-cross-az]\n",
			func(s *Scenario) bool {
				return reflect.DeepEqual(s.Sweep, []SweepAxis{
					{"lambda.memory_mb", []string{"128", "256"}},
					{"cache.l1.ttl", []string{"1s", "5s", "30s"}},
					{"network", []string{"none", "aws-cross-az"}},
				})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse([]byte(tt.yaml), "rules.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(s) {
				t.Errorf("unexpected scenario from\n%s\n%+v", tt.yaml, s)
			}
		})
	}
}

func TestNetwork(t *testing.T) {
	custom := NetLink{Profile: ProfileCustom, Latency: time.Millisecond, Jitter: 200 * time.Microsecond, Bandwidth: 100e6}
	tests := []struct {
		yaml string
		want Network
	}{
		{"none", Network{NetLink{Profile: "none"}, NetLink{Profile: "none"}, NetLink{Profile: "none"}}},
		{"aws-same-az", Network{NetLink{Profile: "aws-same-az"}, NetLink{Profile: "aws-dynamodb"}, NetLink{Profile: "stripe-internet"}}},
		{"aws-cross-az", Network{NetLink{Profile: "aws-cross-az"}, NetLink{Profile: "aws-dynamodb"}, NetLink{Profile: "stripe-internet"}}},
		{"stripe-internet", Network{NetLink{Profile: "stripe-internet"}, NetLink{Profile: "stripe-internet"}, NetLink{Profile: "stripe-internet"}}},
		{"{redis: aws-cross-az}", Network{NetLink{Profile: "aws-cross-az"}, NetLink{Profile: "none"}, NetLink{Profile: "none"}}},
		{"{redis: {latency: 1ms, jitter: 200us, bandwidth: 100MB}, stripe: stripe-internet}", Network{custom, NetLink{Profile: "none"}, NetLink{Profile: "stripe-internet"}}},
		{"{dynamodb: {profile: aws-dynamodb}}", Network{NetLink{Profile: "none"}, NetLink{Profile: "aws-dynamodb"}, NetLink{Profile: "none"}}},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			s, err := Parse([]byte("network: "+tt.yaml+"\n"), "net.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if s.Network != tt.want {
				t.Errorf("network = %+v, want %+v", s.Network, tt.want)
			}
			var n Network
			if err := n.UnmarshalYAML([]byte(tt.yaml)); err != nil || n != tt.want {
				t.Errorf("UnmarshalYAML = %+v, %v", n, err)
			}
			out, err := s.YAML()
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(out, "net.yaml")
			if err != nil || back.Network != tt.want {
				t.Errorf("round trip: %+v, %v\n%s", back, err, out)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	good := []struct {
		in   string
		want ByteSize
		str  string
	}{
		{"0", 0, "0"},
		{"512", 512, "512"},
		{"100B", 100, "100"},
		{"1KB", 1000, "1KB"},
		{"512KiB", 512 << 10, "512KiB"},
		{"64MiB", 64 << 20, "64MiB"},
		{"100MB", 100e6, "100MB"},
		{"2GB", 2e9, "2GB"},
		{"1GiB", 1 << 30, "1GiB"},
		{"1.5GiB", 3 << 29, "1536MiB"},
		{"0.5KB", 500, "500"},
	}
	for _, tt := range good {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseByteSize(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseByteSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
			if got.String() != tt.str {
				t.Errorf("String() = %q, want %q", got.String(), tt.str)
			}
		})
	}
	for _, in := range []string{"", "5 MB", "5MB/s", "5mb", "-1", "1TB", "0.1B", "1.5", "99999999999999999999GiB", "MB"} {
		t.Run("bad "+in, func(t *testing.T) {
			if got, err := ParseByteSize(in); err == nil {
				t.Errorf("ParseByteSize(%q) = %d, want an error", in, got)
			}
		})
	}
}

func TestParseCapsTheProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: many\n")
	for i := range 150 {
		fmt.Fprintf(&b, "unknown%d: 1\n", i)
	}
	_, err := Parse([]byte(b.String()), "cap.yaml")
	ps := problemsOf(t, err)
	if len(ps) != maxProblems+1 || !strings.Contains(ps[len(ps)-1].Msg, "and 50 more problems") {
		t.Errorf("%d problems, last %v", len(ps), ps[len(ps)-1])
	}
}

func TestParseNeverPanicsOnOddYAML(t *testing.T) {
	for _, in := range []string{
		"name: x\ncache: &c {l1: *c, l2: *c}\n",
		"name: x\nthresholds: &t [*t]\n",
		"name: x\nseed: *nowhere\n",
		"name: x\n? complex\n: key\n",
		"name: x\n[1, 2]: y\n",
		"name: x\n!!map {seed: 2}: 1\n",
		"%YAML 1.2\n---\nname: x\n",
		"name: x\nkeys: !!map {count: 5}\n",
		"name: x\ndescription: |\n  two\n  lines\n",
		"\t",
		"name: x\nnetwork: {redis: [1]}\n",
		"name: x\nsweep: [a]\n",
		"name: x\nsweep: {seed: [[1]]}\n",
		"name: x\nsweep: {seed: ~}\n",
	} {
		t.Run(in, func(t *testing.T) {
			s, err := Parse([]byte(in), "odd.yaml")
			if (s == nil) == (err == nil) {
				t.Errorf("Parse = %v, %v", s, err)
			}
		})
	}
}
