package pricing

import (
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDefaultPrices pins the embedded table to the figures AWS publishes, so an edit of
// the data file that changes a price fails here until this test agrees.
func TestDefaultPrices(t *testing.T) {
	tab := Default()
	if tab.Origin != "embedded "+DefaultFile || tab.Region != "us-east-1" || tab.Currency != "USD" {
		t.Errorf("table %q from %q, region %q, currency %q", tab.Name, tab.Origin, tab.Region, tab.Currency)
	}
	tiers := map[Arch][][2]float64{
		X86_64: {{0, 0.0000166667}, {6e9, 0.000015}, {15e9, 0.0000133334}},
		ARM64:  {{0, 0.0000133334}, {7.5e9, 0.0000120001}, {18.75e9, 0.0000106667}},
	}
	for a, want := range tiers {
		got := tab.Lambda.Duration[a]
		if len(got) != len(want) {
			t.Fatalf("%s: %d tiers, want %d", a, len(got), len(want))
		}
		for i, w := range want {
			if got[i].FromGBs != w[0] || got[i].Value != w[1] {
				t.Errorf("%s tier %d = from %v at %v, want from %v at %v", a, i, got[i].FromGBs, got[i].Value, w[0], w[1])
			}
		}
	}
	l := tab.Lambda
	e := tab.ElastiCache
	d := tab.DynamoDB.OnDemand
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"requests per million", l.Requests.Value, 0.20},
		{"ephemeral storage", l.EphemeralStorage.Value, 0.0000000309},
		{"provisioned concurrency x86_64", l.ProvisionedConcurrency[X86_64].Value, 0.0000041667},
		{"provisioned concurrency arm64", l.ProvisionedConcurrency[ARM64].Value, 0.0000033334},
		{"provisioned duration x86_64", l.ProvisionedDuration[X86_64].Value, 0.0000097222},
		{"provisioned duration arm64", l.ProvisionedDuration[ARM64].Value, 0.0000077778},
		{"free requests", l.FreeTier.Requests.Value, 1e6},
		{"free GB-seconds", l.FreeTier.GBSeconds.Value, 400_000},
		{"redis cache.t4g.micro", e.Nodes[RedisOSS]["cache.t4g.micro"].Value, 0.016},
		{"redis cache.t4g.small", e.Nodes[RedisOSS]["cache.t4g.small"].Value, 0.032},
		{"redis cache.t4g.medium", e.Nodes[RedisOSS]["cache.t4g.medium"].Value, 0.065},
		{"redis cache.m7g.large", e.Nodes[RedisOSS]["cache.m7g.large"].Value, 0.158},
		{"redis cache.r7g.large", e.Nodes[RedisOSS]["cache.r7g.large"].Value, 0.219},
		{"serverless redis data", e.Serverless[RedisOSS].DataStored.Value, 0.125},
		{"serverless redis ECPU", e.Serverless[RedisOSS].ECPU.Value, 0.0034},
		{"serverless redis minimum", e.Serverless[RedisOSS].MinimumData.Value, 1},
		{"serverless valkey data", e.Serverless[Valkey].DataStored.Value, 0.084},
		{"serverless valkey ECPU", e.Serverless[Valkey].ECPU.Value, 0.0023},
		{"serverless valkey minimum", e.Serverless[Valkey].MinimumData.Value, 0.1},
		{"dynamodb RRU", d.ReadRequestUnits.Value, 0.125},
		{"dynamodb WRU", d.WriteRequestUnits.Value, 0.625},
		{"dynamodb storage", d.Storage.Value, 0.25},
		{"dynamodb free storage", d.FreeStorage.Value, 25},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Valkey nodes are 20% below Redis OSS, type by type.
	for nt, p := range e.Nodes[RedisOSS] {
		v, ok := e.Nodes[Valkey][nt]
		if !ok {
			t.Errorf("no valkey price for %s", nt)
			continue
		}
		if got := v.Value / p.Value; got < 0.7999 || got > 0.8001 {
			t.Errorf("%s: valkey/redis = %v, want 0.8", nt, got)
		}
	}
}

