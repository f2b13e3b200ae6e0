package mocks

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/redis/go-redis/v9"
)

// servicesRequired reports whether a provider that cannot start must fail the test rather
// than skip it: always in CI, and under `make test`.
func servicesRequired() bool {
	return os.Getenv("CI") == "true" || os.Getenv("CACHEBENCH_REQUIRE_SERVICES") == "1"
}

// startOrSkip starts an environment for a test and stops it at cleanup. A provider that
// cannot start fails the test when services are required, and skips it with the reason
// otherwise.
func startOrSkip(t *testing.T, cfg Config) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := Start(ctx, cfg)
	if err != nil {
		if servicesRequired() {
			t.Fatalf("environment %q did not start (services are required here): %v", cfg.Provider, err)
		}
		t.Skipf("environment %q unavailable (set CI=true to make this a failure): %v", cfg.Provider, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := env.Close(ctx); err != nil {
			t.Errorf("close %s environment: %v", cfg.Provider, err)
		}
	})
	return env
}

// TestProviders makes a real round trip to each service of every provider that can run on
// this machine, through the provider's own clients.
func TestProviders(t *testing.T) {
	for _, provider := range []string{ProviderDocker, ProviderLocal, ProviderEmbedded} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			env := startOrSkip(t, Config{Provider: provider})
			if env.Provider != provider {
				t.Fatalf("Provider = %q, want %q", env.Provider, provider)
			}
			assertLoopback(t, env)
			roundTrip(t, env)
			t.Logf("round trips passed:\n%s", env.Describe())
		})
	}
}

// assertLoopback checks that every endpoint the provider returned is on 127.0.0.1.
func assertLoopback(t *testing.T, env *Env) {
	t.Helper()
	hosts := map[string]string{"dynamodb": env.DynamoDB.Endpoint, "stripe": env.Stripe.URL}
	for i, a := range env.Redis.Addrs {
		hosts[fmt.Sprintf("redis[%d]", i)] = "redis://" + a
	}
	for name, raw := range hosts {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s endpoint %q: %v", name, raw, err)
		}
		if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
			t.Errorf("%s endpoint %q is not a loopback address", name, raw)
		}
	}
	for name, b := range map[string]string{"redis": env.Redis.Backend, "dynamodb": env.DynamoDB.Backend, "stripe": env.Stripe.Backend} {
		if b == "" {
			t.Errorf("%s backend is not described", name)
		}
	}
}

// roundTrip writes and reads back through each client: Redis SET with TTL then GET,
// DynamoDB CreateTable / PutItem / GetItem, and stripe-go's Customers.Get.
func roundTrip(t *testing.T, env *Env) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Redis.
	key := "cachebench:test:" + env.Provider
	if err := env.RedisClient.Set(ctx, key, "v1", 30*time.Second).Err(); err != nil {
		t.Fatalf("redis SET: %v", err)
	}
	if got, err := env.RedisClient.Get(ctx, key).Result(); err != nil || got != "v1" {
		t.Fatalf("redis GET = %q, %v; want v1", got, err)
	}
	ttl, err := env.RedisClient.TTL(ctx, key).Result()
	if err != nil || ttl <= 0 || ttl > 30*time.Second {
		t.Fatalf("redis TTL = %v, %v; want within (0, 30s]", ttl, err)
	}

	// DynamoDB.
	table := fmt.Sprintf("cachebench-test-%s-%d", env.Provider, time.Now().UnixNano())
	ddb := env.DynamoDBClient
	_, err = ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("dynamodb CreateTable: %v", err)
	}
	item := map[string]types.AttributeValue{
		"pk":      &types.AttributeValueMemberS{Value: "cus_123"},
		"payload": &types.AttributeValueMemberB{Value: []byte(`{"id":"cus_123"}`)},
		"version": &types.AttributeValueMemberN{Value: "7"},
	}
	if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("dynamodb PutItem: %v", err)
	}
	out, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "cus_123"}},
	})
	if err != nil {
		t.Fatalf("dynamodb GetItem: %v", err)
	}
	if v, ok := out.Item["version"].(*types.AttributeValueMemberN); !ok || v.Value != "7" {
		t.Fatalf("dynamodb GetItem version = %#v, want N 7", out.Item["version"])
	}
	if p, ok := out.Item["payload"].(*types.AttributeValueMemberB); !ok || !bytes.Equal(p.Value, []byte(`{"id":"cus_123"}`)) {
		t.Fatalf("dynamodb GetItem payload = %#v", out.Item["payload"])
	}

	// Stripe, through stripe-go v76.
	c, err := env.StripeClient.Customers.Get("cus_123", nil)
	if err != nil {
		t.Fatalf("stripe Customers.Get: %v", err)
	}
	if c.ID == "" || c.Object != "customer" {
		t.Fatalf("stripe Customers.Get = id %q object %q, want a customer", c.ID, c.Object)
	}
}

