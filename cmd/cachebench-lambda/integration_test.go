package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/cachebench/cachebench/cachecore/emf"
	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
)

// iamPrefix maps the AWS SDK's service IDs to their IAM action prefixes.
var iamPrefix = map[string]string{"DynamoDB": "dynamodb", "Secrets Manager": "secretsmanager"}

// TestHandlerAgainstServices runs the function in process as Lambda would, against
// Redis, DynamoDB Local and stripe-mock (the local provider), on a table made as the SAM
// template makes it, with the Stripe key in a Secrets Manager stand-in: INIT from the
// environment the template sets, then the same customer twice (Stripe, then the L1), a bad
// path and an unknown route. It checks the answers, the EMF documents of each invocation,
// the item the L3 holds, and that every AWS call made is one the template's policy allows.
func TestHandlerAgainstServices(t *testing.T) {
	env := mockstest.Start(t, mocks.ProviderLocal)
	d := loadTemplate(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	suffix := fmt.Sprintf("%x", rand.Uint64())

	// The table, as the template defines it.
	table := "cb-lambda-" + suffix
	create := &dynamodb.CreateTableInput{TableName: aws.String(table), BillingMode: types.BillingMode(d.table.BillingMode)}
	for _, a := range d.table.AttributeDefinitions {
		create.AttributeDefinitions = append(create.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName), AttributeType: types.ScalarAttributeType(a.AttributeType)})
	}
	for _, k := range d.table.KeySchema {
		create.KeySchema = append(create.KeySchema, types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)})
	}
	ddb := env.DynamoDBClient
	if _, err := ddb.CreateTable(ctx, create); err != nil {
		t.Fatalf("create the template's table: %v", err)
	}
	t.Cleanup(func() {
		_, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	if err := dynamodb.NewTableExistsWaiter(ddb).Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	ttl := d.table.TimeToLiveSpecification
	if _, err := ddb.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ttl.AttributeName), Enabled: aws.Bool(ttl.Enabled)}}); err != nil {
		t.Fatalf("enable the template's TTL: %v", err)
	}

	// Secrets Manager: GetSecretValue of the one secret, in the AWS JSON protocol.
	arn := "arn:aws:secretsmanager:" + env.DynamoDB.Region + ":000000000000:secret:cachebench-stripe-" + suffix
	sm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId string }
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || json.NewDecoder(r.Body).Decode(&in) != nil || in.SecretId != arn {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"ResourceNotFoundException","message":"no such secret"}`)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]string{"ARN": arn, "Name": "cachebench-stripe", "SecretString": env.Stripe.Key + "\n"})
	}))
	t.Cleanup(sm.Close)

	for k, v := range map[string]string{
		// What the template sets, pointed at the local services.
		envRedisURL: env.Redis.URL, envRedisCluster: "false", envTable: table, envSecretARN: arn,
		envStripeKey: "", envStripeURL: env.Stripe.URL,
		// What Lambda and the SDK supply.
		"AWS_REGION": env.DynamoDB.Region, "AWS_ACCESS_KEY_ID": "cachebench", "AWS_SECRET_ACCESS_KEY": "cachebench",
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": "",
		"AWS_ENDPOINT_URL_DYNAMODB": env.DynamoDB.Endpoint, "AWS_ENDPOINT_URL_SECRETS_MANAGER": sm.URL,
	} {
		t.Setenv(k, v)
	}

	// Every AWS call the function makes, as an IAM action.
	var mu sync.Mutex
	calls := map[string]bool{}
	record := awsconfig.WithAPIOptions([]func(*middleware.Stack) error{func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("cachebench-record", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			mu.Lock()
			calls[iamPrefix[awsmiddleware.GetServiceID(ctx)]+":"+awsmiddleware.GetOperationName(ctx)] = true
			mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
	}})

	var stdout, stderr bytes.Buffer
	fn, err := initFunction(ctx, os.Getenv, &stdout, &stderr, record)
	if err != nil {
		t.Fatalf("INIT: %v", err)
	}
	t.Cleanup(func() { _ = fn.Close(context.Background()) })

	// invoke calls the handler with a deadline as Lambda's, returning the response and
	// the EMF documents it wrote, by their dimensions.
	invoke := func(method, path string) (resp response, docs map[string]map[string]any) {
		t.Helper()
		stdout.Reset()
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		r, err := fn.Handle(ictx, request(method, path))
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		docs = map[string]map[string]any{}
		sc := bufio.NewScanner(&stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			doc, err := emf.Validate(sc.Bytes())
			if err != nil {
				t.Fatalf("%s %s wrote a bad EMF document: %v", method, path, err)
			}
			tier, _ := doc["tier"].(string)
			docs["tier="+tier] = doc
		}
		return response{r.StatusCode, r.Headers, r.Body}, docs
	}

	id := "cus_lambda" + suffix
	first, docs1 := invoke("GET", "/v1/customers/"+id)
	var cus struct{ ID, Object string }
	if first.status != 200 || json.Unmarshal([]byte(first.body), &cus) != nil || cus.ID != id || cus.Object != "customer" {
		t.Fatalf("first GET: %d %s; want 200 and customer %s", first.status, first.body, id)
	}
	if first.headers["X-Cache-Tier"] != "origin" {
		t.Errorf("first GET served by %q, want origin", first.headers["X-Cache-Tier"])
	}
	if got := docs1["tier="]["cachecore.origin.fetches"]; got != 1.0 {
		t.Errorf("first invocation's EMF: cachecore.origin.fetches = %v, want 1 (%v)", got, docs1)
	}
	if _, ok := docs1["tier=origin"]["cachecore.get.duration"].(float64); !ok {
		t.Errorf("first invocation's EMF: no read time for tier origin (%v)", docs1)
	}

	second, docs2 := invoke("GET", "/v1/customers/"+id)
	if second.status != 200 || second.body != first.body || second.headers["X-Cache-Tier"] != "l1" {
		t.Fatalf("second GET: %d from %q; want 200 from l1 with the first's body", second.status, second.headers["X-Cache-Tier"])
	}
	if s := fn.cache.Stats(); s.L1.Hits != 1 || s.OriginFetches != 1 {
		t.Errorf("Stats: %d L1 hits, %d origin fetches; want 1 and 1", s.L1.Hits, s.OriginFetches)
	}
	if got := docs2["tier=l1"]["cachecore.hits"]; got != 1.0 {
		t.Errorf("second invocation's EMF: tier=l1 cachecore.hits = %v, want the 1 hit since the first (%v)", got, docs2)
	}
	if got := docs2["tier="]["cachecore.origin.fetches"]; got != nil {
		t.Errorf("second invocation's EMF: cachecore.origin.fetches = %v, want none", got)
	}

	if bad, _ := invoke("GET", "/v1/customers/cus_a/b"); bad.status != 400 {
		t.Errorf("bad path: %d %s, want 400", bad.status, bad.body)
	}
	if other, _ := invoke("GET", "/v1/charges/ch_1"); other.status != 400 {
		t.Errorf("another route: %d %s, want 400", other.status, other.body)
	}

	// The L3 holds the customer under the template's key, with its TTL attribute.
	out, err := ddb.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 1 {
		t.Fatalf("the table holds %d items, want the customer's", len(out.Items))
	}
	key := d.table.KeySchema[0].AttributeName
	if k, ok := out.Items[0][key].(*types.AttributeValueMemberS); !ok || !strings.Contains(k.Value, id) {
		t.Errorf("the item's %s is %v, want the customer's key", key, out.Items[0][key])
	}
	if exp, ok := out.Items[0][ttl.AttributeName].(*types.AttributeValueMemberN); !ok || exp.Value == "" {
		t.Errorf("the item has no number %s, the template's TTL attribute: %v", ttl.AttributeName, out.Items[0])
	}

	// Every AWS call is one the template allows; INIT needs no CreateTable.
	allowed := d.allowed()
	mu.Lock()
	defer mu.Unlock()
	for call := range calls {
		if _, ok := allowed[call]; !ok {
			t.Errorf("the function called %s, which the template's policy does not allow", call)
		}
	}
	for _, want := range []string{"dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "secretsmanager:GetSecretValue"} {
		if !calls[want] {
			t.Errorf("the function never called %s (calls: %v)", want, slices.Sorted(maps.Keys(calls)))
		}
	}
	if stderr.Len() > 0 {
		t.Errorf("the function logged failures: %s", stderr.String())
	}
}

// response is what a test looks at of a response.
type response struct {
	status  int
	headers map[string]string
	body    string
}
