package cachecore

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 123456789)
	big := []byte(`{"id":"cus_1","description":"` + strings.Repeat("abc", 2000) + `"}`)
	cases := map[string]Entry{
		"small":     {Value: []byte(`{"id":"cus_1"}`), Version: 42, FetchedAt: now, ExpiresAt: now.Add(time.Minute), StaleUntil: now.Add(2 * time.Minute)},
		"large":     {Value: big, Version: 7, FetchedAt: now, ExpiresAt: now.Add(time.Hour)},
		"negative":  {Version: -5, FetchedAt: now, ExpiresAt: now.Add(time.Second), Negative: true},
		"tombstone": {Version: math.MaxInt64, FetchedAt: now, Tombstone: true},
		"no expiry": {Value: []byte(`{}`), Version: math.MinInt64, FetchedAt: now},
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			b := EncodeEntry(e, 1024)
			if name == "large" && len(b) >= len(big) {
				t.Errorf("large value not compressed: %d bytes for %d", len(b), len(big))
			}
			got, err := DecodeEntry(b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Value, e.Value) || got.Version != e.Version || !got.FetchedAt.Equal(e.FetchedAt) ||
				!got.ExpiresAt.Equal(e.ExpiresAt) || !got.StaleUntil.Equal(e.StaleUntil) || got.Negative != e.Negative || got.Tombstone != e.Tombstone {
				t.Fatalf("round trip changed the entry:\n got %+v\nwant %+v", got, e)
			}
		})
	}
}

// TestEnvelopeVersionOrder: the version bytes compare like the versions, which the Redis
// tier's Lua guard relies on.
func TestEnvelopeVersionOrder(t *testing.T) {
	vs := []int64{math.MinInt64, -1 << 40, -1, 0, 1, 1 << 40, math.MaxInt64}
	for i := 1; i < len(vs); i++ {
		a := EncodeEntry(Entry{Version: vs[i-1]}, 0)[envelopeVersionOffset : envelopeVersionOffset+envelopeVersionSize]
		b := EncodeEntry(Entry{Version: vs[i]}, 0)[envelopeVersionOffset : envelopeVersionOffset+envelopeVersionSize]
		if bytes.Compare(a, b) >= 0 {
			t.Errorf("bytes of version %d do not sort before those of %d", vs[i-1], vs[i])
		}
	}
}

func TestDecodeEntryRejects(t *testing.T) {
	good := EncodeEntry(Entry{Value: []byte(strings.Repeat("x", 5000)), Version: 1}, 100)
	bad := map[string][]byte{
		"empty":          nil,
		"short":          good[:10],
		"format":         append([]byte{9}, good[1:]...),
		"flags":          append([]byte{envelopeV1, 0x80}, good[2:]...),
		"corrupt s2":     append(append([]byte(nil), good[:envelopeHeaderSize]...), 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3),
		"truncated data": good[:len(good)-5],
	}
	for name, b := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeEntry(b); !errors.Is(err, ErrBadEnvelope) {
				t.Fatalf("DecodeEntry = %v, want ErrBadEnvelope", err)
			}
		})
	}
}

// FuzzDecodeEntry: bad bytes give an error, never a panic, and whatever decodes re-encodes
// to an envelope that decodes to the same entry.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(EncodeEntry(Entry{Value: []byte(`{"id":"cus_1"}`), Version: 3, FetchedAt: time.Unix(1, 0)}, 0))
	f.Add(EncodeEntry(Entry{Value: []byte(strings.Repeat("ab", 1000)), Version: 3}, 10))
	f.Add(EncodeEntry(Entry{Negative: true}, 0))
	f.Add([]byte{1, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			if !errors.Is(err, ErrBadEnvelope) {
				t.Fatalf("error %v does not wrap ErrBadEnvelope", err)
			}
			return
		}
		again, err := DecodeEntry(EncodeEntry(e, 64))
		if err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		if !bytes.Equal(again.Value, e.Value) || again.Version != e.Version || again.Negative != e.Negative || again.Tombstone != e.Tombstone {
			t.Fatalf("re-encoding changed the entry: %+v vs %+v", again, e)
		}
	})
}

func TestRefKey(t *testing.T) {
	r := Ref{Object: ObjectCustomer, ID: "cus_1", Expand: []string{"b", "a", "b"}}
	if k := r.Key(); k != "customer:cus_1?expand=a,b" {
		t.Fatalf("Key = %q", k)
	}
	back, err := ParseKey(r.Key())
	if err != nil || back.Key() != r.Key() {
		t.Fatalf("ParseKey(%q) = %+v, %v", r.Key(), back, err)
	}
	for _, bad := range []string{"cus_1", "widget:w_1", "customer:", "customer:cus_1?x=1"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted a bad key", bad)
		}
	}
}

// TestEntryDead: an entry dies at the later of ExpiresAt and StaleUntil, not before; one
// with neither never dies.
func TestEntryDead(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		e    Entry
		at   time.Duration
		want bool
	}{
		{"no expiry", Entry{}, 1000 * time.Hour, false},
		{"fresh", Entry{ExpiresAt: t0.Add(time.Minute)}, 59 * time.Second, false},
		{"at expiry", Entry{ExpiresAt: t0.Add(time.Minute)}, time.Minute, true},
		{"past expiry", Entry{ExpiresAt: t0.Add(time.Minute)}, 2 * time.Minute, true},
		{"in stale window", Entry{ExpiresAt: t0.Add(time.Minute), StaleUntil: t0.Add(2 * time.Minute)}, 90 * time.Second, false},
		{"past stale window", Entry{ExpiresAt: t0.Add(time.Minute), StaleUntil: t0.Add(2 * time.Minute)}, 2 * time.Minute, true},
		{"stale window before expiry", Entry{ExpiresAt: t0.Add(time.Minute), StaleUntil: t0.Add(time.Second)}, 30 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Dead(t0.Add(tc.at)); got != tc.want {
				t.Errorf("Dead at +%v = %v, want %v", tc.at, got, tc.want)
			}
		})
	}
}
