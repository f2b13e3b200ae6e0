package cachecore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/mocks"
)

// fullCache builds a Cache over every real tier of env: its own L1, Redis L2 and DynamoDB
// L3 (in a table of the test's own), and the given origin.
func fullCache(t *testing.T, env *mocks.Env, origin Origin, table, prefix string, mod func(*Config)) *Cache {
	t.Helper()
	l1, err := NewL1(L1Config{Policy: "tinylfu", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rc := env.NewRedisClient()
	t.Cleanup(func() { _ = rc.Close() })
	l2, err := NewRedisTier(RedisConfig{Client: rc, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l3, err := NewDynamoTier(ctx, DynamoConfig{Client: env.DynamoDBClient, Table: table})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{L1: l1, L2: l2, L3: l3, Origin: origin, Redis: rc, L3Timeout: 2 * time.Second, L2Timeout: time.Second,
		InvalidationChannel: prefix + "invalidate"}
	if mod != nil {
		mod(&cfg)
	}
	return newTestCache(t, cfg)
}

// TestCacheAgainstServices reads through every real tier on each provider: a miss goes to
// stripe-mock and fills L3, L2 and L1; a second instance (its own L1) is served by L2; with
// L2 emptied, by L3; and a missing object is cached as such.
func TestCacheAgainstServices(t *testing.T) {
	for _, provider := range tierProviders {
		t.Run(provider, func(t *testing.T) {
			env := tierEnv(t, provider)
			origin, err := NewStripeOrigin(StripeOriginConfig{Client: env.StripeClient, RateLimit: "none"})
			if err != nil {
				t.Fatal(err)
			}
			u := tierUnique(t)
			table, prefix := "cb-it-"+u, "it:"+u+":"
			a := fullCache(t, env, origin, table, prefix, nil)
			b := fullCache(t, env, origin, table, prefix, nil)
			ctx := context.Background()

			cus, res, err := a.GetCustomer(ctx, "cus_it1")
			if err != nil || res.Tier != TierOrigin || cus.ID == "" {
				t.Fatalf("first read: %s, %v, %+v; want a customer from the origin", res.Tier, err, cus)
			}
			if _, res, err = a.GetCustomer(ctx, "cus_it1"); err != nil || res.Tier != TierL1 {
				t.Fatalf("second read on the same instance: %s, %v; want l1", res.Tier, err)
			}
			if _, res, err = b.GetCustomer(ctx, "cus_it1"); err != nil || res.Tier != TierL2 {
				t.Fatalf("read on another instance: %s, %v; want l2", res.Tier, err)
			}
			// Another object type, with an expansion in its key.
			sub, res, err := a.GetSubscription(ctx, "sub_it1", "customer")
			if err != nil || res.Tier != TierOrigin || sub.ID == "" {
				t.Fatalf("subscription: %s, %v", res.Tier, err)
			}
			// Only L3 holds it now: a third instance is served by L3 and backfills L2.
			if err := a.cfg.L2.Delete(ctx, "customer:cus_it1"); err != nil {
				t.Fatal(err)
			}
			c := fullCache(t, env, origin, table, prefix, nil)
			if _, res, err = c.GetCustomer(ctx, "cus_it1"); err != nil || res.Tier != TierL3 {
				t.Fatalf("read with only L3 holding it: %s, %v; want l3", res.Tier, err)
			}
			if e, ok, _ := a.cfg.L2.Get(ctx, "customer:cus_it1"); !ok || e.Negative {
				t.Fatal("the L3 hit did not backfill L2")
			}
			if s := a.Stats(); s.OriginFetches != 2 {
				t.Fatalf("origin fetches = %d, want 2 (one customer, one subscription)", s.OriginFetches)
			}
			// A batch on a fourth instance: MGET / BatchGetItem on the real tiers.
			d := fullCache(t, env, origin, table, prefix, nil)
			many, errs := d.GetMany(ctx, []Ref{{Object: ObjectCustomer, ID: "cus_it1"}, {Object: ObjectSubscription, ID: "sub_it1", Expand: []string{"customer"}}, {Object: ObjectPrice, ID: "price_it1"}})
			for i, want := range []TierID{TierL2, TierL2, TierOrigin} {
				if errs[i] != nil || many[i].Tier != want {
					t.Fatalf("GetMany[%d] = %s, %v; want %s", i, many[i].Tier, errs[i], want)
				}
			}
		})
	}
}

// TestFleetLease: two instances (separate L1s, as two Lambda environments) with 50
// concurrent misses each on one key make one origin call between them, through the Redis
// lease; without the lease each instance makes its own.
//
// On the cluster the lease key and the entry's key live on whichever shards their slots
// fall in; the lease needs nothing of the entry's shard.
func TestFleetLease(t *testing.T) {
	for _, provider := range []string{mocks.ProviderLocal, tierCluster} {
		t.Run(provider, func(t *testing.T) { testFleetLease(t, tierEnv(t, provider)) })
	}
}

func testFleetLease(t *testing.T, env *mocks.Env) {
	for _, lease := range []time.Duration{2 * time.Second, 0} {
		t.Run(fmt.Sprintf("lease=%v", lease), func(t *testing.T) {
			var calls atomic.Int64
			origin := OriginFunc(func(ctx context.Context, ref Ref) ([]byte, int64, bool, error) {
				calls.Add(1)
				time.Sleep(100 * time.Millisecond) // Stripe is slow; the others arrive meanwhile
				return []byte(`{"id":"` + ref.ID + `"}`), 0, false, nil
			})
			u := tierUnique(t)
			mod := func(c *Config) { c.LeaseTTL = lease }
			fleet := []*Cache{
				fullCache(t, env, origin, "cb-lease-"+u, "lease:"+u+":", mod),
				fullCache(t, env, origin, "cb-lease-"+u, "lease:"+u+":", mod),
			}
			var wg sync.WaitGroup
			for _, c := range fleet {
				for i := 0; i < 50; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := c.Get(context.Background(), Ref{Object: ObjectPrice, ID: "price_hot"}); err != nil {
							t.Error(err)
						}
					}()
				}
			}
			wg.Wait()
			got := calls.Load()
			if lease > 0 && got != 1 {
				t.Fatalf("with the lease the fleet made %d origin calls, want 1", got)
			}
			if lease == 0 && got != 2 {
				t.Fatalf("without the lease the fleet made %d origin calls, want 2 (one per instance)", got)
			}
		})
	}
}

// TestPubSubInvalidation: an event applied on one instance reaches another instance's L1
// through Redis pub/sub, so it stops serving the older state.
// versionedOrigin answers every customer at the version version holds, named "vN".
func versionedOrigin(version *atomic.Int64) Origin {
	return OriginFunc(func(ctx context.Context, ref Ref) ([]byte, int64, bool, error) {
		v := version.Load()
		return []byte(fmt.Sprintf(`{"id":%q,"object":"customer","name":"v%d"}`, ref.ID, v)), v, true, nil
	})
}

// On the cluster the two instances' subscriptions land on whichever nodes go-redis picks,
// and PUBLISH reaches them through the cluster bus.
func TestPubSubInvalidation(t *testing.T) {
	for _, provider := range []string{mocks.ProviderLocal, tierCluster} {
		t.Run(provider, func(t *testing.T) { testPubSubInvalidation(t, tierEnv(t, provider)) })
	}
}

func testPubSubInvalidation(t *testing.T, env *mocks.Env) {
	var version atomic.Int64
	version.Store(1)
	origin := versionedOrigin(&version)
	u := tierUnique(t)
	a := fullCache(t, env, origin, "cb-ps-"+u, "ps:"+u+":", nil)
	b := fullCache(t, env, origin, "cb-ps-"+u, "ps:"+u+":", nil)
	ctx := context.Background()
	for _, c := range []*Cache{a, b} {
		if res, err := c.Get(ctx, Ref{Object: ObjectCustomer, ID: "cus_ps"}); err != nil || res.Version != 1 {
			t.Fatalf("warm-up read: version %d, %v", res.Version, err)
		}
	}
	version.Store(2)
	if err := a.Apply(ctx, customerEvent("cus_ps", 2, "customer.updated")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return b.Stats().InvalidationsReceived >= 1 })
	res, err := b.Get(ctx, Ref{Object: ObjectCustomer, ID: "cus_ps"})
	if err != nil || res.Version != 2 {
		t.Fatalf("instance b after the event: version %d from %s, %v; want 2", res.Version, res.Tier, err)
	}
	var obj struct{ Name string }
	if err := json.Unmarshal(res.Value, &obj); err != nil || obj.Name != "v2" {
		t.Fatalf("instance b serves %s, want the v2 object", res.Value)
	}
	// A customer.deleted event makes every instance answer "not found".
	if err := a.Apply(ctx, customerEvent("cus_ps", 3, "customer.deleted")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return b.Stats().InvalidationsReceived >= 2 })
	if _, err := b.Get(ctx, Ref{Object: ObjectCustomer, ID: "cus_ps"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after customer.deleted instance b answers %v, want ErrNotFound", err)
	}
}

// TestDeadRedisDegrades: with L2 pointing at a Redis that is not there, every read still
// succeeds from L3 or the origin, the breaker opens, and the bypasses are counted.
func TestDeadRedisDegrades(t *testing.T) {
	env := tierEnv(t, mocks.ProviderLocal)
	dead := redis.NewClient(&redis.Options{Addr: closedLoopbackAddr(t), MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { _ = dead.Close() })
	l2, err := NewRedisTier(RedisConfig{Client: dead})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l3, err := NewDynamoTier(ctx, DynamoConfig{Client: env.DynamoDBClient, Table: "cb-dead-" + tierUnique(t)})
	if err != nil {
		t.Fatal(err)
	}
	origin, err := NewStripeOrigin(StripeOriginConfig{Client: env.StripeClient, RateLimit: "none"})
	if err != nil {
		t.Fatal(err)
	}
	c := newTestCache(t, Config{L2: l2, L3: l3, Origin: origin, L3Timeout: 2 * time.Second, BreakerFailures: 3})
	for i := 0; i < 20; i++ {
		if _, _, err := c.GetPrice(ctx, fmt.Sprintf("price_dead%d", i%5)); err != nil {
			t.Fatalf("read %d failed with Redis down: %v", i, err)
		}
	}
	s := c.Stats()
	if s.L2.Breaker != "open" || s.L2.Errors+s.L2.Timeouts < 3 || s.L2.Bypassed == 0 {
		t.Fatalf("L2 stats with Redis down: %+v; want errors, an open breaker and bypasses", s.L2)
	}
	if s.L3.Hits == 0 {
		t.Fatalf("no L3 hits with Redis down: %+v", s.L3)
	}
}

func closedLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
