package cachecore

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var l1TestPolicies = []string{l1PolicyLRU, l1PolicyTinyLFU, l1PolicyMap}

// l1T0 is the tests' now: explicit times, no sleeping.
var l1T0 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func newTestL1(t testing.TB, cfg L1Config) *L1 {
	t.Helper()
	l, err := NewL1(cfg)
	if err != nil {
		t.Fatalf("NewL1(%+v): %v", cfg, err)
	}
	return l
}

// l1Settle runs pending maintenance, so that otter's asynchronous evictions are done.
func l1Settle(l *L1) { l.cleanUp() }

// l1Audit looks up every key and checks that Stats agrees with what is found: as many
// entries, and Bytes the sum of their weights. It returns the number found.
func l1Audit(t *testing.T, l *L1, keys []string, now time.Time) int {
	t.Helper()
	l1Settle(l)
	n, sum := 0, int64(0)
	for _, k := range keys {
		if e, ok := l.Get(k, now); ok {
			n++
			sum += l1Bytes(k, &e)
		}
	}
	s := l.Stats()
	if s.Entries != n || s.Bytes != sum {
		t.Errorf("Stats() = %d entries, %d bytes; found %d entries weighing %d bytes", s.Entries, s.Bytes, n, sum)
	}
	return n
}

func l1EntryEqual(a, b Entry) bool {
	return bytes.Equal(a.Value, b.Value) && a.Version == b.Version &&
		a.FetchedAt.Equal(b.FetchedAt) && a.ExpiresAt.Equal(b.ExpiresAt) && a.StaleUntil.Equal(b.StaleUntil) &&
		a.Negative == b.Negative && a.Tombstone == b.Tombstone
}

func TestL1SetGetDelete(t *testing.T) {
	entries := []struct {
		name string
		e    Entry
	}{
		{"value", Entry{Value: []byte(`{"id":"cus_1"}`), Version: 7, FetchedAt: l1T0.Add(-time.Second),
			ExpiresAt: l1T0.Add(time.Minute), StaleUntil: l1T0.Add(2 * time.Minute)}},
		{"no expiry", Entry{Value: []byte(`{}`), Version: -3, FetchedAt: l1T0}},
		{"negative", Entry{Version: 1, FetchedAt: l1T0, ExpiresAt: l1T0.Add(time.Second), Negative: true}},
		{"tombstone", Entry{Version: 9, FetchedAt: l1T0, ExpiresAt: l1T0.Add(time.Hour), Tombstone: true}},
	}
	for _, policy := range l1TestPolicies {
		t.Run(policy, func(t *testing.T) {
			for _, tc := range entries {
				t.Run(tc.name, func(t *testing.T) {
					l := newTestL1(t, L1Config{Policy: policy})
					if l.Policy() != policy {
						t.Fatalf("Policy() = %q, want %q", l.Policy(), policy)
					}
					if _, ok := l.Get("k", l1T0); ok {
						t.Fatal("Get on an empty L1 found something")
					}
					if !l.SetIfNewer("k", tc.e, l1T0) {
						t.Fatal("SetIfNewer into an empty L1 = false")
					}
					got, ok := l.Get("k", l1T0)
					if !ok || !l1EntryEqual(got, tc.e) {
						t.Fatalf("Get = %+v, %v; want %+v", got, ok, tc.e)
					}
					if s := l.Stats(); s.Entries != 1 || s.Bytes != l1Bytes("k", &tc.e) {
						t.Fatalf("Stats() = %+v, want 1 entry of %d bytes", s, l1Bytes("k", &tc.e))
					}
					l.Delete("k")
					if got, ok := l.Get("k", l1T0); ok {
						t.Fatalf("Get after Delete = %+v, want absent", got)
					}
					l1Settle(l)
					if s := l.Stats(); s != (L1Stats{}) {
						t.Fatalf("Stats() after Delete = %+v, want zero", s)
					}
					l.Delete("k") // deleting an absent key is harmless
				})
			}
		})
	}
}

