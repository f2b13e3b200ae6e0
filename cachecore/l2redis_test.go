package cachecore

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
)

// The Redis and DynamoDB tier tests run against every provider below. Each environment is
// started once per test binary: the local one is benchEnv (cache_bench_test.go), which
// the package's TestMain closes; the others are closed by closeTierEnvs, which TestMain
// must call too.
var (
	tierProviders   = []string{mocks.ProviderLocal, mocks.ProviderDocker, mocks.ProviderEmbedded}
	tierDockerEnv   = &mockstest.Shared{Provider: mocks.ProviderDocker}
	tierEmbeddedEnv = &mockstest.Shared{Provider: mocks.ProviderEmbedded}
	// tierClusterEnv is a Redis Cluster the local provider starts: 3 shards of a primary
	// and a replica, TLS, and the ACL user (so the tests also prove the user's commands
	// are all the cache sends).
	tierClusterEnv = &mockstest.Shared{Provider: mocks.ProviderLocal, Config: mocks.Config{Redis: mocks.RedisTopology{
		Topology: mocks.TopologyCluster, Shards: 3, Replicas: 1, TLS: true, Auth: mocks.AuthACL}}}
)

// tierCluster names tierClusterEnv for tierEnv.
const tierCluster = "local-cluster"

// tierEnv returns the shared environment of provider, starting it on first use.
func tierEnv(t testing.TB, provider string) *mocks.Env {
	t.Helper()
	switch provider {
	case mocks.ProviderLocal:
		return benchEnv.Get(t)
	case mocks.ProviderDocker:
		return tierDockerEnv.Get(t)
	case mocks.ProviderEmbedded:
		return tierEmbeddedEnv.Get(t)
	case tierCluster:
		return tierClusterEnv.Get(t)
	}
	t.Fatalf("no shared environment for provider %q", provider)
	return nil
}

// closeTierEnvs stops the shared environments the tier tests started (not benchEnv).
func closeTierEnvs() {
	tierDockerEnv.Close()
	tierEmbeddedEnv.Close()
	tierClusterEnv.Close()
}

// tierUnique returns a name no other test run uses: for key prefixes and table names.
func tierUnique(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, t.Name())
	if len(name) > 80 {
		name = name[len(name)-80:]
	}
	return fmt.Sprintf("%s-%x", name, rand.Uint64())
}

func tierCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// tierSamples are entries covering every field and kind: small and compressed values,
// no expiry, negative and tombstone entries.
func tierSamples(now time.Time) map[string]Entry {
	big := bytes.Repeat([]byte(`{"id":"cus_123","object":"customer","metadata":{"k":"v"}},`), 100) // ~5.8 KB, compressible
	return map[string]Entry{
		"customer:cus_small": {Value: []byte(`{"id":"cus_small","object":"customer"}`), Version: 1_700_000_000_123_456_789,
			FetchedAt: now.Add(-time.Second), ExpiresAt: now.Add(time.Minute), StaleUntil: now.Add(2 * time.Minute)},
		"customer:cus_big?expand=default_source": {Value: big, Version: 42,
			FetchedAt: now, ExpiresAt: now.Add(30 * time.Second)},
		"price:price_forever":  {Value: []byte(`{"id":"price_forever"}`), Version: -7, FetchedAt: now},
		"customer:cus_missing": {Version: 99, FetchedAt: now, ExpiresAt: now.Add(10 * time.Second), Negative: true},
		"invoice:in_deleted":   {Version: 1_700_000_001_000_000_000, FetchedAt: now, ExpiresAt: now.Add(time.Hour), Tombstone: true},
	}
}

// tierSameEntry says how got differs from want, or "" when they are the same.
func tierSameEntry(got, want Entry) string {
	var diffs []string
	if !bytes.Equal(got.Value, want.Value) {
		diffs = append(diffs, fmt.Sprintf("value %d bytes %.40q, want %d bytes %.40q", len(got.Value), got.Value, len(want.Value), want.Value))
	}
	if got.Version != want.Version {
		diffs = append(diffs, fmt.Sprintf("version %d, want %d", got.Version, want.Version))
	}
	for _, f := range []struct {
		name      string
		got, want time.Time
	}{{"FetchedAt", got.FetchedAt, want.FetchedAt}, {"ExpiresAt", got.ExpiresAt, want.ExpiresAt}, {"StaleUntil", got.StaleUntil, want.StaleUntil}} {
		if !f.got.Equal(f.want) {
			diffs = append(diffs, fmt.Sprintf("%s %v, want %v", f.name, f.got, f.want))
		}
	}
	if got.Negative != want.Negative || got.Tombstone != want.Tombstone {
		diffs = append(diffs, fmt.Sprintf("negative/tombstone %v/%v, want %v/%v", got.Negative, got.Tombstone, want.Negative, want.Tombstone))
	}
	return strings.Join(diffs, "; ")
}

