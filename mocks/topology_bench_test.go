package mocks

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// BenchmarkRedisHitSecurity measures the GET an L2 hit makes (a 1 KiB value, one caller,
// one connection reused) against a local redis-server plain, with TLS, with the ACL user,
// and with both, and reports its p50 and p99 in microseconds beside ns/op. Only Redis is
// started, not the rest of an environment.
//
//	go test ./mocks -run '^$' -bench BenchmarkRedisHitSecurity -benchtime 20000x -count 3
func BenchmarkRedisHitSecurity(b *testing.B) {
	cfg, err := LocalConfig{}.resolve()
	if cfg.RedisServer == "" {
		b.Fatalf("no redis-server: %v", err)
	}
	for _, tc := range []struct {
		name string
		topo RedisTopology
	}{
		{"plain", RedisTopology{}},
		{"tls", RedisTopology{TLS: true}},
		{"acl", RedisTopology{Auth: AuthACL}},
		{"tls+acl", RedisTopology{TLS: true, Auth: AuthACL}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			env := &Env{}
			defer env.closeQuietly()
			opts, err := startLocalRedis(ctx, env, cfg, tc.topo.normal())
			if err != nil {
				b.Fatal(err)
			}
			opts.PoolSize = 1
			c := redis.NewUniversalClient(opts)
			defer c.Close()
			if err := c.Set(ctx, "hit", make([]byte, 1024), 0).Err(); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if err := c.Get(ctx, "hit").Err(); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-us")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-us")
		})
	}
}
