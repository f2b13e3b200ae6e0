package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// templatePath is the SAM template that deploys the function, from this package.
const templatePath = "../../deploy/lambda/template.yaml"

// The parts of the SAM template the tests read. The template writes intrinsic functions
// in their long form, so plain YAML reads it; a Ref is {"Ref": name}.
type (
	samTemplate struct {
		Transform  string
		Parameters map[string]struct{ Type string }
		Resources  map[string]struct {
			Type       string
			Properties json.RawMessage
		}
	}
	samFunction struct {
		Runtime           string
		Architectures     []string
		Handler           string
		CodeUri           string
		VpcConfig         struct{ SubnetIds, SecurityGroupIds any }
		FunctionUrlConfig *struct{ AuthType string }
		Environment       struct{ Variables map[string]any }
		Policies          []struct{ Statement []iamStatement }
	}
	iamStatement struct {
		Effect   string
		Action   []string
		Resource any
	}
	dynamoTable struct {
		BillingMode          string
		AttributeDefinitions []struct{ AttributeName, AttributeType string }
		KeySchema            []struct{ AttributeName, KeyType string }
		// TimeToLiveSpecification is the TTL: its attribute and whether it is on.
		TimeToLiveSpecification struct {
			AttributeName string
			Enabled       bool
		}
	}
	serverlessCache struct {
		Engine                      string
		SubnetIds, SecurityGroupIds any
	}
)

// deployment is the template, parsed, with its one resource of each kind.
type deployment struct {
	tpl                              samTemplate
	fnID, tableID, cacheID, secretID string
	fn                               samFunction
	table                            dynamoTable
	cache                            serverlessCache
}

// loadTemplate reads the template and finds its function, table, cache and secret, one
// of each.
func loadTemplate(t *testing.T) *deployment {
	t.Helper()
	raw, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	d := &deployment{}
	if err := yaml.Unmarshal(raw, &d.tpl); err != nil {
		t.Fatalf("%s: %v (write intrinsic functions in their long form, Ref: and Fn::GetAtt:, not !Ref)", templatePath, err)
	}
	one := func(typ string, into any) string {
		t.Helper()
		var ids []string
		for id, r := range d.tpl.Resources {
			if r.Type == typ {
				ids = append(ids, id)
			}
		}
		if len(ids) != 1 {
			t.Fatalf("%s has %d resources of type %s (%v), want 1", templatePath, len(ids), typ, ids)
		}
		if err := json.Unmarshal(d.tpl.Resources[ids[0]].Properties, into); err != nil {
			t.Fatalf("%s: %s: %v", templatePath, ids[0], err)
		}
		return ids[0]
	}
	d.fnID = one("AWS::Serverless::Function", &d.fn)
	d.tableID = one("AWS::DynamoDB::Table", &d.table)
	d.cacheID = one("AWS::ElastiCache::ServerlessCache", &d.cache)
	var secret struct{}
	d.secretID = one("AWS::SecretsManager::Secret", &secret)
	return d
}

// allowed returns the IAM actions the function's policies grant, each with its resource.
func (d *deployment) allowed() map[string]any {
	out := map[string]any{}
	for _, p := range d.fn.Policies {
		for _, s := range p.Statement {
			if s.Effect != "Allow" {
				continue
			}
			for _, a := range s.Action {
				out[a] = s.Resource
			}
		}
	}
	return out
}

func ref(name string) map[string]any { return map[string]any{"Ref": name} }