func newTestRedisTier(t testing.TB, client redis.UniversalClient) (*RedisTier, string) {
	t.Helper()
	prefix := "cbt:" + tierUnique(t) + ":"
	r, err := NewRedisTier(RedisConfig{Client: client, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return r, prefix
}

func TestRedisTierConfig(t *testing.T) {
	if _, err := NewRedisTier(RedisConfig{}); err == nil {
		t.Error("NewRedisTier without a client succeeded")
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	r, err := NewRedisTier(RedisConfig{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	if r.Name() != "l2" || r.prefix != "cb:" || r.compressAbove != 1024 || !r.useMGET {
		t.Errorf("defaults: name %q prefix %q compressAbove %d useMGET %v", r.Name(), r.prefix, r.compressAbove, r.useMGET)
	}
	if r, _ := NewRedisTier(RedisConfig{Client: c, CompressAbove: -1}); r.compressAbove != 0 {
		t.Errorf("CompressAbove -1 gave threshold %d, want 0 (never)", r.compressAbove)
	}
	// A dead Redis is an error, counted, not a miss.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := r.Get(ctx, "customer:cus_1"); err == nil {
		t.Error("Get against a closed port succeeded")
	}
	if s := r.Stats(); s.Errors != 1 || s.Misses != 0 {
		t.Errorf("after a failed Get: %+v, want 1 error and no miss", s)
	}
}

func TestParseRedisInfo(t *testing.T) {
	in := parseRedisInfo("# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nused_memory_peak:2097152\r\nmaxmemory:0\r\nmaxmemory_policy:allkeys-lru\r\n" +
		"# Stats\r\ntotal_commands_processed:77\r\nevicted_keys:3\r\nexpired_keys:4\r\nkeyspace_hits:5\r\nkeyspace_misses:6\r\n" +
		"# Keyspace\r\ndb0:keys=10,expires=2,avg_ttl=0\r\ndb3:keys=5,expires=0,avg_ttl=0\r\n")
	reported := map[string]bool{}
	for _, f := range []string{"used_memory", "used_memory_peak", "maxmemory", "maxmemory_policy", "total_commands_processed",
		"evicted_keys", "expired_keys", "keyspace_hits", "keyspace_misses"} {
		reported[f] = true
	}
	want := RedisInfo{UsedMemory: 1 << 20, MaxMemoryPolicy: "allkeys-lru", EvictedKeys: 3, ExpiredKeys: 4, KeyspaceHits: 5, KeyspaceMisses: 6, Keys: 15,
		UsedMemoryPeak: 2 << 20, TotalCommands: 77, Reported: reported}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("parseRedisInfo = %+v, want %+v", in, want)
	}
	// miniredis's INFO: clients and stats only, and of the stats only the totals.
	mini := parseRedisInfo("# Clients\r\nconnected_clients:1\r\n# Stats\r\ntotal_connections_received:3\r\ntotal_commands_processed:12\r\n")
	if !reflect.DeepEqual(mini.Reported, map[string]bool{"total_commands_processed": true}) || mini.TotalCommands != 12 {
		t.Errorf("miniredis INFO = %+v; want only total_commands_processed reported", mini)
	}
}

func TestRedisTier(t *testing.T) {
	for _, provider := range append(tierProviders, tierCluster) {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			env := tierEnv(t, provider)
			testRedisTier(t, env.RedisClient, env)
		})
	}
}

// testRedisTier runs every Redis tier test against client (env may be nil: no
// provider-specific checks).
func testRedisTier(t *testing.T, client redis.UniversalClient, env *mocks.Env) {
	miniredis := env != nil && strings.Contains(env.Redis.Backend, "miniredis")

	t.Run("RoundTrip", func(t *testing.T) {
		ctx := tierCtx(t)
		r, prefix := newTestRedisTier(t, client)
		now := time.Now()
		for key, e := range tierSamples(now) {
			if ok, err := r.SetIfNewer(ctx, key, e); err != nil || !ok {
				t.Fatalf("SetIfNewer(%s) = %v, %v; want stored", key, ok, err)
			}
			got, ok, err := r.Get(ctx, key)
			if err != nil || !ok {
				t.Fatalf("Get(%s) = found %v, %v", key, ok, err)
			}
			if d := tierSameEntry(got, e); d != "" {
				t.Errorf("%s: %s", key, d)
			}
			raw, err := client.Get(ctx, prefix+key).Bytes()
			if err != nil {
				t.Fatalf("raw GET %s: %v", prefix+key, err)
			}
			if compressed := raw[1]&flagCompressed != 0; compressed != (len(e.Value) >= 1024) {
				t.Errorf("%s: %d-byte value stored compressed=%v (%d bytes stored)", key, len(e.Value), compressed, len(raw))
			}
		}
		if _, ok, err := r.Get(ctx, "customer:cus_never"); ok || err != nil {
			t.Errorf("Get of an absent key = found %v, %v", ok, err)
		}
		if err := r.Delete(ctx, "price:price_forever"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := r.Get(ctx, "price:price_forever"); ok {
			t.Error("deleted key still found")
		}
		s := r.Stats()
		if s.Sets != 5 || s.Gets != 7 || s.Hits != 5 || s.Misses != 2 || s.Deletes != 1 || s.Errors != 0 || s.Corrupt != 0 {
			t.Errorf("stats %+v; want 5 sets, 7 gets (5 hits, 2 misses), 1 delete", s)
		}
	})

	t.Run("NeverCompress", func(t *testing.T) {
		ctx := tierCtx(t)
		prefix := "cbt:" + tierUnique(t) + ":"
		r, err := NewRedisTier(RedisConfig{Client: client, Prefix: prefix, CompressAbove: -1})
		if err != nil {
			t.Fatal(err)
		}
		e := Entry{Value: bytes.Repeat([]byte("x"), 5000), Version: 1, FetchedAt: time.Now()}
		if ok, err := r.SetIfNewer(ctx, "k", e); !ok || err != nil {
			t.Fatalf("SetIfNewer = %v, %v", ok, err)
		}
		raw, _ := client.Get(ctx, prefix+"k").Bytes()
		if len(raw) != envelopeHeaderSize+5000 || raw[1]&flagCompressed != 0 {
			t.Errorf("stored %d bytes, flags %#x; want uncompressed", len(raw), raw[1])
		}
	})

	t.Run("VersionGuard", func(t *testing.T) {
		ctx := tierCtx(t)
		r, _ := newTestRedisTier(t, client)
		now := time.Now()
		mk := func(v int64) Entry {
			return Entry{Value: []byte("v=" + strconv.FormatInt(v, 10)), Version: v, FetchedAt: now, ExpiresAt: now.Add(time.Minute)}
		}
		steps := []struct {
			version int64
			stored  bool
			holds   int64
		}{
			{10, true, 10}, {9, false, 10}, {-3, false, 10}, {10, true, 10}, {11, true, 11},
			{1 << 40, true, 1 << 40}, {1<<40 - 1, false, 1 << 40},
		}
		for _, s := range steps {
			ok, err := r.SetIfNewer(ctx, "k", mk(s.version))
			if err != nil || ok != s.stored {
				t.Fatalf("SetIfNewer(version %d) = %v, %v; want %v", s.version, ok, err, s.stored)
			}
			got, _, _ := r.Get(ctx, "k")
			if got.Version != s.holds || string(got.Value) != "v="+strconv.FormatInt(s.holds, 10) {
				t.Fatalf("after version %d: holds %d %q, want %d", s.version, got.Version, got.Value, s.holds)
			}
		}
		// Negative versions order below positive ones (the sign bit is flipped).
		if ok, _ := r.SetIfNewer(ctx, "neg", mk(-5)); !ok {
			t.Fatal("first write refused")
		}
		if ok, _ := r.SetIfNewer(ctx, "neg", mk(-6)); ok {
			t.Error("version -6 replaced -5")
		}
		if ok, _ := r.SetIfNewer(ctx, "neg", mk(3)); !ok {
			t.Error("version 3 did not replace -5")
		}
		if s := r.Stats(); s.SetsRejected != 4 || s.Sets != 6 {
			t.Errorf("stats %+v; want 6 sets and 4 rejected", s)
		}
	})

	t.Run("ConcurrentVersions", func(t *testing.T) {
		ctx := tierCtx(t)
		r, _ := newTestRedisTier(t, client)
		now := time.Now()
		versions := rand.Perm(200) // 0..199, shuffled, 10 per goroutine
		var wg sync.WaitGroup
		errs := make(chan error, len(versions))
		for g := 0; g < 20; g++ {
			wg.Add(1)
			go func(vs []int) {
				defer wg.Done()
				for _, v := range vs {
					e := Entry{Value: []byte("v=" + strconv.Itoa(v)), Version: int64(v), FetchedAt: now, ExpiresAt: now.Add(time.Minute)}
					if _, err := r.SetIfNewer(ctx, "hot", e); err != nil {
						errs <- err
					}
				}
			}(versions[g*10 : g*10+10])
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, ok, err := r.Get(ctx, "hot")
		if err != nil || !ok || got.Version != 199 || string(got.Value) != "v=199" {
			t.Fatalf("after 200 racing writes: %d %q found %v %v; want version 199", got.Version, got.Value, ok, err)
		}
		if s := r.Stats(); s.Sets+s.SetsRejected != 200 || s.Sets == 0 {
			t.Errorf("stats %+v; want sets + rejected = 200", s)
		}
	})

	t.Run("Expiry", func(t *testing.T) {
		ctx := tierCtx(t)
		r, prefix := newTestRedisTier(t, client)
		now := time.Now()
		e := Entry{Value: []byte(`{}`), Version: 1, FetchedAt: now, ExpiresAt: now.Add(30 * time.Second), StaleUntil: now.Add(90 * time.Second)}
		if ok, err := r.SetIfNewer(ctx, "swr", e); !ok || err != nil {
			t.Fatalf("SetIfNewer = %v, %v", ok, err)
		}
		pttl, err := client.PTTL(ctx, prefix+"swr").Result()
		if err != nil {
			t.Fatal(err)
		}
		if want := 90 * time.Second; pttl > want || pttl < want-3*time.Second {
			t.Errorf("PTTL %v, want about %v (the end of the stale window)", pttl, want)
		}
		e.StaleUntil = time.Time{}
		if ok, _ := r.SetIfNewer(ctx, "fresh", e); !ok {
			t.Fatal("write refused")
		}
		if pttl := client.PTTL(ctx, prefix+"fresh").Val(); pttl > 30*time.Second || pttl < 27*time.Second {
			t.Errorf("PTTL %v, want about 30s (ExpiresAt)", pttl)
		}
		forever := Entry{Value: []byte(`{}`), Version: 1, FetchedAt: now}
		if ok, _ := r.SetIfNewer(ctx, "forever", forever); !ok {
			t.Fatal("write refused")
		}
		if pttl := client.PTTL(ctx, prefix+"forever").Val(); pttl != -1 {
			t.Errorf("PTTL of an entry without expiry = %v, want -1 (none)", pttl)
		}
		dead := Entry{Value: []byte(`{}`), Version: 2, FetchedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}
		if ok, err := r.SetIfNewer(ctx, "dead", dead); ok || err != nil {
			t.Errorf("SetIfNewer of a dead entry = %v, %v; want not stored", ok, err)
		}
		if n := client.Exists(ctx, prefix+"dead").Val(); n != 0 {
			t.Error("a dead entry was written")
		}
		// A live key holding an entry past its retention (clock skew) reads as a miss.
		client.Set(ctx, prefix+"stale", EncodeEntry(dead, 0), time.Minute)
		if _, ok, _ := r.Get(ctx, "stale"); ok {
			t.Error("an entry past its retention was returned")
		}
		if !miniredis { // miniredis's clock stands still unless told to move
			short := Entry{Value: []byte(`{}`), Version: 1, FetchedAt: now, ExpiresAt: time.Now().Add(150 * time.Millisecond)}
			if ok, _ := r.SetIfNewer(ctx, "short", short); !ok {
				t.Fatal("write refused")
			}
			time.Sleep(400 * time.Millisecond)
			if n := client.Exists(ctx, prefix+"short").Val(); n != 0 {
				t.Error("Redis kept a key past its PX")
			}
		}
	})

	t.Run("GetMultiSetMulti", func(t *testing.T) {
		ctx := tierCtx(t)
		r, prefix := newTestRedisTier(t, client)
		now := time.Now()
		var keys []string
		var entries []Entry
		for i := 0; i < 60; i++ {
			keys = append(keys, fmt.Sprintf("customer:cus_%03d", i))
			entries = append(entries, Entry{Value: []byte(fmt.Sprintf(`{"id":"cus_%03d"}`, i)), Version: int64(100 + i), FetchedAt: now, ExpiresAt: now.Add(time.Minute)})
		}
		// One key already holds a newer version, one entry is dead.
		if ok, _ := r.SetIfNewer(ctx, keys[5], Entry{Value: []byte("newer"), Version: 1000, FetchedAt: now}); !ok {
			t.Fatal("setup write refused")
		}
		entries[7].ExpiresAt = now.Add(-time.Second)
		if err := r.SetMulti(ctx, keys, entries); err != nil {
			t.Fatal(err)
		}
		if s := r.Stats(); s.Sets != 1+58 || s.SetsRejected != 1 {
			t.Errorf("after SetMulti: %+v; want 59 sets (1 + 58), 1 rejected", s)
		}
		client.Set(ctx, prefix+"customer:cus_corrupt", "not an envelope", time.Minute)
		// Present, absent, corrupt, dead and repeated keys, in a mixed order.
		ask := []string{keys[3], "customer:cus_absent", keys[5], "customer:cus_corrupt", keys[7], keys[59], keys[3], "price:none"}
		want := []struct {
			found bool
			value string
		}{{true, `{"id":"cus_003"}`}, {false, ""}, {true, "newer"}, {false, ""}, {false, ""}, {true, `{"id":"cus_059"}`}, {true, `{"id":"cus_003"}`}, {false, ""}}
		before := r.Stats()
		got, found, err := r.GetMulti(ctx, ask)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ask) || len(found) != len(ask) {
			t.Fatalf("GetMulti returned %d entries, %d found flags for %d keys", len(got), len(found), len(ask))
		}
		for i, w := range want {
			if found[i] != w.found || string(got[i].Value) != w.value {
				t.Errorf("GetMulti[%d] (%s) = found %v %q, want %v %q", i, ask[i], found[i], got[i].Value, w.found, w.value)
			}
		}
		after := r.Stats()
		if after.Gets-before.Gets != 8 || after.Hits-before.Hits != 4 || after.Misses-before.Misses != 4 || after.Corrupt-before.Corrupt != 1 {
			t.Errorf("GetMulti counted %+v -> %+v; want 8 gets, 4 hits, 4 misses, 1 corrupt", before, after)
		}
		if e, f, err := r.GetMulti(ctx, nil); len(e) != 0 || len(f) != 0 || err != nil {
			t.Errorf("GetMulti(nil) = %v %v %v", e, f, err)
		}
		if err := r.SetMulti(ctx, keys[:2], entries[:1]); err == nil {
			t.Error("SetMulti with mismatched lengths succeeded")
		}
	})

	t.Run("Corrupt", func(t *testing.T) {
		ctx := tierCtx(t)
		r, prefix := newTestRedisTier(t, client)
		bad := [][]byte{nil, []byte("x"), bytes.Repeat([]byte{0xff}, 40), append([]byte{envelopeV1, flagCompressed}, make([]byte, 40)...)}
		for i, b := range bad {
			key := "k" + strconv.Itoa(i)
			client.Set(ctx, prefix+key, b, time.Minute)
			if _, ok, err := r.Get(ctx, key); ok || err != nil {
				t.Errorf("Get of corrupt value %d = found %v, %v; want a miss", i, ok, err)
			}
		}
		if s := r.Stats(); s.Corrupt != uint64(len(bad)) || s.Misses != uint64(len(bad)) || s.Errors != 0 {
			t.Errorf("stats %+v; want %d corrupt misses, no errors", s, len(bad))
		}
		// The guard replaces a value that is not an envelope, whatever its bytes.
		e := Entry{Value: []byte(`{}`), Version: -1 << 62, FetchedAt: time.Now()}
		if ok, err := r.SetIfNewer(ctx, "k2", e); !ok || err != nil {
			t.Errorf("SetIfNewer over a corrupt value = %v, %v; want stored", ok, err)
		}
	})

	t.Run("NoScript", func(t *testing.T) {
		ctx := tierCtx(t)
		r, _ := newTestRedisTier(t, client)
		// SCRIPT FLUSH is an admin command, which an ACL user of the cache may not run.
		admin := client
		if env != nil {
			admin = env.NewAdminRedisClient()
			defer admin.Close()
		}
		now := time.Now()
		e := Entry{Value: []byte(`{}`), Version: 5, FetchedAt: now, ExpiresAt: now.Add(time.Minute)}
		for round := 0; round < 2; round++ {
			if err := admin.ScriptFlush(ctx).Err(); err != nil {
				t.Fatalf("SCRIPT FLUSH: %v", err)
			}
			if err := r.SetMulti(ctx, []string{"a", "b", "c"}, []Entry{e, e, e}); err != nil {
				t.Fatalf("SetMulti after SCRIPT FLUSH: %v", err)
			}
			if err := admin.ScriptFlush(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if ok, err := r.SetIfNewer(ctx, "d", e); !ok || err != nil {
				t.Fatalf("SetIfNewer after SCRIPT FLUSH = %v, %v", ok, err)
			}
		}
		_, found, err := r.GetMulti(ctx, []string{"a", "b", "c", "d"})
		if err != nil || !found[0] || !found[1] || !found[2] || !found[3] {
			t.Errorf("GetMulti = %v, %v; want all found", found, err)
		}
	})

	t.Run("Footprint", func(t *testing.T) {
		ctx := tierCtx(t)
		r, prefix := newTestRedisTier(t, client)
		if f, err := r.Footprint(ctx, 10); err != nil || f.Entries != 0 {
			t.Fatalf("Footprint of an empty prefix = %+v, %v; want nothing", f, err)
		}
		now := time.Now()
		small := []byte(`{"id":"cus_1","object":"customer"}`)
		for i := range 5 {
			e := Entry{Value: small, Version: 1, FetchedAt: now, ExpiresAt: now.Add(time.Minute)}
			if ok, err := r.SetIfNewer(ctx, fmt.Sprintf("customer:cus_%d", i), e); !ok || err != nil {
				t.Fatalf("SetIfNewer = %v, %v", ok, err)
			}
		}
		// Not a cache key: skipped.
		if err := client.Set(ctx, prefix+"stripe-limit", "x", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		f, err := r.Footprint(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		wantValue := int64(envelopeHeaderSize + len(small))
		if f.Entries != 3 || f.ValueBytes != 3*wantValue || f.KeyBytes != 3*int64(len(prefix+"customer:cus_0")) {
			t.Errorf("Footprint(3) = %+v; want 3 entries of %d value bytes and %d key bytes", f, wantValue, len(prefix+"customer:cus_0"))
		}
		if f, _ = r.Footprint(ctx, 100); f.Entries != 5 {
			t.Errorf("Footprint(100) sampled %d entries, want the 5 cache keys", f.Entries)
		}
		switch {
		case miniredis && f.MemoryReported:
			t.Errorf("miniredis reported MEMORY USAGE: %+v", f)
		case !miniredis && (!f.MemoryReported || f.MemoryBytes < f.ValueBytes+f.KeyBytes):
			t.Errorf("Footprint = %+v; want MEMORY USAGE reported, at least key and value bytes", f)
		}
	})

	t.Run("Info", func(t *testing.T) {
		ctx := tierCtx(t)
		r, _ := newTestRedisTier(t, client)
		before, err := r.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if miniredis {
			t.Skipf("miniredis's INFO has no memory, stats or keyspace fields (got %+v)", before)
		}
		if before.UsedMemory <= 0 || before.MaxMemoryPolicy == "" {
			t.Errorf("Info = %+v; want used memory > 0 and a maxmemory policy", before)
		}
		now := time.Now()
		if ok, _ := r.SetIfNewer(ctx, "hit", Entry{Value: []byte(`{}`), Version: 1, FetchedAt: now, ExpiresAt: now.Add(time.Minute)}); !ok {
			t.Fatal("write refused")
		}
		for i := 0; i < 5; i++ {
			if _, ok, err := r.Get(ctx, "hit"); !ok || err != nil {
				t.Fatalf("Get = %v, %v", ok, err)
			}
		}
		after, err := r.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if after.KeyspaceHits < before.KeyspaceHits+5 || after.Keys < 1 {
			t.Errorf("after 5 hits: keyspace hits %d -> %d, keys %d", before.KeyspaceHits, after.KeyspaceHits, after.Keys)
		}
		// The write and the five GETs are commands; INFO reports its peak memory.
		if after.TotalCommands < before.TotalCommands+6 || after.UsedMemoryPeak <= 0 ||
			!after.Reported["keyspace_hits"] || !after.Reported["total_commands_processed"] || !after.Reported["used_memory_peak"] {
			t.Errorf("commands %d -> %d, peak %d, reported %v; want 6 more commands, a peak, and those fields reported",
				before.TotalCommands, after.TotalCommands, after.UsedMemoryPeak, after.Reported)
		}
	})
}

// TestRedisTierAutoPipeline checks the tier through go-redis's autopipeliner, both ways
// the RedisConfig comment tells callers to enable it.
func TestRedisTierAutoPipeline(t *testing.T) {
	env := tierEnv(t, mocks.ProviderLocal)
	for _, viaConfig := range []bool{true, false} {
		t.Run(map[bool]string{true: "AutoPipeline-option", false: "autopipeliner-as-client"}[viaConfig], func(t *testing.T) {
			rc := env.NewRedisClient()
			t.Cleanup(func() { rc.Close() })
			cfg := RedisConfig{Client: rc, Prefix: "cbt:" + tierUnique(t) + ":", AutoPipeline: viaConfig}
			if !viaConfig {
				ap, err := rc.AutoPipeline()
				if err != nil {
					t.Fatalf("AutoPipeline: %v", err)
				}
				cfg.Client = ap
			}
			r, err := NewRedisTier(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if r.client == nil || r.client.IsBlocking() {
				t.Fatalf("commands do not go through a deferred autopipeliner (an autopipeliner: %v)", r.client != nil)
			}
			if !viaConfig && r.pipeline != PipelineAlways {
				t.Errorf("with an autopipeliner as Client, Pipeline is %q, want %q", r.pipeline, PipelineAlways)
			}
			if r.useMGET != viaConfig {
				t.Errorf("useMGET = %v; want MGET only when the plain client is known", r.useMGET)
			}
			testRedisAutoPipelined(t, r)
		})
	}
}

func testRedisAutoPipelined(t *testing.T, r *RedisTier) {
	ctx := tierCtx(t)
	now := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for g := 0; g < 50; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			key := "customer:cus_" + strconv.Itoa(g)
			e := Entry{Value: []byte(key), Version: int64(g), FetchedAt: now, ExpiresAt: now.Add(time.Minute)}
			if ok, err := r.SetIfNewer(ctx, key, e); !ok || err != nil {
				errs <- fmt.Errorf("SetIfNewer(%s) = %v, %v", key, ok, err)
				return
			}
			if got, ok, err := r.Get(ctx, key); !ok || err != nil || string(got.Value) != key {
				errs <- fmt.Errorf("Get(%s) = %q %v %v", key, got.Value, ok, err)
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	keys := []string{"customer:cus_3", "customer:cus_none", "customer:cus_49"}
	got, found, err := r.GetMulti(ctx, keys)
	if err != nil || !found[0] || found[1] || !found[2] || string(got[2].Value) != "customer:cus_49" {
		t.Errorf("GetMulti = %v, %v", found, err)
	}
	if err := r.SetMulti(ctx, keys, []Entry{{Value: []byte("x"), Version: 1}, {Value: []byte("y"), Version: 1}, {Value: []byte("z"), Version: 100}}); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, "customer:cus_49"); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.SetsRejected != 1 || s.Errors != 0 || s.Sets != 52 || s.Deletes != 1 {
		t.Errorf("stats %+v; want 52 sets, 1 rejected (cus_3 holds version 3), 1 delete, no errors", s)
	}
}

// TestRedisTierPipelineModes runs 50 concurrent callers through each Pipeline mode, and
// checks that auto sends a lone command straight to the client and leaves no command
// counted in flight.
func TestRedisTierPipelineModes(t *testing.T) {
	env := tierEnv(t, mocks.ProviderLocal)
	for _, mode := range []string{"", PipelineAuto, PipelineAlways, PipelineNever} {
		t.Run("mode="+mode, func(t *testing.T) {
			rc := env.NewRedisClient()
			t.Cleanup(func() { rc.Close() })
			r, err := NewRedisTier(RedisConfig{Client: rc, Prefix: "cbt:" + tierUnique(t) + ":", Pipeline: mode})
			if err != nil {
				t.Fatal(err)
			}
			want := mode
			if want == "" {
				want = PipelineAuto
			}
			if r.pipeline != want || (r.client == nil) != (want == PipelineNever) {
				t.Fatalf("mode %q: pipeline %q, autopipeliner %v", mode, r.pipeline, r.client != nil)
			}
			if want == PipelineAuto {
				_, plain := rc.(*redis.Client)
				if ap, lone := r.pick(); ap != nil || lone != plain {
					t.Errorf("a lone command: autopipeliner %v, lone connection %v; want the client itself, on a lone connection when the client is a *redis.Client (%v)",
						ap != nil, lone, plain)
				}
				r.done()
			}
			testRedisAutoPipelined(t, r)
			if n := r.inflight.Load(); n != 0 {
				t.Errorf("%d commands still counted in flight", n)
			}
		})
	}
	rc := env.NewRedisClient()
	defer rc.Close()
	// A Ring has no autopipeliner: auto sends its commands itself, always is refused.
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": env.Redis.Addrs[0]}})
	defer ring.Close()
	if r, err := NewRedisTier(RedisConfig{Client: ring}); err != nil || r.client != nil {
		t.Errorf("Ring with Pipeline auto: %v (autopipeliner %v), want direct commands", err, r != nil && r.client != nil)
	}
	if _, err := NewRedisTier(RedisConfig{Client: ring, Pipeline: PipelineAlways}); err == nil {
		t.Error("Ring with Pipeline always: no error")
	}
	if _, err := NewRedisTier(RedisConfig{Client: rc, Pipeline: "sometimes"}); err == nil || !strings.Contains(err.Error(), "unknown") {
		t.Errorf("Pipeline sometimes: %v", err)
	}
	if _, err := NewRedisTier(RedisConfig{Client: rc, Pipeline: PipelineNever, AutoPipeline: true}); err == nil || !strings.Contains(err.Error(), "set one") {
		t.Errorf("AutoPipeline with Pipeline never: %v", err)
	}
	ap, err := rc.AutoPipeline()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRedisTier(RedisConfig{Client: ap, Pipeline: PipelineNever}); err == nil || !strings.Contains(err.Error(), "pass the client") {
		t.Errorf("an autopipeliner as Client with Pipeline never: %v", err)
	}
}

// TestRedisTierCluster runs the tier tests against a three-master Redis Cluster of
// redis-server processes, when redis-server and redis-cli are installed.
func TestRedisTierCluster(t *testing.T) {
	server, err := exec.LookPath("redis-server")
	if err != nil {
		server = os.Getenv("CACHEBENCH_REDIS_SERVER")
	}
	cli, cliErr := exec.LookPath("redis-cli")
	if server == "" || cliErr != nil {
		if mockstest.Required() {
			t.Fatalf("redis-server (%v) and redis-cli (%v) are needed for the cluster test", err, cliErr)
		}
		t.Skip("redis-server or redis-cli not installed")
	}
	var addrs []string
	for i := 0; i < 3; i++ {
		addrs = append(addrs, tierStartClusterNode(t, server))
	}
	out, err := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		for !strings.Contains(c.ClusterInfo(context.Background()).Val(), "cluster_state:ok") {
			if time.Now().After(deadline) {
				c.Close()
				t.Fatalf("cluster node %s not ready", a)
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { cc.Close() })
	// Every node must know the whole topology before cross-slot tests start.
	for cc.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() }) != nil {
		if time.Now().After(deadline) {
			t.Fatal("cluster client cannot reach every master")
		}
		time.Sleep(100 * time.Millisecond)
	}

	r, _ := newTestRedisTier(t, cc)
	if r.useMGET {
		t.Fatal("a cluster client would use MGET")
	}
	ctx := tierCtx(t)
	now := time.Now()
	var keys []string
	var entries []Entry
	for i := 0; i < 100; i++ {
		keys = append(keys, "customer:cus_"+strconv.Itoa(i))
		entries = append(entries, Entry{Value: []byte(strconv.Itoa(i)), Version: int64(i), FetchedAt: now, ExpiresAt: now.Add(time.Minute)})
	}
	if err := r.SetMulti(ctx, keys, entries); err != nil {
		t.Fatalf("SetMulti across slots: %v", err)
	}
	if err := cc.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	entries[10].Version, entries[11].Version = 1000, -1 // one newer, one older
	if err := r.SetMulti(ctx, keys, entries); err != nil {
		t.Fatalf("SetMulti after SCRIPT FLUSH on every node: %v", err)
	}
	ask := append([]string{"customer:cus_none"}, keys...)
	got, found, err := r.GetMulti(ctx, ask)
	if err != nil {
		t.Fatalf("GetMulti across slots: %v", err)
	}
	if found[0] {
		t.Error("absent key found")
	}
	for i := range keys {
		wantV := int64(i)
		if i == 10 {
			wantV = 1000
		}
		if !found[i+1] || got[i+1].Version != wantV || string(got[i+1].Value) != strconv.Itoa(i) {
			t.Errorf("%s: found %v version %d value %q; want version %d", keys[i], found[i+1], got[i+1].Version, got[i+1].Value, wantV)
		}
	}
	var perNode []int64
	var mu sync.Mutex
	_ = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		n := c.DBSize(ctx).Val()
		mu.Lock()
		perNode = append(perNode, n)
		mu.Unlock()
		return nil
	})
	for _, n := range perNode {
		if n == 0 {
			t.Errorf("keys per node %v: some master holds none, so cross-slot paths were not exercised", perNode)
		}
	}
	info, err := r.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Keys != 100 || info.UsedMemory <= 0 {
		t.Errorf("cluster Info = %+v; want 100 keys summed over 3 masters", info)
	}
	if err := r.Delete(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Errors != 0 || s.SetsRejected != 1 || s.Sets != 199 {
		t.Errorf("stats %+v; want 199 sets, 1 rejected, no errors", s)
	}
}

// tierStartClusterNode runs a cluster-enabled redis-server on a free loopback port until the
// test ends, and returns its address.
func tierStartClusterNode(t *testing.T, server string) string {
	t.Helper()
	dir := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := tierFreePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes-"+strconv.Itoa(port)+".conf"), "--save", "", "--appendonly", "no",
			"--dir", dir)
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-done
		}
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		deadline := time.Now().Add(10 * time.Second)
		for {
			lastErr = c.Ping(context.Background()).Err()
			if lastErr == nil {
				c.Close()
				t.Cleanup(stop)
				return addr
			}
			exited := false
			select {
			case <-done:
				exited = true
			default:
			}
			if exited || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
		stop()
		lastErr = fmt.Errorf("%w\n%s", lastErr, logs.String())
	}
	t.Fatalf("cluster node did not start: %v", lastErr)
	return ""
}

func tierFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
