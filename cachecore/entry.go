package cachecore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/klauspost/compress/s2"
)

// Entry is what every tier stores for one key: a Stripe object's JSON with its version and
// lifetimes, or a marker for an object that does not exist (Negative) or was invalidated
// (Tombstone).
type Entry struct {
	// Value is the object's JSON as the origin returned it; empty for Negative and
	// Tombstone entries.
	Value []byte
	// Version orders the states of one object: a newer state has a larger version. It is
	// the version stamped in the object's metadata when there is one, else the time (in
	// nanoseconds since the epoch) at which the state was known to be current: the start of
	// the origin fetch, or the webhook event's creation time.
	Version int64
	// FetchedAt is when the value was read from the origin.
	FetchedAt time.Time
	// ExpiresAt is the end of the entry's fresh life. Zero means no expiry.
	ExpiresAt time.Time
	// StaleUntil is how long past ExpiresAt the entry may still be served while a refresh
	// runs (stale-while-revalidate). Zero or before ExpiresAt means never.
	StaleUntil time.Time
	// Negative marks an object the origin said does not exist (resource_missing).
	Negative bool
	// Tombstone marks an object invalidated by an event at Version: a read treats it as a
	// miss, and it keeps an older state from being written back by a fetch that started
	// before the event.
	Tombstone bool
}

// Fresh reports whether e may be served as fresh at now.
func (e *Entry) Fresh(now time.Time) bool {
	return e.ExpiresAt.IsZero() || now.Before(e.ExpiresAt)
}

// Servable reports whether e may be served at now, fresh or stale-while-revalidate.
func (e *Entry) Servable(now time.Time) bool {
	return e.Fresh(now) || now.Before(e.StaleUntil)
}

// Dead reports whether e's retention has ended at now: it is past its ExpiresAt and past
// its StaleUntil (whichever is later), so no tier should keep it. An entry with neither
// set never dies.
func (e *Entry) Dead(now time.Time) bool { return e.retention(now) < 0 }

// retention is how long a tier should keep e from now: to the end of its stale window,
// else to its expiry. Zero means no expiry; a negative result means e is already dead.
func (e *Entry) retention(now time.Time) time.Duration {
	end := e.ExpiresAt
	if e.StaleUntil.After(end) {
		end = e.StaleUntil
	}
	if end.IsZero() {
		return 0
	}
	if d := end.Sub(now); d > 0 {
		return d
	}
	return -1
}

// The envelope is the byte form of an Entry in Redis and DynamoDB:
//
//	offset size field
//	0      1    format (envelopeV1)
//	1      1    flags (flagCompressed, flagNegative, flagTombstone)
//	2      8    version, big-endian two's complement with the sign bit flipped, so the
//	            bytes of two versions compare like the numbers (Redis Lua relies on it)
//	10     8    fetched-at, Unix nanoseconds, big-endian
//	18     8    expires-at, Unix nanoseconds (0 = none)
//	26     8    stale-until, Unix nanoseconds (0 = none)
//	34     -    value (s2-compressed when flagCompressed)
const (
	envelopeV1         = 1
	envelopeHeaderSize = 34
	// envelopeVersionOffset and envelopeVersionSize locate the ordered version bytes.
	envelopeVersionOffset = 2
	envelopeVersionSize   = 8

	flagCompressed = 1 << 0
	flagNegative   = 1 << 1
	flagTombstone  = 1 << 2
	knownFlags     = flagCompressed | flagNegative | flagTombstone
)

// ErrBadEnvelope is returned for bytes that are not an envelope this code can read.
var ErrBadEnvelope = errors.New("bad cache envelope")

// maxDecodedValue bounds decompression, so corrupt or hostile bytes cannot make a read
// allocate without limit. Stripe objects are far smaller.
const maxDecodedValue = 16 << 20

// EncodeEntry returns the envelope of e, compressing the value when it is at least
// compressAbove bytes (0 = never).
func EncodeEntry(e Entry, compressAbove int) []byte {
	var flags byte
	value := e.Value
	if compressAbove > 0 && len(value) >= compressAbove {
		if c := s2.EncodeBetter(nil, value); len(c) < len(value) {
			value = c
			flags |= flagCompressed
		}
	}
	if e.Negative {
		flags |= flagNegative
	}
	if e.Tombstone {
		flags |= flagTombstone
	}
	b := make([]byte, envelopeHeaderSize+len(value))
	b[0] = envelopeV1
	b[1] = flags
	binary.BigEndian.PutUint64(b[2:], orderedVersion(e.Version))
	binary.BigEndian.PutUint64(b[10:], unixNanos(e.FetchedAt))
	binary.BigEndian.PutUint64(b[18:], unixNanos(e.ExpiresAt))
	binary.BigEndian.PutUint64(b[26:], unixNanos(e.StaleUntil))
	copy(b[envelopeHeaderSize:], value)
	return b
}

// DecodeEntry parses an envelope. Bad bytes give an error wrapping ErrBadEnvelope, never a
// panic.
func DecodeEntry(b []byte) (Entry, error) { return decodeEntry(b, false) }

// decodeEntry is DecodeEntry; with own, the entry's value may alias b (the caller hands
// b over and will neither change nor reuse it), which saves copying it.
func decodeEntry(b []byte, own bool) (Entry, error) {
	if len(b) < envelopeHeaderSize {
		return Entry{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrBadEnvelope, len(b), envelopeHeaderSize)
	}
	if b[0] != envelopeV1 {
		return Entry{}, fmt.Errorf("%w: format %d, want %d", ErrBadEnvelope, b[0], envelopeV1)
	}
	flags := b[1]
	if flags&^knownFlags != 0 {
		return Entry{}, fmt.Errorf("%w: unknown flags %#x", ErrBadEnvelope, flags)
	}
	e := Entry{
		Version:    int64(binary.BigEndian.Uint64(b[2:]) ^ (1 << 63)),
		FetchedAt:  fromUnixNanos(binary.BigEndian.Uint64(b[10:])),
		ExpiresAt:  fromUnixNanos(binary.BigEndian.Uint64(b[18:])),
		StaleUntil: fromUnixNanos(binary.BigEndian.Uint64(b[26:])),
		Negative:   flags&flagNegative != 0,
		Tombstone:  flags&flagTombstone != 0,
	}
	value := b[envelopeHeaderSize:]
	if flags&flagCompressed != 0 {
		n, err := s2.DecodedLen(value)
		if err != nil {
			return Entry{}, fmt.Errorf("%w: compressed value: %v", ErrBadEnvelope, err)
		}
		if n > maxDecodedValue {
			return Entry{}, fmt.Errorf("%w: value would decode to %d bytes", ErrBadEnvelope, n)
		}
		d, err := s2.Decode(nil, value)
		if err != nil {
			return Entry{}, fmt.Errorf("%w: compressed value: %v", ErrBadEnvelope, err)
		}
		value = d
	} else if len(value) > 0 && !own {
		value = append([]byte(nil), value...)
	}
	if len(value) > 0 {
		e.Value = value
	}
	return e, nil
}

// orderedVersion maps a version to 8 bytes whose unsigned order is the versions' order.
func orderedVersion(v int64) uint64 { return uint64(v) ^ (1 << 63) }

func unixNanos(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func fromUnixNanos(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n))
}