func TestL1DefaultPolicy(t *testing.T) {
	if p := newTestL1(t, L1Config{}).Policy(); p != l1PolicyTinyLFU {
		t.Fatalf(`Policy() of L1Config{} = %q, want "tinylfu"`, p)
	}
}

func TestL1VersionGuard(t *testing.T) {
	for _, policy := range l1TestPolicies {
		t.Run(policy, func(t *testing.T) {
			l := newTestL1(t, L1Config{Policy: policy})
			steps := []struct {
				version int64
				value   string
				stored  bool
				want    string // value held afterwards
			}{
				{5, "v5", true, "v5"},
				{4, "v4", false, "v5"},
				{5, "v5b", true, "v5b"},
				{6, "v6", true, "v6"},
				{-1, "old", false, "v6"},
			}
			for _, s := range steps {
				e := Entry{Value: []byte(s.value), Version: s.version, FetchedAt: l1T0}
				if got := l.SetIfNewer("k", e, l1T0); got != s.stored {
					t.Fatalf("SetIfNewer(version %d) = %v, want %v", s.version, got, s.stored)
				}
				if got, _ := l.Get("k", l1T0); string(got.Value) != s.want {
					t.Fatalf("after version %d: holds %q, want %q", s.version, got.Value, s.want)
				}
			}
			if s := l.Stats(); s.Entries != 1 || s.Bytes != int64(len("k")+len("v6")+entryOverhead) {
				t.Fatalf("Stats() = %+v, want 1 entry of %d bytes", s, len("k")+len("v6")+entryOverhead)
			}
		})
	}
}

// TestL1ConcurrentVersions: 50 goroutines write shuffled versions of one key; the highest
// wins, whatever the interleaving.
func TestL1ConcurrentVersions(t *testing.T) {
	const writers = 50
	for _, policy := range l1TestPolicies {
		t.Run(policy, func(t *testing.T) {
			l := newTestL1(t, L1Config{Policy: policy})
			for round := range 20 {
				key := fmt.Sprintf("k%d", round)
				versions := rand.Perm(writers)
				var start sync.WaitGroup
				start.Add(1)
				var wg sync.WaitGroup
				var storedMax atomic.Bool
				for _, v := range versions {
					wg.Add(1)
					go func() {
						defer wg.Done()
						start.Wait()
						e := Entry{Value: []byte(strings.Repeat("x", v)), Version: int64(v), FetchedAt: l1T0}
						if l.SetIfNewer(key, e, l1T0) && v == writers-1 {
							storedMax.Store(true)
						}
					}()
				}
				start.Done()
				wg.Wait()
				got, ok := l.Get(key, l1T0)
				if !ok || got.Version != writers-1 || len(got.Value) != writers-1 {
					t.Fatalf("round %d: holds version %d (%d bytes), %v; want version %d", round, got.Version, len(got.Value), ok, writers-1)
				}
				if !storedMax.Load() {
					t.Fatalf("round %d: SetIfNewer of the highest version reported false", round)
				}
			}
			keys := make([]string, 20)
			for i := range keys {
				keys[i] = fmt.Sprintf("k%d", i)
			}
			if n := l1Audit(t, l, keys, l1T0); n != 20 {
				t.Fatalf("found %d keys, want 20", n)
			}
		})
	}
}

