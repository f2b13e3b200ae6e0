package mocks_test

import (
	"context"
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
// Sentinels, that what it writes reaches the replicas, and that the ACL user cannot run
// admin commands.
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
}
