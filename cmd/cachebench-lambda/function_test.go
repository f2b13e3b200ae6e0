package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/redis/go-redis/v9"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/cachecore/emf"
)

// request is an HTTP request as a function URL delivers it.
func request(method, path string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
		},
	}
}

// TestReadSettings checks that each bad environment is refused with the variable named,
// and that a good one is read as given.
func TestReadSettings(t *testing.T) {
	good := map[string]string{
		envRedisURL: "rediss://u:p@cache.example:6379", envRedisCluster: "true", envTable: "cache-table",
		envSecretARN: "arn:aws:secretsmanager:us-east-1:1:secret:s",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		return m
	}
	s, err := readSettings(func(k string) string { return good[k] })
	if err != nil || !s.RedisCluster || s.Table != "cache-table" || s.SecretARN != good[envSecretARN] {
		t.Fatalf("readSettings(good) = %+v, %v", s, err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"nothing", map[string]string{}, "REDIS_URL is not set"},
		{"http redis", with(envRedisURL, "http://cache:6379"), "REDIS_URL is not a redis:// or rediss:// URL"},
		{"cluster word", with(envRedisCluster, "yes please"), "REDIS_CLUSTER is \"yes please\""},
		{"short table", with(envTable, "t"), "CACHE_TABLE is \"t\""},
		{"no stripe key", with(envSecretARN, ""), "neither STRIPE_SECRET_ARN nor STRIPE_KEY"},
		{"both keys", with(envStripeKey, "sk_test_1"), "both STRIPE_SECRET_ARN and STRIPE_KEY"},
		{"secret name", with(envSecretARN, "my-secret"), "not an ARN"},
		{"stripe url", with(envStripeURL, "127.0.0.1:12111"), "STRIPE_URL is"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readSettings(func(k string) string { return tc.env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("readSettings = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	local := map[string]string{envRedisURL: "redis://127.0.0.1:6379", envTable: "tbl", envStripeKey: "pk_test_1"}
	if _, err := readSettings(func(k string) string { return local[k] }); err == nil || !strings.Contains(err.Error(), "not a Stripe secret key") {
		t.Errorf("a publishable key: %v, want it refused as not a secret key", err)
	}
	if _, err := readSettings(func(k string) string { return local[k] }); err != nil && strings.Contains(err.Error(), "pk_test_1") {
		t.Errorf("the error repeats the key: %v", err)
	}
}

// TestServe checks each answer the function gives on a cache whose origin is a fake:
// 200 with the object and its tier, 404, 400, 405 and 502, and that each invocation
// writes its metrics.
func TestServe(t *testing.T) {
	origin := cachecore.OriginFunc(func(ctx context.Context, ref cachecore.Ref) ([]byte, int64, bool, error) {
		switch ref.ID {
		case "cus_gone":
			return nil, 0, false, cachecore.ErrNotFound
		case "cus_broken":
			return nil, 0, false, errors.New("stripe is down")
		}
		return []byte(`{"id":"` + ref.ID + `","object":"customer"}`), 1, true, nil
	})
	var metricsOut, errLog bytes.Buffer
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(
		&emf.Exporter{W: &metricsOut, Namespace: metricsNamespace, Only: metrics}, sdkmetric.WithInterval(time.Hour))))
	l1, err := cachecore.NewL1(cachecore.L1Config{MaxEntries: 100})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cachecore.New(cachecore.Config{L1: l1, Origin: origin, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	f := &function{cache: c, meters: mp, errLog: &errLog}
	t.Cleanup(func() { _ = f.Close(context.Background()) })

	for _, tc := range []struct {
		method, path string
		status       int
		tier, body   string
	}{
		{"GET", "/v1/customers/cus_1", 200, "origin", `{"id":"cus_1","object":"customer"}`},
		{"GET", "/v1/customers/cus_1", 200, "l1", `{"id":"cus_1","object":"customer"}`},
		{"HEAD", "/v1/customers/cus_1", 200, "l1", ""},
		{"GET", "/v1/customers/cus_gone", 404, "", "No such customer: 'cus_gone'"},
		{"GET", "/v1/customers/cus_broken", 502, "", "api_error"},
		{"GET", "/v1/customers/", 400, "", "want 1 to 255"},
		{"GET", "/v1/customers/cus_1/sources", 400, "", "other than letters"},
		{"GET", "/v1/charges/ch_1", 400, "", "is not served"},
		{"GET", "", 400, "", "is not served"},
		{"POST", "/v1/customers/cus_1", 405, "", "use GET"},
	} {
		metricsOut.Reset()
		resp, err := f.Handle(t.Context(), request(tc.method, tc.path))
		if err != nil {
			t.Fatalf("%s %s: error %v, want a response", tc.method, tc.path, err)
		}
		if resp.StatusCode != tc.status || resp.Headers["X-Cache-Tier"] != tc.tier ||
			(tc.status == http.StatusOK && resp.Body != tc.body) || !strings.Contains(resp.Body, tc.body) {
			t.Errorf("%s %s = %d tier %q %s; want %d tier %q with %s", tc.method, tc.path, resp.StatusCode,
				resp.Headers["X-Cache-Tier"], resp.Body, tc.status, tc.tier, tc.body)
		}
		if resp.Headers["Content-Type"] != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, resp.Headers["Content-Type"])
		}
		if tc.status == http.StatusMethodNotAllowed && resp.Headers["Allow"] == "" {
			t.Errorf("405 without an Allow header")
		}
		for _, line := range bytes.Split(bytes.TrimSpace(metricsOut.Bytes()), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			if _, err := emf.Validate(line); err != nil {
				t.Errorf("%s %s wrote a bad EMF document: %v", tc.method, tc.path, err)
			}
		}
	}
	if !strings.Contains(errLog.String(), "cus_broken") || !strings.Contains(errLog.String(), "stripe is down") {
		t.Errorf("the 502 was not logged with its cause: %q", errLog.String())
	}
}

// FuzzCustomerID checks that customerID never panics, and that an ID it accepts is what
// follows the prefix, 1 to 255 characters of Stripe's alphabet.
func FuzzCustomerID(f *testing.F) {
	for _, s := range []string{"/v1/customers/cus_123", "/v1/customers/", "/v1/customers/a/b", "/v1/charges/ch_1", "", "/v1/customers/%2F", "/v1/customers/é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		id, err := customerID(path)
		if err != nil {
			if id != "" {
				t.Fatalf("customerID(%q) = %q with error %v", path, id, err)
			}
			return
		}
		if path != customersPath+id || len(id) < 1 || len(id) > 255 {
			t.Fatalf("customerID(%q) = %q", path, id)
		}
		for _, c := range []byte(id) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				t.Fatalf("customerID(%q) = %q, with %q in it", path, id, c)
			}
		}
	})
}

