package mocks

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/cachecore"
)

// envelope is a value shaped as cachecore's: format byte 1, a byte, the 8-byte version,
// padded to n bytes.
func envelope(version uint64, n int) string {
	b := make([]byte, max(n, 10))
	b[0] = 1
	binary.BigEndian.PutUint64(b[2:10], version)
	for i := 10; i < len(b); i++ {
		b[i] = byte('a' + i%26)
	}
	return string(b)
}

// scriptCase is one call of the write script on a key holding cur (none when absent).
type scriptCase struct {
	cur    *string // nil: the key is absent
	curTTL time.Duration
	hash   bool // the key holds a hash
	val    string
	px     string
}

func (sc scriptCase) String() string {
	cur := "absent"
	if sc.cur != nil {
		cur = fmt.Sprintf("%q ttl %v", *sc.cur, sc.curTTL)
	}
	if sc.hash {
		cur = "a hash"
	}
	return fmt.Sprintf("cur %s, new %q, px %q", cur, sc.val, sc.px)
}

// scriptOutcome is what a call left: its reply or error, and the key's value and TTL.
type scriptOutcome struct {
	reply string
	val   string
	ttl   time.Duration
}

// scriptPath is how runScriptCase's calls are answered.
type scriptPath int

const (
	viaLua    scriptPath = iota // miniredis's Lua
	viaNative                   // the Go version, as miniredis's pre-command hook
	viaDirect                   // the Go version, also as the client's hook (directRedis)
)

// runScriptCase makes the call on a fresh miniredis through go-redis as cachecore makes
// it (EVALSHA, then EVAL on NOSCRIPT), answered by path.
func runScriptCase(t *testing.T, path scriptPath, sc scriptCase) scriptOutcome {
	t.Helper()
	mr := miniredis.RunT(t)
	ns := (*nativeScripts)(nil)
	if path != viaLua {
		ns = installNativeScripts(mr)
	}
	switch {
	case sc.hash:
		mr.HSet("k", "f", "v")
	case sc.cur != nil:
		if err := mr.Set("k", *sc.cur); err != nil {
			t.Fatal(err)
		}
		if sc.curTTL > 0 {
			mr.SetTTL("k", sc.curTTL)
		}
	}
	rc := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rc.Close()
	if path == viaDirect {
		rc.AddHook(&directRedis{mr: mr, ns: ns})
	}
	script := redis.NewScript(SetIfNewerScript)
	ctx := context.Background()
	var out scriptOutcome
	// Twice: the first loads the script (EVALSHA misses, EVAL runs it), the second is an
	// EVALSHA of the loaded script, the call a run makes millions of times. The key is
	// reset between them.
	for round := range 2 {
		if round == 1 {
			mr.Del("k")
			switch {
			case sc.hash:
				mr.HSet("k", "f", "v")
			case sc.cur != nil:
				_ = mr.Set("k", *sc.cur)
				if sc.curTTL > 0 {
					mr.SetTTL("k", sc.curTTL)
				}
			}
		}
		v, err := script.Run(ctx, rc, []string{"k"}, sc.val, sc.px).Result()
		if err != nil {
			out.reply = "error"
			if errors.Is(err, redis.Nil) {
				out.reply = "nil"
			}
		} else {
			out.reply = fmt.Sprint(v)
		}
	}
	if mr.Exists("k") && !sc.hash {
		out.val, _ = mr.Get("k")
	}
	out.ttl = mr.TTL("k")
	if path != viaLua && ns.answered() == 0 && out.reply != "error" && len(sc.val) >= 10 {
		t.Logf("%v: not answered natively", sc)
	}
	return out
}