// TestL1ConcurrentAccounting: mixed writes, reads and deletes of many keys from many
// goroutines, past the bounds; afterwards Stats agrees with what is held.
func TestL1ConcurrentAccounting(t *testing.T) {
	for _, policy := range l1TestPolicies {
		t.Run(policy, func(t *testing.T) {
			l := newTestL1(t, L1Config{Policy: policy, MaxEntries: 50, MaxBytes: 50 * 1024})
			keys := make([]string, 200)
			for i := range keys {
				keys[i] = fmt.Sprintf("customer:cus_%d", i)
			}
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(g), 1))
					for i := range 3000 {
						k := keys[r.IntN(len(keys))]
						switch r.IntN(10) {
						case 0:
							l.Delete(k)
						case 1, 2, 3, 4:
							e := Entry{Value: make([]byte, r.IntN(2000)), Version: int64(i), FetchedAt: l1T0,
								ExpiresAt: l1T0.Add(time.Hour)}
							l.SetIfNewer(k, e, l1T0)
						default:
							l.Get(k, l1T0)
						}
					}
				}()
			}
			wg.Wait()
			n := l1Audit(t, l, keys, l1T0)
			s := l.Stats()
			if policy == l1PolicyMap {
				// No bound: the map holds what was written and never evicts.
				if n == 0 || s.Evictions != 0 {
					t.Fatalf("map holds %d entries, %d evictions; want entries and no evictions", n, s.Evictions)
				}
				return
			}
			if n > 50 || s.Bytes > 50*1024 {
				t.Fatalf("holds %d entries, %d bytes; bounds are 50 entries, %d bytes", n, s.Bytes, 50*1024)
			}
			if s.Evictions == 0 {
				t.Fatal("Evictions = 0 after overfilling")
			}
		})
	}
}

func TestL1Retention(t *testing.T) {
	for _, policy := range l1TestPolicies {
		t.Run(policy, func(t *testing.T) {
			l := newTestL1(t, L1Config{Policy: policy})
			swr := Entry{Value: []byte("swr"), Version: 1, ExpiresAt: l1T0.Add(time.Minute), StaleUntil: l1T0.Add(2 * time.Minute)}
			plain := Entry{Value: []byte("plain"), Version: 1, ExpiresAt: l1T0.Add(time.Minute)}
			forever := Entry{Value: []byte("forever"), Version: 1}
			for k, e := range map[string]Entry{"swr": swr, "plain": plain, "forever": forever} {
				if !l.SetIfNewer(k, e, l1T0) {
					t.Fatalf("SetIfNewer(%s) = false", k)
				}
			}
			checks := []struct {
				key     string
				at      time.Duration
				present bool
			}{
				{"swr", 59 * time.Second, true},
				{"swr", 90 * time.Second, true}, // past ExpiresAt, within StaleUntil
				{"plain", 59 * time.Second, true},
				{"plain", time.Minute, false}, // retention ends at ExpiresAt
				{"swr", 2 * time.Minute, false},
				{"swr", time.Minute, false}, // dropped: not back at an earlier now
				{"forever", 100 * 365 * 24 * time.Hour, true},
			}
			for _, c := range checks {
				got, ok := l.Get(c.key, l1T0.Add(c.at))
				if ok != c.present {
					t.Fatalf("Get(%s) at +%v = %v, want %v", c.key, c.at, ok, c.present)
				}
				if ok && string(got.Value) != c.key {
					t.Fatalf("Get(%s) = %q", c.key, got.Value)
				}
			}
			if s := l.Stats(); s.Expirations != 2 || s.Entries != 1 {
				t.Fatalf("Stats() = %+v, want 2 expirations and 1 entry left", s)
			}
		})
	}
}

