package scenarios

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, yaml string) *Scenario {
	t.Helper()
	s, err := Parse([]byte(yaml), "set.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSet(t *testing.T) {
	tests := []struct {
		key, value string
		check      func(*Scenario) bool
	}{
		{"cache.l1.ttl", "10s", func(s *Scenario) bool { return s.Cache.L1.TTL == 10*time.Second }},
		{"arrival.rate", "750", func(s *Scenario) bool { return s.Arrival.Rate == 750 }},
		{"lambda.memory_mb", "1769", func(s *Scenario) bool { return s.Lambda.MemoryMB == 1769 }},
		{"lambda.enabled", "false", func(s *Scenario) bool { return !s.Lambda.Enabled }},
		{"stripe.mode", "live", func(s *Scenario) bool { return s.Stripe.Mode == StripeModeLive }},
		{"keys.distribution", "hotspot", func(s *Scenario) bool { return s.Keys.Distribution == DistHotspot }},
		{"cache.l2.maxmemory", "512MiB", func(s *Scenario) bool { return s.Cache.L2.Maxmemory == 512<<20 }},
		{"seed", "99", func(s *Scenario) bool { return s.Seed == 99 }},
		{"cache", "{shape: fields, fields: [id, email]}", func(s *Scenario) bool {
			return s.Cache.Shape == ShapeFields && slices.Equal(s.Cache.Fields, []string{"id", "email"}) && s.Cache.L1.Enabled
		}},
		{"name", "renamed", func(s *Scenario) bool { return s.Name == "renamed" }},
		{"description", "reads: 95%, #1", func(s *Scenario) bool { return s.Description == "reads: 95%, #1" }},
		{"duration", "45s", func(s *Scenario) bool { return s.Duration == 45*time.Second && s.Requests == 0 }},
		{"requests", "20000", func(s *Scenario) bool { return s.Requests == 20000 && s.Duration == 0 }},
		{"cache.l1", "{policy: lru, max_entries: 50}", func(s *Scenario) bool {
			return s.Cache.L1.Policy == PolicyLRU && s.Cache.L1.MaxEntries == 50 && s.Cache.L1.TTL == 30*time.Second
		}},
		{"network", "aws-cross-az", func(s *Scenario) bool { return s.Network == NetworkFor(ProfileAWSCrossAZ) }},
		{"network.redis", "aws-cross-az", func(s *Scenario) bool {
			return s.Network.Redis.Profile == ProfileAWSCrossAZ && s.Network.Stripe.Profile == ProfileStripeInternet
		}},
		{"network.redis", "{latency: 2ms}", func(s *Scenario) bool {
			return s.Network.Redis == NetLink{Profile: ProfileCustom, Latency: 2 * time.Millisecond}
		}},
		{"network.redis.latency", "3ms", func(s *Scenario) bool {
			return s.Network.Redis == NetLink{Profile: ProfileCustom, Latency: 3 * time.Millisecond}
		}},
		{"network.stripe.profile", "none", func(s *Scenario) bool { return s.Network.Stripe == NetLink{Profile: ProfileNone} }},
		{"ops.update", "0.1", func(s *Scenario) bool { return s.Ops.Update == 0.1 && s.Ops.Get == 0.9 }},
		{"keys.mix.subscription", "0.3", func(s *Scenario) bool {
			return s.Keys.Mix["subscription"] == 0.3 && s.Keys.Mix["customer"] == 0.7
		}},
		{"thresholds", `["p99 < 20ms", "cold_starts < 10"]`, func(s *Scenario) bool {
			return reflect.DeepEqual(s.Thresholds, []string{"p99 < 20ms", "cold_starts < 10"})
		}},
		{"faults", "[]", func(s *Scenario) bool { return s.Faults == nil }},
		{"sweep", "{cache.l1.ttl: [1s, 2s]}", func(s *Scenario) bool {
			return reflect.DeepEqual(s.Sweep, []SweepAxis{{"cache.l1.ttl", []string{"1s", "2s"}}})
		}},
	}
	const base = "name: base\nduration: 20s\nnetwork: aws-same-az\nkeys: {mix: {customer: 0.7, subscription: 0.3}}\nfaults: [{at: 1s, for: 1s, target: redis, kind: down}]\n"
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			s := mustParse(t, base)
			if err := s.Set(tt.key, tt.value); err != nil {
				t.Fatalf("Set: %v", err)
			}
			if !tt.check(s) {
				t.Errorf("after Set(%q, %q): %+v", tt.key, tt.value, s)
			}
			if tt.key != "keys.mix.subscription" && tt.key != "ops.update" {
				if err := s.Validate(); err != nil {
					t.Errorf("Validate after Set: %v", err)
				}
			}
		})
	}
}

