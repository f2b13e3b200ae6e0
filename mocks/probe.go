package mocks

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The probes below prove that a freshly started service answers its own protocol on
// hostPort (127.0.0.1:PORT). Providers poll them until they succeed.

func probeRedis(ctx context.Context, hostPort string) error {
	c := redis.NewClient(&redis.Options{Addr: hostPort, DialTimeout: time.Second, MaxRetries: -1, Protocol: 2})
	defer c.Close()
	return c.Ping(ctx).Err()
}

func probeDynamoDB(ctx context.Context, hostPort string) error {
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	c, err := newDynamoDBClient(ctx, DynamoDBEndpoint{Endpoint: "http://" + hostPort, Region: "us-east-1", Emulated: true}, hc)
	if err != nil {
		return err
	}
	return pingDynamoDB(ctx, c)
}

func probeStripe(ctx context.Context, hostPort string) error {
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	return pingStripe(ctx, hc, StripeEndpoint{URL: "http://" + hostPort, Key: DefaultStripeKey})
}

// redisVersion names the server behind c from INFO server ("redis 7.0.15"), or "redis"
// when the server does not say.
func redisVersion(ctx context.Context, c redis.UniversalClient) string {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	info, err := c.Info(ctx, "server").Result()
	if err != nil {
		return "redis"
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return "redis " + v
		}
	}
	return "redis"
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