// TestNativeSetIfNewerMatchesLua runs the write script's calls through miniredis's Lua
// and through the Go version, answered by miniredis's pre-command hook and by the
// client's own hook (directRedis), each on a fresh server: every reply, stored value and
// TTL must be the same, over hand-picked edges (equal, older and newer versions, values
// that are not envelopes, no expiry, odd arguments, a key of another type) and 300
// random calls.
func TestNativeSetIfNewerMatchesLua(t *testing.T) {
	str := func(s string) *string { return &s }
	cases := []scriptCase{
		{val: envelope(5, 40), px: "60000"},
		{cur: str(envelope(5, 40)), curTTL: time.Minute, val: envelope(4, 40), px: "60000"},
		{cur: str(envelope(5, 40)), curTTL: time.Minute, val: envelope(5, 50), px: "60000"},
		{cur: str(envelope(5, 40)), curTTL: time.Minute, val: envelope(6, 40), px: "0"},
		{cur: str(envelope(1<<40, 40)), val: envelope(1<<40+1, 40), px: "1"},
		{cur: str(envelope(300, 40)), val: envelope(299, 40), px: "1000"},
		{cur: str(envelope(5, 33)), val: envelope(1, 40), px: "1000"},
		{cur: str("not an envelope at all, but long enough to be one"), val: envelope(1, 40), px: "1000"},
		{cur: str(envelope(5, 40)), val: envelope(7, 40), px: "-5"},
		{cur: str(envelope(5, 40)), val: "short", px: "1000"},
		{cur: str(envelope(5, 40)), val: envelope(9, 40), px: "1.5"},
		{cur: str(envelope(5, 40)), val: envelope(9, 40), px: "soon"},
		{hash: true, val: envelope(9, 40), px: "1000"},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 300 {
		sc := scriptCase{val: envelope(rng.Uint64N(4)<<(8*rng.UintN(8)), 10+rng.IntN(40)), px: fmt.Sprint(rng.IntN(3) * 1000)}
		if rng.IntN(4) > 0 {
			sc.cur = str(envelope(rng.Uint64N(4)<<(8*rng.UintN(8)), 30+rng.IntN(10)))
			sc.curTTL = time.Duration(rng.IntN(2)) * time.Hour
		}
		cases = append(cases, sc)
	}
	for _, sc := range cases {
		lua, native, direct := runScriptCase(t, viaLua, sc), runScriptCase(t, viaNative, sc), runScriptCase(t, viaDirect, sc)
		if lua != native || lua != direct {
			t.Errorf("%v: Lua %+v, Go %+v, Go in the client %+v", sc, lua, native, direct)
		}
	}
}

// TestNativeScriptAnswersOnlyOnceLoaded: an EVALSHA of the script before anything loaded
// it gets miniredis's NOSCRIPT, as from Redis; after SCRIPT LOAD it is answered in Go,
// and after SCRIPT FLUSH it is NOSCRIPT again.
func TestNativeScriptAnswersOnlyOnceLoaded(t *testing.T) {
	mr := miniredis.RunT(t)
	ns := installNativeScripts(mr)
	rc := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rc.Close()
	ctx := context.Background()
	evalsha := func() error {
		return rc.EvalSha(ctx, ns.sha, []string{"k"}, envelope(1, 40), "1000").Err()
	}
	if err := evalsha(); err == nil || !redis.HasErrorPrefix(err, "NOSCRIPT") {
		t.Fatalf("EVALSHA before loading: %v, want NOSCRIPT", err)
	}
	if err := rc.ScriptLoad(ctx, SetIfNewerScript).Err(); err != nil {
		t.Fatal(err)
	}
	if err := evalsha(); err != nil || ns.answered() != 1 {
		t.Fatalf("EVALSHA after SCRIPT LOAD: %v, answered in Go %d, want nil and 1", err, ns.answered())
	}
	if err := rc.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := evalsha(); err == nil || !redis.HasErrorPrefix(err, "NOSCRIPT") {
		t.Fatalf("EVALSHA after SCRIPT FLUSH: %v, want NOSCRIPT", err)
	}
}

// TestNativeSetIfNewerIsCachecores: the script cachecore's RedisTier loads when it
// writes is SetIfNewerScript, byte for byte (same SHA1), so the virtual clock's Go
// version answers cachecore's writes, and a change to cachecore's script shows here.
func TestNativeSetIfNewerIsCachecores(t *testing.T) {
	mr := miniredis.RunT(t)
	rc := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rc.Close()
	l2, err := cachecore.NewRedisTier(cachecore.RedisConfig{Client: rc})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ctx := context.Background()
	if _, err := l2.SetIfNewer(ctx, "customer:cus_1", cachecore.Entry{Value: []byte(`{"id":"cus_1"}`), Version: 1, FetchedAt: now, ExpiresAt: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	sha := redis.NewScript(SetIfNewerScript).Hash()
	exists, err := rc.ScriptExists(ctx, sha).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(exists) != 1 || !exists[0] {
		t.Fatalf("cachecore's write script is not SetIfNewerScript (SHA1 %s not in the script cache): copy cachecore's redisSetIfNewerSrc into mocks.SetIfNewerScript and check nativeScripts still does what it says", sha)
	}
}
