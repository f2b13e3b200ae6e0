package mocks

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestExternalConfigIsBadInput checks that a missing or malformed endpoint of the external
// environment is ErrConfig (the command line's exit 2) with a message naming the variable
// and the flag that fix it, while a service that does not answer is not.
func TestExternalConfigIsBadInput(t *testing.T) {
	for _, v := range []string{"CACHEBENCH_REDIS_URL", "CACHEBENCH_DYNAMODB_ENDPOINT", "CACHEBENCH_DYNAMODB_REGION",
		"AWS_REGION", "CACHEBENCH_STRIPE_URL", "CACHEBENCH_STRIPE_KEY"} {
		t.Setenv(v, "")
	}
	full := ExternalConfig{RedisURL: "redis://127.0.0.1:6379", DynamoDBEndpoint: "http://127.0.0.1:8000",
		StripeURL: "http://127.0.0.1:12111", StripeKey: "sk_test_x"}
	with := func(edit func(*ExternalConfig)) ExternalConfig { c := full; edit(&c); return c }
	closed := closedPort(t)
	for _, tc := range []struct {
		name   string
		cfg    ExternalConfig
		config bool
		want   []string
	}{
		{"no redis", with(func(c *ExternalConfig) { c.RedisURL = "" }), true, []string{"CACHEBENCH_REDIS_URL", "--redis-url"}},
		{"bad redis scheme", with(func(c *ExternalConfig) { c.RedisURL = "http://127.0.0.1:6379" }), true, []string{"CACHEBENCH_REDIS_URL", "--redis-url"}},
		{"no dynamodb", with(func(c *ExternalConfig) { c.DynamoDBEndpoint = "" }), true,
			[]string{"CACHEBENCH_DYNAMODB_ENDPOINT", "--dynamodb-endpoint", "CACHEBENCH_DYNAMODB_REGION", "--dynamodb-region"}},
		{"bad dynamodb", with(func(c *ExternalConfig) { c.DynamoDBEndpoint = "127.0.0.1:8000" }), true, []string{"CACHEBENCH_DYNAMODB_ENDPOINT", "--dynamodb-endpoint"}},
		{"no stripe", with(func(c *ExternalConfig) { c.StripeURL = "" }), true, []string{"CACHEBENCH_STRIPE_URL", "--stripe-url"}},
		{"no stripe key", with(func(c *ExternalConfig) { c.StripeKey = "" }), true, []string{"CACHEBENCH_STRIPE_KEY", "--stripe-key"}},
		{"redis down", with(func(c *ExternalConfig) {
			c.RedisURL, c.DynamoDBEndpoint, c.StripeURL = "redis://"+closed, "http://"+closed, "http://"+closed
		}), false, []string{"does not answer"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			env, err := Start(ctx, Config{Provider: ProviderExternal, External: tc.cfg})
			if err == nil {
				_ = env.Close(ctx)
				t.Fatal("no error")
			}
			if got := errors.Is(err, ErrConfig); got != tc.config {
				t.Errorf("errors.Is(%v, ErrConfig) = %v, want %v", err, got, tc.config)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestSentinelURL: with a Sentinel master, the URL names the Sentinels (its host, more
// with ?addr=), its credentials are theirs, and the password never shows.
func TestSentinelURL(t *testing.T) {
	opts, ep, err := redisOptionsFrom(redisConfig{URL: "rediss://:sentpass@10.0.0.1:26379?addr=10.0.0.2:26379&addr=10.0.0.3:26379",
		SentinelMaster: "mymaster", Username: "app", Password: "apppass"})
	if err != nil {
		t.Fatal(err)
	}
	if opts.MasterName != "mymaster" || len(opts.Addrs) != 3 || opts.SentinelPassword != "sentpass" || opts.Username != "app" || opts.Password != "apppass" ||
		!opts.ContextTimeoutEnabled || opts.TLSConfig == nil {
		t.Errorf("options %+v", opts)
	}
	if ep.MasterName != "mymaster" || ep.Cluster || strings.Contains(ep.URL, "sentpass") || len(ep.Addrs) != 3 {
		t.Errorf("endpoint %+v", ep)
	}
	opts, _, err = redisOptionsFrom(redisConfig{URL: "redis://10.0.0.1:26379", SentinelMaster: "m", Password: "p"})
	if err != nil || opts.SentinelPassword != "p" {
		t.Errorf("a URL without credentials: the Sentinels get the primary's password: %+v, %v", opts, err)
	}
	if _, _, err := redisOptionsFrom(redisConfig{URL: "redis://10.0.0.1:26379", SentinelMaster: "m", Cluster: true}); err == nil ||
		!strings.Contains(err.Error(), "unset CACHEBENCH_REDIS_CLUSTER or CACHEBENCH_REDIS_SENTINEL_MASTER") {
		t.Errorf("Sentinel and cluster at once: %v", err)
	}
}

// FuzzRedisOptionsFrom: any URL, with or without a Sentinel master, gives options or an
// error, never a panic, and neither the endpoint's URL nor the error shows the password.
func FuzzRedisOptionsFrom(f *testing.F) {
	for _, u := range []string{"redis://127.0.0.1:6379", "rediss://u:secretpw@h:1?addr=h:2", "redis://:secretpw@h:26379/3?addr=x:1&master_name=m",
		"redis://h:1?dial_timeout=3", "rediss://%zz@h", "redis://:secretpw@[::1]:6379"} {
		f.Add(u, "m", false)
		f.Add(u, "", true)
	}
	f.Fuzz(func(t *testing.T, u, master string, cluster bool) {
		_, ep, err := redisOptionsFrom(redisConfig{URL: u, SentinelMaster: master, Cluster: cluster})
		p, perr := url.Parse(u)
		if perr != nil || p.User == nil {
			return
		}
		// A password of a few characters found nowhere else in the URL (else the host
		// or a parameter could show it as well).
		if pw, ok := p.User.Password(); ok && len(pw) >= 6 && strings.Count(u, pw) == 1 {
			if err != nil && strings.Contains(err.Error(), pw) {
				t.Errorf("error shows the password: %v", err)
			}
			if err == nil && strings.Contains(ep.URL, pw) {
				t.Errorf("endpoint URL shows the password: %s", ep.URL)
			}
		}
	})
}
