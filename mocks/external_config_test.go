package mocks

import (
	"context"
	"errors"
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