// sameJSON reports whether a and b encode alike.
func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestTemplate checks that the SAM template deploys what the function is: the runtime,
// architecture and package scripts/build-lambda.sh builds, in the template's VPC, with
// exactly the environment variables the function reads, pointing at the template's own
// cache, table and secret, and IAM permissions on those alone.
func TestTemplate(t *testing.T) {
	d := loadTemplate(t)
	if d.tpl.Transform != "AWS::Serverless-2016-10-31" {
		t.Errorf("Transform = %q, want AWS::Serverless-2016-10-31 (SAM)", d.tpl.Transform)
	}
	fn := d.fn
	if fn.Runtime != "provided.al2023" || !slices.Equal(fn.Architectures, []string{"arm64"}) || fn.Handler != "bootstrap" {
		t.Errorf("function: runtime %q, architectures %v, handler %q; want provided.al2023, [arm64], bootstrap", fn.Runtime, fn.Architectures, fn.Handler)
	}
	script, err := os.ReadFile("../../scripts/build-lambda.sh")
	if err != nil {
		t.Fatal(err)
	}
	code := filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(templatePath), fn.CodeUri)))
	if code != "../../bin/lambda/bootstrap.zip" || !strings.Contains(string(script), "bin/lambda/bootstrap.zip") {
		t.Errorf("CodeUri %q is %s from here, not the bin/lambda/bootstrap.zip scripts/build-lambda.sh writes", fn.CodeUri, code)
	}
	for _, want := range []string{"GOARCH:-arm64", "CGO_ENABLED=0", "-tags lambda.norpc", "-o bin/lambda/bootstrap ./cmd/cachebench-lambda"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("scripts/build-lambda.sh does not say %q", want)
		}
	}
	if fn.FunctionUrlConfig == nil || fn.FunctionUrlConfig.AuthType != "AWS_IAM" {
		t.Errorf("FunctionUrlConfig = %+v, want a function URL with AuthType AWS_IAM", fn.FunctionUrlConfig)
	}

	// The VPC: the function and the cache in the subnets and groups of the parameters.
	for _, p := range []struct {
		name, typ string
		fn, cache any
	}{
		{"SubnetIds", "List<AWS::EC2::Subnet::Id>", fn.VpcConfig.SubnetIds, d.cache.SubnetIds},
		{"SecurityGroupIds", "List<AWS::EC2::SecurityGroup::Id>", fn.VpcConfig.SecurityGroupIds, d.cache.SecurityGroupIds},
	} {
		if got := d.tpl.Parameters[p.name].Type; got != p.typ {
			t.Errorf("parameter %s has type %q, want %s", p.name, got, p.typ)
		}
		if !sameJSON(p.fn, ref(p.name)) || !sameJSON(p.cache, ref(p.name)) {
			t.Errorf("%s: function %v, cache %v; want both {Ref: %s}", p.name, p.fn, p.cache, p.name)
		}
	}
	if e := d.cache.Engine; e != "valkey" && e != "redis" {
		t.Errorf("cache engine %q, want valkey or redis", e)
	}

	// The environment: what readSettings reads, no more, no less.
	var read []string
	_, _ = readSettings(func(name string) string { read = append(read, name); return "" })
	slices.Sort(read)
	want := slices.Sorted(slices.Values(append(slices.Clone(deployedEnv), localEnv...)))
	if !slices.Equal(read, want) {
		t.Errorf("readSettings reads %v; deployedEnv and localEnv list %v", read, want)
	}
	var set []string
	for name := range fn.Environment.Variables {
		set = append(set, name)
	}
	slices.Sort(set)
	if deployed := slices.Sorted(slices.Values(deployedEnv)); !slices.Equal(set, deployed) {
		t.Errorf("the template sets %v, the function reads %v when deployed", set, deployed)
	}
	vars := fn.Environment.Variables
	wantURL := map[string]any{"Fn::Sub": "rediss://${" + d.cacheID + ".Endpoint.Address}:${" + d.cacheID + ".Endpoint.Port}"}
	for name, want := range map[string]any{
		envRedisURL: wantURL, envRedisCluster: "true", envTable: ref(d.tableID), envSecretARN: ref(d.secretID),
	} {
		if !sameJSON(vars[name], want) {
			t.Errorf("%s = %v, want %v", name, vars[name], want)
		}
	}
	// What those resolve to once deployed is a configuration the function takes.
	deployed := map[string]string{
		envRedisURL:     "rediss://cachebench-l2-abc.serverless.use1.cache.amazonaws.com:6379",
		envRedisCluster: "true",
		envTable:        "cachebench-CacheTable-ABC",
		envSecretARN:    "arn:aws:secretsmanager:us-east-1:123456789012:secret:StripeSecret-abc",
	}
	s, err := readSettings(func(name string) string { return deployed[name] })
	if err != nil || !s.RedisCluster {
		t.Errorf("the deployed environment: %+v, %v; want a cluster client and no error", s, err)
	}

	// The table: cachecore's key schema, on demand, TTL on (the names themselves are
	// checked against cachecore by TestHandlerAgainstServices, on a table made from this).
	tb := d.table
	if tb.BillingMode != "PAY_PER_REQUEST" {
		t.Errorf("table BillingMode %q, want PAY_PER_REQUEST", tb.BillingMode)
	}
	if len(tb.KeySchema) != 1 || tb.KeySchema[0].KeyType != "HASH" || len(tb.AttributeDefinitions) != 1 ||
		tb.AttributeDefinitions[0].AttributeName != tb.KeySchema[0].AttributeName || tb.AttributeDefinitions[0].AttributeType != "S" {
		t.Errorf("table keys %+v, attributes %+v; want one string hash key", tb.KeySchema, tb.AttributeDefinitions)
	}
	if !tb.TimeToLiveSpecification.Enabled || tb.TimeToLiveSpecification.AttributeName == "" {
		t.Errorf("table TTL %+v, want it enabled on cachecore's attribute", tb.TimeToLiveSpecification)
	}

	// IAM: the table's actions on the table, the secret's on the secret, nothing else.
	allowed := d.allowed()
	for action, res := range allowed {
		switch {
		case strings.HasPrefix(action, "dynamodb:"):
			if !sameJSON(res, map[string]any{"Fn::GetAtt": []string{d.tableID, "Arn"}}) {
				t.Errorf("%s is allowed on %v, want the table alone", action, res)
			}
		case strings.HasPrefix(action, "secretsmanager:"):
			if !sameJSON(res, ref(d.secretID)) {
				t.Errorf("%s is allowed on %v, want the secret alone", action, res)
			}
		default:
			t.Errorf("the policy allows %s on %v: the function needs only DynamoDB and Secrets Manager", action, res)
		}
		if strings.Contains(action, "*") {
			t.Errorf("the policy allows a wildcard action %s", action)
		}
	}
	for _, never := range []string{"dynamodb:CreateTable", "dynamodb:UpdateTimeToLive", "dynamodb:DeleteTable"} {
		if _, ok := allowed[never]; ok {
			t.Errorf("the policy allows %s: the template makes the table, the function only describes it", never)
		}
	}
}

// TestTemplateLint runs cfn-lint, which validates every resource's properties against
// CloudFormation's schemas (after the SAM transform).
func TestTemplateLint(t *testing.T) {
	// cfn-lint is an optional second opinion, not a service the tests need: a new CI
	// machine has no Python package index to install it from, so its absence skips this
	// test, with the reason, even under CI=true. TestTemplate checks the template without it.
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Skip("cfn-lint is not on PATH (pip install cfn-lint to lint the template too)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, lint, templatePath).CombinedOutput(); err != nil {
		t.Errorf("cfn-lint %s: %v\n%s", templatePath, err, out)
	}
}
