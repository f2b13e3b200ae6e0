package mocks

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/cachecore"
)

// TestDirectRedisMatchesPipe: GETs answered by the client's hook (directRedis) get what
// the same GETs over the pipe to miniredis get, value or error, for every kind of key,
// and the hook answers the ones it should in process.
func TestDirectRedisMatchesPipe(t *testing.T) {
	mr := miniredis.RunT(t)
	d := &directRedis{mr: mr, ns: installNativeScripts(mr)}
	dial := func(context.Context, string, string) (net.Conn, error) { return mr.Dial() }
	pipe := redis.NewClient(&redis.Options{Dialer: dial})
	defer pipe.Close()
	direct := redis.NewClient(&redis.Options{Dialer: dial})
	defer direct.Close()
	direct.AddHook(d)

	_ = mr.Set("str", "value")
	_ = mr.Set("empty", "")
	_ = mr.Set("bin", "\x01\x00\xff\x00")
	_ = mr.Set("ttl", "v")
	mr.SetTTL("ttl", time.Minute)
	mr.HSet("hash", "f", "v")
	_, _ = mr.Lpush("list", "x")
	ctx := context.Background()
	outcome := func(c *redis.Client, key any) string {
		cmd := redis.NewStringCmd(ctx, "get", key)
		_ = c.Process(ctx, cmd)
		v, err := cmd.Result()
		return fmt.Sprintf("%q %v", v, err)
	}
	keys := []any{"str", "empty", "bin", "ttl", "missing", []byte("str"), "hash", "list"}
	for _, k := range keys {
		if p, g := outcome(pipe, k), outcome(direct, k); p != g {
			t.Errorf("GET %v: over the pipe %s, in the client %s", k, p, g)
		}
	}
	// Every GET but those of the hash and the list (WRONGTYPE, miniredis's own words).
	if got, want := d.gets.Load(), int64(len(keys)-2); got != want {
		t.Errorf("answered %d GETs in the client, want %d", got, want)
	}
	// A pipeline goes through the pipe.
	p := direct.Pipeline()
	g := p.Get(ctx, "str")
	if _, err := p.Exec(ctx); err != nil || g.Val() != "value" {
		t.Fatalf("pipelined GET: %q, %v", g.Val(), err)
	}
	if got := d.gets.Load(); got != int64(len(keys)-2) {
		t.Errorf("a pipelined GET was answered in the client (%d GETs), want it sent", got)
	}
}

// TestVirtualClientsAnswerInProcess: on the virtual clock's embedded environment,
// cachecore's L2 reads and writes through a World's client never reach miniredis's
// server once the write script is loaded, and read back what they wrote.
func TestVirtualClientsAnswerInProcess(t *testing.T) {
	env := startOrSkip(t, Config{Provider: ProviderEmbedded, Embedded: EmbeddedConfig{VirtualClock: true}})
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := env.SetClock(t0); err != nil {
		t.Fatal(err)
	}
	rc := env.NewRedisClient()
	defer rc.Close()
	// As the virtual runner configures it: the plain path, not a lone caller's kept
	// connection (a copy of the client without its hooks).
	l2, err := cachecore.NewRedisTier(cachecore.RedisConfig{Client: rc, Pipeline: cachecore.PipelineNever, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	e := cachecore.Entry{Value: []byte(`{"id":"cus_1"}`), Version: 1, FetchedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	if _, err := l2.SetIfNewer(ctx, "customer:cus_1", e); err != nil { // loads the script
		t.Fatal(err)
	}
	before := env.virtual.mr.CommandCount()
	for v := int64(2); v <= 4; v++ {
		e.Version = v
		if ok, err := l2.SetIfNewer(ctx, "customer:cus_1", e); err != nil || !ok {
			t.Fatalf("SetIfNewer v%d: %v, %v", v, ok, err)
		}
		got, ok, err := l2.Get(ctx, "customer:cus_1")
		if err != nil || !ok || got.Version != v || string(got.Value) != `{"id":"cus_1"}` {
			t.Fatalf("Get after v%d: %+v, %v, %v", v, got, ok, err)
		}
	}
	if _, ok, err := l2.Get(ctx, "customer:cus_2"); err != nil || ok {
		t.Fatalf("Get of a missing key: %v, %v", ok, err)
	}
	if n := env.virtual.mr.CommandCount() - before; n != 0 {
		t.Errorf("miniredis's server ran %d commands; want every GET and write answered in the client", n)
	}
	if d := env.virtual.direct; d.gets.Load() != 4 || d.scripts.Load() != 3 {
		t.Errorf("answered in the client: %d GETs, %d writes; want 4 and 3", d.gets.Load(), d.scripts.Load())
	}
}
