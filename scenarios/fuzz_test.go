package scenarios

import (
	"encoding/json"
	"testing"
)

// FuzzParse feeds the parser arbitrary files, seeded with the built-in scenarios. It must
// never panic, and a file it accepts must survive the canonical round trip and expand.
func FuzzParse(f *testing.F) {
	for _, in := range List() {
		data, err := Builtin(in.Name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"name: x\nnetwork: {redis: {latency: 1ms, bandwidth: 5MB}, stripe: aws-cross-az}\n",
		"name: x\nrequests: 100\nops: {update: 0.1}\nkeys: {mix: {customer: 0.5, price: 0.5}}\n",
		"name: x\na: &a 5\nseed: *a\n",
		"name: x\nsweep: {cache.l1.ttl: [1s, 2s], network: [none, aws-same-az]}\n",
		"name: x\narrival: {model: steps, steps: [{rate: 10, for: 1s}]}\nfaults: [{at: 1s, for: 1s, target: stripe, kind: errors, rate: 0.5}]\n",
		"name: x\ncache: {shape: fields, fields: [id, email, metadata]}\nsweep: {cache.shape: [full, fields]}\n",
		"name: x\ncache: {l2: {topology: cluster, shards: 3, replicas: 1, tls: true, auth: acl}}\nsweep: {cache.l2.tls: [false, true]}\n",
		"name: x\ncache: {l2: {topology: cluster, shards: 0, auth: secret}}\n",
		"<<: {a: 1}\n",
		"- 1\n- 2\n",
		"name: x\n---\nname: y\n",
		"name: [\n",
		"{}\n",
		"# only a comment\n",
		"\ufeffname: x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.yaml")
		if err != nil {
			if s != nil {
				t.Fatalf("Parse returned a scenario and an error: %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted a scenario Validate rejects: %v", err)
		}
		out, err := s.YAML()
		if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		back, err := Parse(out, "fuzz.yaml")
		if err != nil {
			t.Fatalf("the canonical form does not parse: %v\n%s", err, out)
		}
		a, _ := json.Marshal(s)
		b, _ := json.Marshal(back)
		if string(a) != string(b) {
			t.Fatalf("round trip changed the scenario:\n%s\n%s\ncanonical:\n%s", a, b, out)
		}
		if _, err := Expand(s); err != nil && len(s.Sweep) == 0 {
			t.Fatalf("Expand of a scenario without a sweep: %v", err)
		}
	})
}