// TestDefaultRules: the table states the billing rules the model implements, each dated.
func TestDefaultRules(t *testing.T) {
	tab := Default()
	for _, c := range []struct {
		rules     map[string]Rule
		name      string
		effective string
		mention   string
	}{
		{tab.Lambda.Rules, "init_billing", "2025-08-01", "provided.al2023"},
		{tab.Lambda.Rules, "billing_granularity", "2020-12-01", "millisecond"},
		{tab.Lambda.Rules, "vcpu", "", "1,769 MB"},
		{tab.Lambda.Rules, "tiers", "", "same architecture"},
		{tab.ElastiCache.Rules, "ecpu", "", "1 ECPU for each kilobyte"},
		{tab.DynamoDB.Rules, "request_units", "", "0.5"},
		{tab.DynamoDB.Rules, "price_cut", "2024-11-01", "50%"},
	} {
		r, ok := c.rules[c.name]
		if !ok {
			t.Errorf("rule %s missing", c.name)
			continue
		}
		if r.Effective != c.effective || !strings.Contains(r.Text, c.mention) {
			t.Errorf("rule %s = effective %q, text %q; want effective %q and a mention of %q", c.name, r.Effective, r.Text, c.effective, c.mention)
		}
	}
	if s := tab.Lambda.Rules["init_billing"].Source; s != "https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/" {
		t.Errorf("init billing rule cites %s", s)
	}
}

// TestDefaultSources: every entry cites an AWS page.
func TestDefaultSources(t *testing.T) {
	var raw map[string]any
	if err := json.Unmarshal(defaultJSON, &raw); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["source"].(string); ok {
				n++
				u, err := url.Parse(s)
				if err != nil || u.Scheme != "https" || (u.Host != "aws.amazon.com" && u.Host != "docs.aws.amazon.com") {
					t.Errorf("%s cites %q, not an AWS page", path, s)
				}
			}
			for k, c := range v {
				walk(path+"."+k, c)
			}
		case []any:
			for i, c := range v {
				walk(path+"["+strconv.Itoa(i)+"]", c)
			}
		}
	}
	walk("", raw)
	if n < 40 {
		t.Errorf("only %d entries cite a source", n)
	}
}

func TestDefaultReturnsCopies(t *testing.T) {
	a, b := Default(), Default()
	a.Lambda.Duration[X86_64][0].Value = 1
	a.ElastiCache.Nodes[RedisOSS]["cache.t4g.micro"] = Price{}
	if b.Lambda.Duration[X86_64][0].Value != 0.0000166667 || b.ElastiCache.Nodes[RedisOSS]["cache.t4g.micro"].Value != 0.016 {
		t.Error("changing one Default() changed another")
	}
}

func TestLoadValid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "prices.json")
	if err := os.WriteFile(path, defaultJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	tab, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Origin != path || tab.Lambda.Requests.Value != 0.20 {
		t.Errorf("loaded %q with requests %v", tab.Origin, tab.Lambda.Requests.Value)
	}
}

