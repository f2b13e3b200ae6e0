package mocks_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
)

// TestLocalClusterTLSACL starts a 3-shard cluster with one replica per shard, TLS and an
// ACL user, and checks that keys land on every shard, that the user cannot run admin
// commands, and that a client without the CA or with a wrong password is refused.
func TestLocalClusterTLSACL(t *testing.T) { testClusterTLSACL(t, mocks.ProviderLocal) }

// TestDockerClusterTLSACL is TestLocalClusterTLSACL with the nodes in containers.
func TestDockerClusterTLSACL(t *testing.T) { testClusterTLSACL(t, mocks.ProviderDocker) }

func testClusterTLSACL(t *testing.T, provider string) {
	topo := mocks.RedisTopology{Topology: mocks.TopologyCluster, Shards: 3, Replicas: 1, TLS: true, Auth: mocks.AuthACL}
	env := mockstest.StartConfig(t, mocks.Config{Provider: provider, Redis: topo})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	r := env.Redis
	if r.Topology != mocks.TopologyCluster || r.Shards != 3 || r.Replicas != 1 || !r.TLS || r.Auth != mocks.AuthACL || !r.Cluster {
		t.Fatalf("endpoint %+v does not describe the started topology", r)
	}
	if strings.Contains(env.Describe(), "@127") && !strings.Contains(env.Describe(), "xxxxx@") {
		t.Errorf("Describe shows a password: %s", env.Describe())
	}
	cc, ok := env.RedisClient.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("client is %T, want a cluster client", env.RedisClient)
	}
	for i := 0; i < 300; i++ {
		k := fmt.Sprintf("topo:%d", i)
		if err := cc.Set(ctx, k, i, time.Minute).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		if v, err := cc.Get(ctx, k).Int(); err != nil || v != i {
			t.Fatalf("GET %s = %d, %v; want %d", k, v, err, i)
		}
	}
	// ForEachMaster and ForEachSlave run their function on every node at once.
	var masters, withKeys, replicas atomic.Int64
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		size, err := n.DBSize(ctx).Result()
		if err != nil {
			return err
		}
		masters.Add(1)
		if size > 0 {
			withKeys.Add(1)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if masters.Load() != 3 || withKeys.Load() != 3 {
		t.Errorf("%d primaries, %d holding keys; want 3 and 3", masters.Load(), withKeys.Load())
	}
	if err := cc.ForEachSlave(ctx, func(ctx context.Context, n *redis.Client) error { replicas.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	if replicas.Load() != 3 {
		t.Errorf("%d replicas, want 3", replicas.Load())
	}
	if err := cc.ConfigSet(ctx, "maxmemory", "1000000").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("CONFIG SET as the ACL user: %v, want NOPERM", err)
	}
	if err := cc.FlushAll(ctx).Err(); err == nil {
		t.Error("FLUSHALL as the ACL user succeeded; the user should be refused it")
	}

	// Without the CA, the servers' certificate is not trusted.
	plain := redis.NewClient(&redis.Options{Addr: r.Addrs[0], TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}, MaxRetries: -1})
	defer plain.Close()
	var uerr *tls.CertificateVerificationError
	if err := plain.Ping(ctx).Err(); !errors.As(err, &uerr) {
		t.Errorf("PING without the CA: %v, want a certificate verification error", err)
	}
}

// TestLocalStandalonePassword starts one server with requirepass and checks the client
// authenticates and an unauthenticated one is refused.
func TestLocalStandalonePassword(t *testing.T) {
	env := mockstest.StartConfig(t, mocks.Config{Provider: mocks.ProviderLocal,
		Redis: mocks.RedisTopology{Auth: mocks.AuthPassword}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := env.RedisClient.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	anon := redis.NewClient(&redis.Options{Addr: env.Redis.Addrs[0], MaxRetries: -1})
	defer anon.Close()
	if err := anon.Get(ctx, "k").Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("GET without a password: %v, want NOAUTH", err)
	}
	if env.Redis.Auth != mocks.AuthPassword || strings.Contains(env.Describe(), env.Redis.URL) && !strings.Contains(env.Redis.URL, "xxxxx") {
		t.Errorf("endpoint %+v: want auth password and a redacted URL", env.Redis)
	}
}

// TestNonPlainRedisRefused: embedded cannot start a cluster, TLS or AUTH, and says
// which environments can.
func TestNonPlainRedisRefused(t *testing.T) {
	for _, p := range []string{mocks.ProviderEmbedded} {
		_, err := mocks.Start(context.Background(), mocks.Config{Provider: p, Redis: mocks.RedisTopology{Topology: mocks.TopologyCluster}})
		if err == nil || !strings.Contains(err.Error(), "--env local or --env docker") || !errors.Is(err, mocks.ErrConfig) {
			t.Errorf("%s with a cluster: %v, want a configuration error naming --env local", p, err)
		}
	}
}

// TestExternalRedisErrorsNameTheFix points the external provider at a TLS Redis with a
// password that the local provider started, with each setting wrong in turn: the error
// names the variable to fix.
func TestExternalRedisErrorsNameTheFix(t *testing.T) {
	env := mockstest.StartConfig(t, mocks.Config{Provider: mocks.ProviderLocal,
		Redis: mocks.RedisTopology{TLS: true, Auth: mocks.AuthPassword}})
	if env.Redis.CAFile == "" {
		t.Fatal("a TLS Redis started by the provider names no CA file")
	}
	good := mocks.ExternalConfig{
		RedisURL:         "rediss://" + env.Redis.Addrs[0],
		RedisCAFile:      env.Redis.CAFile,
		RedisPassword:    "wrong-" + time.Now().Format("150405.000"),
		DynamoDBEndpoint: env.DynamoDB.Endpoint, DynamoDBRegion: env.DynamoDB.Region,
		StripeURL: env.Stripe.URL, StripeKey: env.Stripe.Key,
	}
	for _, tc := range []struct {
		name string
		mod  func(*mocks.ExternalConfig)
		want []string
	}{
		{"wrong password", func(*mocks.ExternalConfig) {}, []string{"WRONGPASS", "refused the credentials", "CACHEBENCH_REDIS_PASSWORD"}},
		{"untrusted certificate", func(c *mocks.ExternalConfig) { c.RedisCAFile = "" }, []string{"not signed by a CA this machine trusts", "CACHEBENCH_REDIS_CA_FILE"}},
		{"cluster seed answers as standalone", func(c *mocks.ExternalConfig) { c.RedisCluster = true }, []string{"not a Redis Cluster", "unset CACHEBENCH_REDIS_CLUSTER"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.mod(&cfg)
			if tc.name == "cluster seed answers as standalone" {
				// The right password, so that the cluster question is the one left.
				cfg.RedisPassword = ""
				cfg.RedisURL = "rediss://:" + mocks.RedisPasswordForTest(env) + "@" + env.Redis.Addrs[0]
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			got, err := mocks.Start(ctx, mocks.Config{Provider: mocks.ProviderExternal, External: cfg})
			if err == nil {
				_ = got.Close(ctx)
				t.Fatal("external started")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if p := mocks.RedisPasswordForTest(env); strings.Contains(err.Error(), p) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}