func TestL1DeadEntries(t *testing.T) {
	for _, policy := range l1TestPolicies {
		t.Run(policy, func(t *testing.T) {
			l := newTestL1(t, L1Config{Policy: policy})
			dead := Entry{Value: []byte("dead"), Version: 10, ExpiresAt: l1T0, StaleUntil: l1T0.Add(-time.Second)}
			if l.SetIfNewer("k", dead, l1T0) {
				t.Fatal("SetIfNewer of an entry past its retention = true")
			}
			if _, ok := l.Get("k", l1T0.Add(-time.Hour)); ok {
				t.Fatal("an entry past its retention was stored")
			}
			// An older state is dropped when a newer one arrives already dead ...
			l.SetIfNewer("k", Entry{Value: []byte("v1"), Version: 1, ExpiresAt: l1T0.Add(time.Hour)}, l1T0)
			if l.SetIfNewer("k", dead, l1T0) {
				t.Fatal("SetIfNewer of a dead newer entry = true")
			}
			if got, ok := l.Get("k", l1T0); ok {
				t.Fatalf("older entry %q still served after a newer dead one was offered", got.Value)
			}
			// ... but a newer live state stays.
			l.SetIfNewer("k", Entry{Value: []byte("v20"), Version: 20, ExpiresAt: l1T0.Add(time.Hour)}, l1T0)
			l.SetIfNewer("k", dead, l1T0)
			if got, ok := l.Get("k", l1T0); !ok || got.Version != 20 {
				t.Fatalf("Get = version %d, %v; want the newer version 20 kept", got.Version, ok)
			}
			// A dead entry does not guard: a lower version replaces it.
			l.SetIfNewer("k", Entry{Value: []byte("v21"), Version: 21, ExpiresAt: l1T0.Add(time.Minute)}, l1T0)
			later := l1T0.Add(2 * time.Minute)
			if !l.SetIfNewer("k", Entry{Value: []byte("v2"), Version: 2, ExpiresAt: later.Add(time.Minute)}, later) {
				t.Fatal("SetIfNewer over a dead higher version = false")
			}
			if got, ok := l.Get("k", later); !ok || got.Version != 2 {
				t.Fatalf("Get = version %d, %v; want 2", got.Version, ok)
			}
			if s := l.Stats(); s.Expirations != 1 || s.Entries != 1 || s.Bytes != int64(len("k")+len("v2")+entryOverhead) {
				t.Fatalf("Stats() = %+v, want 1 expiration, 1 entry", s)
			}
		})
	}
}

func TestL1TTL(t *testing.T) {
	const ttl = 10 * time.Second
	limit := l1T0.Add(ttl)
	cases := []struct {
		name                   string
		expiresAt, staleUntil  time.Time
		wantExpires, wantStale time.Time
		presentAt, absentAt    time.Duration
	}{
		{"no expiry", time.Time{}, time.Time{}, limit, time.Time{}, 9 * time.Second, ttl},
		// The fresh life is capped; the stale-while-revalidate window keeps its length.
		{"longer", l1T0.Add(time.Hour), l1T0.Add(2 * time.Hour), limit, limit.Add(time.Hour), 9 * time.Second, ttl + time.Hour},
		{"stale window beyond TTL", l1T0.Add(5 * time.Second), l1T0.Add(time.Hour), l1T0.Add(5 * time.Second), l1T0.Add(time.Hour), 9 * time.Second, time.Hour},
		{"shorter", l1T0.Add(3 * time.Second), l1T0.Add(8 * time.Second), l1T0.Add(3 * time.Second), l1T0.Add(8 * time.Second), 7 * time.Second, 8 * time.Second},
	}
	for _, policy := range l1TestPolicies {
		t.Run(policy, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					l := newTestL1(t, L1Config{Policy: policy, TTL: ttl})
					l.SetIfNewer("k", Entry{Value: []byte("v"), Version: 1, ExpiresAt: tc.expiresAt, StaleUntil: tc.staleUntil}, l1T0)
					got, ok := l.Get("k", l1T0)
					if !ok || !got.ExpiresAt.Equal(tc.wantExpires) || !got.StaleUntil.Equal(tc.wantStale) {
						t.Fatalf("Get = %v, ExpiresAt %v, StaleUntil %v; want ExpiresAt %v, StaleUntil %v",
							ok, got.ExpiresAt, got.StaleUntil, tc.wantExpires, tc.wantStale)
					}
					if _, ok := l.Get("k", l1T0.Add(tc.presentAt)); !ok {
						t.Fatalf("absent at +%v", tc.presentAt)
					}
					if _, ok := l.Get("k", l1T0.Add(tc.absentAt)); ok {
						t.Fatalf("present at +%v, past its fresh and stale life", tc.absentAt)
					}
				})
			}
		})
	}
}