func TestSetDurationAndRequests(t *testing.T) {
	s := mustParse(t, "name: x\nrequests: 100\n")
	if err := s.Set("duration", "10s"); err != nil {
		t.Fatal(err)
	}
	if s.Requests != 0 || s.Duration != 10*time.Second || s.Validate() != nil {
		t.Errorf("duration did not clear requests: %v %v %v", s.Duration, s.Requests, s.Validate())
	}
	if err := s.Set("requests", "500"); err != nil {
		t.Fatal(err)
	}
	if s.Requests != 500 || s.Duration != 0 || s.Validate() != nil {
		t.Errorf("requests did not clear duration: %v %v %v", s.Duration, s.Requests, s.Validate())
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		key, value string
		want       []string
	}{
		{"cache.l1.tll", "5s", []string{`--set cache.l1.tll=5s: unknown key "cache.l1.tll"`, "did you mean cache.l1.ttl"}},
		{"arival.rate", "5", []string{"did you mean arrival.rate?"}},
		{"ttl", "5s", []string{"cache.l1.ttl", "cache.l2.ttl", "cache.l3.ttl"}},
		{"cache.l1.ttl", "10 sec", []string{`--set cache.l1.ttl=10 sec: cache.l1.ttl: "10 sec" is not a duration`, "write 10s"}},
		{"lambda.memory_mb", "lots", []string{"lambda.memory_mb must be a whole number"}},
		{"cache.l1", "{tll: 5s}", []string{`unknown key "tll" in cache.l1`}},
		{"network", "moon", []string{`unknown network profile "moon"`}},
		{"lambda.enabled", "", []string{"lambda.enabled has no value"}},
		{"arrival.rate", "[1, 2", []string{"YAML syntax"}},
		{"file", "x", []string{`unknown key "file"`}},
		{"cache..ttl", "1s", []string{"unknown key"}},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			s := mustParse(t, "name: x\n")
			before := s.Clone()
			err := s.Set(tt.key, tt.value)
			if err == nil {
				t.Fatal("Set accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if !sameConfig(t, s, before) {
				t.Error("a failed Set changed the scenario")
			}
		})
	}
}

func TestSetThenValidatePointsAtTheFile(t *testing.T) {
	s := mustParse(t, "name: x\nduration: 30s\nfaults:\n  - {at: 10s, for: 10s, target: redis, kind: down}\n")
	if err := s.Set("duration", "15s"); err != nil {
		t.Fatal(err)
	}
	err := s.Validate()
	if err == nil || !strings.HasPrefix(err.Error(), "set.yaml:4:") || !strings.Contains(err.Error(), "past the end of the run at 15s") {
		t.Errorf("Validate = %v", err)
	}
	if err := s.Set("lambda.memory_mb", "100"); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "--set lambda.memory_mb=100: lambda.memory_mb is 100") {
		t.Errorf("Validate = %v", err)
	}
}

func TestSetOnABareScenario(t *testing.T) {
	s := Defaults()
	s.Name = "bare"
	if err := s.Set("arrival.rate", "5"); err != nil {
		t.Fatal(err)
	}
	if s.Arrival.Rate != 5 || s.Validate() != nil {
		t.Errorf("rate %v, validate %v", s.Arrival.Rate, s.Validate())
	}
	s.Lambda.MemoryMB = 1
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "lambda.memory_mb is 1") {
		t.Errorf("Validate = %v", err)
	}
}

func TestSettableKeys(t *testing.T) {
	keys := SettableKeys()
	for _, k := range []string{"name", "duration", "arrival.rate", "keys.zipf_s", "keys.mix.customer", "cache.l1.ttl",
		"cache.l2.ttl_jitter", "lambda.memory_mb", "network", "network.redis", "network.redis.latency", "stripe.mode", "faults", "thresholds", "sweep"} {
		found := false
		for _, x := range keys {
			found = found || x == k
		}
		if !found {
			t.Errorf("%s missing from SettableKeys", k)
		}
		if k == "sweep" {
			continue
		}
		if _, _, ok := lookup(&Scenario{}, k); !ok {
			t.Errorf("lookup(%q) failed", k)
		}
	}
}

