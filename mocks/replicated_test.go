package mocks_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
)

// TestLocalReplicatedTLSACL starts a primary with two replicas and three Sentinels, with
// TLS and an ACL user, and checks that the cache's client finds the primary through the
// Sentinels, that what it writes reaches the replicas, that the ACL user cannot run
// admin commands, and that the external provider reaches the set through its Sentinels.
func TestLocalReplicatedTLSACL(t *testing.T) {
	topo := mocks.RedisTopology{Topology: mocks.TopologyReplicated, Replicas: 2, TLS: true, Auth: mocks.AuthACL}
	env := mockstest.StartConfig(t, mocks.Config{Provider: mocks.ProviderLocal, Redis: topo})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	r := env.Redis
	if r.Topology != mocks.TopologyReplicated || r.Replicas != 2 || r.MasterName != mocks.SentinelMaster || len(r.Addrs) != 3 || r.Cluster {
		t.Fatalf("endpoint %+v does not describe the started set", r)
	}
	if !strings.Contains(r.URL, "xxxxx@") || strings.Contains(env.Describe(), mocks.RedisPasswordForTest(env)) {
		t.Errorf("the endpoint or Describe shows the password: %s / %s", r.URL, env.Describe())
	}
	for i := 0; i < 100; i++ {
		k := fmt.Sprintf("repl:%d", i)
		if err := env.RedisClient.Set(ctx, k, i, time.Minute).Err(); err != nil {
			t.Fatalf("SET %s: %v", k, err)
		}
		if v, err := env.RedisClient.Get(ctx, k).Int(); err != nil || v != i {
			t.Fatalf("GET %s = %d, %v; want %d", k, v, err, i)
		}
	}
	if err := env.RedisClient.ConfigSet(ctx, "maxmemory", "1000000").Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("CONFIG SET as the ACL user: %v, want NOPERM", err)
	}
	primary, err := env.RedisPrimary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every replica holds what the primary acknowledged (WAIT for them first).
	admin := env.NewAdminRedisClient()
	defer admin.Close()
	if n, err := admin.Do(ctx, "WAIT", 2, 5000).Int(); err != nil || n != 2 {
		t.Fatalf("WAIT 2 replicas: %d, %v", n, err)
	}
	replicas, err := env.RedisReplicas(ctx)
	if err != nil || len(replicas) != 2 {
		t.Fatalf("replicas %v, %v; want 2", replicas, err)
	}
	for _, a := range replicas {
		if a == primary {
			t.Errorf("replica %s is the primary", a)
		}
		c := redis.NewClient(mocks.AdminNodeOptionsForTest(env, a))
		size, err := c.DBSize(ctx).Result()
		role, _ := c.Do(ctx, "ROLE").Slice()
		c.Close()
		if err != nil || size < 100 || len(role) == 0 || role[0] != "slave" {
			t.Errorf("replica %s: %d keys, role %v, %v; want 100 keys and role slave", a, size, role, err)
		}
	}
	t.Run("external Sentinel", func(t *testing.T) { testExternalSentinel(t, env) })
}

// testExternalSentinel points the external provider at the Sentinels of env, a
// replicated set with TLS and an ACL user: it finds the primary through them, reports
// the set, never shows the password, and a wrong master name gives an error that names
// the variable to fix.
func testExternalSentinel(t *testing.T, env *mocks.Env) {
	pass := mocks.RedisPasswordForTest(env)
	var url string
	for _, v := range env.ExternalVariables() {
		if u, ok := strings.CutPrefix(v, "CACHEBENCH_REDIS_URL="); ok {
			url = u
		}
	}
	if !strings.Contains(url, "?addr=") || !strings.Contains(strings.Join(env.ExternalVariables(), " "), "CACHEBENCH_REDIS_SENTINEL_MASTER="+mocks.SentinelMaster) {
		t.Fatalf("ExternalVariables %v do not name the Sentinels and the master", env.ExternalVariables())
	}
	cfg := mocks.ExternalConfig{RedisURL: url, RedisSentinelMaster: mocks.SentinelMaster, RedisCAFile: env.Redis.CAFile, RedisUsername: mocks.ACLUser, RedisPassword: pass,
		DynamoDBEndpoint: env.DynamoDB.Endpoint, DynamoDBRegion: env.DynamoDB.Region, StripeURL: env.Stripe.URL, StripeKey: env.Stripe.Key}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ext, err := mocks.Start(ctx, mocks.Config{Provider: mocks.ProviderExternal, External: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer ext.Close(ctx)
	r := ext.Redis
	if r.Topology != mocks.TopologyReplicated || r.Replicas != 2 || r.MasterName != mocks.SentinelMaster || !r.TLS || r.Auth != mocks.AuthACL {
		t.Errorf("external endpoint %+v does not describe the replicated set", r)
	}
	if err := ext.RedisClient.Set(ctx, "ext:k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := env.RedisClient.Get(ctx, "ext:k").Result(); err != nil || v != "v" {
		t.Errorf("GET through the provider's client: %q, %v", v, err)
	}
	if strings.Contains(ext.Describe(), pass) || strings.Contains(fmt.Sprint(ext.ExternalVariables()), pass) {
		t.Errorf("the password shows: %s", ext.Describe())
	}

	cfg.RedisSentinelMaster = "no-such-master"
	bad, err := mocks.Start(ctx, mocks.Config{Provider: mocks.ProviderExternal, External: cfg})
	if err == nil {
		_ = bad.Close(ctx)
		t.Fatal("external started with a wrong master name")
	}
	if !strings.Contains(err.Error(), "CACHEBENCH_REDIS_SENTINEL_MASTER") || strings.Contains(err.Error(), pass) {
		t.Errorf("wrong master name: %v; want the variable named and no password", err)
	}
}

// TestFailoverRefusedWithoutReplica: an environment that started no replicated set or
// cluster (here, none at all) refuses a failover, naming the topologies that take one.
func TestFailoverRefusedWithoutReplica(t *testing.T) {
	env := &mocks.Env{Provider: mocks.ProviderEmbedded, Redis: mocks.RedisEndpoint{Topology: mocks.TopologyStandalone}}
	for _, err := range []error{env.CanFailover(), func() error { _, _, err := env.Failover(context.Background()); return err }()} {
		if !errors.Is(err, mocks.ErrNoFailover) || !strings.Contains(err.Error(), "cache.l2.topology: replicated, or cluster") {
			t.Errorf("failover on a standalone embedded Redis: %v; want ErrNoFailover naming the topologies", err)
		}
	}
}