// TestAutoPassesOverAndSays checks that auto falls through a provider that cannot start to
// the next one, and says which it chose and why it passed over the first.
func TestAutoPassesOverAndSays(t *testing.T) {
	var log bytes.Buffer
	// An image reference that is invalid (upper case) fails in the Docker client itself,
	// without contacting any registry, so the docker provider cannot start.
	env := startOrSkip(t, Config{Docker: DockerConfig{RedisImage: "Invalid/Image:0"}, Log: &log})
	if env.Provider != ProviderLocal {
		t.Fatalf("auto chose %q, want local after docker failed; log: %s", env.Provider, log.String())
	}
	got := log.String()
	if !strings.Contains(got, "environment: local") || !strings.Contains(got, "passed over: docker:") {
		t.Fatalf("auto's log does not say what it chose and why: %q", got)
	}
	roundTrip(t, env)
}

// TestBadConfiguration checks that bad settings get errors that name the problem and the
// fix, quickly and without starting anything.
func TestBadConfiguration(t *testing.T) {
	closed := closedPort(t)
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"unknown provider", Config{Provider: "kubernetes"}, []string{`unknown environment "kubernetes"`, "choose one of auto, docker, local, embedded, external"}},
		{"external with nothing set", Config{Provider: ProviderExternal}, []string{"CACHEBENCH_REDIS_URL", "CACHEBENCH_DYNAMODB_ENDPOINT", "CACHEBENCH_STRIPE_URL", "CACHEBENCH_STRIPE_KEY"}},
		{"external bad redis scheme", Config{Provider: ProviderExternal, External: ExternalConfig{
			RedisURL: "http://127.0.0.1:6379", DynamoDBEndpoint: "http://127.0.0.1:8000", StripeURL: "http://127.0.0.1:12111", StripeKey: "sk_test_x"}},
			[]string{"must start with redis:// or rediss://"}},
		{"external live key", Config{Provider: ProviderExternal, External: ExternalConfig{
			RedisURL: "redis://127.0.0.1:6379", DynamoDBEndpoint: "http://127.0.0.1:8000", StripeURL: "http://127.0.0.1:12111", StripeKey: "sk_live_abc"}},
			[]string{"live-mode key", "sk_test_"}},
		{"external unreachable redis", Config{Provider: ProviderExternal, External: ExternalConfig{
			RedisURL: "redis://:secret@" + closed, DynamoDBEndpoint: "http://" + closed, StripeURL: "http://" + closed, StripeKey: "sk_test_x"}},
			[]string{"redis at redis://:xxxxx@" + closed + " does not answer PING", "CACHEBENCH_REDIS_URL"}},
		{"local missing binary", Config{Provider: ProviderLocal, Local: LocalConfig{RedisServer: "/nonexistent/redis-server"}},
			[]string{"redis-server", "/nonexistent/redis-server", "CACHEBENCH_REDIS_SERVER"}},
		{"local missing DynamoDB Local", Config{Provider: ProviderLocal, Local: LocalConfig{DynamoDBLocalDir: t.TempDir()}},
			[]string{"DynamoDBLocal.jar not found", "scripts/provision.sh", "CACHEBENCH_DYNAMODB_LOCAL_DIR"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			env, err := Start(ctx, tc.cfg)
			if err == nil {
				_ = env.Close(ctx)
				t.Fatal("Start succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the Redis password: %v", err)
			}
		})
	}
}