// TestNewRedisClient checks the client each REDIS_URL and REDIS_CLUSTER make: a cluster
// client for ElastiCache Serverless, TLS for rediss://, and the context's deadline
// honoured on the socket either way.
func TestNewRedisClient(t *testing.T) {
	for _, tc := range []struct {
		url     string
		cluster bool
		tls     bool
	}{
		{"rediss://cachebench-l2-abc.serverless.use1.cache.amazonaws.com:6379", true, true},
		{"redis://127.0.0.1:6379/0", false, false},
		{"rediss://user:pass@10.0.0.5:6379", false, true},
	} {
		c, err := newRedisClient(tc.url, tc.cluster)
		if err != nil {
			t.Fatalf("newRedisClient(%s, %v): %v", tc.url, tc.cluster, err)
		}
		switch rc := c.(type) {
		case *redis.ClusterClient:
			o := rc.Options()
			if !tc.cluster || !o.ContextTimeoutEnabled || (o.TLSConfig != nil) != tc.tls {
				t.Errorf("%s: cluster client, ContextTimeoutEnabled %v, TLS %v", tc.url, o.ContextTimeoutEnabled, o.TLSConfig != nil)
			}
		case *redis.Client:
			o := rc.Options()
			if tc.cluster || !o.ContextTimeoutEnabled || (o.TLSConfig != nil) != tc.tls {
				t.Errorf("%s: standalone client, ContextTimeoutEnabled %v, TLS %v", tc.url, o.ContextTimeoutEnabled, o.TLSConfig != nil)
			}
		default:
			t.Errorf("%s: a %T", tc.url, c)
		}
		_ = c.Close()
	}
	if _, err := newRedisClient("redis://127.0.0.1:6379/notadb", false); err == nil || !strings.Contains(err.Error(), envRedisURL) {
		t.Errorf("a bad URL: %v, want an error naming %s", err, envRedisURL)
	}
}