// l1FakeClock is otter's clock under the test's control, without periodic ticks.
type l1FakeClock struct{ nanos atomic.Int64 }

func (c *l1FakeClock) NowNano() int64                      { return c.nanos.Load() }
func (c *l1FakeClock) Tick(time.Duration) <-chan time.Time { return nil }

// TestL1TinyLFUExpiresByItself: otter drops an entry once its retention ends, with no read
// of it.
func TestL1TinyLFUExpiresByItself(t *testing.T) {
	clock := &l1FakeClock{}
	clock.nanos.Store(l1T0.UnixNano())
	l, err := newL1(L1Config{Policy: l1PolicyTinyLFU}, clock)
	if err != nil {
		t.Fatal(err)
	}
	l.SetIfNewer("short", Entry{Value: []byte("s"), Version: 1, ExpiresAt: l1T0.Add(time.Minute), StaleUntil: l1T0.Add(2 * time.Minute)}, l1T0)
	l.SetIfNewer("long", Entry{Value: []byte("l"), Version: 1, ExpiresAt: l1T0.Add(time.Hour)}, l1T0)
	l.SetIfNewer("forever", Entry{Value: []byte("f"), Version: 1}, l1T0)
	clock.nanos.Store(l1T0.Add(90 * time.Second).UnixNano()) // stale, not dead
	l.cleanUp()
	if s := l.Stats(); s.Entries != 3 || s.Expirations != 0 {
		t.Fatalf("within the stale window: Stats() = %+v, want 3 entries, 0 expirations", s)
	}
	clock.nanos.Store(l1T0.Add(3 * time.Minute).UnixNano())
	l.cleanUp()
	want := int64(len("long") + len("l") + len("forever") + len("f") + 2*entryOverhead)
	if s := l.Stats(); s.Entries != 2 || s.Expirations != 1 || s.Bytes != want {
		t.Fatalf("past the stale window: Stats() = %+v, want 2 entries of %d bytes, 1 expiration", s, want)
	}
}

func TestL1Bounds(t *testing.T) {
	for _, policy := range l1TestPolicies {
		if policy == l1PolicyMap {
			continue // TestL1MapUnbounded
		}
		t.Run(policy, func(t *testing.T) {
			t.Run("MaxEntries", func(t *testing.T) {
				l := newTestL1(t, L1Config{Policy: policy, MaxEntries: 100})
				keys := make([]string, 1000)
				for i := range keys {
					keys[i] = fmt.Sprintf("customer:cus_%04d", i)
					l.SetIfNewer(keys[i], Entry{Value: []byte(`{"object":"customer"}`), Version: 1}, l1T0)
				}
				n := l1Audit(t, l, keys, l1T0)
				if n > 100 || n == 0 {
					t.Fatalf("holds %d entries, want 1..100", n)
				}
				if s := l.Stats(); s.Evictions == 0 || s.Expirations != 0 {
					t.Fatalf("Stats() = %+v, want evictions and no expirations", s)
				}
			})
			t.Run("MaxBytes", func(t *testing.T) {
				const maxBytes = 100 << 10
				l := newTestL1(t, L1Config{Policy: policy, MaxBytes: maxBytes})
				keys := make([]string, 200)
				value := bytes.Repeat([]byte("x"), 10_000)
				for i := range keys {
					keys[i] = fmt.Sprintf("invoice:in_%03d", i)
					l.SetIfNewer(keys[i], Entry{Value: value, Version: 1}, l1T0)
				}
				n := l1Audit(t, l, keys, l1T0)
				s := l.Stats()
				if s.Bytes > maxBytes || n == 0 || n > maxBytes/10_000 {
					t.Fatalf("holds %d entries of %d bytes, want at most %d bytes", n, s.Bytes, maxBytes)
				}
				if s.Evictions == 0 {
					t.Fatalf("Stats() = %+v, want evictions", s)
				}
			})
			t.Run("too big", func(t *testing.T) {
				l := newTestL1(t, L1Config{Policy: policy, MaxBytes: 1000})
				l.SetIfNewer("k", Entry{Value: []byte("small"), Version: 1}, l1T0)
				if l.SetIfNewer("k", Entry{Value: make([]byte, 1000), Version: 2}, l1T0) {
					t.Fatal("SetIfNewer of an entry heavier than MaxBytes = true")
				}
				if got, ok := l.Get("k", l1T0); ok {
					t.Fatalf("older entry %q still served after a newer, unstorable one was offered", got.Value)
				}
				if n := l1Audit(t, l, []string{"k"}, l1T0); n != 0 {
					t.Fatalf("holds %d entries", n)
				}
			})
		})
	}
}