// TestLocalQuotesLogsOnFailure checks that a program that dies at start is reported with
// its command line and its own output.
func TestLocalQuotesLogsOnFailure(t *testing.T) {
	p, err := startProc("sh", "/bin/sh", []string{"-c", "echo 'boom: cannot bind' >&2; exit 3"}, "")
	if err != nil {
		t.Fatal(err)
	}
	err = p.waitReady(context.Background(), closedPort(t), probeRedis, 10*time.Second)
	if err == nil {
		t.Fatal("waitReady succeeded for a program that exited")
	}
	for _, w := range []string{"exited", "exit status 3", "boom: cannot bind", "/bin/sh -c"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"redis://127.0.0.1:6379":             "redis://127.0.0.1:6379",
		"redis://:pw@127.0.0.1:6379":         "redis://:xxxxx@127.0.0.1:6379",
		"rediss://user:p@ss@10.0.0.1:6379/0": "rediss://user:xxxxx@10.0.0.1:6379/0",
		"redis://user@127.0.0.1:6379":        "redis://user@127.0.0.1:6379",
	} {
		if got := redact(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", p)
}

// TestEmbeddedRedisKeysExpire: the embedded Redis expires a key when its TTL has passed
// on the wall clock, as Redis does (miniredis alone only expires keys on FastForward).
func TestEmbeddedRedisKeysExpire(t *testing.T) {
	ctx := context.Background()
	env := startOrSkip(t, Config{Provider: ProviderEmbedded})
	if err := env.RedisClient.Set(ctx, "short", "v", 200*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if err := env.RedisClient.Set(ctx, "long", "v", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if n, err := env.RedisClient.Exists(ctx, "short").Result(); err != nil || n != 0 {
		t.Errorf("a key 300 ms past its 200 ms TTL: exists = %d, %v; want 0", n, err)
	}
	if n, err := env.RedisClient.Exists(ctx, "long").Result(); err != nil || n != 1 {
		t.Errorf("a key within its hour: exists = %d, %v; want 1", n, err)
	}
}

// TestEmbeddedVirtualClock: on the embedded environment's virtual clock, Redis's TIME
// follows SetClock, no key leaves on the wall clock, and SweepRedis deletes exactly the
// keys its caller judges dead and counts what is left; SetClock and SweepRedis are
// refused on the wall clock.
func TestEmbeddedVirtualClock(t *testing.T) {
	ctx := context.Background()
	env := startOrSkip(t, Config{Provider: ProviderEmbedded, Embedded: EmbeddedConfig{VirtualClock: true}})
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := env.SetClock(t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if now, err := env.RedisClient.Time(ctx).Result(); err != nil || !now.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Redis TIME = %v, %v; want the virtual clock's %v", now, err, t0.Add(time.Hour))
	}
	for k, v := range map[string]string{"live": "L", "dead": "D"} {
		if err := env.RedisClient.Set(ctx, k, v, 100*time.Millisecond).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.RedisClient.ZAdd(ctx, "zset", redis.Z{Score: 1, Member: "m"}).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // past the keys' TTL on the wall clock
	keys, bytes, err := env.SweepRedis(func(_, v string) bool { return v == "D" })
	if err != nil {
		t.Fatal(err)
	}
	if keys != 2 || bytes != int64(len("live")+len("L")+len("zset")) {
		t.Errorf("SweepRedis = %d keys, %d bytes; want 2 keys (live, zset), %d bytes", keys, bytes, len("live")+len("L")+len("zset"))
	}
	if n, err := env.RedisClient.Exists(ctx, "live", "dead", "zset").Result(); err != nil || n != 2 {
		t.Errorf("after the sweep: %d of live, dead, zset exist (%v); want live and zset", n, err)
	}

	wall := startOrSkip(t, Config{Provider: ProviderEmbedded})
	if err := wall.SetClock(t0); err == nil {
		t.Error("SetClock on a wall-clock environment: want an error")
	}
	if _, _, err := wall.SweepRedis(func(string, string) bool { return true }); err == nil {
		t.Error("SweepRedis on a wall-clock environment: want an error")
	}
}
