package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// The environment variables the function reads (the package doc says what each is).
const (
	envRedisURL     = "REDIS_URL"
	envRedisCluster = "REDIS_CLUSTER"
	envTable        = "CACHE_TABLE"
	envSecretARN    = "STRIPE_SECRET_ARN"
	envStripeKey    = "STRIPE_KEY"
	envStripeURL    = "STRIPE_URL"
)

// deployedEnv are the variables a deployment sets (deploy/lambda/template.yaml);
// localEnv are the ones for a run outside AWS, in place of or besides them.
var (
	deployedEnv = []string{envRedisURL, envRedisCluster, envTable, envSecretARN}
	localEnv    = []string{envStripeKey, envStripeURL}
)

// settings is the function's configuration, from its environment.
type settings struct {
	RedisURL     string
	RedisCluster bool
	Table        string
	SecretARN    string
	StripeKey    string
	StripeURL    string
}

// readSettings reads the function's settings with getenv (os.Getenv), returning every
// problem at once, each naming the variable and the fix.
func readSettings(getenv func(string) string) (settings, error) {
	s := settings{
		RedisURL:  strings.TrimSpace(getenv(envRedisURL)),
		Table:     strings.TrimSpace(getenv(envTable)),
		SecretARN: strings.TrimSpace(getenv(envSecretARN)),
		StripeKey: strings.TrimSpace(getenv(envStripeKey)),
		StripeURL: strings.TrimSpace(getenv(envStripeURL)),
	}
	var errs []error
	if s.RedisURL == "" {
		errs = append(errs, fmt.Errorf("%s is not set: set it to the L2's URL, rediss://host:6379 for ElastiCache", envRedisURL))
	} else if u, err := url.Parse(s.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s is not a redis:// or rediss:// URL with a host (rediss://host:6379 for ElastiCache)", envRedisURL))
	}
	if v := strings.TrimSpace(getenv(envRedisCluster)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s is %q: set it to true (ElastiCache Serverless, a Redis Cluster) or false", envRedisCluster, v))
		}
		s.RedisCluster = b
	}
	if n := len(s.Table); n < 3 || n > 255 {
		errs = append(errs, fmt.Errorf("%s is %q: set it to the DynamoDB table of the L3 (3 to 255 characters)", envTable, s.Table))
	}
	switch {
	case s.SecretARN == "" && s.StripeKey == "":
		errs = append(errs, fmt.Errorf("neither %s nor %s is set: set %s to the Secrets Manager secret holding the Stripe key (or %s to the key, for a local run)",
			envSecretARN, envStripeKey, envSecretARN, envStripeKey))
	case s.SecretARN != "" && s.StripeKey != "":
		errs = append(errs, fmt.Errorf("both %s and %s are set: unset %s, the key belongs in the secret", envSecretARN, envStripeKey, envStripeKey))
	case s.SecretARN != "" && !strings.HasPrefix(s.SecretARN, "arn:"):
		errs = append(errs, fmt.Errorf("%s is %q, not an ARN: set it to the secret's ARN (arn:aws:secretsmanager:…)", envSecretARN, s.SecretARN))
	case s.StripeKey != "":
		if err := checkStripeKey(s.StripeKey); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", envStripeKey, err))
		}
	}
	if s.StripeURL != "" {
		if u, err := url.Parse(s.StripeURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s is %q: set it to an http(s) URL such as http://127.0.0.1:12111, or unset it for Stripe", envStripeURL, s.StripeURL))
		}
	}
	return s, errors.Join(errs...)
}

// checkStripeKey checks that key looks like a Stripe secret or restricted key.
func checkStripeKey(key string) error {
	for _, p := range []string{"sk_test_", "sk_live_", "rk_test_", "rk_live_"} {
		if strings.HasPrefix(key, p) && len(key) > len(p) {
			return nil
		}
	}
	return errors.New("not a Stripe secret key (sk_test_…, sk_live_…, rk_test_… or rk_live_…)")
}

// rateLimit is the cachecore origin's rate limit preset for key: Stripe's live-mode limit
// for a live key, its test-mode limit otherwise.
func rateLimit(key string) string {
	if strings.HasPrefix(key, "sk_live_") || strings.HasPrefix(key, "rk_live_") {
		return "live"
	}
	return "test"
}