func TestLoad(t *testing.T) {
	t.Run("built-in", func(t *testing.T) {
		s, err := Load("baseline", nil)
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != "baseline" || s.File != "scenarios/baseline.yaml" {
			t.Errorf("name %q file %q", s.Name, s.File)
		}
	})
	t.Run("overrides in order", func(t *testing.T) {
		s, err := Load("baseline", []string{"arrival.rate=100", "arrival.rate=200", "requests=1000", "cache.l1.ttl = 5s"})
		if err != nil {
			t.Fatal(err)
		}
		if s.Arrival.Rate != 200 || s.Requests != 1000 || s.Duration != 0 || s.Cache.L1.TTL != 5*time.Second {
			t.Errorf("rate %v requests %v duration %v ttl %v", s.Arrival.Rate, s.Requests, s.Duration, s.Cache.L1.TTL)
		}
	})
	t.Run("path", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "mine.yml")
		if err := os.WriteFile(path, []byte("duration: 5s\nkeys: {distribution: trace, trace: t.csv}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(path, []string{"seed=7"})
		if err != nil {
			t.Fatal(err)
		}
		if s.Name != "mine" || s.File != path || s.Seed != 7 || s.TracePath() != filepath.Join(dir, "t.csv") {
			t.Errorf("name %q file %q seed %d trace %q", s.Name, s.File, s.Seed, s.TracePath())
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
		if err == nil || !os.IsNotExist(unwrapAll(err)) {
			t.Errorf("Load = %v", err)
		}
	})
	t.Run("unknown name", func(t *testing.T) {
		_, err := Load("baseline2", nil)
		if err == nil {
			t.Fatal("Load accepted an unknown name")
		}
		for _, w := range []string{`unknown scenario "baseline2"`, "cold-start-storm", "zipf-read-heavy", "cachebench list", "did you mean baseline?"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error lacks %q: %v", w, err)
			}
		}
	})
	t.Run("every problem of the overrides", func(t *testing.T) {
		_, err := Load("baseline", []string{"cache.l1.ttl=soon", "nokey", "lambda.memory_mb=50", "bogus.key=1"})
		if err == nil {
			t.Fatal("Load accepted bad overrides")
		}
		got := err.Error()
		for _, w := range []string{"--set cache.l1.ttl=soon:", "--set nokey: an override is key=value", `--set bogus.key=1: unknown key "bogus.key"`} {
			if !strings.Contains(got, w) {
				t.Errorf("error lacks %q:\n%s", w, got)
			}
		}
	})
	t.Run("validated after the overrides", func(t *testing.T) {
		_, err := Load("redis-outage", []string{"duration=20s"})
		if err == nil || !strings.Contains(err.Error(), "scenarios/redis-outage.yaml:") || !strings.Contains(err.Error(), "past the end of the run at 20s") {
			t.Errorf("Load = %v", err)
		}
	})
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// TestTraceImpliesItsDistribution: a scenario that names a trace and no distribution
// replays the trace, to its end; one that names another distribution beside a trace is an
// error, not a synthetic run under the trace's name; --set keys.trace works the same way.
func TestTraceImpliesItsDistribution(t *testing.T) {
	s := mustParse(t, "name: x\nkeys: {trace: t.csv}\n")
	if s.Keys.Distribution != DistTrace || s.Duration != 0 {
		t.Errorf("keys.trace alone: distribution %q, duration %v; want trace, 0 (to the end)", s.Keys.Distribution, s.Duration)
	}
	_, err := Parse([]byte("name: x\nkeys: {trace: t.csv, distribution: zipf}\n"), "x.yaml")
	if err == nil || !strings.Contains(err.Error(), "trace would not be replayed") {
		t.Errorf("trace with distribution zipf: err = %v, want one saying the trace would not be replayed", err)
	}
	s = mustParse(t, "name: x\n")
	if err := s.Set("keys.trace", "t.csv"); err != nil {
		t.Fatal(err)
	}
	if s.Keys.Distribution != DistTrace || s.Duration != 0 || s.Validate() != nil {
		t.Errorf("--set keys.trace: distribution %q, duration %v, %v; want trace, 0, valid", s.Keys.Distribution, s.Duration, s.Validate())
	}
	s = mustParse(t, "name: x\nduration: 5s\n")
	if err := s.Set("keys.trace", "t.csv"); err != nil || s.Duration != 5*time.Second {
		t.Errorf("--set keys.trace over duration 5s: duration %v, err %v; want 5s kept", s.Duration, err)
	}
}