// edit returns the default table's JSON with the value at path (dot-separated; numbers
// index arrays) replaced by v, or deleted when v is deleteKey.
func edit(t *testing.T, path string, v any) []byte {
	t.Helper()
	var root any
	if err := json.Unmarshal(defaultJSON, &root); err != nil {
		t.Fatal(err)
	}
	keys := strings.Split(path, ".")
	cur := root
	for i, k := range keys {
		last := i == len(keys)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				if v == deleteKey {
					delete(c, k)
				} else {
					c[k] = v
				}
				break
			}
			cur = c[k]
		case []any:
			n, err := strconv.Atoi(k)
			if err != nil || n >= len(c) {
				t.Fatalf("bad index %q in %s", k, path)
			}
			if last {
				c[n] = v
				break
			}
			cur = c[n]
		default:
			t.Fatalf("%s: no %q", path, k)
		}
	}
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const deleteKey = "\x00delete"

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []string // substrings of the error: field and fix
	}{
		{"not JSON", []byte("{\n  \"schema\": \"cachebench/pricing/v1\",\n  oops\n}"),
			[]string{":3:", "invalid JSON", "fix the syntax"}},
		{"empty file", nil, []string{"empty", "one JSON object"}},
		{"trailing data", append(append([]byte{}, defaultJSON...), []byte("{}")...), []string{"data after the top-level object"}},
		{"unknown field", edit(t, "lambda.requests.valeu", 1.0), []string{`unknown field "valeu"`, "fix its spelling"}},
		{"wrong type", edit(t, "lambda.requests.value", "0.20"), []string{"lambda.requests.value", "got a JSON string", "want float64"}},
		{"wrong schema", edit(t, "schema", "v0"), []string{"schema: is \"v0\"", "set it to \"cachebench/pricing/v1\""}},
		{"other currency", edit(t, "currency", "EUR"), []string{"currency", "convert the prices"}},
		{"negative price", edit(t, "lambda.requests.value", -0.2), []string{"lambda.requests.value: is -0.2", "positive number of USD per million requests"}},
		{"zero price", edit(t, "dynamodb.on_demand.storage.value", 0.0), []string{"dynamodb.on_demand.storage.value: is 0"}},
		{"wrong unit", edit(t, "lambda.requests.unit", "USD per request"), []string{"lambda.requests.unit", `want "USD per million requests"`, "convert the value"}},
		{"missing unit", edit(t, "elasticache.serverless.valkey.ecpu.unit", deleteKey), []string{"elasticache.serverless.valkey.ecpu.unit: missing"}},
		{"missing source", edit(t, "lambda.provisioned_concurrency.arm64.source", deleteKey), []string{"lambda.provisioned_concurrency.arm64.source: missing", "https URL"}},
		{"source not a URL", edit(t, "lambda.requests.source", "the AWS website"), []string{"lambda.requests.source", "not a web address"}},
		{"bad date", edit(t, "lambda.requests.checked", "23/11/2026"), []string{"lambda.requests.checked", "YYYY-MM-DD"}},
		{"bad effective date", edit(t, "lambda.rules.init_billing.effective", "August 2025"), []string{"lambda.rules.init_billing.effective", "YYYY-MM-DD"}},
		{"first tier not at 0", edit(t, "lambda.duration.x86_64.0.from_gb_s", 5.0), []string{"lambda.duration.x86_64[0].from_gb_s", "starts at 0"}},
		{"tiers out of order", edit(t, "lambda.duration.arm64.2.from_gb_s", 1e9), []string{"lambda.duration.arm64[2].from_gb_s", "list the tiers in order"}},
		{"missing architecture", edit(t, "lambda.duration.arm64", deleteKey), []string{"lambda.duration.arm64: missing"}},
		{"unknown architecture", edit(t, "lambda.provisioned_duration.arm", map[string]any{}), []string{"lambda.provisioned_duration.arm: unknown architecture"}},
		{"unknown engine", edit(t, "elasticache.nodes.memcached", map[string]any{}), []string{"elasticache.nodes.memcached: unknown engine", "redis_oss"}},
		{"bad node type", edit(t, "elasticache.nodes.valkey.r7g_large",
			map[string]any{"value": 0.1752, "unit": "USD per node-hour", "source": "https://aws.amazon.com/elasticache/pricing/", "checked": "2026-11-23"}),
			[]string{"elasticache.nodes.valkey.r7g_large: not an ElastiCache node type"}},
		{"rule without text", edit(t, "lambda.rules.init_billing.text", ""), []string{"lambda.rules.init_billing.text: missing"}},
	}
	dir := t.TempDir()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad"+strconv.Itoa(i)+".json")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			tab, err := Load(path)
			if err == nil {
				t.Fatalf("loaded %s", tab.Name)
			}
			msg := err.Error()
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// TestLoadReportsEveryProblem: Validate lists every problem at once.
func TestLoadReportsEveryProblem(t *testing.T) {
	var tab Table
	if err := json.Unmarshal(defaultJSON, &tab); err != nil {
		t.Fatal(err)
	}
	tab.Origin = "two.json"
	tab.Lambda.Requests.Value = -1
	tab.DynamoDB.OnDemand.Storage.Source = ""
	err := tab.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 2 {
		t.Fatalf("error = %v, want a ValidationError with 2 problems", err)
	}
	if !strings.HasPrefix(err.Error(), "pricing file two.json: 2 problems\n  lambda.requests.value: is -1") {
		t.Errorf("error = %q", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.json")
	_, err := Load(path)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "readable JSON file") {
		t.Errorf("error = %v", err)
	}
}

// FuzzParse: no input makes the parser panic, and whatever it accepts is valid.
func FuzzParse(f *testing.F) {
	f.Add(defaultJSON)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"schema":"cachebench/pricing/v1","lambda":{"duration":{"x86_64":[{"from_gb_s":-1}]}}}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := parse(data, "fuzz.json")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.json") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		if err := tab.Validate(); err != nil {
			t.Errorf("accepted a table Validate rejects: %v", err)
		}
	})
}