// TestL1LRURecency: with "lru", a read makes an entry the most recently used, so an
// insert past capacity evicts the next oldest.
func TestL1LRURecency(t *testing.T) {
	l := newTestL1(t, L1Config{Policy: l1PolicyLRU, MaxEntries: 3})
	for _, k := range []string{"A", "B", "C"} {
		l.SetIfNewer(k, Entry{Value: []byte(k), Version: 1}, l1T0)
	}
	if _, ok := l.Get("A", l1T0); !ok {
		t.Fatal("A absent before the overflow")
	}
	l.SetIfNewer("D", Entry{Value: []byte("D"), Version: 1}, l1T0)
	for k, want := range map[string]bool{"A": true, "B": false, "C": true, "D": true} {
		if _, ok := l.Get(k, l1T0); ok != want {
			t.Errorf("after touching A and inserting D: %s present = %v, want %v", k, ok, want)
		}
	}
	if s := l.Stats(); s.Evictions != 1 || s.Entries != 3 {
		t.Fatalf("Stats() = %+v, want 1 eviction, 3 entries", s)
	}
}

func TestL1ConfigValidate(t *testing.T) {
	cases := []struct {
		name   string
		cfg    L1Config
		fields []string // each must be named; none means valid
	}{
		{"zero", L1Config{}, nil},
		{"full", L1Config{Policy: "lru", MaxEntries: 10, MaxBytes: 1 << 20, TTL: time.Minute}, nil},
		{"tinylfu", L1Config{Policy: "tinylfu"}, nil},
		{"map", L1Config{Policy: "map", MaxEntries: 5}, nil},
		{"unknown policy", L1Config{Policy: "LFU"}, []string{"Policy"}},
		{"negative entries", L1Config{MaxEntries: -1}, []string{"MaxEntries"}},
		{"negative bytes", L1Config{MaxBytes: -1}, []string{"MaxBytes"}},
		{"bytes below one entry", L1Config{MaxBytes: entryOverhead}, []string{"MaxBytes"}},
		{"negative TTL", L1Config{TTL: -time.Second}, []string{"TTL"}},
		{"all at once", L1Config{Policy: "arc", MaxEntries: -5, MaxBytes: -5, TTL: -1}, []string{"Policy", "MaxEntries", "MaxBytes", "TTL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			_, newErr := NewL1(tc.cfg)
			if len(tc.fields) == 0 {
				if err != nil || newErr != nil {
					t.Fatalf("Validate() = %v, NewL1 error %v; want both nil", err, newErr)
				}
				return
			}
			if err == nil || newErr == nil {
				t.Fatalf("Validate() = %v, NewL1 error %v; want errors", err, newErr)
			}
			for _, f := range tc.fields {
				if !strings.Contains(err.Error(), "L1Config."+f) {
					t.Errorf("Validate() = %q, does not name %s", err, f)
				}
			}
			if n := strings.Count(err.Error(), "L1Config."); n != len(tc.fields) {
				t.Errorf("Validate() reports %d problems, want %d: %q", n, len(tc.fields), err)
			}
		})
	}
}

func TestL1GetHitAllocs(t *testing.T) {
	for _, policy := range l1TestPolicies {
		t.Run(policy, func(t *testing.T) {
			l := newTestL1(t, L1Config{Policy: policy, TTL: time.Hour})
			now := time.Now()
			l.SetIfNewer("customer:cus_1", Entry{Value: []byte(`{"id":"cus_1"}`), Version: 1, FetchedAt: now,
				ExpiresAt: now.Add(time.Minute), StaleUntil: now.Add(2 * time.Minute)}, now)
			hits := 0
			allocs := testing.AllocsPerRun(1000, func() {
				if _, ok := l.Get("customer:cus_1", now); ok {
					hits++
				}
			})
			if hits == 0 {
				t.Fatal("Get missed")
			}
			if allocs != 0 {
				t.Fatalf("Get hit allocates %v times, want 0", allocs)
			}
		})
	}
}

// TestL1MapUnbounded: the map policy ignores MaxEntries and MaxBytes (it is the baseline
// with no bound), keeps every entry written, and drops an entry only when a read or a
// write finds it dead.
func TestL1MapUnbounded(t *testing.T) {
	l := newTestL1(t, L1Config{Policy: l1PolicyMap, MaxEntries: 10, MaxBytes: 1000})
	keys := make([]string, 500)
	for i := range keys {
		keys[i] = fmt.Sprintf("customer:cus_%04d", i)
		if !l.SetIfNewer(keys[i], Entry{Value: make([]byte, 2000), Version: 1, ExpiresAt: l1T0.Add(time.Minute)}, l1T0) {
			t.Fatalf("SetIfNewer %s = false", keys[i])
		}
	}
	if n := l1Audit(t, l, keys, l1T0); n != len(keys) {
		t.Fatalf("holds %d entries, want all %d", n, len(keys))
	}
	s := l.Stats()
	if s.Evictions != 0 || s.Bytes != int64(len(keys))*(int64(len(keys[0]))+2000+entryOverhead) {
		t.Fatalf("Stats() = %+v, want no evictions and every entry's bytes", s)
	}
	// Past their expiry the entries stay until something touches them.
	later := l1T0.Add(2 * time.Minute)
	if s := l.Stats(); s.Entries != len(keys) {
		t.Fatalf("before any read past expiry: %d entries", s.Entries)
	}
	if _, ok := l.Get(keys[0], later); ok {
		t.Fatal("an expired entry was served")
	}
	if s := l.Stats(); s.Entries != len(keys)-1 || s.Expirations != 1 {
		t.Fatalf("after one read past expiry: Stats() = %+v, want %d entries and 1 expiration", s, len(keys)-1)
	}
}

// TestL1ConfigNowDrivesOtter: with L1Config.Now set, NewL1's tinylfu expiry follows that
// clock, not the wall clock: an entry past its retention on the set clock leaves.
func TestL1ConfigNowDrivesOtter(t *testing.T) {
	var nanos atomic.Int64
	nanos.Store(l1T0.UnixNano())
	l, err := NewL1(L1Config{Policy: l1PolicyTinyLFU, Now: func() time.Time { return time.Unix(0, nanos.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	l.SetIfNewer("k", Entry{Value: []byte("v"), Version: 1, ExpiresAt: l1T0.Add(time.Hour)}, l1T0)
	l.cleanUp()
	if s := l.Stats(); s.Entries != 1 {
		t.Fatalf("before its expiry on the set clock: Stats() = %+v, want 1 entry", s)
	}
	nanos.Store(l1T0.Add(2 * time.Hour).UnixNano())
	l.cleanUp()
	if s := l.Stats(); s.Entries != 0 || s.Expirations != 1 {
		t.Fatalf("past its expiry on the set clock: Stats() = %+v, want 0 entries, 1 expiration", s)
	}
}
